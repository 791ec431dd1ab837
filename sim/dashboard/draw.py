"""Matplotlib drawings of a workshop run: the network, the curves, the stage mix, the tally.

One set of drawing functions serves the live page and the slide exports, so what a
facilitator shows from a GIF is what the room saw on the page. Each function draws on an
``Axes`` it is given and reads only the model's state arrays and weekly records.
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
from models.state import CHAMPION, EMPLOYEE, MANAGER, STAGE_NAMES
from sim.dashboard.layout import OrgLayout
from sim.plots import STAGE_COLOURS

#: How the roles are marked on the network.
ROLE_MARKERS = {EMPLOYEE: ("o", "employee"), MANAGER: ("s", "manager"), CHAMPION: ("*", "champion")}
#: Line styles of the runs on one chart: the main run solid, the comparison dashed.
RUN_STYLES = ("-", "--")
ACTIVE, ADOPTED, VALUE, COST = "#2171b5", "#737373", "#238b45", "#cb181d"


def node_sizes(model: AdoptionModel) -> np.ndarray:
    """Marker areas: a dot for someone inactive this week, larger the more they post.

    Scaled with the organisation's size so a picture of 5,000 people is not a solid disc."""
    s = model.state
    scale = float(np.clip(1000 / model.org.n, 0.25, 4.0)) ** 0.5
    active = np.where(s.active, 9.0 + 5.0 * np.minimum(s.posts, 6.0), 2.5)
    return active * scale


def draw_network(ax: Axes, model: AdoptionModel, layout: OrgLayout) -> None:
    """The organisation: nodes coloured by maturity stage, sized by activity, managers as
    squares and champions as stars; reporting lines in grey, cross-team ties faint."""
    ax.add_collection(LineCollection(layout.ties, colors="#9e9e9e", linewidths=0.3, alpha=0.12))
    ax.add_collection(LineCollection(layout.tree, colors="#525252", linewidths=0.45, alpha=0.45))
    colours = np.take(STAGE_COLOURS, model.state.stage)
    sizes = node_sizes(model)
    role = model.traits.role
    for code, (marker, _) in ROLE_MARKERS.items():
        rows = np.flatnonzero(role == code)
        if rows.size == 0:
            continue
        grow = 2.2 if code == CHAMPION else 1.0
        ax.scatter(
            layout.xy[rows, 0],
            layout.xy[rows, 1],
            s=sizes[rows] * grow,
            c=colours[rows],
            marker=marker,
            edgecolors="#252525" if code != EMPLOYEE else "none",
            linewidths=0.4,
            zorder=3 if code == EMPLOYEE else 4,
        )
    ax.set_aspect("equal")
    ax.autoscale_view()
    ax.axis("off")
    # two small legends in the corners the disc leaves empty
    stages = [Patch(color=c, label=n) for c, n in zip(STAGE_COLOURS, STAGE_NAMES, strict=True)]
    roles = [
        Line2D([], [], marker=m, ls="", color="#737373", markeredgecolor="#252525", label=label)
        for m, label in ROLE_MARKERS.values()
    ]
    corner = {
        "fontsize": 7,
        "title_fontsize": 8,
        "frameon": False,
        "handlelength": 1.0,
        "borderaxespad": 0.0,
    }
    ax.add_artist(ax.legend(handles=stages, loc="upper left", title="stage", **corner))
    ax.legend(handles=roles, loc="upper right", title="role", **corner)
    active = int(np.count_nonzero(model.state.active))
    ties = (
        f"{layout.ties_shown:,} of {layout.ties_total:,} other ties"
        if layout.ties_shown < layout.ties_total
        else f"{layout.ties_total:,} {'cross-team' if layout.from_hierarchy else 'other'} ties"
    )
    ax.set_title(f"week {model.steps}: {active:,} of {model.org.n:,} active  ·  {ties}", fontsize=9)


