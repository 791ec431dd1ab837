"""Matplotlib drawings of a workshop run for slides: the network, the curves, the stage mix
and the tally.

The live page draws in the browser (``network.vue``, ``chart.vue``); these functions draw the
same things for the exports (``sim.dashboard.export``), from the same numbers
(``sim.dashboard.views``: net value so far, the tally, the intervention bands) and in the same
colours (``sim.palette.STAGE_COLOURS``, ``views.RUN_COLOURS``), so a GIF shows what the room saw
on the page. Each function draws on an ``Axes`` it is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, MultipleLocator, PercentFormatter

from models.model import AdoptionModel
from models.state import CHAMPION, EMPLOYEE, MANAGER, NONE
from sim.dashboard import views
from sim.dashboard.layout import OrgLayout
from sim.palette import STAGE_COLOURS

#: How the roles are marked on the network.
ROLE_MARKERS = {EMPLOYEE: ("o", "employee"), MANAGER: ("s", "manager"), CHAMPION: ("*", "champion")}
#: Line styles of the runs on one chart: the main run solid, the comparison dashed.
RUN_STYLES = ("-", "--")
#: Outline of people who never used the network (their colour is near-white).
NEVER_USED_EDGE = "#8c8c8c"


def node_sizes(model: AdoptionModel) -> np.ndarray:
    """Marker areas: a dot for someone inactive this week, larger the more they post.

    Scaled with the organisation's size so a picture of 5,000 people is not a solid disc."""
    scale = float(np.clip(1000 / model.org.n, 0.25, 4.0)) ** 0.5
    return (3.0 + 2.5 * views.activity(model)) * scale


def draw_network(ax: Axes, model: AdoptionModel, layout: OrgLayout) -> None:
    """The organisation: nodes coloured by maturity stage, sized by activity, managers as
    squares and champions as stars; reporting lines in grey, cross-team ties faint."""
    ties = LineCollection(
        layout.segments(layout.ties), colors="#9e9e9e", linewidths=0.3, alpha=0.12
    )
    tree = LineCollection(layout.segments(layout.tree_pairs), colors="#525252", linewidths=0.45,
                          alpha=0.45)  # fmt: skip
    ax.add_collection(ties)
    ax.add_collection(tree)
    stage = model.state.stage
    colours = np.take(STAGE_COLOURS, stage)
    sizes = node_sizes(model)
    role = model.traits.role
    for code, (marker, _) in ROLE_MARKERS.items():
        rows = np.flatnonzero(role == code)
        if rows.size == 0:
            continue
        grow = 2.2 if code == CHAMPION else 1.0
        edges = np.where(stage[rows] == NONE, NEVER_USED_EDGE, "none")
        if code != EMPLOYEE:
            edges[:] = "#252525"
        ax.scatter(
            layout.xy[rows, 0],
            layout.xy[rows, 1],
            s=sizes[rows] * grow,
            c=colours[rows],
            marker=marker,
            edgecolors=edges,
            linewidths=0.4,
            zorder=3 if code == EMPLOYEE else 4,
        )
    ax.set_aspect("equal")
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.axis("off")
    stages = [
        Patch(facecolor=c, edgecolor=NEVER_USED_EDGE, label=n)
        for c, n in zip(STAGE_COLOURS, views.STAGE_LABELS, strict=True)
    ]
    roles = [
        Line2D([], [], marker=m, ls="", color="#737373", markeredgecolor="#252525", label=label)
        for m, label in ROLE_MARKERS.values()
    ]
    corner = {"fontsize": 9, "title_fontsize": 10, "frameon": False, "handlelength": 1.0,
              "borderaxespad": 0.0}  # fmt: skip
    ax.add_artist(ax.legend(handles=stages, loc="upper left", title="stage", **corner))
    ax.legend(handles=roles, loc="upper right", title="role", **corner)
    active = int(np.count_nonzero(model.state.active))
    ax.set_title(f"week {model.steps}: {active:,} of {model.org.n:,} active", fontsize=11)


