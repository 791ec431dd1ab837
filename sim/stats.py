"""Statistics of a scenario comparison: intervals, paired differences against a reference
programme, and Holm's correction for testing many programmes at once.

Two sources of uncertainty, two kinds of interval:

- **Replication noise only** (no calibration ensemble). Intervals are percentile bootstrap
  intervals of a mean over replications. Resampling the replications with replacement B times
  is done as one matrix product (each resample is a vector of weights, how often each
  replication was drawn, divided by R), so the interval of every week of a time series costs
  one product. The draws are those of ``scipy.stats.bootstrap`` (``rng.integers(0, R, (B, R))``)
  and give the same interval (the tests check it).
- **Parameter uncertainty as well** (a calibration ensemble: the runs table has a ``draw``
  column, K parameter sets × R seeds). Each draw's outcome is the mean over its R seeds; the
  interval is the 2.5 to 97.5 percentile of those K per-draw values (linear interpolation).
  Draws are sampled in proportion to the ensemble's weights, so this is a credible interval of
  the outcome over the plausible parameter sets, with the replication noise left in each draw's
  mean (which more seeds shrink). It does not narrow as K grows: more draws only resolve it
  better. The probability that a programme beats the baseline is the share of draws in which
  its mean paired difference is positive.

Differences between programmes are always paired: replication i of every programme used the same
seed (and, with an ensemble, the same parameter draw), common random numbers.

Every interval has its own generator, seeded from the root seed and the names of what it is
about (scenario, metric): the same numbers every time, and an interval does not change when
other scenarios are added to the comparison.
"""

import zlib

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
ALPHA = 0.05  # family-wise error rate for "beyond noise" (after Holm's correction)
REFERENCE = "baseline"

#: Per-scenario outcomes of the summary table: column of the runs table, what it is, unit.
METRICS: dict[str, tuple[str, str]] = {
    "net_value": ("long-run value minus programme cost (the headline)", "hours"),
    "net_value_gain": (
        "net value minus the baseline's in the same replication",
        "hours",
    ),
    "long_run_value": ("long-run value (net of time spent, over the horizon)", "hours"),
    "value_gain": ("long-run value minus the baseline's in the same replication", "hours"),
    "cost_total": ("programme cost", "hours"),
    "gain_per_cost": (
        "long-run value gained over the baseline per hour of programme cost (where the gain "
        "is positive)",
        "hours per hour",
    ),
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
}

