"""The workshop page: Mesa's SolaraViz with the network, the curves, the stages and a tally.

Start it with ``make dashboard`` (or ``python -m sim.dashboard``), which runs
``solara run sim.dashboard.app`` on localhost with Solara's JavaScript served from the
installed ``solara-assets`` package, so the page works without internet access.

SolaraViz gives the sidebar (the controls from ``sim.dashboard.controls``; step, play and
reset) and a grid of components; each component here draws with matplotlib (Mesa's
matplotlib backend, rendered to PNG) from the functions in ``sim.dashboard.draw`` that the
slide exports use too. The model is built when a browser opens the page, never when this
module is imported, so importing it stays cheap (tests, ``solara run`` start-up).
"""

from __future__ import annotations

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim.dashboard import controls, draw
from sim.dashboard.model import WorkshopModel

TITLE = "beyond-adoption: adoption vs value"

#: Fit each picture inside its grid cell (SolaraViz's cells have a fixed height; a figure
#: scaled to the cell's width alone would be cut off at the bottom), and let the tally scroll.
CSS = """
.vue-grid-item > div { height: 100%; }
.ba-figure, .ba-figure > div { height: 100%; display: flex; justify-content: center; }
.ba-figure img { max-width: 100%; max-height: 100%; width: auto; height: auto;
                 object-fit: contain; }
.ba-tally { height: 100%; overflow: auto; }
"""


def _figure(model: WorkshopModel, fig: Figure, name: str):
    """A figure as a PNG in a box with a CSS class the browser test can find."""
    with solara.Div(classes=["ba-figure", f"ba-{name}"]) as box:
        solara.FigureMatplotlib(
            fig, dependencies=[id(model), model.steps], format="png", bbox_inches="tight"
        )
    return box


def _failed(model: WorkshopModel):
    return solara.Error(f"This combination of controls cannot run: {model.error}")


def NetworkView(model: WorkshopModel):
    """The organisation, coloured by maturity stage (main run)."""
    if model.error:
        return _failed(model)
    fig = Figure(figsize=(6.4, 5.6))
    draw.draw_network(fig.add_subplot(), model.main.model, model.layout)
    return _figure(model, fig, "network")


def _chart(model: WorkshopModel, name: str, paint):
    if model.error:
        return solara.Text("")
    fig = Figure(figsize=(6.4, 3.4))
    paint(fig.add_subplot(), model.weekly())
    return _figure(model, fig, name)


def AdoptionView(model: WorkshopModel):
    """Weekly-active share and cumulative adoption; the comparison run dashed."""
    return _chart(model, "adoption", lambda ax, w: draw.draw_adoption(ax, w, model.weeks))


def ValueView(model: WorkshopModel):
    """Net value per week; the comparison run dashed."""
    return _chart(model, "value", lambda ax, w: draw.draw_value(ax, w, model.weeks))


def StagesView(model: WorkshopModel):
    """Stage composition over time of the main run."""
    label = model.main.label if model.runs else ""
    return _chart(model, "stages", lambda ax, w: draw.draw_stages(ax, w[label], model.weeks, label))


def programme_lines(model: WorkshopModel) -> str:
    """What each run on the page is doing: its interventions, weeks, intensity and target
    (the sliders show their values only while dragged; this is what is running)."""
    lines = []
    for run in model.runs:
        items = [
            f"{iv.name} ({iv.kind}) weeks {iv.start}–{iv.end or 'end'}, "
            f"intensity {iv.intensity:g}, {iv.target}"
            for iv in run.model.schedule.items
        ]
        lines.append(f"- **{run.label}**: {'; '.join(items) or 'no intervention'}")
    return "\n".join(lines)


def TallyView(model: WorkshopModel):
    """Running value and cost, which runs are on the page, and how to repeat them."""
    if model.error:
        return solara.Info("Change the controls on the left and press Reset.")
    with solara.Div(classes=["ba-tally"]) as box:
        solara.Markdown(
            f"**Week {model.steps} of {model.weeks}**\n\n" + draw.tally_markdown(model.weekly())
        )
        if model.comparing:
            same = "same organisation and seed ✓" if model.same_organisation else "DIFFERENT"
            solara.Markdown(
                f"Comparing **{model.runs[0].label}** (solid) with **{model.runs[1].label}** "
                f"(dashed): {same}."
            )
        solara.Markdown(programme_lines(model))
        commands = "\n".join(run.command for run in model.runs)
        solara.Markdown(f"Repeat on the command line:\n\n```\n{commands}\n```")
    return box


COMPONENTS = [
    (NetworkView, 0),
    (TallyView, 0),
    (AdoptionView, 0),
    (ValueView, 0),
    (StagesView, 0),
]


@solara.component
def Page():
    """One model per browser tab, built on first render (and rebuilt by Reset)."""
    model = solara.use_memo(WorkshopModel, dependencies=[])
    solara.Title(TITLE)
    solara.Style(CSS)
    SolaraViz(
        model,
        components=COMPONENTS,
        model_params=controls.model_params(),
        name=TITLE,
        play_interval=150,
    )


page = Page()
