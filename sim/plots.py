"""Figures of a run. Matplotlib with the Agg backend, so plots work with no display."""

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from models.state import STAGE_NAMES  # noqa: E402
from sim.palette import (  # noqa: E402
    REFERENCE,
    REFERENCE_COLOUR,
    STAGE_COLOURS,
    Style,
    thousands,
)


def adoption_vs_value(weekly: pd.DataFrame, path: str | Path, programme: str = "") -> Path:
    """Adoption (cumulative and weekly active), value per week, and the stage mix over time,
    on one time axis, so the gap between adoption and value is visible at a glance; the
    programme's name in the title, so a figure shown alone says what it is of."""
    years = weekly["week"] / 52.0
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    ax1.plot(years, weekly["adopted_share"], label="ever adopted (cumulative)", color="#555")
    ax1.plot(years, weekly["active_share"], label="active this week", color="#e6550d")
    ax1.plot(
        years, weekly["value_creators_share"], label="creating net value this week", color="#31a354"
    )
    ax1.set_ylim(0, 1)
    ax1.set_ylabel("share of employees")
    ax1.set_title(f"Adoption is not value: {programme}" if programme else "Adoption is not value")
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


# --- comparisons of programmes (experiments/compare.py) ---------------------------------------

THOUSANDS = matplotlib.ticker.FuncFormatter(thousands)


#: Seeds the ids matplotlib gives clip paths and glyphs in an SVG (random by default), so
#: that the same figure is the same bytes every time.
SVG_HASH_SALT = "beyond-adoption"


