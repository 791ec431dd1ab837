"""Statistics of a scenario comparison: bootstrap confidence intervals, paired tests against
the baseline, and Holm's correction for testing many scenarios at once.

Confidence intervals are percentile bootstrap intervals of a mean over replications. Resampling
the replications with replacement B times is done as one matrix product (each resample is a
vector of weights, how often each replication was drawn, divided by R), so the interval of every
week of a time series costs one product. The draws are those of ``scipy.stats.bootstrap``
(``rng.integers(0, R, (B, R))``) and give the same interval (the tests check it).

Every interval has its own generator, seeded from the root seed and the names of what it is
about (scenario, metric): the same numbers every time, and an interval does not change when
other scenarios are added to the comparison.
"""

import zlib

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05  # family-wise error rate for "beyond noise" (after Holm's correction)
REFERENCE = "baseline"

#: Per-scenario outcomes of the summary table: column of the runs table, what it is, unit.
METRICS: dict[str, tuple[str, str]] = {
    "long_run_value": ("long-run value (net of time spent, over the horizon)", "hours"),
    "value_last_year": ("value in the last year", "hours"),
    "value_after_window": ("mean weekly value in the year after the programme ends", "hours/week"),
    "value_after_window_vs_baseline": (
        "the same, minus the baseline's over the same weeks",
        "hours/week",
    ),
    "peak_active_share": ("peak weekly-active share", "share"),
    "active_share_last_year": ("weekly-active share, mean over the last year", "share"),
    "final_adopted_share": ("share who have ever adopted, at the end", "share"),
    "adoption_value_gap": ("adoption–value gap, mean over the last year", "share"),
    "cost_total": ("programme cost", "hours"),
    "net_value": ("long-run value minus programme cost", "hours"),
    "value_per_cost": ("long-run value per hour of programme cost", "ratio"),
    "gain_per_cost": (
        "long-run value gained over the baseline (same replication) per hour of cost",
        "ratio",
    ),
}

#: Outcomes tested against the baseline, paired by replication.
TESTED = ("long_run_value", "value_after_window")


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator determined by the root seed and the names ``keys``."""
    words = [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def _resample_weights(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(B, n) weights: how often each of n observations is drawn in each resample, over n."""
    draws = rng.integers(0, n, (n_resamples, n))
    counts = np.zeros((n_resamples, n))
    np.add.at(counts, (np.arange(n_resamples)[:, None], draws), 1.0)
    return counts / n


def _percentile_interval(resampled: np.ndarray, confidence: float) -> tuple:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail], axis=0)
    return low, high


