"""Interventions: what organisations do to "drive adoption", as inputs to the weekly step.

An intervention never writes an outcome. It sets, for the people it reaches and the weeks it
runs, one or more of the model's levers (``models.state.Levers``) — mandate pressure, rewards,
campaign awareness, managers leading value conversations, champions' coaching, strategic
alignment, value stories, contact across teams, leaders' own visible use, use cases and
integration into everyday work, community management — and what follows from those levers is
decided by the dynamics (``models.dynamics``).

Every programme is accounted for alike: each hour an intervention takes is its cost, in the
model's value unit (hours of productive work) — the time of the people it involves
(conversations, events, training, workshops, coaching, community management, checking
compliance) and the value of rewards — scaled with its intensity; the time people then spend
*using* the network is inside value, for every programme alike. Costs are attributed to the
role × department cells of the people they involve (shared costs by headcount), so outcomes can
be read per department.

Several interventions run together; a scenario is a named collection of them. An intervention
at intensity 0 does nothing and costs nothing, so a scenario of zero-intensity interventions
reproduces the baseline exactly (same seed, same numbers). The defaults of each kind (its
building block, ``conf/intervention/<kind>.yaml``) and every number a lever uses are in the
parameter registry (``models.registry``).
"""

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from models import registry, targeting
from models.errors import InputError
from models.organisation import Organisation
from models.params import Behaviour, too_large
from models.state import CHAMPION, EMPLOYEE, MANAGER, REWARD_BASES, AgentState, Levers

KINDS = tuple(registry.BLOCKS)
GROUPS = ("everyone", "managers", "champions", "employees", "non_managers")
CONTINGENCIES = REWARD_BASES[1:]
#: Kinds whose intensity may exceed 1 (a strength, not a level or a share).
UNBOUNDED = ("champions", "experiment")