def save_figure(fig, stem: str | Path, dpi: int = 110, **options) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.svg`` and close the figure: the one place every
    figure is saved, and byte-identical for the same inputs (no date in the SVG, a fixed salt
    for its ids). The SVG keeps its text as text (searchable, editable on a slide), not as
    glyph outlines. ``options`` go to both ``savefig`` calls (``bbox_inches``).

    The figure is laid out once, at the PNG's resolution, and its layout engine is then
    removed, so the PNG, the SVG (and any later page, ``figure_files.Drawing``) keep the same
    positions rather than laying the figure out again (a constrained layout costs about as much as
    drawing the figure). Laid out here rather than by ``savefig``, which would draw the whole
    figure once more, without output, to do it: the same layout, the same PNG to the byte."""
    stem = Path(stem)
    paths = [stem.with_name(f"{stem.name}.png"), stem.with_name(f"{stem.name}.svg")]
    engine = fig.get_layout_engine()
    if engine is not None and not options:  # (with ``bbox_inches``, savefig lays it out)
        shown = fig.get_dpi()
        fig.set_dpi(dpi)  # text measured at the PNG's resolution, as savefig would
        engine.execute(fig)
        fig.set_dpi(shown)
        _no_layout_engine(fig)
        _snap_positions(fig)
    fig.savefig(paths[0], dpi=dpi, **options)
    _no_layout_engine(fig)
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": SVG_HASH_SALT}):
        fig.savefig(paths[1], metadata={"Date": None}, **options)
    plt.close(fig)
    return paths


#: Decimals of a figure fraction an axes' laid-out position is rounded to (a millionth of the
#: figure: a thousandth of a pixel).
POSITION_DECIMALS = 6


def _snap_positions(fig) -> None:
    """Round each laid-out axes' position to ``POSITION_DECIMALS``. The layout can end a few
    units in the last place apart from one process to another (seen in about one drawing in
    thirty of the comparison's small multiples): the figure looks the same, but the SVG names
    each clip path by a hash of its exact rectangle, so the file differed. Rounded, the
    positions are the same numbers in every process."""
    for ax in fig.axes:
        if ax.get_axes_locator() is None:  # (a secondary axis follows its parent)
            ax.set_position([round(v, POSITION_DECIMALS) for v in ax.get_position().bounds])


def _no_layout_engine(fig) -> None:
    """Remove the figure's layout engine: not ``"none"``, which would leave a placeholder
    engine, for which every later ``savefig`` first draws the whole figure without output, to
    lay out nothing."""
    with plt.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)


def _ordered(table: pd.DataFrame) -> list[str]:
    names = list(dict.fromkeys(table["scenario"]))
    return [n for n in names if n == REFERENCE] + [n for n in names if n != REFERENCE]


#: Where a small multiple's panel title sits: the top of the panel, where Matplotlib's own
#: placement puts it when nothing (ticks, labels, a second axis) is drawn above the panel.
#: Given, Matplotlib does not work the placement out again, measuring the panel's y axis,
#: at every drawing (the PNG, the SVG and the PDF page): a sixth of a small multiples'
#: drawing time, for the same files.
TITLE_Y = 1.0


def comparison_over_time(bands: pd.DataFrame, style: Style):
    """Small multiples: one panel per programme against the baseline (grey), readable with ten
    programmes or more. Top of each panel: weekly-active share (solid) and cumulative adoption
    (dashed); bottom: weekly value with its interval band. Panels share their axes."""
    names = [n for n in _ordered(bands) if n != REFERENCE] or [REFERENCE]
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig = plt.figure(figsize=(4.2 * ncols + 0.6, 4.4 * nrows + 0.8), layout="constrained")
    grid = fig.add_gridspec(nrows * 2, ncols, height_ratios=[1, 1.2] * nrows)
    base = bands[bands["scenario"] == REFERENCE]
    top_axes, value_axes = [], []
    for i, name in enumerate(names):
        row, col = divmod(i, ncols)
        top = fig.add_subplot(grid[2 * row, col], sharey=top_axes[0] if top_axes else None)
        value = fig.add_subplot(
            grid[2 * row + 1, col], sharex=top, sharey=value_axes[0] if value_axes else None
        )
        top_axes.append(top)
        value_axes.append(value)
        b = bands[bands["scenario"] == name]
        colour = style.colours[name]
        for frame, c, lw in ((base, REFERENCE_COLOUR, 1.0), (b, colour, 1.6)):
            years = frame["week"] / 52.0
            top.plot(years, frame["active_share"], color=c, lw=lw)
            top.plot(years, frame["adopted_share"], color=c, lw=lw * 0.8, ls="--")
            value.plot(years, frame["value_total"], color=c, lw=lw)
            value.fill_between(
                years,
                frame["value_total_low"],
                frame["value_total_high"],
                color=c,
                alpha=0.15,
                lw=0,
            )
        # y given: the title sits at the top, where Matplotlib would place it (nothing is
        # drawn above a panel), without measuring the axes again at every drawing (TITLE_Y)
        top.set_title(textwrap.fill(style.label(name), 40), fontsize=9, color=colour, y=TITLE_Y)
        top.set_ylim(0, 1)
        top.tick_params(labelbottom=False)
        if col > 0:  # the same scales as the first column's, whose labels say them
            top.tick_params(labelleft=False)
            value.tick_params(labelleft=False)
        value.axhline(0, color="black", lw=0.5)
        value.yaxis.set_major_formatter(THOUSANDS)
        if col == 0:
            top.set_ylabel("share of people", fontsize=8)
            value.set_ylabel("value, h/week", fontsize=8)
        if row == nrows - 1:
            value.set_xlabel("years since deployment", fontsize=8)
    fig.suptitle(
        "Adoption and value over time: each programme (colour) against the baseline (grey)\n"
        "top: weekly active (solid) and ever adopted (dashed); bottom: weekly value with its "
        "interval",
        fontsize=10,
    )
    style.finish(fig)
    return fig


def net_value_ci(summary: pd.DataFrame, style: Style, distinguishable=frozenset()):
    """Mean net value per programme with its interval, ranked; a filled marker where the
    difference from the baseline is distinguishable, hollow where not."""
    s = summary.sort_values("net_value_mean")
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(s) + 2.0), layout="constrained")
    for y, row in enumerate(s.itertuples(index=False)):
        colour = style.colours[row.scenario]
        if pd.notna(row.net_value_ci_low):
            ax.plot([row.net_value_ci_low, row.net_value_ci_high], [y, y], color=colour, lw=2)
        filled = row.scenario in distinguishable or row.scenario == REFERENCE
        ax.plot(row.net_value_mean, y, "o", color=colour, mfc=colour if filled else "white", ms=7)
    base = summary.loc[summary["scenario"] == REFERENCE, "net_value_mean"]
    if len(base):
        ax.axvline(float(base.iloc[0]), color=REFERENCE_COLOUR, lw=0.8, ls="--")
    ax.axvline(0, color="black", lw=0.5)
    ax.set_yticks(range(len(s)), [textwrap.fill(style.label(n), 40) for n in s["scenario"]])
    ax.set_xlabel("net value: long-run value minus programme cost, hours (mean and interval)")
    ax.xaxis.set_major_formatter(THOUSANDS)
    style.money_axis(ax, "x")
    ax.set_title(
        "Net value by programme (filled: distinguishable from the baseline; dashed: baseline)",
        fontsize=10,
    )
    style.finish(fig)
    return fig


def adoption_value_scatter(runs: pd.DataFrame, style: Style):
    """One point per run: weekly-active share in the last year against net value, coloured by
    programme."""
    fig, ax = plt.subplots(figsize=(10, 6), layout="constrained")
    for name in _ordered(runs):
        r = runs[runs["scenario"] == name]
        ax.scatter(
            r["active_share_last_year"],
            r["net_value"],
            s=16,
            color=style.colours[name],
            alpha=0.75,
            label=textwrap.fill(style.label(name), 30),
            edgecolors="none",
        )
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("adoption: weekly-active share, mean over the last year")
    ax.set_ylabel("net value, hours")
    ax.yaxis.set_major_formatter(THOUSANDS)
    style.money_axis(ax, "y")
    ax.set_title("Adoption is not value: one point per run")
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    style.finish(fig)
    return fig


def stage_composition(stage_means: pd.DataFrame, style: Style):
    """Small multiples: the share of everyone at each maturity stage over time, one panel per
    programme (mean over replications)."""
    names = _ordered(stage_means)
    ncols = min(5, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(3.0 * ncols, 2.6 * nrows + 1.0),
        sharex=True,
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, name in zip(axes.flat, names, strict=False):
        m = stage_means[stage_means["scenario"] == name]
        ax.stackplot(
            m["week"] / 52.0,
            [m[f"stage_{s}"] for s in STAGE_NAMES],
            colors=STAGE_COLOURS,
            labels=STAGE_NAMES,
        )
        ax.set_title(
            textwrap.fill(style.label(name), 28), fontsize=8, color=style.colours[name], y=TITLE_Y
        )
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
        handles,
        labels,
        loc="outside lower center",
        ncol=len(STAGE_NAMES),
        fontsize=8,
        frameon=False,
    )
    fig.suptitle("Maturity stages over time (mean of replications)")
    style.finish(fig)
    return fig


def cost_and_gain(summary: pd.DataFrame, style: Style):
    """Costs beside value: programme cost against net value (left), and long-run value gained
    over the baseline per hour of cost with its interval (right), only for programmes whose gain
    is positive — a ratio of a negative gain would rank a programme that loses more value at
    less cost above one that loses less."""
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 0.4 * len(summary) + 3.5), layout="constrained"
    )
    for row in summary.itertuples(index=False):
        c = style.colours[row.scenario]
        xerr = _err(row.cost_total_mean, row.cost_total_ci_low, row.cost_total_ci_high)
        yerr = _err(row.net_value_mean, row.net_value_ci_low, row.net_value_ci_high)
        left.errorbar(
            row.cost_total_mean,
            row.net_value_mean,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            color=c,
            ms=6,
            capsize=2,
        )
        left.annotate(
            textwrap.fill(style.label(row.scenario), 24),
            (row.cost_total_mean, row.net_value_mean),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    left.axhline(0, color="black", lw=0.5)
    left.set_xlabel("programme cost, hours")
    left.set_ylabel("net value, hours")
    left.xaxis.set_major_formatter(THOUSANDS)
    left.yaxis.set_major_formatter(THOUSANDS)
    left.set_title("Cost and net value (means and intervals)", fontsize=10)
    gaining = summary[
        (summary["scenario"] != REFERENCE)
        & (summary["cost_total_mean"] > 0)
        & (summary["value_gain_mean"] > 0)
    ].sort_values("gain_per_cost_mean")
    for y, row in enumerate(gaining.itertuples(index=False)):
        right.barh(y, row.gain_per_cost_mean, color=style.colours[row.scenario], alpha=0.85)
        if pd.notna(row.gain_per_cost_ci_low):
            right.plot([row.gain_per_cost_ci_low, row.gain_per_cost_ci_high], [y, y], color="k")
    right.set_yticks(
        range(len(gaining)), [textwrap.fill(style.label(n), 30) for n in gaining["scenario"]]
    )
    right.axvline(1, color="black", lw=0.8, ls=":")
    right.set_xlabel("long-run value gained over the baseline per hour of cost (1: breaks even)")
    losing = summary[
        (summary["scenario"] != REFERENCE)
        & (summary["cost_total_mean"] > 0)
        & ~(summary["value_gain_mean"] > 0)
    ]
    if gaining.empty:
        right.text(
            0.5,
            0.5,
            "no programme gains value over the baseline",
            ha="center",
            transform=right.transAxes,
        )
    note = (
        "; lose value (not shown): " + ", ".join(style.label(n) for n in losing["scenario"])
        if len(losing)
        else ""
    )
    right.set_title(textwrap.fill("Value gained per hour of cost" + note, 70), fontsize=9)
    style.finish(fig)
    return fig


def _err(mean, low, high):
    """An error-bar argument from an interval (None where there is none)."""
    if pd.isna(low) or pd.isna(high):
        return None
    return [[max(mean - low, 0.0)], [max(high - mean, 0.0)]]