def _axis_weeks(ax: Axes, weeks: int) -> None:
    ax.set_xlim(0, weeks)
    # years, half-years or quarters, whichever gives a handful of ticks
    tick = next((t for t in (52, 26, 13) if weeks >= 4 * t), None)
    ax.xaxis.set_major_locator(MultipleLocator(tick) if tick else MaxNLocator(integer=True))
    ax.set_xlabel("week")
    ax.grid(alpha=0.3)


def draw_adoption(ax: Axes, weekly: dict[str, pd.DataFrame], weeks: int) -> None:
    """Weekly-active share and cumulative adoption of each run (comparison dashed)."""
    for (label, df), style in zip(weekly.items(), RUN_STYLES, strict=False):
        suffix = f" — {label}" if len(weekly) > 1 else ""
        if len(df):
            ax.plot(df.week, df.adopted_share, style, color=ADOPTED, label=f"adopted{suffix}")
            ax.plot(df.week, df.active_share, style, color=ACTIVE, label=f"active{suffix}")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("adoption: weekly active and cumulative", fontsize=9)
    _axis_weeks(ax, weeks)
    if ax.lines:
        ax.legend(fontsize=7, loc="center right")


def draw_value(ax: Axes, weekly: dict[str, pd.DataFrame], weeks: int) -> None:
    """Net value created per week (hours) of each run (comparison dashed)."""
    colours = (VALUE, "#6a51a3")
    for (label, df), style, colour in zip(weekly.items(), RUN_STYLES, colours, strict=False):
        if len(df):
            ax.plot(df.week, df.value_total, style, color=colour, label=label)
    ax.axhline(0, color="#252525", lw=0.6)
    ax.set_ylabel("hours / week")
    ax.set_title("value: net value created per week (hours of productive work)", fontsize=9)
    _axis_weeks(ax, weeks)
    if len(ax.lines) > 1:
        ax.legend(fontsize=7, loc="best")


def draw_stages(ax: Axes, df: pd.DataFrame, weeks: int, label: str = "") -> None:
    """Share of people at each maturity stage over time (stacked)."""
    if len(df):
        shares = [df[f"stage_{name}"] for name in STAGE_NAMES[1:]]
        ax.stackplot(df.week, shares, colors=STAGE_COLOURS[1:], labels=STAGE_NAMES[1:])
        ax.legend(fontsize=7, loc="upper left", reverse=True)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"maturity stages{f' — {label}' if label else ''}", fontsize=9)
    _axis_weeks(ax, weeks)


def tally(weekly: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Running totals per run: value created and programme cost so far, in hours."""
    rows = []
    for label, df in weekly.items():
        value = float(df.value_total.sum()) if len(df) else 0.0
        cost = float(df.cost.sum()) if len(df) else 0.0
        rows.append(
            {
                "programme": label,
                "week": int(df.week.iloc[-1]) if len(df) else 0,
                "active now": float(df.active_share.iloc[-1]) if len(df) else 0.0,
                "adopted": float(df.adopted_share.iloc[-1]) if len(df) else 0.0,
                "value so far (h)": value,
                "programme cost so far (h)": cost,
                "value minus cost (h)": value - cost,
            }
        )
    return pd.DataFrame(rows)


def tally_markdown(weekly: dict[str, pd.DataFrame]) -> str:
    """The tally as a Markdown table for the page."""
    table = tally(weekly)
    head = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join(["---"] + ["---:"] * (len(table.columns) - 1)) + "|"
    lines = [head, rule]
    for row in table.itertuples(index=False):
        programme, week, active, adopted, *hours = row
        cells = [str(programme), str(week), f"{active:.0%}", f"{adopted:.0%}"]
        cells += [f"{h:,.0f}" for h in hours]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw_tally(ax: Axes, weekly: dict[str, pd.DataFrame]) -> None:
    """The tally as a small text panel (for exports)."""
    ax.axis("off")
    lines = []
    for row in tally(weekly).itertuples(index=False):
        programme, week, active, adopted, value, cost, net = row
        lines.append(
            f"{programme}: week {week}, {active:.0%} active, {adopted:.0%} adopted\n"
            f"   value so far {value:,.0f} h, programme cost {cost:,.0f} h, net {net:,.0f} h"
        )
    ax.text(0, 1, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8)