def _axis_weeks(ax: Axes, weeks: int) -> None:
    ax.set_xlim(0, weeks)
    # years, half-years or quarters, whichever gives a handful of ticks
    tick = next((t for t in (52, 26, 13) if weeks >= 4 * t), None)
    ax.xaxis.set_major_locator(MultipleLocator(tick) if tick else MaxNLocator(integer=True))
    ax.set_xlabel("week")
    ax.grid(alpha=0.3)


def _bands(ax: Axes, bands: list[dict]) -> None:
    """The main run's interventions as shaded bands, in their kind's colour (as on the page)."""
    for band in bands:
        if band["run"] == 0:
            ax.axvspan(band["start"] - 0.5, band["end"] + 0.5, color=band["colour"], alpha=0.08,
                       lw=0)  # fmt: skip


def draw_adoption(ax: Axes, weekly: dict[str, pd.DataFrame], weeks: int, bands=()) -> None:
    """Weekly-active share (thick) and cumulative adoption (thin) of each run."""
    _bands(ax, bands)
    for i, ((label, df), style) in enumerate(zip(weekly.items(), RUN_STYLES, strict=False)):
        suffix = f" — {label}" if len(weekly) > 1 else ""
        if len(df):
            colour = views.RUN_COLOURS[i]
            ax.plot(df.week, df.active_share, style, color=colour, lw=2.2,
                    label=f"active this week{suffix}")  # fmt: skip
            ax.plot(df.week, df.adopted_share, style, color=colour, lw=1.0,
                    label=f"ever adopted{suffix}")  # fmt: skip
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("adoption: weekly active and cumulative", fontsize=11)
    _axis_weeks(ax, weeks)
    if ax.lines:
        ax.legend(fontsize=8, loc="center right")


def draw_value(ax: Axes, weekly: dict[str, pd.DataFrame], weeks: int, bands=(),
               limits: tuple[float, float] | None = None) -> None:  # fmt: skip
    """Net value so far (value minus programme cost, hours) of each run."""
    _bands(ax, bands)
    for i, ((label, df), style) in enumerate(zip(weekly.items(), RUN_STYLES, strict=False)):
        if len(df):
            ax.plot(df.week, views.net_so_far(df), style, color=views.RUN_COLOURS[i], lw=2.2,
                    label=label)  # fmt: skip
    ax.axhline(0, color="#252525", lw=0.6)
    if limits is not None and limits[1] > limits[0]:
        ax.set_ylim(*limits)
    ax.set_ylabel("hours")
    ax.set_title("net value so far (value minus programme cost)", fontsize=11)
    _axis_weeks(ax, weeks)
    if len(ax.lines) > 1:
        ax.legend(fontsize=8, loc="best")


def draw_stages(ax: Axes, df: pd.DataFrame, weeks: int, label: str = "", bands=()) -> None:
    """Share of people at each maturity stage over time (stacked), Connect at the bottom."""
    _bands(ax, bands)
    if len(df):
        areas = views.stage_areas(df)
        weeks_ = df.week.to_numpy()
        for area in areas:
            ax.fill_between(weeks_, area["lo"], area["hi"], color=area["colour"], lw=0,
                            label=area["label"])  # fmt: skip
        ax.legend(fontsize=8, loc="upper left", reverse=True)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"maturity stages{f' — {label}' if label else ''}", fontsize=11)
    _axis_weeks(ax, weeks)


def draw_tally(ax: Axes, weekly: dict[str, pd.DataFrame]) -> None:
    """The tally (``views.tally``) as a small text panel."""
    ax.axis("off")
    lines = []
    for row in views.tally(weekly).itertuples(index=False):
        programme, active, adopted, value, cost, net = row
        lines.append(
            f"{programme}: {active:.0%} active this week, {adopted:.0%} ever adopted; "
            f"value {value:,.0f} h, programme cost {cost:,.0f} h, net value {net:,.0f} h"
        )
    ax.text(0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=10)
