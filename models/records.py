"""Weekly records of one run or of an ensemble of runs, taken with a handful of array
operations a week whatever the number of runs.

Records are cheap enough to take every week at any size: a week keeps counts and sums per run
(one ``bincount`` for the stage, activity and adoption counts of every cell, float64 sums, and
what participation inequality needs from the sorted post counts); the shares and means of
the weekly table are formed from them when it is read, for all weeks at once. They never keep
agent-level arrays, so memory grows with weeks × runs, not with agents × weeks.

Every quantity is computed per run from the stacked rows of all runs (run r holds rows
``r·n … (r+1)·n - 1``): the rows are viewed as a (runs × n) table and reduced along each
run's row, in float64 — the same additions, in the same order, for a run alone as for the
same run in an ensemble, so a run's records do not depend on what it was run with.

Value and cost share one unit throughout: hours of productive work per week.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.metrics import HEAVY_WEEKLY, TOP, WEEKS_IN_LAST_YEAR, participation_split
from models.state import ROLE_NAMES, STAGE_NAMES, AgentState

_STAGES = len(STAGE_NAMES)
#: State variables whose mean over a run's people is recorded each week (``mean_<name>``).
MEAN_STATES = ("intrinsic", "extrinsic", "reactance", "sense", "alignment", "perceived")
#: What a week keeps per run: counts and sums, from which ``_weekly_columns`` forms the
#: weekly table's shares and means.
SUMS = (
    "active",
    "ever",
    "users",
    *(f"stage_{name}" for name in STAGE_NAMES),
    "value_personal",
    "value_strategic",
    "value_total",
    "value_creators",
    "user_value_creators",
    "time_spent",
    "posts",
    "noise",
    "observers",
    "hollow",
    "year_active",
    "year_observers",
    "posts_total",
    "posts_weighted",
    "posts_top",
    *(f"mean_{name}" for name in MEAN_STATES),
    "cost",
)
#: Quantities kept per role × department cell each week: active, ever adopted, value, sum of
#: stages, programme cost.
CELL_QUANTITIES = ("active", "ever", "value", "stage", "cost")
#: The kinds of group of ``Records.groups``, and its columns.
GROUP_TYPES = ("role", "department")
GROUP_COLUMNS = ["week", "group_type", "group", "size", "active_share", "adopted_share"]
GROUP_COLUMNS += ["value_total", "mean_stage", "cost", "net_value"]


def _in_order(values: np.ndarray, axis: int) -> np.ndarray:
    """Sum along ``axis`` one element after the other (the order of ``np.cumsum``).

    A run's cells are laid out for the ensemble's largest number of departments, so a run
    with fewer departments has empty cells (zeros) among its own when it runs with others.
    Added in order, zeros leave a sum unchanged bit for bit; ``np.sum`` adds in pairs, and
    its pairs would shift with the padding, changing the last bits of a run's cost.
    """
    return np.cumsum(values, axis=axis).take(-1, axis=axis)


def _weekly_columns(s: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The weekly table's columns (each weeks × runs) from the weeks' counts and sums."""

    def among(count: np.ndarray, of: np.ndarray) -> np.ndarray:
        return count / np.maximum(of, 1)

    gini, top1 = _inequality(s["posts_total"], s["posts_weighted"], s["posts_top"], s["ever"], n)
    return {
        "active_share": s["active"] / n,
        "adopted_share": s["ever"] / n,
        "user_share": s["users"] / n,
        **{f"stage_{k}": s[f"stage_{k}"] / n for k in STAGE_NAMES},
        "value_personal": s["value_personal"],
        "value_strategic": s["value_strategic"],
        "value_total": s["value_total"],
        "value_creators_share": s["value_creators"] / n,
        "user_value_creators_share": among(s["user_value_creators"], s["users"]),
        "time_spent": s["time_spent"],
        "posts": s["posts"],
        "noise": s["noise"],
        "observer_share": among(s["observers"], s["active"]),
        "hollow_share": among(s["hollow"], s["active"]),
        "year_active_share": s["year_active"] / n,
        "year_observer_share": among(s["year_observers"], s["year_active"]),
        "gini_posts": gini,
        "top1_posts_share": top1,
        **{f"mean_{k}": s[f"mean_{k}"] / n for k in MEAN_STATES},
        "cost": s["cost"],
    }


