"""What the page shows, as plain data computed from a ``WorkshopModel``.

The page's pictures are drawn in the browser (``network.vue`` on a canvas, ``chart.vue`` as
SVG), so the server sends numbers, not images: the layout once per run, then each week a
string of stage codes and activity levels, the weekly series, the tally and a caption. That
keeps a page update to milliseconds of server time where redrawing matplotlib figures cost a
second. Everything here is a pure function of the model (no page state), so it is tested
without a browser, and the slide exports (``sim.dashboard.draw``) use the same palette,
caption and tally.
"""

from __future__ import annotations

import html
import math

import matplotlib
import numpy as np
import pandas as pd

from models.state import CHAMPION, MANAGER, ROLE_NAMES, STAGE_NAMES
from sim.dashboard import controls
from sim.dashboard.model import WorkshopModel
from sim.palette import STAGE_COLOURS

#: Colour and dash pattern of each run on the charts: the main run solid dark blue, the
#: comparison dashed orange (the dash keeps them apart in greyscale).
RUN_COLOURS = ("#1b4f72", "#c0571b")
RUN_DASHES = ("", "9 6")
STAGE_LABELS = ("never used", "Connect", "Share", "Solve", "Innovate")
#: Activity levels sent to the page, one digit a person: 0 not active this week, 1 active
#: without posting, up to 9 posting eight times or more.
ACTIVITY_LEVELS = 9


def _digits(values: np.ndarray) -> str:
    """Small non-negative integers (< 10) as a string of digits: the most compact form a
    JSON message can carry them in (1,000 people: 1,000 characters)."""
    return (np.asarray(values, dtype=np.uint8) + ord("0")).tobytes().decode("ascii")


def rounded(values, digits: int = 4) -> list[float]:
    """Numbers for a JSON message, to the precision a picture needs."""
    return np.round(np.asarray(values, dtype=float), digits).tolist()


#: The weekly columns the page reads (a run at week 0 has no rows, and no columns either).
COLUMNS = ("week", "active_share", "adopted_share", "value_total", "cost",
           *(f"stage_{name}" for name in STAGE_NAMES))  # fmt: skip


def weekly(model: WorkshopModel) -> dict[str, pd.DataFrame]:
    """Each run's weekly records so far, by label (with the page's columns at week 0)."""
    empty = pd.DataFrame({column: pd.Series(dtype=float) for column in COLUMNS})
    return {label: df if len(df) else empty for label, df in model.weekly().items()}


# --- the network --------------------------------------------------------------------------


def network_layout(model: WorkshopModel) -> dict:
    """The still part of the network picture, sent once per run: positions, roles,
    departments and the lines (reporting lines or the spanning tree, and faint other ties);
    for a large organisation the groups instead (``layout.Groups``)."""
    org = model.main.model.org
    if model.groups is not None:
        g = model.groups
        return {
            "mode": "groups",
            "n": int(g.count),
            "x": rounded(g.xy[:, 0]),
            "y": rounded(g.xy[:, 1]),
            "members": g.members.tolist(),
            "r": rounded(g.radius),
            "tree": g.tree.ravel().tolist(),
            "ties": g.ties.ravel().tolist(),
            "people": int(org.n),
        }
    layout = model.layout
    return {
        "mode": "people",
        "n": int(org.n),
        "x": rounded(layout.xy[:, 0]),
        "y": rounded(layout.xy[:, 1]),
        "role": _digits(model.main.model.traits.role),
        "department": org.department.tolist(),
        "department_names": list(org.department_names),
        "tree": layout.tree_pairs.ravel().tolist(),
        "ties": layout.ties.ravel().tolist(),
        "people": int(org.n),
    }


def activity(model) -> np.ndarray:
    """Each person's activity level this week (``ACTIVITY_LEVELS``)."""
    s = model.state
    posting = 1 + np.minimum(np.ceil(s.posts), ACTIVITY_LEVELS - 1)
    return np.where(s.active, posting, 0).astype(np.uint8)


def network_state(model: WorkshopModel) -> list[dict]:
    """The moving part of the network picture, per run: stages and activity (people), or
    each group's stage mix and active share in percent (groups)."""
    out = []
    for i, run in enumerate(model.runs):
        m = run.model
        item = {"label": run.label, "colour": RUN_COLOURS[i], "dash": RUN_DASHES[i]}
        if model.groups is None:
            item["stage"] = _digits(m.state.stage)
            item["activity"] = _digits(activity(m))
        else:
            g = model.groups
            counts = np.zeros((g.count, len(STAGE_NAMES)))
            np.add.at(counts, (g.of, m.state.stage), 1.0)
            mix = np.rint(100 * counts / g.members[:, None]).astype(int)
            active = np.bincount(g.of, weights=m.state.active, minlength=g.count)
            item["mix"] = mix.ravel().tolist()
            item["active"] = np.rint(100 * active / g.members).astype(int).tolist()
        out.append(item)
    return out


