"""Run summaries, and the measures of participation inequality they and the weekly records
(``models.records``) use.

Value and cost share one unit throughout: hours of productive work (per week for weekly
records, summed over weeks in summaries).
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.state import NONE, STAGE_NAMES, AgentState

WEEKS_IN_LAST_YEAR = 52
#: A heavy contributor posts at least this many times a week on average over a year (the "1%"
#: of Nielsen's 90-9-1; occasional contributors post less, observers not at all).
HEAVY_WEEKLY = 1.0
#: The "top" of contributors whose share of contributions is reported: 1%.
TOP = 0.01


def inequality(counts: np.ndarray, top: float = TOP) -> tuple[float, float]:
    """Gini coefficient and the share held by the top ``top`` fraction, of whole-number counts.

    An empty or all-zero input has no inequality: (0, 0).
    """
    gini, share = inequality_of_histograms(np.bincount(counts.astype(np.int64)), top)
    return float(gini[0]), float(share[0])


def inequality_of_histograms(freq: np.ndarray, top: float = TOP) -> tuple[np.ndarray, np.ndarray]:
    """Gini coefficient and the share held by the top ``top`` fraction, for each row of
    ``freq`` (``freq[r, v]`` = how many people of row r have the whole-number count v).

    Working on histograms costs O(rows × distinct counts) instead of a sort. A row with nobody
    or no counts has no inequality: (0, 0).
    """
    freq = np.atleast_2d(freq).astype(float)
    values = np.arange(freq.shape[1], dtype=float)
    n = freq.sum(axis=1)
    total = freq @ values
    below = np.cumsum(freq, axis=1) - freq  # ranks before each value, ascending
    rank_sum = (values * (freq * below + freq * (freq + 1) / 2)).sum(axis=1)
    ok = total > 0
    safe_n, safe_total = np.where(ok, n, 1), np.where(ok, total, 1)
    gini = np.where(ok, 2 * rank_sum / (safe_n * safe_total) - (safe_n + 1) / safe_n, 0.0)
    k = np.maximum(1, np.ceil(top * n))
    desc = freq[:, ::-1]
    before = np.cumsum(desc, axis=1) - desc
    taken = np.minimum(desc, np.maximum(k[:, None] - before, 0))
    share = np.where(ok, (taken @ values[::-1]) / safe_total, 0.0)
    return gini, share


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
    top = max(1, int(np.ceil(TOP * n)))
    return {
        "people": n,
        "observers": float(observer.mean()),
        "occasional": float((~observer & ~heavy).mean()),
        "heavy": float(heavy.mean()),
        "gini": gini,
        "top1_share_of_posts": float(posts[-top:].sum() / total) if total > 0 else 0.0,
        "heavy_share_of_posts": float(posts[heavy].sum() / total) if total > 0 else 0.0,
    }


def summarise(
    weekly: Mapping[str, np.ndarray] | pd.DataFrame,
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
    ``participation`` is the yearly split (``Records.year_participation``), reported with a
    ``year_`` prefix. ``weekly`` is the weekly table, or its columns as arrays
    (``Records.columns``: the same sums without building a table, which costs more than the
    summary itself for a small run).
    """
    def col(name: str) -> np.ndarray:
        return np.asarray(weekly[name])

    weeks = col("week")
    weights = (1.0 + discount_rate) ** (-weeks / 52.0)
    positive = np.sort(np.maximum(s.total_value, 0.0))[::-1]
    top = max(1, int(np.ceil(0.1 * len(positive))))
    stage_counts = np.bincount(s.stage[s.ever], minlength=len(STAGE_NAMES))
    n_ever = max(int(s.ever.sum()), 1)
    value = col("value_total")
    cost = float(col("cost").sum())
    long_run = float(value.sum())
    after = value[(weeks > window_end) & (weeks <= window_end + 52)]
    last = slice(-WEEKS_IN_LAST_YEAR, None)
    out = {
        "weeks": int(len(weeks)),
        "agents": int(s.n),
        "net_value": long_run - cost,
        "long_run_value": long_run,
        "cost_total": cost,
        "discounted_value": float((value * weights).sum()),
        "value_last_year": float(value[last].sum()),
        "window_end": int(window_end),
        "value_after_window": float(after.mean()) if len(after) else None,
        "value_personal_total": float(col("value_personal").sum()),
        "value_strategic_total": float(col("value_strategic").sum()),
        "time_spent_total": float(col("time_spent").sum()),
        "peak_active_share": float(col("active_share").max()),
        "active_share_last_year": float(col("active_share")[last].mean()),
        "final_adopted_share": float(col("adopted_share")[-1]),
        "adoption_value_gap": float(
            (col("adopted_share")[last] - col("value_creators_share")[last]).mean()
        ),
        "adoption_value_gap_users": float(1 - col("user_value_creators_share")[last].mean()),
        "top10_value_share": float(positive[:top].sum() / positive.sum())
        if positive.sum()
        else 0.0,
        **{
            f"final_adopter_share_{name}": float(stage_counts[i] / n_ever)
            for i, name in enumerate(STAGE_NAMES)
            if i != NONE
        },
        "gini_posts": float(col("gini_posts")[-1]),
        "observer_share_last_year": float(col("observer_share")[last].mean()),
        "hollow_share_last_year": float(col("hollow_share")[last].mean()),
    }
    for key, value in (participation or {}).items():
        out[f"year_{key}"] = float(value)
    return out

