"""Weekly records and run summaries.

Records are cheap enough to take every week at any size: sums, means and ``bincount``s, and
participation inequality from a histogram of integer post counts rather than a sort. They
never keep agent-level arrays, so memory grows with weeks, not with agents × weeks.

Value and cost share one unit throughout: hours of productive work (per week for weekly
records, summed over weeks in summaries).
"""

import numpy as np
import pandas as pd

from models.state import NONE, ROLE_NAMES, STAGE_NAMES, AgentState, Traits

WEEKS_IN_LAST_YEAR = 52
#: A heavy contributor posts at least this many times a week on average over a year (the "1%"
#: of Nielsen's 90-9-1; occasional contributors post less, observers not at all).
HEAVY_WEEKLY = 1.0
_STAGES = len(STAGE_NAMES)
#: Quantities kept per role × department cell each week: active, ever adopted, value, sum of
#: stages, programme cost.
_CELL_QUANTITIES = 5


def inequality(counts: np.ndarray, top: float = 0.01) -> tuple[float, float]:
    """Gini coefficient and the share held by the top ``top`` fraction, of whole-number counts.

    An empty or all-zero input has no inequality: (0, 0).
    """
    return inequality_of_histogram(np.bincount(counts.astype(np.int64)), top)


def inequality_of_histogram(freq: np.ndarray, top: float = 0.01) -> tuple[float, float]:
    """``inequality`` from ``freq[v]`` = how many people have count v.

    Working on the histogram costs O(number of distinct counts) instead of a sort.
    """
    values = np.flatnonzero(freq)
    c = freq[values].astype(float)
    n = c.sum()
    total = float((values * c).sum())
    if total <= 0:
        return 0.0, 0.0
    below = np.cumsum(c) - c  # ranks before each value, ascending
    rank_sum = values * (c * below + c * (c + 1) / 2)
    gini = 2 * rank_sum.sum() / (n * total) - (n + 1) / n
    k = max(1, int(np.ceil(top * n)))
    desc_values, desc_c = values[::-1], c[::-1]
    taken = np.minimum(desc_c, np.maximum(k - (np.cumsum(desc_c) - desc_c), 0))
    return float(gini), float((desc_values * taken).sum() / total)


def participation_split(posts: np.ndarray, heavy_weekly: float = HEAVY_WEEKLY,
                        period: int = WEEKS_IN_LAST_YEAR) -> dict:
    """Observers (no post in the period), occasional contributors (some, fewer than
    ``heavy_weekly`` a week on average) and heavy contributors, among the people whose posts
    over the period are ``posts`` (those active in it); the Gini of their posts and the
    shares of posts by the top 1% and by the heavy contributors."""
    posts = np.sort(np.asarray(posts, float))
    n = len(posts)
    if n == 0:
        return {"people": 0, "observers": 0.0, "occasional": 0.0, "heavy": 0.0, "gini": 0.0,
                "top1_share_of_posts": 0.0, "heavy_share_of_posts": 0.0}
    heavy = posts >= heavy_weekly * period
    observer = posts == 0
    total = posts.sum()
    ranks = np.arange(1, n + 1)
    gini = float((2 * ranks - n - 1) @ posts / (n * total)) if total > 0 else 0.0
    top = max(1, int(np.ceil(0.01 * n)))
    return {
        "people": n,
        "observers": float(observer.mean()),
        "occasional": float((~observer & ~heavy).mean()),
        "heavy": float(heavy.mean()),
        "gini": gini,
        "top1_share_of_posts": float(posts[-top:].sum() / total) if total > 0 else 0.0,
        "heavy_share_of_posts": float(posts[heavy].sum() / total) if total > 0 else 0.0,
    }