def _inequality(total, weighted, top, m, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gini and top-1% share of cumulative contributions among each run's ``m`` adopters,
    from the sums ``Records._posts_ranked`` keeps.

    Never-adopters have posted nothing, so the adopters' counts are the ``m`` largest of a
    run's sorted counts: with counts sorted ascending at positions j = 1..n, the adopter at
    position j has rank j - (n - m) among the m adopters, and positions below n - m hold
    zeros, so G = 2 Σ_j (j - n + m) x_j / (m Σx) - (m + 1) / m over all j.
    """
    ok = (total > 0) & (m > 0)
    safe_m, safe_total = np.where(ok, m, 1), np.where(ok, total, 1)
    ranked = weighted - (n - m) * total
    gini = np.where(ok, 2 * ranked / (safe_m * safe_total) - (safe_m + 1) / safe_m, 0.0)
    return gini, np.where(ok, top / safe_total, 0.0)


class Records:
    """One row a week for each run, and one per role and per department of each run.

    ``role`` and ``department`` are the stacked rows' codes; ``n`` is the size of every run;
    ``department_names`` holds each run's names. The counts come from one ``bincount`` a week
    over a combined code of run × role × department cell, active, ever adopted and stage; its
    margins give each run's stage mix and its role and department rows.

    Participation over a year: who was active and how much each person posted is kept for the
    current 52-week year of the run (weeks 1–52, 53–104, …) and for the last complete one, so
    that the yearly observer / contributor split (Nielsen's 90-9-1) is exact without keeping
    weekly agent-level arrays.
    """

    def __init__(
        self,
        role: np.ndarray,
        department: np.ndarray,
        n: int,
        department_names: list[tuple[str, ...]],
    ):
        self.n = n
        self.runs = len(department_names)
        self.run = np.repeat(np.arange(self.runs), n)
        self._names = department_names
        self._departments = max(len(d) for d in department_names)
        #: cells per run: role × department (the same layout for every run)
        self.n_cells = len(ROLE_NAMES) * self._departments
        self.cell = role.astype(np.int64) * self._departments + department
        self._global_cell = self.run * self.n_cells + self.cell
        # cells × rows, for each run's value per cell: one sparse product a week
        self._cell_matrix = sp.csr_array(
            (np.ones(self.run.size), (self._global_cell, np.arange(self.run.size))),
            shape=(self.runs * self.n_cells, self.run.size),
        )
        self._sizes = np.bincount(self._global_cell, minlength=self.runs * self.n_cells).reshape(
            self.runs, self.n_cells
        )
        self._weeks: list[int] = []
        self._sums: list[np.ndarray] = []  # per week: (SUMS, runs)
        self._cells: list[np.ndarray] = []  # per week: (quantities, runs, cells)
        self._code = np.empty(self.run.size, np.int64)  # work space for the week's codes
        self._ranks = np.arange(1, n + 1)
        self._year_posts = np.zeros(self.runs * n, np.float32)
        self._year_active = np.zeros(self.runs * n, bool)
        self._last_year: tuple[np.ndarray, np.ndarray] | None = None
        self._columns: dict[str, np.ndarray] | None = None  # metric → (weeks, runs), cached

    def _per_run(self, values) -> np.ndarray:
        """Sum of ``values`` over each run's rows (float64)."""
        return np.asarray(values).reshape(self.runs, self.n).sum(axis=1, dtype=np.float64)

    def _count(self, mask: np.ndarray) -> np.ndarray:
        """How many of each run's rows ``mask`` holds."""
        if self.runs == 1:  # one run: NumPy counts a flat mask five times faster than it sums
            return np.array([np.count_nonzero(mask)])
        # many runs: the set bits of each run's mask packed eight to a byte, counted
        packed = np.packbits(mask.reshape(self.runs, self.n), axis=1)
        return np.bitwise_count(packed).sum(axis=1, dtype=np.int32)

    def record(self, week: int, s: AgentState, cost: np.ndarray) -> None:
        """Record ``week``; ``cost`` is each run's programme cost of the week per cell, hours,
        shaped (runs, cells).

        A week keeps sums and counts per run (``SUMS``); the shares and means of the weekly
        table are formed from them when it is read (``weekly``), for all weeks at once."""
        runs = self.runs
        active = s.active
        value = np.add(s.value_personal, s.value_strategic, dtype=np.float64)
        # the week's code of each row: active, ever adopted and stage (small numbers, added in
        # int8), then its cell among every run's cells; the counts of the codes, grouped by
        # them first, have margins that are sums of whole blocks
        flags = active * np.int8(2 * _STAGES)
        flags += s.ever * np.int8(_STAGES)
        flags += s.stage
        all_cells = runs * self.n_cells
        code = np.multiply(flags, all_cells, out=self._code, dtype=np.int64)
        code += self._global_cell
        counts = np.bincount(code, minlength=4 * _STAGES * all_cells)
        counts = counts.reshape(2, 2, _STAGES, runs, self.n_cells)
        by_stage = counts.sum(axis=(0, 1))  # stages × runs × cells
        cell_active, cell_ever = counts[1].sum(axis=(0, 1)), counts[:, 1].sum(axis=(0, 1))
        n_active, n_ever = cell_active.sum(axis=1), cell_ever.sum(axis=1)
        self._year_posts += s.posts
        self._year_active |= active
        creates = value > 0
        cost = np.asarray(cost, float).reshape(runs, self.n_cells)
        sums = {
            "active": n_active,
            "ever": n_ever,
            "users": self._count(s.user),
            **{f"stage_{k}": c for k, c in zip(STAGE_NAMES, by_stage.sum(axis=2), strict=True)},
            "value_personal": self._per_run(s.value_personal),
            "value_strategic": self._per_run(s.value_strategic),
            "value_total": self._per_run(value),
            "value_creators": self._count(creates),
            "user_value_creators": self._count(s.user & creates),
            "time_spent": self._per_run(s.time_spent),
            "posts": self._per_run(s.posts),
            "noise": self._per_run(s.posts * s.low_quality),
            "observers": self._count(active & (s.posts == 0)),
            "hollow": self._per_run(s.low_quality),  # 0 for everyone not active
            "year_active": self._count(self._year_active),
            "year_observers": self._count(self._year_active & (self._year_posts == 0)),
            **self._posts_ranked(s.total_posts, n_ever),
            **{f"mean_{k}": self._per_run(getattr(s, k)) for k in MEAN_STATES},
            "cost": _in_order(cost, axis=1),
        }
        self._weeks.append(week)
        self._sums.append(np.array([sums[k] for k in SUMS], dtype=np.float64))
        self._columns = None
        cell_value = (self._cell_matrix @ value).reshape(runs, self.n_cells)
        cell_stage = np.einsum("k,krc->rc", np.arange(_STAGES), by_stage)
        self._cells.append(np.stack([cell_active, cell_ever, cell_value, cell_stage, cost]))
        if week % WEEKS_IN_LAST_YEAR == 0:
            self._last_year = (self._year_posts, self._year_active)
            self._year_posts = np.zeros_like(self._year_posts)
            self._year_active = np.zeros_like(self._year_active)

    def _posts_ranked(self, total_posts, n_ever) -> dict[str, np.ndarray]:
        """What the Gini and top-1% share of each run's cumulative contributions need
        (``_inequality``): the total, the rank-weighted total of the counts sorted ascending,
        and the total of the largest ``ceil(TOP × adopters)``. All are sums of whole numbers
        below 2⁵³, so exact in float64 whatever the order of the additions."""
        n = self.n
        x = np.sort(total_posts.astype(np.int32).reshape(self.runs, n), axis=1)
        k = np.minimum(np.maximum(1, np.ceil(TOP * n_ever)), n).astype(np.int64)
        from_top = np.cumsum(x[:, : n - int(k.max()) - 1 : -1], axis=1, dtype=np.float64)
        return {
            "posts_total": x.sum(axis=1, dtype=np.float64),
            "posts_weighted": np.einsum("rn,n->r", x, self._ranks),  # whole numbers, no BLAS
            "posts_top": from_top[np.arange(self.runs), k - 1],
        }

    # --- reading the records back, run by run ------------------------------------------------

    def weekly(self, r: int = 0, ids: dict | None = None) -> pd.DataFrame:
        """Run ``r``'s weekly organisation-level records, after the columns ``ids`` (name →
        one value for every week: a study's scenario, replication and seed), if given."""
        weeks = len(self._weeks)
        first = {key: np.repeat(value, weeks) for key, value in (ids or {}).items()}
        return pd.DataFrame({**first, **self.columns(r)})

    def columns(self, r: int = 0) -> dict[str, np.ndarray]:
        """The columns of ``weekly`` as arrays: what a summary reads, without a table."""
        if self._columns is None:
            sums = np.stack(self._sums) if self._sums else np.empty((0, len(SUMS), self.runs))
            self._columns = _weekly_columns(
                dict(zip(SUMS, sums.transpose(1, 0, 2), strict=True)), self.n
            )
        columns = {"week": np.asarray(self._weeks, dtype=np.int64)}
        columns.update({key: values[:, r] for key, values in self._columns.items()})
        return columns

    def memory_bytes(self) -> int:
        """Bytes the records hold beyond their fixed set-up: a number of weekly rows and cell
        arrays that depends on weeks and runs (and departments), never on agents."""
        return sum(c.nbytes for c in self._cells) + sum(v.nbytes for v in self._sums)

    def groups(self, r: int = 0) -> pd.DataFrame:
        """Run ``r``'s rows per week per role and per department (groups with nobody are left
        out): size, active and adopted shares, value, mean stage, programme cost (attributed to
        the people it involved; shared costs by headcount) and net value."""
        if not self._cells:
            return pd.DataFrame(columns=GROUP_COLUMNS)
        table = pd.concat([self.group_rows(r, kind) for kind in GROUP_TYPES], ignore_index=True)
        # week-major, as the rows were recorded: each week's role rows, then its departments
        order = np.lexsort((np.arange(len(table)), table["week"].to_numpy()))
        return table.iloc[order].reset_index(drop=True)

    def group_rows(self, r: int, kind: str) -> pd.DataFrame:
        """The rows of ``groups`` of one kind (``GROUP_TYPES``), week by week."""
        return self.group_table([r], kind).drop(columns="run")

    def group_table(self, runs: Sequence[int], kind: str) -> pd.DataFrame:
        """``group_rows`` of each of ``runs`` at once, run by run, with a ``run`` column first:
        what a study's per-department outcomes of a whole ensemble are computed from in one
        pass (``models.ensemble.Ensemble.department_outcomes``)."""
        if not self._cells:
            return pd.DataFrame(columns=["run", *GROUP_COLUMNS])
        runs = list(runs)
        # weeks × quantities × runs × roles × departments
        cells = np.stack([c[:, runs] for c in self._cells])
        table = cells.reshape(*cells.shape[:-1], len(ROLE_NAMES), self._departments)
        sizes = self._sizes[runs].reshape(len(runs), len(ROLE_NAMES), self._departments)
        if kind == "role":
            sums, size_margin = _in_order(table, axis=-1), sizes.sum(axis=-1)
            names = [ROLE_NAMES] * len(runs)
        else:
            sums, size_margin = table.sum(axis=-2), sizes.sum(axis=-2)
            names = [self._names[r] for r in runs]
        weeks, width = len(self._weeks), size_margin.shape[-1]
        present = np.repeat((size_margin > 0)[:, None, :], weeks, axis=1)  # runs × weeks × groups

        def rows(values) -> np.ndarray:
            """``values`` (broadcast to weeks × runs × groups) at each run's groups with
            somebody in them, run by run, week by week."""
            return np.broadcast_to(values, (weeks, len(runs), width)).transpose(1, 0, 2)[present]

        size = np.maximum(size_margin, 1).astype(float)  # groups left out divide by 1, not 0
        label = np.full(size_margin.shape, None, dtype=object)
        for k, run_names in enumerate(names):
            label[k, : len(run_names)] = run_names
        return pd.DataFrame(
            {
                "run": rows(np.asarray(runs)[:, None]),
                "week": rows(np.asarray(self._weeks)[:, None, None]),
                "group_type": kind,
                "group": rows(label),
                "size": rows(size_margin),
                "active_share": rows(sums[:, 0] / size),
                "adopted_share": rows(sums[:, 1] / size),
                "value_total": rows(sums[:, 2]),
                "mean_stage": rows(sums[:, 3] / size),
                "cost": rows(sums[:, 4]),
                "net_value": rows(sums[:, 2] - sums[:, 4]),
            }
        )

    def year_participation(self, r: int = 0) -> dict:
        """Run ``r``'s participation split over the last complete 52-week year (the current,
        incomplete one if there is none yet), among the people active in it."""
        posts, present = self._last_year or (self._year_posts, self._year_active)
        rows = slice(r * self.n, (r + 1) * self.n)
        return participation_split(posts[rows][present[rows]], HEAVY_WEEKLY)