def stage_legend(model: WorkshopModel) -> list[dict]:
    """Each stage's name, colour and share of people now in each run."""
    shares = [np.bincount(r.model.state.stage, minlength=5) / r.model.org.n for r in model.runs]
    return [
        {
            "label": STAGE_LABELS[k],
            "colour": STAGE_COLOURS[k],
            "shares": [float(s[k]) for s in shares],
        }
        for k in range(len(STAGE_NAMES))
    ]


def inspect(model: WorkshopModel, index: int) -> dict:
    """One person (people picture) or group (groups picture), in every run: what the page
    shows when someone clicks them."""
    org = model.main.model.org
    if model.groups is not None:
        return _inspect_group(model, index)
    if not 0 <= index < org.n:
        raise IndexError(f"no person {index} in an organisation of {org.n}")
    traits = model.main.model.traits
    head = {
        "title": f"person {index}",
        "facts": {
            "role": ROLE_NAMES[int(traits.role[index])],
            "department": org.department_names[int(org.department[index])],
            "reports to": "nobody"
            if org.manager_of[index] < 0
            else f"person {org.manager_of[index]}",
            "ties": int(org.degree[index]),
        },
    }
    runs = []
    for run in model.runs:
        s = run.model.state
        this_week = float(s.value_personal[index] + s.value_strategic[index])
        runs.append(
            {
                "label": run.label,
                "rows": {
                    "stage": STAGE_LABELS[int(s.stage[index])],
                    "active this week": "yes" if s.active[index] else "no",
                    "posts this week": f"{float(s.posts[index]):.1f}",
                    "sense (sees how it helps their work)": f"{float(s.sense[index]):.2f}",
                    "intrinsic motivation": f"{float(s.intrinsic[index]):.2f}",
                    "extrinsic motivation (rewards)": f"{float(s.extrinsic[index]):.2f}",
                    "reactance (resisting pressure)": f"{float(s.reactance[index]):.2f}",
                    "alignment with strategy": f"{float(s.alignment[index]):.2f}",
                    "value they expect (h/week)": f"{float(s.perceived[index]):.2f}",
                    "value this week (h)": f"{this_week:.2f}",
                    "value so far (h)": f"{float(s.total_value[index]):,.1f}",
                },
            }
        )
    return {**head, "runs": runs}


def _inspect_group(model: WorkshopModel, index: int) -> dict:
    g = model.groups
    if not 0 <= index < g.count:
        raise IndexError(f"no group {index} of {g.count}")
    org = model.main.model.org
    rows = np.flatnonzero(g.of == index)
    role = model.main.model.traits.role[rows]
    head = int(g.head[index])
    runs = []
    for run in model.runs:
        s = run.model.state
        mix = np.bincount(s.stage[rows], minlength=5) / rows.size
        runs.append(
            {
                "label": run.label,
                "rows": {
                    "active this week": f"{np.mean(s.active[rows]):.0%}",
                    **{STAGE_LABELS[k]: f"{mix[k]:.0%}" for k in range(5)},
                    "mean sense": f"{float(np.mean(s.sense[rows])):.2f}",
                    "mean intrinsic motivation": f"{float(np.mean(s.intrinsic[rows])):.2f}",
                    "value so far (h)": f"{float(np.sum(s.total_value[rows])):,.0f}",
                },
            }
        )
    return {
        "title": f"group of {rows.size} around person {head}",
        "facts": {
            "people": int(rows.size),
            "managers": int(np.count_nonzero(role == MANAGER)),
            "champions": int(np.count_nonzero(role == CHAMPION)),
            "department": org.department_names[int(org.department[head])],
        },
        "runs": runs,
    }


# --- the charts ---------------------------------------------------------------------------


def nice_limit(value: float) -> float:
    """The next round number (1, 2, 2.5, 5 × 10^k) at or above ``value`` > 0."""
    if value <= 0:
        return 0.0
    scale = 10 ** math.floor(math.log10(value))
    return next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= value * (1 - 1e-12))