@dataclass(frozen=True)
class Intervention:
    """One intervention. Which fields matter depends on ``kind`` (docs/MODEL.md, §7.15).

    ``intensity`` is how much of the programme is done where it reaches: mandate pressure
    (0..1), reward intensity (0..1), campaign awareness at a pulse (0..1), the rate at which
    managers lead value conversations (0..1), champions' extra coaching strength from
    training (≥ 0; untrained champions coach at 1), strategic-alignment and value-story work
    (0..1 of the registry's ``alignment_gain`` and ``story_pull``), pilot groups' extra contact
    across teams (≥ 0), leaders' commitment to visible use (0..1), use-case rounds (0..1 of
    ``relevance_gain`` and ``flow_time_cut``), community management (0..1 curation). Every
    cost but ``cost_fixed`` scales with it.
    """

    name: str
    kind: str
    start: int = 1  # first week it runs (weeks count from 1)
    end: int | None = None  # last week it runs; None = to the end of the run
    target: str = "everyone"  # a group (GROUPS) or "department:<name>"
    share: float = 1.0  # share of the target group reached
    rule: str = "random"  # how that share is chosen: random, degree, betweenness, bridging
    intensity: float = 1.0
    cadence: int = 1  # weeks between pulses (campaign events, value conversations)
    cost_fixed: float = 0.0  # hours, once, in the first week (design, training)
    cost_per_week: float = 0.0  # hours each week it runs (a team running it), × intensity
    cost_per_person: float = 0.0  # hours per person reached, each pulse week, × intensity
    cost_per_reward: float = 0.0  # incentive: hours of reward value per rewarded unit
    training_hours: float = 0.0  # hours per person given a sense gain, each pulse, × intensity
    contingency: str = "engagement"  # incentive: engagement, completion or performance
    decay: float = registry.BLOCKS["campaign"]["decay"].value  # campaign: awareness decay/week
    sense_gain: float = 0.0  # sense gain where it reaches, each pulse week, × intensity

    def key(self, field: str) -> str:
        return f"scenario.interventions.{self.name}.{field}"

    def problems(self) -> list[str]:
        """Messages for every invalid field, naming the full config key."""
        out = []

        def bad(field: str, allowed: str) -> None:
            out.append(f"{self.key(field)}={getattr(self, field)!r} is not allowed: {allowed}")

        if self.kind not in KINDS:
            bad("kind", f"choose one of {', '.join(KINDS)}")
        if not (isinstance(self.start, int) and self.start >= 1):
            bad("start", "it must be a week number, at least 1")
        if self.end is not None and not (isinstance(self.end, int) and self.end >= self.start):
            bad("end", f"it must be a week number not before start ({self.start}), or null")
        if not (self.target in GROUPS or self.target.startswith("department:")):
            bad("target", f"choose one of {', '.join(GROUPS)}, or department:<name>")
        if not 0 <= self.share <= 1:
            bad("share", "it must be between 0 and 1")
        if self.rule not in targeting.RULES:
            bad("rule", f"choose one of {', '.join(targeting.RULES)}")
        bounded = self.kind not in UNBOUNDED
        if not (self.intensity >= 0 and (not bounded or self.intensity <= 1)):
            bad("intensity", "it must be between 0 and 1" if bounded else "it must be non-negative")
        if not (isinstance(self.cadence, int) and self.cadence >= 1):
            bad("cadence", "it must be a whole number of weeks, at least 1")
        for field in ("cost_fixed", "cost_per_week", "cost_per_person", "cost_per_reward",
                      "training_hours"):
            if not getattr(self, field) >= 0:
                bad(field, "a cost must be non-negative (hours)")
        if self.contingency not in CONTINGENCIES:
            bad("contingency", f"choose one of {', '.join(CONTINGENCIES)}")
        for field in ("decay", "sense_gain"):
            if not 0 <= getattr(self, field) <= 1:
                bad(field, "it must be between 0 and 1")
        numbers = {f.name: getattr(self, f.name) for f in fields(self)}
        return out + too_large(f"scenario.interventions.{self.name}", numbers, already=out)

    def pulses(self, week: int) -> bool:
        """Whether ``week`` is one of its pulse weeks (every ``cadence`` weeks from start)."""
        return self.runs(week) and (week - self.start) % self.cadence == 0

    def runs(self, week: int) -> bool:
        return self.intensity > 0 and week >= self.start and (self.end is None or week <= self.end)


