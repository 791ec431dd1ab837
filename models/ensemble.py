"""Runs of one organisation size advancing together in one vectorised step.

A study that runs many simulations of the same size — replications, programmes, parameter
draws — stacks them: R runs of n people become one population of R·n rows, with a
block-diagonal adjacency (no tie between runs), each run's levers, parameters and records in
its own block. One weekly step of the stacked population costs about what one step of R·n
people costs, instead of R times the fixed cost of a few hundred NumPy calls; that is what
makes calibration and sensitivity studies affordable on two cores.

Each run is built exactly as it would be alone (``build_run``): its organisation, roles,
starting state and interventions from its own seed's streams, and each week its own
uniforms from its own step stream. So run i of an ensemble gives the results of the same run
alone — identical when the runs share their parameters (the arithmetic is the same, in the
same order); where runs differ in a parameter, that parameter becomes one value per row
(``merge_behaviour``) and results agree within float32 rounding.

``models.model.AdoptionModel`` is an ensemble of one run with Mesa agents on top.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from models import generators, targeting
from models.dynamics import N_DRAWS, advance
from models.errors import InputError
from models.interventions import Intervention, Schedule
from models.metrics import WEEKS_IN_LAST_YEAR, summarise
from models.neighbours import Network
from models.organisation import Organisation
from models.params import Behaviour, discount_problems, problems
from models.records import Records
from models.snapshots import Snapshots
from models.state import (
    CHAMPION,
    EMPLOYEE,
    MANAGER,
    REAL,
    AgentState,
    Levers,
    Traits,
    initial_state,
)


@dataclass
class RunSetup:
    """One run, built from its seed: what it contributes to an ensemble."""

    org: Organisation
    role: np.ndarray
    state: AgentState
    traits: Traits
    baseline: Levers
    interventions: tuple[Intervention, ...]
    role_rng: np.random.Generator
    step_rng: np.random.Generator
    behaviour: Behaviour
    discount_rate: float


def build_run(
    org: Organisation | Mapping | None,
    behaviour: Behaviour | None,
    champion_share: float | None,
    champion_rule: str,
    interventions: Sequence[Intervention],
    rng: np.random.Generator,
    discount_rate: float = 0.0,
) -> RunSetup:
    """Build one run from ``rng`` (the run's generator, e.g. ``np.random.default_rng(seed)``).

    The generator is split into independent streams for the organisation, the roles (and the
    interventions' reach), the initial state and the weekly draws. Separate streams mean that
    two scenarios run with the same seed share the same organisation, champions and starting
    state (common random numbers) even when their interventions differ.
    """
    behaviour = behaviour or Behaviour()
    # checked as the command line checks a config (sim.run.config_problems), so that a model
    # built directly refuses NaN, infinite and out-of-range numbers rather than running on them
    bad = problems(behaviour, prefix="behaviour") + discount_problems(discount_rate)
    for intervention in interventions:
        bad += intervention.problems()
    if bad:
        raise InputError("\n".join(bad))
    org_rng, role_rng, init_rng, step_rng = rng.spawn(4)
    if org is None:
        org = {"generator": "hierarchy"}
    if isinstance(org, Mapping):
        params = {k: v for k, v in org.items() if k != "generator"}
        org = generators.build(org["generator"], params, org_rng)
    role = np.where(org.is_manager, MANAGER, EMPLOYEE).astype(np.int8)
    role[targeting.choose(org, champion_share, champion_rule, role_rng)] = CHAMPION
    state, traits = initial_state(init_rng, role, org.department, behaviour)
    return RunSetup(
        org=org,
        role=role,
        state=state,
        traits=traits,
        baseline=Levers.baseline(org.n, role, behaviour),
        interventions=tuple(interventions),
        role_rng=role_rng,
        step_rng=step_rng,
        behaviour=behaviour,
        discount_rate=discount_rate,
    )


def merge_behaviour(behaviours: Sequence[Behaviour], n: int) -> Behaviour:
    """One Behaviour for stacked runs of ``n`` rows each: a parameter the runs share stays a
    number; one they differ in becomes one value per row (float32, as the state is, so that
    the arithmetic stays in float32). The switches must be shared."""
    first = behaviours[0]
    values = {}
    for f in fields(Behaviour):
        column = [getattr(b, f.name) for b in behaviours]
        if all(v == column[0] for v in column):
            values[f.name] = column[0]
        elif f.type is bool:
            raise ValueError(f"runs of one ensemble must share {f.name}")
        else:
            dtype = np.int64 if isinstance(column[0], int) else REAL
            values[f.name] = np.repeat(np.asarray(column, dtype=dtype), n)
    return first if len(behaviours) == 1 else Behaviour(**values)


def _stack(parts: Sequence, cls):
    """Concatenate dataclasses of arrays field by field (one run: the object itself)."""
    if len(parts) == 1:
        return parts[0]
    return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def _rows(obj, lo: int, hi: int, cls):
    """A view of rows lo..hi of every array of a dataclass of arrays."""
    return cls(**{f.name: getattr(obj, f.name)[lo:hi] for f in fields(cls)})


#: Weeks of uniforms drawn at once per run (a quarter: 13 × 5 × n float32 per run).
DRAW_AHEAD = 13


class _Reaching:
    """A run's levers as its interventions see them, noting the name of each lever they reach
    for: the ensemble fills just those from the baseline again (most programmes set one or
    two of the seventeen, and filling all of them was most of a live week's lever work)."""

    def __init__(self, levers: Levers, reached: set[str]) -> None:
        object.__setattr__(self, "_levers", levers)
        object.__setattr__(self, "_reached", reached)

    def __getattr__(self, name: str):
        self._reached.add(name)
        return getattr(self._levers, name)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"levers are set in place ({name}[...] = ...), not replaced")


@dataclass(frozen=True, eq=False)
class _Programme:
    """Consecutive runs of an ensemble whose levers one schedule sets (``Schedule.stacked``)."""

    runs: slice
    rows: slice
    schedule: Schedule
    levers: Levers  # a view of the rows of the ensemble's levers of live weeks


def _same_programme(a: RunSetup, b: RunSetup) -> bool:
    """Whether two runs' interventions act alike: the same interventions and behaviour."""
    return a.interventions == b.interventions and a.behaviour == b.behaviour


class Ensemble:
    """R runs of the same size, stepped together.

    ``state``, ``traits``, ``levers`` and ``network`` are the stacked population's; run r's
    rows are ``r·n … (r+1)·n - 1`` (``rows(r)``). Records, summaries and snapshots are per run.
    """

    def __init__(self, runs: Sequence[RunSetup], snapshot_every: int = 0) -> None:
        if not runs:
            raise ValueError("an ensemble needs at least one run")
        sizes = {r.org.n for r in runs}
        if len(sizes) != 1:
            raise ValueError(f"runs of one ensemble must have one size, not {sorted(sizes)}")
        self.n = sizes.pop()
        self.size = len(runs)
        self.runs = list(runs)
        n = self.n
        self.behaviour = merge_behaviour([r.behaviour for r in runs], n)
        self.state = _stack([r.state for r in runs], AgentState)
        self.traits = _stack([r.traits for r in runs], Traits)
        self.baseline = _stack([r.baseline for r in runs], Levers)
        self.levers = self.baseline
        # the levers of weeks in which something runs: filled from the baseline, then set by
        # the interventions through views of their runs' rows (allocated once); only the levers
        # the interventions reached for since they were last filled need filling again
        self._work = self.baseline.copy()
        self._reached: set[str] = set()
        self.network = Network.stack([Network.build(r.org, r.role) for r in runs])
        department = np.concatenate([r.org.department for r in runs])
        self.records = Records(
            self.traits.role, department, n, [r.org.department_names for r in runs]
        )
        self.schedules = [
            Schedule(
                list(r.interventions),
                r.org,
                r.role,
                r.behaviour,
                r.role_rng,
                cell=self.records.cell[self.rows(i)],
                n_cells=self.records.n_cells,
            )
            for i, r in enumerate(runs)
        ]
        self._programmes = self._programme_groups()
        self.snapshots = [
            Snapshots(
                snapshot_every,
                _rows(self.traits, *self._bounds(i), Traits),
                r.org.department,
                r.org.department_names,
            )
            for i, r in enumerate(runs)
        ]
        # the uniforms of the coming DRAW_AHEAD weeks, each run's in its own columns
        self._ahead = np.empty((DRAW_AHEAD, N_DRAWS, self.size * n), np.float32)
        self._draws = self._ahead[0]
        self._drawn_for = 0  # the first week of the block of uniforms in ``_ahead``
        self.week = 0

    def _bounds(self, r: int) -> tuple[int, int]:
        return r * self.n, (r + 1) * self.n

    def rows(self, r: int) -> slice:
        """Run r's rows of the stacked arrays."""
        return slice(*self._bounds(r))

    def state_of(self, r: int) -> AgentState:
        """Run r's state (views into the stacked arrays, valid until the next step)."""
        return _rows(self.state, *self._bounds(r), AgentState)

    def step(self) -> None:
        """One week of every run: each run's levers and cost from its interventions, each
        run's uniforms from its own stream, one step of the stacked state, the records."""
        self.week += 1
        week = self.week
        self.levers, cost = self._levers(week)
        self._draws = self.draws_for(week)
        advance(self.state, self.traits, self.network, self.behaviour, self.levers, self._draws)
        self.records.record(week, self.state, cost)
        for r, snapshots in enumerate(self.snapshots):
            if snapshots.due(week):
                snapshots.take(week, self.state_of(r))

    def draws_for(self, week: int) -> np.ndarray:
        """The uniforms of ``week`` (the current week or the next) for every run, from its own
        step stream, shaped (N_DRAWS, runs × n). They are drawn ``DRAW_AHEAD`` weeks at a time
        per run (a stream gives the same numbers in one large draw as in several small ones),
        which saves a call per run and week."""
        k = (week - 1) % DRAW_AHEAD
        if k == 0 and self._drawn_for < week:
            if self.size == 1:  # one run's block is contiguous: drawn into place, not copied
                self.runs[0].step_rng.random(out=self._ahead, dtype=np.float32)
            else:
                for r, run in enumerate(self.runs):
                    lo, hi = self._bounds(r)
                    shape = (DRAW_AHEAD, N_DRAWS, self.n)
                    self._ahead[:, :, lo:hi] = run.step_rng.random(shape, dtype=np.float32)
            self._drawn_for = week
        return self._ahead[k]

    def _programme_groups(self) -> list[_Programme]:
        """Consecutive runs with the same interventions and behaviour (a study's replications
        of one programme), each group with one schedule of its stacked rows
        (``Schedule.stacked``) and a view of those rows of the levers."""
        groups, first = [], 0
        for r in range(1, self.size + 1):
            if r < self.size and _same_programme(self.runs[r], self.runs[first]):
                continue
            rows = slice(first * self.n, r * self.n)
            groups.append(
                _Programme(
                    runs=slice(first, r),
                    rows=rows,
                    schedule=Schedule.stacked(self.schedules[first:r], self.n),
                    levers=_rows(self._work, rows.start, rows.stop, Levers),
                )
            )
            first = r
        return groups

    def _levers(self, week: int) -> tuple[Levers, np.ndarray]:
        """The stacked levers of ``week`` and each run's cost per cell (runs × cells). If no
        run has anything running, the stacked baseline itself is used (nothing is copied)."""
        cost = np.zeros((self.size, self.records.n_cells))
        live = [group.schedule.live(week) for group in self._programmes]
        if not any(live):
            return self.baseline, cost
        for name in self._reached:
            np.copyto(getattr(self._work, name), getattr(self.baseline, name))
        self._reached = set()
        for group, acting in zip(self._programmes, live, strict=True):
            if acting:
                levers = _Reaching(group.levers, self._reached)
                spent = group.schedule.apply(week, acting, levers, self.state, group.rows)
                cost[group.runs] = spent.reshape(-1, self.records.n_cells)
        return self._work, cost

    def run(self, weeks: int, progress=None) -> None:
        """Advance ``weeks`` weeks, calling ``progress(1)`` after each if given."""
        for _ in range(weeks):
            self.step()
            if progress is not None:
                progress(1)

    def weekly(self, r: int = 0, ids: dict | None = None):
        return self.records.weekly(r, ids)

    def groups(self, r: int = 0):
        return self.records.groups(r)

    def summary(self, r: int = 0) -> dict:
        """Run r's outcomes (``models.metrics.summarise``)."""
        return summarise(
            self.records.columns(r),
            self.state_of(r),
            self.runs[r].discount_rate,
            self.schedules[r].window_end(self.week),
            self.records.year_participation(r),
        )

    def departments(self, r: int = 0) -> pd.DataFrame:
        """Run r's outcomes per department: size, active share and value over the last year,
        and over the whole run value, programme cost (attributed to the people it involved;
        shared costs by headcount) and net value."""
        return self.department_outcomes([r])[0]

    def department_outcomes(self, runs: Sequence[int] | None = None) -> list[pd.DataFrame]:
        """``departments`` of each of ``runs`` (default: every run)."""
        table, counts = self.department_table(runs)
        ends = np.cumsum(counts)
        return [
            table.iloc[a:b].reset_index(drop=True)
            for a, b in zip([0, *ends[:-1]], ends, strict=True)
        ]

    def department_table(self, runs: Sequence[int] | None = None) -> tuple[pd.DataFrame, list]:
        """The ``departments`` rows of each of ``runs`` (default: every run), run after run in
        one table, and how many rows each run has: from one grouping of all their rows by run
        and department, in which each group's sums and means add the same rows in the same
        order as a grouping of its run alone, at a fraction of the cost of one a run."""
        runs = range(self.size) if runs is None else runs
        groups = self.records.group_table(runs, "department")
        last = groups[groups["week"] > groups["week"].max() - WEEKS_IN_LAST_YEAR]
        by = groups.groupby(["run", "group"], sort=False)
        recent = last.groupby(["run", "group"], sort=False)
        totals = by[["value_total", "cost", "net_value"]].sum()  # one pass, column by column
        table = pd.DataFrame(
            {
                "department": list(totals.index.get_level_values("group")),
                "size": by["size"].first().to_numpy(),
                "active_share_last_year": recent["active_share"].mean().to_numpy(),
                "value_last_year": recent["value_total"].sum().to_numpy(),
                "value_total": totals["value_total"].to_numpy(),
                "cost_total": totals["cost"].to_numpy(),
                "net_value": totals["net_value"].to_numpy(),
            }
        )
        counts = totals.index.get_level_values("run").value_counts(sort=False).to_numpy()
        return table, counts.tolist()