def bootstrap_ci(
    values, n_resamples: int, rng: np.random.Generator, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """Mean and percentile bootstrap CI of the mean of ``values`` (NaNs dropped).

    With fewer than two values there is no interval: (mean, nan, nan).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.nan, np.nan, np.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, np.nan, np.nan
    low, high = _percentile_interval(_resample_weights(len(x), n_resamples, rng) @ x, confidence)
    return mean, float(low), float(high)


def bootstrap_ratio_ci(
    numerator, denominator, n_resamples: int, rng: np.random.Generator, confidence=CONFIDENCE
) -> tuple[float, float, float]:
    """Ratio of means (e.g. total value per total cost) and its paired percentile bootstrap CI
    (pairs resampled together). NaN when the denominator's mean is not positive."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    ok = np.isfinite(num) & np.isfinite(den)
    num, den = num[ok], den[ok]
    if len(num) == 0 or not den.mean() > 0:
        return np.nan, np.nan, np.nan
    ratio = float(num.mean() / den.mean())
    if len(num) < 2:
        return ratio, np.nan, np.nan
    w = _resample_weights(len(num), n_resamples, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = _percentile_interval((w @ num) / (w @ den), confidence)
    return ratio, float(low), float(high)


def bootstrap_bands(
    matrix: np.ndarray, n_resamples: int, rng: np.random.Generator, confidence=CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column means of a (replications × weeks) matrix and pointwise percentile bootstrap CIs
    (the same resamples for every week)."""
    m = np.asarray(matrix, dtype=float)
    mean = m.mean(axis=0)
    if m.shape[0] < 2:
        return mean, np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    low, high = _percentile_interval(
        _resample_weights(m.shape[0], n_resamples, rng) @ m, confidence
    )
    return mean, low, high


def paired_test(x, y) -> tuple[float, float]:
    """Wilcoxon signed-rank test of x − y (pairs with a NaN dropped): statistic, two-sided p.

    Identical pairs throughout give p = 1 (no evidence of a difference); no pairs give NaN.
    """
    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return np.nan, np.nan
    if not np.any(d):
        return 0.0, 1.0
    result = stats.wilcoxon(d)
    return float(result.statistic), float(result.pvalue)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaNs are kept and not counted as tests).

    Sorted ascending, the k-th smallest of m p-values becomes (m − k + 1) p, made
    non-decreasing along the sorted order and capped at 1. Rejecting where the adjusted value
    is below α keeps the family-wise error rate at α.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    result = np.empty(m)
    result[order] = adjusted
    out[ok] = result
    return out


# --- the comparison's tables -------------------------------------------------------------------


def add_same_weeks_baseline(
    runs: pd.DataFrame, weekly: pd.DataFrame, reference: str = REFERENCE
) -> pd.DataFrame:
    """Add the baseline's value over each run's after-window weeks, for a fair comparison.

    ``value_after_window`` (``models.metrics.summarise``) is a run's mean weekly value over the
    year after its own programme ends (weeks ``window_end + 1`` to ``window_end + 52``, or to
    the horizon). Programmes end at different weeks, so those numbers cover different years.
    ``baseline_value_same_weeks`` is the baseline's mean weekly value over the *same* weeks in
    the same replication, and ``value_after_window_vs_baseline`` the difference. Both are NaN
    for a run with no programme (``window_end`` 0, the baseline itself) or none of the horizon
    left after it.
    """
    runs = runs.copy()
    base = weekly[weekly["scenario"] == reference].set_index(["replication", "week"])["value_total"]
    same = []
    for rep, end, after in runs[["replication", "window_end", "value_after_window"]].itertuples(
        index=False
    ):
        if end <= 0 or not np.isfinite(after):
            same.append(np.nan)
            continue
        weeks = base.loc[rep]
        same.append(float(weeks[(weeks.index > end) & (weeks.index <= end + 52)].mean()))
    runs["baseline_value_same_weeks"] = same
    runs["value_after_window_vs_baseline"] = runs["value_after_window"] - runs[
        "baseline_value_same_weeks"
    ].where(runs["scenario"] != reference)
    return runs


def summary_table(
    runs: pd.DataFrame,
    n_resamples: int,
    seed: int,
    descriptions: dict[str, str] | None = None,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """One row per scenario (in the runs table's order): for each of ``METRICS`` the mean over
    replications and its percentile bootstrap CI (``<metric>_mean``, ``_ci_low``, ``_ci_high``).

    ``value_per_cost`` is total long-run value over total cost (ratio of means, CI from paired
    resamples), NaN where the programme costs nothing; ``gain_per_cost`` the same for the
    long-run value gained over the baseline in the same replication. The after-window columns
    are NaN where there is no programme or no week after it.
    """
    base = runs[runs["scenario"] == REFERENCE].set_index("replication")["long_run_value"]
    runs = runs.assign(
        net_value=runs["long_run_value"] - runs["cost_total"],
        gain=runs["long_run_value"] - base.reindex(runs["replication"]).to_numpy(),
    )
    rows = []
    for scenario, g in runs.groupby("scenario", sort=False):
        row = {
            "scenario": scenario,
            "description": (descriptions or {}).get(scenario, ""),
            "replications": len(g),
            "window_end": int(g["window_end"].max()),
        }
        no_window = (g["window_end"] <= 0).all()
        for metric in METRICS:
            rng = rng_for(seed, scenario, metric)
            if metric in ("value_per_cost", "gain_per_cost"):
                numerator = g["long_run_value" if metric == "value_per_cost" else "gain"]
                est = bootstrap_ratio_ci(numerator, g["cost_total"], n_resamples, rng, confidence)
            elif metric.startswith("value_after_window") and no_window:
                est = (np.nan, np.nan, np.nan)
            else:
                est = bootstrap_ci(g[metric], n_resamples, rng, confidence)
            for suffix, v in zip(("mean", "ci_low", "ci_high"), est, strict=True):
                row[f"{metric}_{suffix}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def tests_table(
    runs: pd.DataFrame,
    n_resamples: int,
    seed: int,
    reference: str = REFERENCE,
    confidence: float = CONFIDENCE,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Each scenario against the baseline, paired by replication (common random numbers), on
    long-run value and on value after the programme window (the scenario's mean weekly value
    over the year after its window against the baseline's over the same weeks).

    Wilcoxon signed-rank tests; Holm's correction over every test in the table; the mean
    paired difference with its percentile bootstrap CI; in how many replications the scenario
    was higher.
    """
    base = runs[runs["scenario"] == reference].set_index("replication")
    rows = []
    for scenario, g in runs[runs["scenario"] != reference].groupby("scenario", sort=False):
        g = g.set_index("replication")
        for outcome in TESTED:
            x = g[outcome]
            if outcome == "value_after_window":
                y = g["baseline_value_same_weeks"]
                unit = "hours/week"
            else:
                y = base[outcome].reindex(g.index)
                unit = "hours"
            ok = np.isfinite(x.to_numpy(float)) & np.isfinite(y.to_numpy(float))
            diff = (x - y)[ok]
            # the same generator as the summary's ``value_after_window_vs_baseline``: the same
            # differences get the same interval in both tables
            rng = rng_for(seed, scenario, f"{outcome}_vs_baseline")
            mean_d, low, high = bootstrap_ci(diff, n_resamples, rng, confidence)
            statistic, p = paired_test(x[ok], y[ok])
            rows.append(
                {
                    "scenario": scenario,
                    "outcome": outcome,
                    "unit": unit,
                    "pairs": int(ok.sum()),
                    "mean_scenario": float(x[ok].mean()) if ok.any() else np.nan,
                    "mean_baseline": float(y[ok].mean()) if ok.any() else np.nan,
                    "mean_difference": mean_d,
                    "difference_ci_low": low,
                    "difference_ci_high": high,
                    "higher_in": int((diff > 0).sum()),
                    "test": "wilcoxon signed-rank, paired by replication",
                    "statistic": statistic,
                    "p_value": p,
                    "note": "" if ok.any() else "no weeks after the programme window",
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table.insert(table.columns.get_loc("note"), "p_holm", holm(table["p_value"]))
    table.insert(table.columns.get_loc("note"), "beyond_noise", table["p_holm"] < alpha)
    return table


def weekly_bands(
    weekly: pd.DataFrame, columns, n_resamples: int, seed: int, confidence=CONFIDENCE
) -> pd.DataFrame:
    """Per scenario and week: the mean over replications of each of ``columns`` and its
    pointwise bootstrap CI (``<column>``, ``<column>_low``, ``<column>_high``)."""
    parts = []
    for scenario, g in weekly.groupby("scenario", sort=False):
        part = {"scenario": scenario}
        for column in columns:
            wide = g.pivot(index="replication", columns="week", values=column)
            mean, low, high = bootstrap_bands(
                wide.to_numpy(), n_resamples, rng_for(seed, scenario, column, "weekly"), confidence
            )
            part["week"] = wide.columns.to_numpy()
            part[column], part[f"{column}_low"], part[f"{column}_high"] = mean, low, high
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)
