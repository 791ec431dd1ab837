"""Figures of a run. Matplotlib with the Agg backend, so plots work with no display."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from models.state import STAGE_NAMES  # noqa: E402

#: Colours of the maturity stages, from "never used" (pale grey) to Innovate (deep purple):
#: distinct hues, so that stages can be told apart on the dashboard's network as well as in
#: stacked areas. The one palette of every figure and page.
STAGE_COLOURS = ("#d9d9d9", "#9ecae1", "#41ab5d", "#fd8d3c", "#7a0177")


def adoption_vs_value(weekly: pd.DataFrame, path: str | Path) -> Path:
    """Adoption (cumulative and weekly active), value per week, and the stage mix over time,
    on one time axis, so the gap between adoption and value is visible at a glance."""
    years = weekly["week"] / 52.0
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax1.plot(years, weekly["adopted_share"], label="ever adopted (cumulative)", color="#555")
    ax1.plot(years, weekly["active_share"], label="active this week", color="#e6550d")
    ax1.plot(
        years, weekly["value_creators_share"], label="creating net value this week", color="#31a354"
    )
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share of employees")
    ax1.set_title("Adoption is not value")
    ax1.legend(loc="upper left", fontsize=8)
    ax2.plot(years, weekly["value_total"], label="total (net of time spent)", color="#31a354")
    ax2.plot(years, weekly["value_personal"], label="personal", color="#74c476", lw=0.8)
    ax2.plot(years, weekly["value_strategic"], label="strategic", color="#006d2c", lw=0.8)
    ax2.axhline(0, color="black", lw=0.5)
    ax2.set_ylabel("value, hours per week")
    ax2.legend(loc="upper left", fontsize=8)
    stages = [weekly[f"stage_{name}"] for name in STAGE_NAMES]
    ax3.stackplot(years, stages, labels=STAGE_NAMES, colors=STAGE_COLOURS)
    ax3.set_ylim(0, 1)
    ax3.set_ylabel("share at each stage")
    ax3.set_xlabel("years since deployment")
    ax3.legend(loc="upper left", fontsize=8, ncol=5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


# --- comparisons of scenarios (experiments/compare.py) ----------------------------------------

REFERENCE_COLOUR = "#444444"
THOUSANDS = matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:,.0f}")


def scenario_colours(names) -> dict[str, str]:
    """A colour per scenario: the baseline dark grey, the others from a qualitative palette."""
    others = [n for n in names if n != "baseline"]
    palette = plt.get_cmap("tab10" if len(others) <= 9 else "tab20").colors
    palette = [c for c in palette if c[0] != c[1] or c[1] != c[2]]  # no greys
    colours = {n: matplotlib.colors.to_hex(palette[i % len(palette)]) for i, n in enumerate(others)}
    return {n: REFERENCE_COLOUR if n == "baseline" else colours[n] for n in names}


#: Seeds the ids matplotlib gives clip paths and glyphs in an SVG (random by default), so
#: that the same figure is the same bytes every time.
SVG_HASH_SALT = "beyond-adoption"


def save_figure(fig, stem: str | Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` and close the figure: the one place every
    figure is saved, and byte-identical for the same inputs (no date in the SVG, a fixed salt
    for its ids)."""
    stem = Path(stem)
    paths = [stem.with_name(f"{stem.name}.png"), stem.with_name(f"{stem.name}.svg")]
    fig.savefig(paths[0], dpi=110)
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