#: Outcomes tested against the baseline, paired by replication; the first is the headline.
TESTED = ("net_value", "long_run_value", "value_after_window")
HEADLINE = TESTED[0]
DRAW = "draw"  # the runs table's column of parameter draws (a calibration ensemble)


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """A generator determined by the root seed and the names ``keys``."""
    words = [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def _resample_weights(n: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(B, n) weights: how often each of n observations is drawn in each resample, over n."""
    draws = rng.integers(0, n, (n_resamples, n))
    draws += np.arange(n_resamples)[:, None] * n  # each resample's own n bins
    counts = np.bincount(draws.ravel(), minlength=n_resamples * n).reshape(n_resamples, n)
    return counts / n


def _percentile_interval(resampled: np.ndarray, confidence: float) -> tuple:
    """The central ``confidence`` percentile interval along the first axis: NumPy's selection
    finds the two pairs of order statistics it needs without sorting the resamples (sorting
    them first gives the same interval to the bit, at twice the time: 2000 resamples × 260
    weeks, 18 → 9 ms)."""
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
    exact = signed_rank_exact(d)
    if exact is not None:
        return exact
    from scipy import stats  # half a second to import: here, not for every user of this module

    result = stats.wilcoxon(d)
    return float(result.statistic), float(result.pvalue)


#: Most pairs for which ``signed_rank_exact`` (and SciPy's ``wilcoxon``, by default) gives the
#: exact p-value; above, SciPy's normal approximation.
EXACT_PAIRS = 50


def signed_rank_exact(d: np.ndarray) -> tuple[float, float] | None:
    """The two-sided Wilcoxon signed-rank test of the differences ``d`` by its exact null
    distribution, as SciPy's ``wilcoxon`` computes it by default for at most ``EXACT_PAIRS``
    differences with no zeros and no ties among their sizes: (statistic, p), the statistic
    the smaller of the rank sums of the positive and of the negative differences. None for
    any other ``d`` (then SciPy's own choice of method applies).

    Why not SciPy: a comparison's tests are all of this kind (30 differences of real-valued
    outcomes), and importing ``scipy.stats`` costs half a second of CPU. The p-value is the
    same number to the bit: under the null hypothesis each of the 2ⁿ sign patterns is equally
    likely, so every tail probability is a whole number of patterns over 2ⁿ (n ≤ 50: exact in
    float64), whichever way it is summed (``tests/test_compare.py`` checks it against SciPy)."""
    n = len(d)
    sizes = np.abs(d)
    if n > EXACT_PAIRS or not sizes.all() or len(np.unique(sizes)) < n:
        return None
    ranks = np.empty(n, dtype=np.int64)
    ranks[np.argsort(sizes)] = np.arange(1, n + 1)
    positive = int(ranks[d > 0].sum())
    # patterns[k]: how many of the 2ⁿ sign patterns give a positive rank sum of k
    patterns = np.ones(1, dtype=np.int64)
    for rank in range(1, n + 1):
        grown = np.zeros(len(patterns) + rank, dtype=np.int64)
        grown[: len(patterns)] += patterns
        grown[rank:] += patterns
        patterns = grown
    at_most, at_least = int(patterns[: positive + 1].sum()), int(patterns[positive:].sum())
    p = min(1.0, 2 * min(at_most, at_least) / 2**n)
    return float(min(positive, n * (n + 1) // 2 - positive)), p


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


# --- intervals: over replications, or over parameter draws ------------------------------------


def draws_of(runs: pd.DataFrame) -> pd.Series | None:
    """Each replication's parameter draw (``replication`` → ``draw``), or None without an
    ensemble (then the intervals are replication noise only)."""
    if DRAW not in runs.columns:
        return None
    return runs.drop_duplicates("replication").set_index("replication")[DRAW]


def percentiles(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of ``values`` (NaN with fewer than 2)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return np.nan, np.nan
    low, high = _percentile_interval(x, confidence)
    return float(low), float(high)


def interval(
    values, n_resamples: int, rng: np.random.Generator, groups=None, confidence=CONFIDENCE
) -> tuple[float, float, float]:
    """The mean of ``values`` (NaNs dropped) and its interval: without ``groups``, the
    percentile bootstrap CI of the mean (``bootstrap_ci``); with ``groups`` (each value's
    parameter draw), the percentile interval of the per-draw means (module docstring)."""
    if groups is None:
        return bootstrap_ci(values, n_resamples, rng, confidence)
    x = np.asarray(values, dtype=float)
    ok = np.isfinite(x)
    if not ok.any():
        return np.nan, np.nan, np.nan
    means = pd.Series(x[ok]).groupby(np.asarray(groups)[ok]).mean()
    return (float(x[ok].mean()), *percentiles(means, confidence))


def ratio_interval(
    numerator, denominator, n_resamples: int, rng, groups=None, confidence=CONFIDENCE
) -> tuple[float, float, float]:
    """Ratio of means and its interval (``bootstrap_ratio_ci`` over replications, or the
    percentile interval of the per-draw ratios of means); NaN where the denominator's mean is
    not positive."""
    if groups is None:
        return bootstrap_ratio_ci(numerator, denominator, n_resamples, rng, confidence)
    frame = pd.DataFrame({"n": numerator, "d": denominator, "g": np.asarray(groups)}).dropna()
    if frame.empty or not frame["d"].mean() > 0:
        return np.nan, np.nan, np.nan
    ratio = float(frame["n"].mean() / frame["d"].mean())
    per = frame.groupby("g")[["n", "d"]].mean()
    per = (per["n"] / per["d"].where(per["d"] > 0)).dropna()
    return (ratio, *percentiles(per, confidence))


def beats_share(differences, groups=None) -> float:
    """How often a programme beat its reference: the share of replications with a positive
    paired difference, or, with ``groups``, the share of parameter draws whose mean paired
    difference is positive (the probability it beats the reference over the ensemble)."""
    d = pd.Series(np.asarray(differences, dtype=float))
    ok = d.notna().to_numpy()
    if not ok.any():
        return np.nan
    if groups is not None:
        d = d[ok].groupby(np.asarray(groups)[ok]).mean()
    return float((d[d.notna()] > 0).mean())


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


def add_gains(runs: pd.DataFrame, reference: str = REFERENCE) -> pd.DataFrame:
    """Add each run's ``value_gain`` and ``net_value_gain``: its long-run value and its net
    value minus the baseline's in the same replication (common random numbers)."""
    base = runs[runs["scenario"] == reference].set_index("replication")
    same = runs["replication"].to_numpy()
    return runs.assign(
        value_gain=runs["long_run_value"] - base["long_run_value"].reindex(same).to_numpy(),
        net_value_gain=runs["net_value"] - base["net_value"].reindex(same).to_numpy(),
    )


def summary_table(
    runs: pd.DataFrame,
    n_resamples: int,
    seed: int,
    descriptions: dict[str, str] | None = None,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """One row per scenario (in the runs table's order): for each of ``METRICS`` the mean over
    runs and its interval (``<metric>_mean``, ``_ci_low``, ``_ci_high``; module docstring),
    and ``beats_baseline``, the share of replications (or of parameter draws) in which its net
    value is above the baseline's.

    ``runs`` must have the gains (``add_gains``) and, for the after-window columns,
    ``add_same_weeks_baseline``. ``gain_per_cost`` is the ratio of mean value gain to mean
    cost (paired resamples or per draw), NaN where the programme costs nothing; the after-window
    columns are NaN where there is no programme or no week after it.
    """
    groups = draws_of(runs)
    rows = []
    for scenario, g in runs.groupby("scenario", sort=False):
        draw = None if groups is None else groups.reindex(g["replication"]).to_numpy()
        row = {
            "scenario": scenario,
            "description": (descriptions or {}).get(scenario, ""),
            "replications": len(g),
            "window_end": int(g["window_end"].max()),
        }
        no_window = (g["window_end"] <= 0).all()
        for metric in METRICS:
            rng = rng_for(seed, scenario, metric)
            if metric == "gain_per_cost":
                est = ratio_interval(
                    g["value_gain"], g["cost_total"], n_resamples, rng, draw, confidence
                )
            elif metric.startswith("value_after_window") and no_window:
                est = (np.nan, np.nan, np.nan)
            else:
                est = interval(g[metric], n_resamples, rng, draw, confidence)
            for suffix, v in zip(("mean", "ci_low", "ci_high"), est, strict=True):
                row[f"{metric}_{suffix}"] = v
        is_base = scenario == REFERENCE
        row["beats_baseline"] = np.nan if is_base else beats_share(g["net_value_gain"], draw)
        rows.append(row)
    return pd.DataFrame(rows)


def tests_table(
    runs: pd.DataFrame,
    n_resamples: int,
    seed: int,
    reference: str = REFERENCE,
    outcomes=TESTED,
    confidence: float = CONFIDENCE,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Each scenario against ``reference`` (the baseline, or the programme ranked first),
    paired by replication (common random numbers), on each of ``outcomes``. Value after the
    programme is the scenario's mean weekly value over the year after its window against the
    baseline's over the same weeks (only against the baseline).

    Without an ensemble the unit is the replication: the mean paired difference with its
    bootstrap CI, a Wilcoxon signed-rank test, Holm's correction over every test in the
    table; *distinguishable* means the Holm-corrected p is below ``alpha``. With one, the unit
    is the parameter draw: each draw's mean paired difference (over its seeds); the interval is
    the percentile interval over draws, the test is run on the draws' mean differences, and
    *distinguishable* means the interval excludes zero — one programme is ahead under nearly
    every plausible parameter set (the p-values are kept for reference).
    """
    groups = draws_of(runs)
    ref = runs[runs["scenario"] == reference].set_index("replication")
    rows = []
    for scenario, g in runs[runs["scenario"] != reference].groupby("scenario", sort=False):
        g = g.set_index("replication")
        for outcome in outcomes:
            x = g[outcome]
            if outcome == "value_after_window":
                y, unit = g["baseline_value_same_weeks"], "hours/week"
            else:
                y, unit = ref[outcome].reindex(g.index), "hours"
            pair = pd.DataFrame({"x": x, "y": y}).dropna()
            if groups is not None:
                pair = pair.groupby(groups.reindex(pair.index).to_numpy()).mean()
            diff = pair["x"] - pair["y"]
            # the same generator as the summary's ``value_after_window_vs_baseline``: the same
            # differences get the same interval in both tables
            rng = rng_for(seed, scenario, f"{outcome}_vs_{reference}")
            if groups is None:
                mean_d, low, high = bootstrap_ci(diff, n_resamples, rng, confidence)
            else:  # one difference per draw already: their spread is the interval
                mean_d, (low, high) = float(diff.mean()), percentiles(diff, confidence)
            statistic, p = paired_test(pair["x"], pair["y"])
            rows.append(
                {
                    "against": reference,
                    "scenario": scenario,
                    "outcome": outcome,
                    "unit": unit,
                    "paired_by": "replication" if groups is None else "parameter draw",
                    "pairs": len(pair),
                    "mean_scenario": float(pair["x"].mean()) if len(pair) else np.nan,
                    "mean_reference": float(pair["y"].mean()) if len(pair) else np.nan,
                    "mean_difference": mean_d,
                    "difference_ci_low": low,
                    "difference_ci_high": high,
                    "higher_in": int((diff > 0).sum()),
                    "test": "wilcoxon signed-rank, paired",
                    "statistic": statistic,
                    "p_value": p,
                    "note": "" if len(pair) else "no weeks after the programme window",
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table.insert(table.columns.get_loc("note"), "p_holm", holm(table["p_value"]))
    if groups is None:
        distinguishable = table["p_holm"] < alpha
    else:
        distinguishable = (table["difference_ci_low"] > 0) | (table["difference_ci_high"] < 0)
    table.insert(table.columns.get_loc("note"), "distinguishable", distinguishable)
    return table


def weekly_bands(
    weekly: pd.DataFrame, columns, n_resamples: int, seed: int, draws=None, confidence=CONFIDENCE
) -> pd.DataFrame:
    """Per scenario and week: the mean over runs of each of ``columns`` and its pointwise
    interval (``<column>``, ``<column>_low``, ``<column>_high``): the bootstrap CI of the mean,
    or with ``draws`` (replication → parameter draw) the percentile interval of the per-draw
    means."""
    parts = []
    for scenario, g in weekly.groupby("scenario", sort=False):
        part = {"scenario": scenario}
        for column in columns:
            wide = g.pivot(index="replication", columns="week", values=column)
            if draws is None:
                mean, low, high = bootstrap_bands(
                    wide.to_numpy(),
                    n_resamples,
                    rng_for(seed, scenario, column, "weekly"),
                    confidence,
                )
            else:
                per_draw = wide.groupby(draws.reindex(wide.index).to_numpy()).mean().to_numpy()
                mean = wide.to_numpy().mean(axis=0)
                low, high = _percentile_interval(per_draw, confidence)
            part["week"] = wide.columns.to_numpy()
            part[column], part[f"{column}_low"], part[f"{column}_high"] = mean, low, high
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def department_summary(departments: pd.DataFrame, n_resamples: int, seed: int) -> pd.DataFrame:
    """Per programme and department (the engine's per-department table: one row per run and
    department with ``size``, ``net_value`` and other outcomes): the mean and interval of every
    outcome, and of ``net_value_gain_per_person``, the department's net value minus the
    baseline's in the same replication and department, per person."""
    keys = ["replication", "department"]
    base = departments[departments["scenario"] == REFERENCE].set_index(keys)["net_value"]
    same = pd.MultiIndex.from_frame(departments[keys])
    table = departments.assign(
        net_value_gain_per_person=(departments["net_value"] - base.reindex(same).to_numpy())
        / departments["size"]
    )
    groups = draws_of(table) if DRAW in table.columns else None
    outcomes = [
        c for c in table.select_dtypes("number").columns if c not in ("replication", "seed", DRAW)
    ]
    rows = []
    for (scenario, department), g in table.groupby(["scenario", "department"], sort=False):
        draw = None if groups is None else groups.reindex(g["replication"]).to_numpy()
        row = {"scenario": scenario, "department": department}
        for outcome in outcomes:
            rng = rng_for(seed, scenario, department, outcome)
            est = interval(g[outcome], n_resamples, rng, draw)
            for suffix, v in zip(("mean", "ci_low", "ci_high"), est, strict=True):
                row[f"{outcome}_{suffix}"] = v
        rows.append(row)
    return pd.DataFrame(rows)