def from_config(name: str, values: Mapping) -> Intervention:
    """An Intervention from a config node; unknown fields are refused by name."""
    known = {f.name for f in fields(Intervention)} - {"name"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(
            f"scenario.interventions.{name}.{unknown[0]}: not a field of an intervention; "
            f"the fields are {', '.join(sorted(known))}"
        )
    if "kind" not in values:
        raise InputError(f"scenario.interventions.{name}.kind is required: one of {KINDS}")
    return Intervention(name=name, **dict(values))


def crowding_rate(d: float, b: Behaviour) -> float:
    """Weekly loss of intrinsic motivation per unit reward that reproduces effect size ``d``.

    Deci, Koestner & Ryan (1999) report the drop in free-choice intrinsic motivation of
    rewarded versus unrewarded people as a standardised difference d. Here a reward of
    intensity 1 received for ``b.crowding_reference_weeks`` weeks lowers intrinsic motivation
    by a factor (1 - rate)^weeks ≈ exp(-rate × weeks); setting that drop equal to d standard
    deviations of the initial intrinsic motivation (Beta with mean m and concentration κ:
    sd = sqrt(m(1-m)/(κ+1))) gives rate = -ln(1 - d·sd/m) / weeks.
    """
    m = b.intrinsic_mean
    if m <= 0:  # nobody starts with intrinsic motivation: nothing to crowd out
        return 0.0
    sd = np.sqrt(m * (1 - m) / (b.trait_concentration + 1))
    return float(-np.log(max(1 - d * sd / m, np.finfo(float).tiny)) / b.crowding_reference_weeks)


class Schedule:
    """The interventions of a run, resolved against the organisation, applied week by week.

    ``cell`` is each person's role × department cell (``n_cells`` of them): the weekly cost is
    an array over cells, so that it can be read per role and per department.
    """

    def __init__(
        self,
        interventions: list[Intervention],
        org: Organisation,
        role: np.ndarray,
        behaviour: Behaviour,
        rng: np.random.Generator,
        cell: np.ndarray | None = None,
        n_cells: int = 1,
    ) -> None:
        self.items = list(interventions)
        self._b = behaviour
        self._reach = {iv.name: self._resolve(iv, org, role, rng) for iv in self.items}
        self._is_manager = role == MANAGER
        self._is_champion = role == CHAMPION
        self._cell = np.zeros(org.n, np.int64) if cell is None else cell
        self._n_cells = n_cells
        self._headcount = np.bincount(self._cell, minlength=n_cells) / max(org.n, 1)
        self._manager_of = org.manager_of
        self._worked_out: dict[tuple, Any] = {}  # what never changes (``_once``, ``_teams``)

    @classmethod
    def stacked(cls, schedules: Sequence["Schedule"], n: int) -> "Schedule":
        """The schedules of consecutive runs of an ensemble (``n`` people each) that share
        their interventions and behaviour, as one schedule of their stacked rows: each run's
        reach, roles and managers (rows offset by the run's position) and cells (run k's
        numbered after the cells of the runs before it, so the cost comes per run and cell).
        Each lever operation then runs once for all of them instead of once a run: every
        person's levers and every cell's cost go through the same operations as with the
        run's own schedule."""
        if len(schedules) == 1:
            return schedules[0]
        out = copy.copy(schedules[0])  # the interventions and behaviour they share
        out._reach = {
            name: np.concatenate([s._reach[name] for s in schedules]) for name in out._reach
        }
        out._is_manager = np.concatenate([s._is_manager for s in schedules])
        out._is_champion = np.concatenate([s._is_champion for s in schedules])
        out._cell = np.concatenate([s._cell + k * s._n_cells for k, s in enumerate(schedules)])
        out._n_cells = sum(s._n_cells for s in schedules)
        out._headcount = np.concatenate([s._headcount for s in schedules])
        out._worked_out = {}
        out._manager_of = np.concatenate(
            [
                np.where(s._manager_of >= 0, s._manager_of + k * n, -1)
                for k, s in enumerate(schedules)
            ]
        )
        return out

    @staticmethod
    def _resolve(iv: Intervention, org: Organisation, role: np.ndarray, rng) -> np.ndarray:
        """Who the intervention reaches: its target group, then its share of it by its rule."""
        if iv.target.startswith("department:"):
            name = iv.target.split(":", 1)[1]
            if name not in org.department_names:
                raise InputError(
                    f"{iv.key('target')}={iv.target!r}: no department {name!r}; the departments "
                    f"are {', '.join(org.department_names)}"
                )
            group = org.department == org.department_names.index(name)
        else:
            group = {
                "everyone": np.ones(org.n, bool),
                "managers": role == MANAGER,
                "champions": role == CHAMPION,
                "employees": role == EMPLOYEE,
                "non_managers": role != MANAGER,
            }[iv.target]
        if iv.share >= 1:
            return group
        return targeting.pick(
            org, group, iv.share, iv.rule, rng, f"scenario.interventions.{iv.name}"
        )

    def window_end(self, horizon: int) -> int:
        """The last week any intervention runs (``horizon`` if one never ends; 0 if none)."""
        ends = [horizon if iv.end is None else iv.end for iv in self.items if iv.intensity > 0]
        return min(max(ends, default=0), horizon)

    def awareness(self, iv: Intervention, week: int) -> float:
        """A campaign's awareness in ``week``: the intensity at each pulse, decaying between
        pulses and after the last one."""
        if iv.intensity <= 0 or week < iv.start:
            return 0.0
        last_week = week if iv.end is None else min(week, iv.end)
        last_pulse = iv.start + (last_week - iv.start) // iv.cadence * iv.cadence
        value = iv.intensity * (1 - iv.decay) ** (week - last_pulse)
        return value if value >= self._b.awareness_floor else 0.0

    def live(self, week: int) -> list[Intervention]:
        """The interventions that act in ``week``: those that run, and campaigns whose
        awareness has not yet faded after their end."""
        return [
            iv
            for iv in self.items
            if iv.runs(week) or (iv.kind == "campaign" and self.awareness(iv, week) > 0)
        ]

    def levers(
        self, week: int, baseline: Levers, state: AgentState
    ) -> tuple[Levers, np.ndarray]:
        """The levers and the cost (hours, per cell) of ``week``. Without anything running, the
        baseline levers themselves are returned (nothing is copied)."""
        live = self.live(week)
        if not live:
            return baseline, np.zeros(self._n_cells)
        levers = baseline.copy()
        return levers, self.apply(week, live, levers, state)

    def apply(
        self,
        week: int,
        live: list[Intervention],
        levers: Levers,
        state: AgentState,
        rows: slice = slice(None),
    ) -> np.ndarray:
        """Set the ``live`` interventions' levers of ``week`` in ``levers`` (this run's levers,
        holding the baseline), and return the week's cost per cell. ``state`` is last week's,
        this run's being its ``rows`` (an ensemble passes its stacked state)."""
        cost = np.zeros(self._n_cells)
        for iv in live:
            reach = self._reach[iv.name]
            involved = getattr(self, f"_{iv.kind}")(iv, week, levers, reach)
            if iv.pulses(week):
                cost += self._once(iv, "involved", involved) * (iv.cost_per_person * iv.intensity)
                if iv.sense_gain:
                    levers.sense_push[reach] += iv.sense_gain * iv.intensity
                    cost += self._once(iv, "reached", reach) * (iv.training_hours * iv.intensity)
            if week == iv.start:
                cost += self._headcount * iv.cost_fixed
            if iv.runs(week):
                cost += self._headcount * iv.cost_per_week * iv.intensity
            if iv.kind == "incentive":
                cost += self._reward_cost(iv, state, rows, reach)
        return cost

    def _once(self, iv: Intervention, what: str, who: np.ndarray) -> np.ndarray:
        """How many of ``who`` (a mask: ``what`` of ``iv``) each cell holds, counted the first
        week it is asked for: who an intervention reaches and involves is the same every week
        (each kind below returns the same people each week), and counting them every pulse
        was a sixth of the weekly levers' time in a comparison."""
        key = (iv.name, what)
        if key not in self._worked_out:
            self._worked_out[key] = np.bincount(self._cell[who], minlength=self._n_cells)
        return self._worked_out[key]

    def _reward_cost(
        self, iv: Intervention, state: AgentState, rows: slice, reach: np.ndarray
    ) -> np.ndarray:
        """Rewards paid for last week's rewarded units: active weeks (engagement), posts
        (completion) or good posts (performance), in hours of reward value."""
        posts = state.posts[rows]
        units = {
            "engagement": lambda: state.active[rows] & reach,
            "completion": lambda: posts * reach,
            "performance": lambda: posts * (1 - state.low_quality[rows]) * reach,
        }[iv.contingency]()
        weights = np.asarray(units, float)
        by_cell = np.bincount(self._cell, weights=weights, minlength=self._n_cells)
        return by_cell * iv.cost_per_reward * iv.intensity

    # Each kind sets its levers where it reaches and returns who its per-person cost is for:
    # the same people every week (``_once`` counts them once).

    def _mandate(self, iv, week, levers, reach) -> np.ndarray:
        """Pressure to be active (UTAUT: social influence in mandatory settings); the activity
        it adds beyond people's own reasons is compliance, and pressure breeds reactance where
        little value is seen (``models.dynamics``). Cost: managers checking compliance."""
        levers.pressure[reach] = np.maximum(levers.pressure[reach], iv.intensity)
        return reach

    def _incentive(self, iv, week, levers, reach) -> np.ndarray:
        """Rewards raise extrinsic motivation and give non-users a reason to try it; they crowd
        out intrinsic motivation in those who receive them, at the rate their contingency
        implies (Deci, Koestner & Ryan 1999); per-post rewards raise posting."""
        b = self._b
        levers.reward[reach] = iv.intensity
        levers.reward_basis[reach] = REWARD_BASES.index(iv.contingency)
        levers.reward_hollow[reach] = getattr(b, f"hollow_reward_{iv.contingency}")
        levers.crowding[reach] = crowding_rate(getattr(b, f"crowding_d_{iv.contingency}"), b)
        levers.posting[reach] *= 1 + iv.intensity * getattr(b, f"reward_posting_{iv.contingency}")
        return np.zeros_like(reach)

    def _campaign(self, iv, week, levers, reach) -> np.ndarray:
        """Pulses of awareness (launch events, webinars, roadshows) that decay; the activity
        events add is partly event-only use (``models.dynamics``)."""
        a = self.awareness(iv, week)
        levers.awareness[reach] = 1 - (1 - levers.awareness[reach]) * (1 - a)
        return reach

    def _sense_making(self, iv, week, levers, reach) -> np.ndarray:
        """Managers reached lead value conversations with their teams on pulse weeks; the
        effect on the team scales with the manager's own sense (``models.dynamics``). Cost:
        the manager's and each report's time."""
        leaders, teams = self._teams(iv, reach)
        if iv.pulses(week):
            levers.leading[leaders] = np.minimum(levers.leading[leaders] + iv.intensity, 1)
        return teams

    def _teams(self, iv: Intervention, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The managers ``reach`` holds, and them with their reports: worked out once an
        intervention (every week, it was a sixth of the weekly levers' time in a comparison)."""
        key = (iv.name, "teams")
        if key not in self._worked_out:
            leaders = reach & self._is_manager
            reports = np.zeros_like(leaders)
            has = self._manager_of >= 0
            reports[has] = leaders[self._manager_of[has]]
            self._worked_out[key] = leaders, leaders | reports
        return self._worked_out[key]

    def _champions(self, iv, week, levers, reach) -> np.ndarray:
        """Training makes champions coach more strongly; they answer questions and model use."""
        trained = reach & self._is_champion
        levers.coaching[trained] += iv.intensity
        return trained

    def _alignment(self, iv, week, levers, reach) -> np.ndarray:
        """Making the link to strategy explicit raises alignment where it reaches."""
        if iv.pulses(week):
            levers.alignment_push[reach] += iv.intensity * self._b.alignment_gain
        return reach

    def _stories(self, iv, week, levers, reach) -> np.ndarray:
        """Discussing value created: people hear what their active contacts really got."""
        pull = iv.intensity * self._b.story_pull
        levers.stories[reach] = np.maximum(levers.stories[reach], pull)
        return np.zeros_like(reach)

    def _experiment(self, iv, week, levers, reach) -> np.ndarray:
        """Pilot groups that experiment and learn work across teams: more contact with engaged
        people in other teams (the diverse ties innovation needs)."""
        levers.cross_reach[reach] *= 1 + iv.intensity
        return reach

    def _role_model(self, iv, week, levers, reach) -> np.ndarray:
        """Leaders commit to using the network visibly in their own work: their own reason to
        use it and post (not compliance); their teams see their manager active."""
        leaders = reach & self._is_manager if iv.target == "managers" else reach
        levers.role_model[leaders] = np.maximum(levers.role_model[leaders], iv.intensity)
        return leaders

    def _use_cases(self, iv, week, levers, reach) -> np.ndarray:
        """Work in the flow of work: use-case rounds raise the relevance of the network for
        one's own work and integration cuts its time cost, on pulse weeks."""
        if iv.pulses(week):
            levers.relevance_push[reach] += iv.intensity * self._b.relevance_gain
            levers.time_cut[reach] += iv.intensity * self._b.flow_time_cut
        return reach

    def _community(self, iv, week, levers, reach) -> np.ndarray:
        """Community managers curate what the people reached see: less noise, more good posts
        surfaced, answers found."""
        levers.curation[reach] = np.maximum(levers.curation[reach], iv.intensity)
        return reach