def comparison_over_time(bands: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Weekly-active share, cumulative adoption and weekly value over time, one line per
    scenario (mean over replications) with its 95% CI band (``sim.stats.weekly_bands``)."""
    names = list(dict.fromkeys(bands["scenario"]))
    colours = scenario_colours(names)
    panels = [
        ("active_share", "weekly-active share", (0, 1)),
        ("adopted_share", "ever adopted (cumulative)", (0, 1)),
        ("value_total", "value, hours per week", None),
    ]
    fig, axes = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    for ax, (column, label, limits) in zip(axes, panels, strict=True):
        for name in names:
            b = bands[bands["scenario"] == name]
            years = b["week"] / 52.0
            ax.plot(years, b[column], color=colours[name], lw=1.4, label=name)
            ax.fill_between(
                years,
                b[f"{column}_low"],
                b[f"{column}_high"],
                color=colours[name],
                alpha=0.18,
                lw=0,
            )
        ax.set_ylabel(label)
        if limits is None:
            ax.yaxis.set_major_formatter(THOUSANDS)
        if limits:
            ax.set_ylim(*limits)
        else:
            ax.axhline(0, color="black", lw=0.5)
    axes[0].set_title("Adoption and value over time (mean of replications, 95% CI)")
    axes[-1].set_xlabel("years since deployment")
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, stem)


def long_run_value_ci(
    summary: pd.DataFrame, stem: str | Path, beyond_noise: set[str] = frozenset()
) -> list[Path]:
    """Mean long-run value per scenario with its 95% CI, sorted; a filled marker where the
    difference from the baseline is beyond noise (Holm-corrected test), hollow where not."""
    s = summary.sort_values("long_run_value_mean")
    colours = scenario_colours(list(summary["scenario"]))
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(s) + 1.6))
    for y, row in enumerate(s.itertuples(index=False)):
        mean, low, high = (
            row.long_run_value_mean,
            row.long_run_value_ci_low,
            row.long_run_value_ci_high,
        )
        colour = colours[row.scenario]
        if pd.notna(low):
            ax.plot([low, high], [y, y], color=colour, lw=2)
        filled = row.scenario in beyond_noise or row.scenario == "baseline"
        ax.plot(mean, y, "o", color=colour, mfc=colour if filled else "white", ms=7)
    base = summary.loc[summary["scenario"] == "baseline", "long_run_value_mean"]
    if len(base):
        ax.axvline(float(base.iloc[0]), color=REFERENCE_COLOUR, lw=0.8, ls="--")
    ax.axvline(0, color="black", lw=0.5)
    ax.set_yticks(range(len(s)), s["scenario"])
    ax.set_xlabel("long-run value, hours (mean and 95% CI over replications)")
    ax.xaxis.set_major_formatter(THOUSANDS)
    ax.set_title(
        "Long-run value by programme\n(filled: differs from the baseline beyond noise; "
        "dashed: baseline)",
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, stem)


def adoption_value_scatter(runs: pd.DataFrame, stem: str | Path) -> list[Path]:
    """One point per run: weekly-active share in the last year against long-run value,
    coloured by scenario."""
    names = list(dict.fromkeys(runs["scenario"]))
    colours = scenario_colours(names)
    fig, ax = plt.subplots(figsize=(9, 6))
    for name in names:
        r = runs[runs["scenario"] == name]
        ax.scatter(
            r["active_share_last_year"],
            r["long_run_value"],
            s=16,
            color=colours[name],
            alpha=0.75,
            label=name,
            edgecolors="none",
        )
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("adoption: weekly-active share, mean over the last year")
    ax.set_ylabel("long-run value, hours")
    ax.yaxis.set_major_formatter(THOUSANDS)
    ax.set_title("Adoption is not value: one point per run")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return save_figure(fig, stem)


def stage_composition(stage_means: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Small multiples: the share of everyone at each maturity stage over time, one panel per
    scenario (mean over replications)."""
    names = list(dict.fromkeys(stage_means["scenario"]))
    ncols = min(5, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.0 * ncols, 2.5 * nrows + 0.8),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for ax, name in zip(axes.flat, names, strict=False):
        m = stage_means[stage_means["scenario"] == name]
        ax.stackplot(
            m["week"] / 52.0,
            [m[f"stage_{s}"] for s in STAGE_NAMES],
            colors=STAGE_COLOURS,
            labels=STAGE_NAMES,
        )
        ax.set_title(name, fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlim(0, m["week"].max() / 52.0)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("years")
    for ax in axes[:, 0]:
        ax.set_ylabel("share at stage")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=len(STAGE_NAMES), fontsize=8, frameon=False
    )
    fig.suptitle("Maturity stages over time (mean of replications)")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save_figure(fig, stem)


def value_per_cost(summary: pd.DataFrame, stem: str | Path) -> list[Path]:
    """Costs beside value: programme cost against long-run value (left), and long-run value
    per hour of cost with its 95% CI (right; programmes that cost nothing are left out)."""
    colours = scenario_colours(list(summary["scenario"]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.4 * len(summary) + 3))
    for row in summary.itertuples(index=False):
        c = colours[row.scenario]
        xerr = _err(row.cost_total_mean, row.cost_total_ci_low, row.cost_total_ci_high)
        yerr = _err(row.long_run_value_mean, row.long_run_value_ci_low, row.long_run_value_ci_high)
        left.errorbar(
            row.cost_total_mean,
            row.long_run_value_mean,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            color=c,
            ms=6,
            capsize=2,
        )
        left.annotate(
            row.scenario,
            (row.cost_total_mean, row.long_run_value_mean),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    left.axhline(0, color="black", lw=0.5)
    left.set_xlabel("programme cost, hours")
    left.set_ylabel("long-run value, hours")
    left.xaxis.set_major_formatter(THOUSANDS)
    left.yaxis.set_major_formatter(THOUSANDS)
    left.set_title("Cost and value (means, 95% CI)")
    costly = summary[summary["value_per_cost_mean"].notna()].sort_values("value_per_cost_mean")
    for y, row in enumerate(costly.itertuples(index=False)):
        c = colours[row.scenario]
        right.barh(y, row.value_per_cost_mean, color=c, alpha=0.8)
        if pd.notna(row.value_per_cost_ci_low):
            right.plot([row.value_per_cost_ci_low, row.value_per_cost_ci_high], [y, y], color="k")
    right.set_yticks(range(len(costly)), costly["scenario"])
    right.axvline(0, color="black", lw=0.5)
    right.set_xlabel("long-run value per hour of programme cost")
    free = summary.loc[summary["value_per_cost_mean"].isna(), "scenario"]
    right.set_title(
        "Value per cost" + (f" (no cost: {', '.join(free)})" if len(free) else ""), fontsize=10
    )
    fig.tight_layout()
    return save_figure(fig, stem)


def _err(mean, low, high):
    """An error-bar argument from a CI (None where there is no interval)."""
    if pd.isna(low) or pd.isna(high):
        return None
    return [[max(mean - low, 0.0)], [max(high - mean, 0.0)]]
