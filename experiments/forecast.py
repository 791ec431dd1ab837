"""Forecasts from an organisation's fitted state: what each programme would do from the last
observed week on, over the posterior (docs/CALIBRATION.md §5).

The forecast continues the fitted trajectories rather than starting afresh. For each of K
particles drawn from the posterior by weight, the model is run with the particle's own seed
(``experiments.calibrate.particle_seed``: the seed its fit used), so over the observed weeks it
repeats the very simulation that was accepted against the data. Each programme is the same
run with the programme's interventions shifted to start after the last observed week: with
common random numbers (same seed, same organisation, same weekly draws) the programmes agree
on every observed week and part only from the first forecast week, which is checked
(``observed_gap``).

Outputs: the weekly-active share per programme and week as a median and 50% / 90% bands over
the particles, and per programme the distribution of value, cost and net value (value − cost,
hours) over the forecast weeks.
"""

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.replicate import Spec, run_jobs  # noqa: E402

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def shifted(spec: Spec, weeks: int, shift: int) -> Spec:
    """``spec`` run for ``weeks`` weeks with every intervention moved ``shift`` weeks later."""
    moved = tuple(
        dataclasses.replace(
            iv, start=iv.start + shift, end=None if iv.end is None else iv.end + shift
        )
        for iv in spec.interventions
    )
    return dataclasses.replace(spec, interventions=moved, weeks=weeks)


def simulate(
    programmes: dict[str, Spec],
    particles: list[dict[str, float]],
    seeds: list[int],
    observed_weeks: int,
    horizon: int,
    n_jobs: int,
    progress: bool = False,
) -> pd.DataFrame:
    """The weekly records of every programme × particle (``replication`` = particle index),
    each run ``observed_weeks + horizon`` weeks with its interventions starting after the
    observed ones (weeks count from 1: the first forecast week is ``observed_weeks + 1``)."""
    jobs = []
    for name, spec in programmes.items():
        spec = shifted(spec, observed_weeks + horizon, observed_weeks)
        for k, (params, seed) in enumerate(zip(particles, seeds, strict=True)):
            behaviour = dataclasses.replace(spec.behaviour, **params)
            jobs.append((dataclasses.replace(spec, scenario=name, behaviour=behaviour), k, seed))
    weekly, _ = run_jobs(jobs, n_jobs=n_jobs, progress=progress, desc="forecast")
    return weekly


def observed_gap(weekly: pd.DataFrame, observed_weeks: int) -> float:
    """The largest difference of weekly-active share between programmes over the observed
    weeks, for the same particle: 0 when every programme continues the same fitted state."""
    seen = weekly[weekly["week"] <= observed_weeks]
    spread = seen.groupby(["replication", "week"])["active_share"].agg(np.ptp)
    return float(spread.max()) if len(spread) else 0.0


def bands(weekly: pd.DataFrame) -> pd.DataFrame:
    """Per programme and week: quantiles of weekly-active share over the particles."""
    q = weekly.groupby(["scenario", "week"])["active_share"].quantile(QUANTILES).unstack()
    q.columns = [f"q{int(round(100 * c)):02d}" for c in q.columns]
    return q.reset_index().rename(columns={"scenario": "programme"})


