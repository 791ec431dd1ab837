"""Weekly records of one run or of an ensemble of runs, taken with one pass over the rows a
week whatever the number of runs.

Records are cheap enough to take every week at any size: a week keeps counts and sums per run
(the stage, activity and adoption counts of every cell, float64 sums, and what participation
inequality needs from the post counts); the shares and means of the weekly table are
formed from them when it is read, for all weeks at once. They never keep agent-level arrays,
so memory grows with weeks × runs, not with agents × weeks.

Every quantity is computed per run from the stacked rows of all runs (run r holds rows
``r·n … (r+1)·n - 1``), in one pass over each run's rows in order (``_tally``, compiled with
Numba): the same additions, in the same order, for a run alone as for the same run in an
ensemble, so a run's records do not depend on what it was run with. The sums are float64,
added row after row; the counts are exact.

Value and cost share one unit throughout: hours of productive work per week.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.compiled import compiled
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
ACTIVE, EVER, VALUE, STAGE, COST = range(len(CELL_QUANTITIES))
#: The kinds of group of ``Records.groups``, and its columns.
GROUP_TYPES = ("role", "department")
GROUP_COLUMNS = ["week", "group_type", "group", "size", "active_share", "adopted_share"]
GROUP_COLUMNS += ["value_total", "mean_stage", "cost", "net_value"]
#: The float64 sums ``_tally`` adds up per run, in its order.
FLOAT_SUMS = (
    "value_personal",
    "value_strategic",
    "value_total",
    "time_spent",
    "posts",
    "noise",
    "hollow",
    *(f"mean_{name}" for name in MEAN_STATES),
)
#: The counts ``_tally`` keeps per run, in its order.
COUNTS = (
    "users",
    "value_creators",
    "user_value_creators",
    "observers",
    "year_active",
    "year_observers",
)
#: What ``Records._posts_ranked`` gives per run, in its order.
RANKED = ("posts_total", "posts_weighted", "posts_top")
#: Where each of a week's sums is kept (its row of ``SUMS``).
_ROW = {name: k for k, name in enumerate(SUMS)}
_FLOAT_ROWS, _COUNT_ROWS, _RANKED_ROWS = (
    [_ROW[name] for name in names] for names in (FLOAT_SUMS, COUNTS, RANKED)
)
_MARGIN_ROWS = tuple(_ROW[name] for name in ("active", "ever", "stage_none", "cost"))


@compiled
def _tally(
    n, cell, active, ever, stage, user, personal, strategic, time_spent, posts, hollow, means,
    year_posts, year_active, codes, cell_value, sums, counts,
):  # pragma: no cover  (run compiled, so coverage cannot see it)  # fmt: skip
    """One pass over every run's rows, in order: the counts of each run's people by active,
    ever adopted, stage and cell (``codes``), each cell's value (``cell_value``), the float64
    sums of ``FLOAT_SUMS`` (``sums``; ``means`` holds ``MEAN_STATES``' arrays) and the counts
    of ``COUNTS`` (``counts``), after adding this week's posts and activity to the year's
    (``year_posts``, ``year_active``). The sums are kept in local variables while a run's
    rows are added (stored after each row, they would cost three times as much)."""
    for r in range(cell_value.shape[0]):
        vp = vs = ts = po = ho = total = noise = 0.0
        m0 = m1 = m2 = m3 = m4 = m5 = 0.0
        users = creators = user_creators = observers = year = year_observers = 0
        for i in range(r * n, (r + 1) * n):
            a = active[i]
            value = np.float64(personal[i]) + np.float64(strategic[i])
            codes[r, a, ever[i], stage[i], cell[i]] += 1
            cell_value[r, cell[i]] += value
            vp += np.float64(personal[i])
            vs += np.float64(strategic[i])
            ts += np.float64(time_spent[i])
            po += np.float64(posts[i])
            ho += np.float64(hollow[i])
            total += value
            noise += np.float64(posts[i] * hollow[i])  # the float32 product, as NumPy's
            m0 += np.float64(means[0][i])
            m1 += np.float64(means[1][i])
            m2 += np.float64(means[2][i])
            m3 += np.float64(means[3][i])
            m4 += np.float64(means[4][i])
            m5 += np.float64(means[5][i])
            year_posts[i] += posts[i]
            year_active[i] |= a
            creates = value > 0
            users += user[i]
            creators += creates
            user_creators += user[i] & creates
            observers += a & (posts[i] == 0)
            year += year_active[i]
            year_observers += year_active[i] & (year_posts[i] == 0)
        for q, x in enumerate((vp, vs, total, ts, po, noise, ho, m0, m1, m2, m3, m4, m5)):
            sums[r, q] = x
        for q, c in enumerate((users, creators, user_creators, observers, year, year_observers)):
            counts[r, q] = c


#: Counts below this are tallied in a histogram (``_ranked``); the few above it are sorted.
DENSE_COUNTS = 512


@compiled
def _ranked(n, total_posts, largest, top, out):  # pragma: no cover  (run compiled)
    """For each run: with its ``n`` counts ``total_posts`` (whole numbers up to ``largest``)
    sorted ascending at positions 1..n, their total (``out[0]``), Σ position × count
    (``out[1]``) and the total of the ``top[r]`` largest (``out[2]``).

    Counts below ``DENSE_COUNTS`` come from a histogram: the ``h`` counts equal to ``v`` above
    ``below`` smaller ones hold positions below + 1 … below + h. The larger ones, a few
    prolific posters' (cumulative counts reach 10,000 in five years), are sorted and follow
    one by one: a histogram up to the largest count cost more than the run's rows. Whole
    numbers throughout, so the sums are exact whatever the grouping."""
    dense = min(largest + 1, DENSE_COUNTS)
    histogram = np.zeros(dense, np.int64)
    above = np.empty(n, np.int64)
    for r in range(out.shape[1]):
        histogram[:] = 0
        k = 0
        for i in range(r * n, (r + 1) * n):
            v = np.int64(total_posts[i])
            if v < dense:
                histogram[v] += 1
            else:
                above[k] = v
                k += 1
        tail = np.sort(above[:k])
        below = total = weighted = 0
        for v in range(dense):
            h = histogram[v]
            total += v * h
            weighted += v * (h * below + h * (h + 1) // 2)
            below += h
        for j in range(k):
            below += 1
            total += tail[j]
            weighted += tail[j] * below
        left, best = top[r], 0
        for j in range(k - 1, max(k - left, 0) - 1, -1):
            best += tail[j]
        left -= min(left, k)
        for v in range(dense - 1, -1, -1):
            if left == 0:
                break
            take = min(histogram[v], left)
            best += v * take
            left -= take
        out[0, r], out[1, r], out[2, r] = total, weighted, best


@compiled
def _margins(codes, cost, cells, sums, rows):  # pragma: no cover  (compiled)
    """The margins of each run's people by active, ever adopted, stage and cell (``codes``):
    into ``cells`` (``CELL_QUANTITIES`` × runs × cells) the active, the ever adopted and the
    sum of stages of each cell, and its ``cost``; into ``sums`` (``SUMS`` × runs), at the rows
    ``rows`` (active, ever adopted, the first stage, cost), the active, the ever adopted, the
    people at each stage and the cost, each cell's added in the cells' order. Whole numbers
    throughout but the cost, so exact; the cost in the order of ``np.cumsum``."""
    active_row, ever_row, first_stage, cost_row = rows
    runs, _, _, stages, n_cells = codes.shape
    for r in range(runs):
        active = ever = 0
        spent = 0.0
        for c in range(n_cells):
            cell_active = cell_ever = cell_stage = 0
            for a in range(2):
                for e in range(2):
                    for k in range(stages):
                        count = codes[r, a, e, k, c]
                        cell_active += a * count
                        cell_ever += e * count
                        cell_stage += k * count
                        sums[first_stage + k, r] += count
            cells[ACTIVE, r, c] = cell_active
            cells[EVER, r, c] = cell_ever
            cells[STAGE, r, c] = cell_stage
            cells[COST, r, c] = cost[r, c]
            active += cell_active
            ever += cell_ever
            spent = cost[r, c] if c == 0 else spent + cost[r, c]
        sums[active_row, r] = active
        sums[ever_row, r] = ever
        sums[cost_row, r] = spent


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
    ``department_names`` holds each run's names. The counts come from one table a week of each
    run's people by role × department cell, active, ever adopted and stage; its margins give
    each run's stage mix and its role and department rows.

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
        self._names = department_names
        self._departments = max(len(d) for d in department_names)
        #: cells per run: role × department (the same layout for every run)
        self.n_cells = len(ROLE_NAMES) * self._departments
        self.cell = role.astype(np.int64) * self._departments + department
        global_cell = np.repeat(np.arange(self.runs), n) * self.n_cells + self.cell
        self._sizes = np.bincount(global_cell, minlength=self.runs * self.n_cells).reshape(
            self.runs, self.n_cells
        )
        self._weeks: list[int] = []
        self._sums: list[np.ndarray] = []  # per week: (SUMS, runs)
        self._cells: list[np.ndarray] = []  # per week: (quantities, runs, cells)
        self._year_posts = np.zeros(self.runs * n, np.float32)
        self._year_active = np.zeros(self.runs * n, bool)
        self._last_year: tuple[np.ndarray, np.ndarray] | None = None
        self._columns: dict[str, np.ndarray] | None = None  # metric → (weeks, runs), cached

    def record(self, week: int, s: AgentState, cost: np.ndarray) -> None:
        """Record ``week``; ``cost`` is each run's programme cost of the week per cell, hours,
        shaped (runs, cells).

        A week keeps sums and counts per run (``SUMS``); the shares and means of the weekly
        table are formed from them when it is read (``weekly``), for all weeks at once."""
        runs, cells = self.runs, self.n_cells
        # each run's people by active, ever adopted, stage and cell: the margins of this table
        # (sums of whole blocks) give the stage mix and the role and department rows
        codes = np.zeros((runs, 2, 2, _STAGES, cells), np.int64)
        week_cells = np.zeros((len(CELL_QUANTITIES), runs, cells))
        sums = np.zeros((len(SUMS), runs))
        floats = np.zeros((runs, len(FLOAT_SUMS)))
        counts = np.zeros((runs, len(COUNTS)), np.int64)
        _tally(
            self.n,
            self.cell.view(np.uint64),  # unsigned: Numba indexes without a test
            *(flags.view(np.uint8) for flags in (s.active, s.ever, s.stage, s.user)),
            s.value_personal,
            s.value_strategic,
            s.time_spent,
            s.posts,
            s.low_quality,  # 0 for everyone not active: the hollow share of the active
            tuple(getattr(s, name) for name in MEAN_STATES),
            self._year_posts,
            self._year_active.view(np.uint8),
            codes,
            week_cells[VALUE],
            floats,
            counts,
        )
        cost = np.asarray(cost, float).reshape(runs, cells)
        _margins(codes, cost, week_cells, sums, _MARGIN_ROWS)
        sums[_FLOAT_ROWS] = floats.T
        sums[_COUNT_ROWS] = counts.T
        adopters = sums[_ROW["ever"]].astype(np.int64)
        sums[_RANKED_ROWS] = self._posts_ranked(s.total_posts, adopters)
        self._weeks.append(week)
        self._sums.append(sums)
        self._columns = None
        self._cells.append(week_cells)
        if week % WEEKS_IN_LAST_YEAR == 0:
            self._last_year = (self._year_posts, self._year_active)
            self._year_posts = np.zeros_like(self._year_posts)
            self._year_active = np.zeros_like(self._year_active)

    def _posts_ranked(self, total_posts, n_ever) -> np.ndarray:
        """What the Gini and top-1% share of each run's cumulative contributions need
        (``_inequality``), ``RANKED`` × runs: the total, the rank-weighted total of the counts
        sorted ascending, and the total of the largest ``ceil(TOP × adopters)`` (``_ranked``).
        All are whole numbers below 2⁵³, so exact in float64."""
        top = np.minimum(np.maximum(1, np.ceil(TOP * n_ever)), self.n).astype(np.int64)
        out = np.zeros((len(RANKED), self.runs), np.int64)
        _ranked(self.n, total_posts, int(total_posts.max(initial=0)), top, out)
        return out

    # --- reading the records back, run by run ------------------------------------------------

    def weekly(self, r: int = 0, ids: dict | None = None) -> pd.DataFrame:
        """Run ``r``'s weekly organisation-level records, after the columns ``ids`` (name →
        one value for every week: a study's scenario, replication and seed), if given."""
        weeks = len(self._weeks)
        first = {key: np.repeat(value, weeks) for key, value in (ids or {}).items()}
        return pd.DataFrame({**first, **self.columns(r)})

    def table(self, ids: Mapping[str, Sequence]) -> pd.DataFrame:
        """Every run's ``weekly`` records, run after run, after the columns ``ids`` (name → one
        value per run): the rows of ``weekly(r, ...)`` for each run in turn, in one table built
        column by column rather than a table per run joined afterwards."""
        weeks = len(self._weeks)
        first = {key: np.repeat(np.asarray(values), weeks) for key, values in ids.items()}
        self.columns()  # the weekly columns of every run, (weeks, runs) each
        columns = {"week": np.tile(np.asarray(self._weeks, dtype=np.int64), self.runs)}
        columns.update({key: values.T.ravel() for key, values in self._columns.items()})
        return pd.DataFrame({**first, **columns})

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