class Recorder:
    """Collects one row a week for the organisation, and one per role and per department.

    The counts come from one ``bincount`` a week over a combined code of role × department
    cell, active, ever adopted and stage; its margins give the organisation's stage mix and
    the role and department rows. The group rows are kept as one small array a week (cells ×
    quantities) and turned into a table when asked for, not built row by row every week.

    Participation over a year: who was active and how much each person posted is kept for the
    current 52-week year of the run (weeks 1–52, 53–104, …) and for the last complete one, so
    that the yearly observer / contributor split (Nielsen's 90-9-1) is exact without keeping
    weekly agent-level arrays.
    """

    def __init__(self, traits: Traits, department: np.ndarray, department_names: tuple[str, ...]):
        self._n_departments = len(department_names)
        cell = traits.role.astype(np.int64) * self._n_departments + department
        self.n_cells = len(ROLE_NAMES) * self._n_departments
        self.cell = cell
        self._code_base = cell * (4 * _STAGES)
        self._names = {"role": ROLE_NAMES, "department": department_names}
        self._sizes = self._margins(np.bincount(cell, minlength=self.n_cells))
        self.rows: list[dict] = []
        self._cells: list[np.ndarray] = []  # per week: (_CELL_QUANTITIES, cells)
        n = len(cell)
        self._year_posts = np.zeros(n, np.float32)
        self._year_active = np.zeros(n, bool)
        self._last_year: tuple[np.ndarray, np.ndarray] | None = None

    def _margins(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        table = cells.reshape(*cells.shape[:-1], len(ROLE_NAMES), self._n_departments)
        return {"role": table.sum(axis=-1), "department": table.sum(axis=-2)}

    def record(self, week: int, s: AgentState, cost: np.ndarray | float = 0.0) -> None:
        """Record ``week``; ``cost`` is the programme cost of the week, hours (per cell, or a
        total, attributed by headcount)."""
        n = s.n
        active = s.active
        value = s.value_personal + s.value_strategic
        cell_cost = np.asarray(cost, float)
        if cell_cost.ndim == 0:
            cell_cost = cell_cost * np.bincount(self.cell, minlength=self.n_cells) / max(n, 1)
        code = self._code_base + s.stage
        code += active * (2 * _STAGES)
        code += s.ever * _STAGES
        counts = np.bincount(code, minlength=self.n_cells * 4 * _STAGES)
        counts = counts.reshape(self.n_cells, 2, 2, _STAGES)
        by_stage = counts.sum(axis=(1, 2))  # cells × stages
        stage_counts = by_stage.sum(axis=0)
        cell_active = counts[:, 1].sum(axis=(1, 2))
        cell_ever = counts[:, :, 1].sum(axis=(1, 2))
        n_active, n_ever = int(cell_active.sum()), int(cell_ever.sum())
        # Among those who have ever adopted; the others have posted nothing, so they are
        # taken off the zero bin of everyone's histogram instead of being filtered out.
        posts_histogram = np.bincount(s.total_posts.astype(np.int64))
        posts_histogram[0] -= n - n_ever
        gini, top1 = inequality_of_histogram(posts_histogram)
        self._year_posts += s.posts
        self._year_active |= active
        users = np.count_nonzero(s.user)
        year_active = np.count_nonzero(self._year_active)
        row = {
            "week": week,
            "active_share": n_active / n,
            "adopted_share": n_ever / n,
            "user_share": np.count_nonzero(s.user) / n,
            **{f"stage_{name}": stage_counts[i] / n for i, name in enumerate(STAGE_NAMES)},
            "value_personal": float(s.value_personal.sum()),
            "value_strategic": float(s.value_strategic.sum()),
            "value_total": float(value.sum()),
            "value_creators_share": np.count_nonzero(value > 0) / n,
            "user_value_creators_share": np.count_nonzero(s.user & (value > 0)) / max(users, 1),
            "time_spent": float(s.time_spent.sum()),
            "posts": float(s.posts.sum()),
            "noise": float((s.posts * s.low_quality).sum()) if s.low_quality.any() else 0.0,
            "observer_share": np.count_nonzero(active & (s.posts == 0)) / max(n_active, 1),
            "hollow_share": float(s.low_quality[active].mean()) if n_active else 0.0,
            "year_active_share": year_active / n,
            "year_observer_share": np.count_nonzero(self._year_active & (self._year_posts == 0))
            / max(year_active, 1),
            "gini_posts": gini,
            "top1_posts_share": top1,
            "mean_intrinsic": float(s.intrinsic.mean()),
            "mean_extrinsic": float(s.extrinsic.mean()),
            "mean_reactance": float(s.reactance.mean()),
            "mean_sense": float(s.sense.mean()),
            "mean_alignment": float(s.alignment.mean()),
            "mean_perceived": float(s.perceived.mean()),
            "cost": float(cell_cost.sum()),
        }
        self.rows.append(row)
        cell_value = np.bincount(self.cell, weights=value, minlength=self.n_cells)
        cell_stage = by_stage @ np.arange(_STAGES)
        self._cells.append(np.stack([cell_active, cell_ever, cell_value, cell_stage, cell_cost]))
        if week % WEEKS_IN_LAST_YEAR == 0:
            self._last_year = (self._year_posts, self._year_active)
            self._year_posts = np.zeros_like(self._year_posts)
            self._year_active = np.zeros_like(self._year_active)

    def year_participation(self) -> dict:
        """The participation split of the last complete 52-week year of the run (of the
        current, incomplete one if there is none yet), among the people active in it."""
        posts, present = self._last_year or (self._year_posts, self._year_active)
        return participation_split(posts[present])

    def weekly(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def memory_bytes(self) -> int:
        """Bytes the records hold beyond their fixed set-up: a number of weekly rows and cell
        arrays that depends on weeks (and departments), never on agents."""
        return sum(c.nbytes for c in self._cells) + 8 * sum(len(r) for r in self.rows)

    def groups(self) -> pd.DataFrame:
        """One row per week per role and per department (groups with nobody are left out):
        size, active and adopted shares, value, mean stage, programme cost (attributed to the
        people it involved; shared costs by headcount) and net value."""
        columns = ["week", "group_type", "group", "size", "active_share", "adopted_share"]
        columns += ["value_total", "mean_stage", "cost", "net_value"]
        if not self._cells:
            return pd.DataFrame(columns=columns)
        cells = np.stack(self._cells)  # weeks × 4 × cells
        weeks = np.array([row["week"] for row in self.rows])
        frames = []
        for kind, sums in self._margins(cells).items():  # weeks × 4 × groups
            sizes = self._sizes[kind]
            present = np.flatnonzero(sizes)
            k, w = len(present), len(weeks)
            size = sizes[present].astype(float)
            frames.append(
                pd.DataFrame(
                    {
                        "week": np.repeat(weeks, k),
                        "group_type": kind,
                        "group": np.tile(np.asarray(self._names[kind], dtype=object)[present], w),
                        "size": np.tile(sizes[present], w),
                        "active_share": (sums[:, 0, present] / size).ravel(),
                        "adopted_share": (sums[:, 1, present] / size).ravel(),
                        "value_total": sums[:, 2, present].ravel(),
                        "mean_stage": (sums[:, 3, present] / size).ravel(),
                        "cost": sums[:, 4, present].ravel(),
                        "net_value": (sums[:, 2, present] - sums[:, 4, present]).ravel(),
                    }
                )
            )
        table = pd.concat(frames, ignore_index=True)
        # week-major, as the rows were recorded: each week's role rows, then its departments
        order = np.lexsort((np.arange(len(table)), table["week"].to_numpy()))
        return table.iloc[order].reset_index(drop=True)


def summarise(
    weekly: pd.DataFrame,
    s: AgentState,
    discount_rate: float = 0.0,
    window_end: int = 0,
    participation: dict | None = None,
) -> dict:
    """Run-level outcomes: net value (the headline), long-run value, value in the last year,
    the adoption–value gaps, value retained after the intervention window, participation.

    ``discount_rate`` is annual; week t is weighted by (1 + r)^(-t / 52).
    ``window_end`` is the last week any intervention runs (0 for none). Value retained is
    the mean weekly value over the year after it (or what remains of the horizon); when the
    window runs to the end, there is nothing after it and the value is None.
    The adoption–value gap is the mean, over the last year, of the share who have adopted
    minus the share who created positive net value that week: high when many have signed up
    but few get anything out of it ("lots of users, nobody knows what to use it for"). The
    gap among current users is the share of current users (tried it, not given up) who did
    not create positive net value, averaged over the last year: it does not count people who
    tried once and left against the network.
    ``participation`` is the yearly split (``Recorder.year_participation``), reported with a
    ``year_`` prefix.
    """
    last = weekly.tail(WEEKS_IN_LAST_YEAR)
    weeks = weekly["week"].to_numpy()
    weights = (1.0 + discount_rate) ** (-weeks / 52.0)
    positive = np.sort(np.maximum(s.total_value, 0.0))[::-1]
    top = max(1, int(np.ceil(0.1 * len(positive))))
    stage_counts = np.bincount(s.stage[s.ever], minlength=len(STAGE_NAMES))
    n_ever = max(int(s.ever.sum()), 1)
    cost = float(weekly["cost"].sum())
    long_run = float(weekly["value_total"].sum())
    after = weekly[(weekly["week"] > window_end) & (weekly["week"] <= window_end + 52)]
    out = {
        "weeks": int(len(weekly)),
        "agents": int(s.n),
        "net_value": long_run - cost,
        "long_run_value": long_run,
        "cost_total": cost,
        "discounted_value": float((weekly["value_total"].to_numpy() * weights).sum()),
        "value_last_year": float(last["value_total"].sum()),
        "window_end": int(window_end),
        "value_after_window": float(after["value_total"].mean()) if len(after) else None,
        "value_personal_total": float(weekly["value_personal"].sum()),
        "value_strategic_total": float(weekly["value_strategic"].sum()),
        "time_spent_total": float(weekly["time_spent"].sum()),
        "peak_active_share": float(weekly["active_share"].max()),
        "active_share_last_year": float(last["active_share"].mean()),
        "final_adopted_share": float(weekly["adopted_share"].iloc[-1]),
        "adoption_value_gap": float((last["adopted_share"] - last["value_creators_share"]).mean()),
        "adoption_value_gap_users": float(1 - last["user_value_creators_share"].mean()),
        "top10_value_share": float(positive[:top].sum() / positive.sum())
        if positive.sum()
        else 0.0,
        **{
            f"final_adopter_share_{name}": float(stage_counts[i] / n_ever)
            for i, name in enumerate(STAGE_NAMES)
            if i != NONE
        },
        "gini_posts": float(weekly["gini_posts"].iloc[-1]),
        "observer_share_last_year": float(last["observer_share"].mean()),
        "hollow_share_last_year": float(last["hollow_share"].mean()),
    }
    for key, value in (participation or {}).items():
        out[f"year_{key}"] = float(value)
    return out