def grow_limits(limits: tuple[float, float], low: float, high: float) -> tuple[float, float]:
    """Axis limits that hold [low, high] with some headroom and only ever grow, so the chart
    does not rescale every week: a limit moves (to a round number with a quarter's headroom)
    only when the data crosses it."""
    lo, hi = limits
    if high > hi:
        hi = nice_limit(1.25 * high)
    if low < lo:
        lo = -nice_limit(-1.25 * low)
    return lo, hi


def net_per_week(df: pd.DataFrame) -> pd.Series:
    """Net value per week: value created minus the programme's cost that week (hours)."""
    return df.value_total - df.cost


def net_so_far(df: pd.DataFrame) -> pd.Series:
    """Net value so far, week by week: the tally's last column as a curve (it crosses zero
    when the programme has paid for itself)."""
    return net_per_week(df).cumsum()


def intervention_colour(kind: str) -> str:
    """One colour per intervention kind, the same in every run (a qualitative palette in the
    order of ``controls.kinds``)."""
    palette = matplotlib.colormaps["tab10"].colors
    kinds = controls.kinds()
    at = kinds.index(kind) if kind in kinds else len(kinds)
    return matplotlib.colors.to_hex(palette[at % len(palette)])


def intervention_bands(model: WorkshopModel) -> list[dict]:
    """Where each intervention of each run is running: its weeks, its kind's colour, the
    run's dash (the comparison's dashed), and a label."""
    out = []
    for i, run in enumerate(model.runs):
        for iv in run.model.schedule.items:
            if iv.intensity <= 0:
                continue
            label = iv.name if iv.name == iv.kind else f"{iv.name} ({iv.kind})"
            label = label.replace("_", " ") + f", weeks {iv.start}–{iv.end or 'end'}"
            if iv.cadence > 1:
                label += f", every {iv.cadence} weeks"
            out.append(
                {
                    "label": f"{run.label}: {label}" if model.comparing else label,
                    "start": int(iv.start),
                    "end": int(min(iv.end or model.weeks, model.weeks)),
                    "colour": intervention_colour(iv.kind),
                    "dash": RUN_DASHES[i],
                    "run": i,
                }
            )
    return out


def band_legend(bands: list[dict]) -> list[dict]:
    """Legend entries for the intervention bands: one per kind."""
    seen = {}
    for band in bands:
        name = band["label"].split(",")[0].split(": ")[-1]
        seen.setdefault(band["colour"], name)
    return [{"kind": "band", "colour": c, "label": f"{name} running"} for c, name in seen.items()]


def run_legend(labels: list[str]) -> list[dict]:
    """Legend entries naming the runs by colour and dash (comparing only)."""
    if len(labels) < 2:
        return []
    return [
        {
            "kind": "line",
            "colour": RUN_COLOURS[i],
            "dash": RUN_DASHES[i],
            "width": 3,
            "label": label,
        }
        for i, label in enumerate(labels)
    ]


def _line(df: pd.DataFrame, y, i: int, width: float = 3.0) -> dict:
    return {
        "colour": RUN_COLOURS[i],
        "dash": RUN_DASHES[i],
        "width": width,
        "x0": int(df.week.iloc[0]) if len(df) else 1,
        "y": rounded(y, 3),
    }


def adoption_chart(weekly: dict[str, pd.DataFrame]) -> dict:
    """Weekly-active share (thick) and cumulative adoption (thin) of each run (the chart's
    title says which is which, saving a legend row on a projector)."""
    lines = []
    for i, df in enumerate(weekly.values()):
        lines += [_line(df, df.active_share, i), _line(df, df.adopted_share, i, width=1.5)]
    return {"lines": lines, "legend": run_legend(list(weekly)), "format": "percent"}


def value_chart(weekly: dict[str, pd.DataFrame]) -> dict:
    """Net value so far (value minus programme cost, hours) of each run (the runs' legend
    is the adoption chart's, right above it)."""
    lines = [_line(df, net_so_far(df), i) for i, df in enumerate(weekly.values())]
    return {"lines": lines, "legend": [], "format": "hours"}


def stage_chart(df: pd.DataFrame) -> dict:
    """The stage mix over time (stacked shares) of one run, Connect at the bottom."""
    areas = stage_areas(df)
    legend = [{"kind": "area", "colour": a["colour"], "label": a["label"]} for a in areas]
    return {"lines": [], "areas": areas, "legend": legend[::-1], "format": "percent"}


def stage_areas(df: pd.DataFrame) -> list[dict]:
    """The stacked areas of ``stage_chart``."""
    areas = []
    below = np.zeros(len(df))
    for k, name in enumerate(STAGE_NAMES[1:], start=1):
        top = below + df[f"stage_{name}"].to_numpy()
        areas.append(
            {
                "label": STAGE_LABELS[k],
                "colour": STAGE_COLOURS[k],
                "opacity": 1.0,
                "x0": int(df.week.iloc[0]) if len(df) else 1,
                "lo": rounded(below, 3),
                "hi": rounded(top, 3),
            }
        )
        below = top
    return areas