def outcomes(weekly: pd.DataFrame, observed_weeks: int) -> pd.DataFrame:
    """Per programme and particle: value, cost and net value (hours) over the forecast weeks,
    and the mean weekly-active share in the last 13 forecast weeks."""
    ahead = weekly[weekly["week"] > observed_weeks]
    g = ahead.groupby(["scenario", "replication"])
    out = pd.DataFrame(
        {
            "value": g["value_total"].sum(),
            "cost": g["cost"].sum(),
            "active_end": g["active_share"].apply(lambda s: s.tail(13).mean()),
        }
    )
    out["net_value"] = out["value"] - out["cost"]
    return out.reset_index().rename(columns={"scenario": "programme", "replication": "particle"})


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per programme: median and 5%–95% range of each outcome over the particles, and the
    share of particles in which its net value beats the baseline's (same particle)."""
    rows = []
    base = results[results["programme"] == "baseline"].set_index("particle")["net_value"]
    for name, part in results.groupby("programme", sort=False):
        row = {"programme": name}
        for col in ("net_value", "value", "cost", "active_end"):
            lo, mid, hi = part[col].quantile([0.05, 0.5, 0.95])
            row |= {f"{col}_median": mid, f"{col}_p05": lo, f"{col}_p95": hi}
        if len(base) and name != "baseline":
            paired = part.set_index("particle")["net_value"] - base
            row["beats_baseline"] = float((paired > 0).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def plot(
    band: pd.DataFrame,
    results: pd.DataFrame,
    observed: pd.DataFrame,
    observed_weeks: int,
    path: Path,
) -> Path:
    """Left: weekly-active share, median and 50% / 90% bands per programme, the observed
    weeks as points. Right: net value over the forecast weeks per programme."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for i, (name, part) in enumerate(band.groupby("programme", sort=False)):
        colour = f"C{i}"
        ax.fill_between(part["week"], part["q05"], part["q95"], color=colour, alpha=0.12)
        ax.fill_between(part["week"], part["q25"], part["q75"], color=colour, alpha=0.25)
        ax.plot(part["week"], part["q50"], color=colour, lw=1.8, label=name)
    ax.plot(observed["week"], observed["active_share"], "k.", ms=5, label="observed")
    ax.axvline(observed_weeks + 0.5, color="k", ls=":", lw=1)
    ax.set(xlabel="week since the rollout", ylabel="weekly-active share")
    ax.set_title("weekly use: median, 50% and 90% bands", fontsize=10)
    ax.legend(fontsize=8)
    names = list(dict.fromkeys(results["programme"]))
    data = [results.loc[results["programme"] == n, "net_value"] for n in names]
    bx.boxplot(data, whis=(5, 95), showfliers=False)
    bx.set_xticks(range(1, len(names) + 1), names, rotation=20, fontsize=8)
    bx.axhline(0, color="k", lw=0.8)
    bx.set(ylabel="net value over the forecast, hours")
    bx.set_title("net value (value − cost), 5–95%", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(
    table: pd.DataFrame, observed_weeks: int, horizon: int, people: int, draws: int, gap: float
) -> str:
    """The plain-language forecast (forecast.md)."""
    lines = [
        "# Forecast",
        "",
        f"From week {observed_weeks + 1} (the first week after your data) for {horizon} weeks, "
        f"for {people:,} people, over {draws} parameter sets drawn from the fitted posterior. "
        "Each programme starts after the last observed week; before it, every programme "
        "repeats the fitted trajectory"
        + (" exactly." if gap == 0 else f" (largest difference {gap:.3g}: see the notes)."),
        "",
        "| programme | net value, hours (median, 5–95%) | cost, hours | weekly active at the end "
        "| beats the baseline |",
        "|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        beats = getattr(r, "beats_baseline", np.nan)
        lines.append(
            f"| {r.programme} | {r.net_value_median:,.0f} ({r.net_value_p05:,.0f} to "
            f"{r.net_value_p95:,.0f}) | {r.cost_median:,.0f} | {r.active_end_median:.0%} "
            f"({r.active_end_p05:.0%}–{r.active_end_p95:.0%}) | "
            + ("—" if np.isnan(beats) else f"in {beats:.0%} of the parameter sets")
            + " |"
        )
    best = table.sort_values("net_value_median", ascending=False).iloc[0]
    lines += [
        "",
        f"Reading: **{best.programme}** has the highest median net value over the next "
        f"{horizon} weeks. The ranges are what the fit leaves uncertain: where two "
        "programmes' ranges overlap widely, your data cannot tell them apart yet. \"Beats the "
        'baseline" compares each programme with doing nothing more, under the same parameter '
        "set and the same chance events.",
        "",
        "What this rests on: the model's mechanisms (docs/MODEL.md), the fit of its uncertain "
        "parameters to your weekly usage (CALIBRATION.md beside this file), and the "
        "programmes as configured in conf/scenario/. The weeks before the forecast were "
        "simulated without any programme.",
    ]
    return "\n".join(lines) + "\n"