# --- the words ------------------------------------------------------------------------------


def tally(weekly: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Running totals per run: value created, programme cost and net value so far (hours)."""
    rows = []
    for label, df in weekly.items():
        value = float(df.value_total.sum()) if len(df) else 0.0
        cost = float(df.cost.sum()) if len(df) else 0.0
        rows.append(
            {
                "programme": label,
                "active": float(df.active_share.iloc[-1]) if len(df) else 0.0,
                "adopted": float(df.adopted_share.iloc[-1]) if len(df) else 0.0,
                "value (h)": value,
                "cost (h)": cost,
                "net value (h)": value - cost,
            }
        )
    return pd.DataFrame(rows)


def tally_html(weekly: dict[str, pd.DataFrame]) -> str:
    """The tally as an HTML table: one row per run and, comparing, the difference."""
    table = tally(weekly)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        label, active, adopted, value, cost, net = row
        body.append(
            f"<tr><td>{html.escape(str(label))}</td><td>{active:.0%}</td><td>{adopted:.0%}</td>"
            f"<td>{value:,.0f}</td><td>{cost:,.0f}</td><td class='ba-net'>{net:,.0f}</td></tr>"
        )
    if len(table) == 2:
        a, b = table.iloc[0], table.iloc[1]
        body.append(
            "<tr class='ba-diff'><td>difference</td><td></td><td></td>"
            + "".join(
                f"<td>{a[c] - b[c]:+,.0f}</td>" for c in ("value (h)", "cost (h)", "net value (h)")
            )
            + "</tr>"
        )
    rows = "".join(body)
    return f"<table class='ba-table'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _when(week: int) -> str:
    if week == 0:
        return "Week 0: the network has just been switched on."
    year, rest = divmod(week - 1, 52)
    return f"Year {year + 1}, quarter {min(rest // 13 + 1, 4)} (week {week})."


def _running(run, week: int) -> str:
    now = [iv for iv in run.model.schedule.items if iv.runs(week)]
    ended = [iv for iv in run.model.schedule.items if iv.end is not None and iv.end < week]
    if now:
        return ", ".join(iv.name.replace("_", " ") for iv in now) + " running"
    if ended:
        last = max(ended, key=lambda iv: iv.end)
        return f"{last.name.replace('_', ' ')} ended in week {last.end}"
    return "nothing running"


def caption(model: WorkshopModel, weekly: dict[str, pd.DataFrame]) -> list[str]:
    """What is happening now, in plain words for the room, one short line each: when it is
    (and, comparing, which programme is ahead so far); then per programme what it is doing,
    how many used the network this week and have ever tried it, how many have got as far as
    solving problems or innovating, and the net value this week."""
    week = model.steps
    if week == 0:
        return [_when(week), "Press Step or ▶ to watch what happens week by week."]
    head = _when(week)
    if model.comparing:
        net = tally(weekly)["net value (h)"].to_numpy()
        ahead, gap = model.runs[int(np.argmax(net))].label, abs(net[0] - net[1])
        head += f" So far {ahead} is ahead on net value by {gap:,.0f} h."
    lines = [head]
    for run in model.runs:
        df = weekly[run.label]
        last = df.iloc[-1]
        net = float(net_per_week(df).iloc[-1])
        doing = _running(run, week)
        name = f"{run.label}: {doing}" if model.comparing else doing[0].upper() + doing[1:]
        beyond = last.stage_solve + last.stage_innovate
        lines.append(
            f"{name} · {last.active_share:.0%} used it this week, {last.adopted_share:.0%} ever "
            f"· {beyond:.0%} solve or innovate · {net:+,.0f} h net this week"
        )
    return lines


def programme_lines(model: WorkshopModel) -> list[str]:
    """What each run is doing: its interventions with weeks, intensity and who they reach."""
    lines = []
    for run in model.runs:
        items = [
            f"{iv.name} ({iv.kind.replace('_', ' ')}) "
            + (
                f"weeks {iv.start}–{iv.end or 'end'}, intensity {iv.intensity:g}, "
                f"{iv.target.replace('_', ' ')}"
                if iv.intensity > 0
                else "switched off"
            )
            for iv in run.model.schedule.items
        ]
        lines.append(f"{run.label}: {'; '.join(items) or 'no intervention'}")
    return lines
