"""The workshop page: the network coloured by maturity stage, adoption and net value over
time, a running tally of value and cost, and the controls.

Start it with ``make dashboard`` (``python -m sim.dashboard``). The page is built with Solara;
its pictures are drawn in the browser (``network.vue``, ``chart.vue``) from numbers the server
sends (``sim.dashboard.views``), and a page's run lives in a ``session.Workshop``, which
serialises stepping with drawing. ▶ is a browser-side timer (``player.vue``) that asks for the
next tick only when the last one has been answered.

Layout, for a projector at 1280×720: a bar across the top with Step, ▶, Reset, the speed and
presenter mode (so hiding the configuration never hides them); the configuration on the left;
the network, the caption, the adoption and net-value charts and the tally on one screen; the
stage chart, the programmes' details and the commands below. Nothing is built when this
module is imported (tests, server start-up): the run is made when a browser opens the page.
"""

from __future__ import annotations

import functools
import html
import sys
import traceback
from collections.abc import Callable

import solara

from models.state import ROLE_NAMES
from sim.dashboard import controls, scenario_file, seeds, session, views
from sim.palette import STAGE_COLOURS

TITLE = "beyond-adoption: adoption vs value"
ADOPTION_TITLE = "Adoption: active this week (thick), ever (thin)"
#: The bar's second Step button advances a quarter.
QUARTER = 13
#: Largest scenario file the page accepts by upload (a saved one is about 1 kB).
MAX_UPLOAD = 64_000

CSS = """
html, body { font-size: 16px; }
.ba-app { display: flex; flex-direction: column; height: 100vh; overflow: hidden;
          color: #1a1a1a; background: #fff; }
/* projector rule: no text under 16 px anywhere on the page (Vuetify sets 12-14 px) */
.ba-app *, .v-menu__content * { font-size: max(16px, 1em) !important; }
.ba-app .v-label--active { transform: translateY(-20px) scale(1) !important; }
.ba-app .v-select, .ba-app .v-text-field { padding-top: 18px; }
.ba-app .ba-bar .ba-week { font-size: 20px !important; }
.ba-app .ba-config h3, .ba-app .ba-chart-title, .ba-app .ba-network-title {
    font-size: 18px !important; }
.ba-bar { display: flex; align-items: center; gap: 10px; padding: 6px 12px; flex: 0 0 auto;
          border-bottom: 1px solid #ccc; background: #f7f7f7; height: 56px;
          box-sizing: border-box; }
.ba-bar > * { white-space: nowrap; flex: 0 0 auto; }
.ba-bar .ba-week { font-weight: 600; min-width: 160px; }
.ba-bar .ba-speed .v-btn { min-width: 40px !important; padding: 0 8px !important; }
.ba-bar .v-input--checkbox { margin-top: 0; padding-top: 0; }
.ba-bar .v-input--checkbox .v-messages { display: none; }
.ba-pending { background: #fff3c4; border: 1px solid #b38600; border-radius: 4px;
              padding: 2px 8px; }
.ba-body { display: flex; flex: 1 1 auto; min-height: 0; }
.ba-config { flex: 0 0 320px; overflow-y: auto; padding: 8px 14px 40px 14px;
             border-right: 1px solid #ddd; }
.ba-config h3 { margin: 14px 0 4px 0; }
.ba-config .v-input__slider .v-input__slot { flex-direction: column; align-items: stretch; }
.ba-config .v-input__slider .v-label { margin-bottom: -4px; }
.ba-config .ba-kind { border-top: 1px solid #e4e4e4; padding-top: 6px; margin-top: 6px; }
.ba-main { flex: 1 1 auto; min-width: 0; overflow-y: auto; }
.ba-stage { display: grid; grid-template-columns: minmax(0, 45fr) minmax(0, 55fr); gap: 10px;
            height: calc(100vh - 56px); padding: 6px 10px; box-sizing: border-box; }
.ba-left { display: flex; flex-direction: column; min-height: 0; position: relative; }
.ba-netbox { flex: 1 1 auto; min-height: 0; position: relative; }
.ba-netbox .ba-network-panels { position: absolute; inset: 0; }
.ba-shown .v-btn { text-transform: none; height: 30px !important; }
.ba-legend { display: flex; flex-wrap: wrap; column-gap: 12px; padding: 4px 0; }
.ba-legend span.ba-swatch { display: inline-block; width: 16px; height: 16px; margin-right: 4px;
                            vertical-align: -2px; border: 1px solid #777; }
.ba-right { display: flex; flex-direction: column; gap: 4px; min-height: 0; }
.ba-caption { line-height: 1.3; }
.ba-caption div:first-child { font-weight: 600; }
.ba-chartbox { flex: 1 1 0; min-height: 100px; position: relative; }
.ba-chartbox .ba-chart, .ba-stagesbox .ba-chart { position: absolute; inset: 0; }
.ba-table { border-collapse: collapse; width: 100%; }
.ba-table th, .ba-table td { padding: 2px 6px; text-align: right; border-bottom: 1px solid #ddd; }
.ba-table th:first-child, .ba-table td:first-child { text-align: left; }
.ba-table td.ba-net { font-weight: 700; }
.ba-table tr.ba-diff td { font-style: italic; }
.ba-table caption { caption-side: bottom; text-align: left; padding-top: 2px; }
.ba-inspector { position: absolute; top: 34px; right: 4px; z-index: 6; background: #fff;
                border: 1px solid #444; border-radius: 6px; padding: 6px 10px; max-width: 92%;
                max-height: 85%; overflow: auto; box-shadow: 0 2px 10px rgba(0,0,0,.25); }
.ba-inspector table td, .ba-inspector table th { padding: 1px 6px; text-align: left; }
.ba-more { padding: 10px; display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
           gap: 16px; }
.ba-more .ba-stagesbox { height: 320px; position: relative; }
.ba-more pre { white-space: pre-wrap; }
.ba-message { padding: 12px; }
.ba-gone { display: none !important; }
.ba-notice, .ba-problem { position: fixed; bottom: 12px; left: 50%; transform: translateX(-50%);
                          z-index: 20; background: #fffbe6; border: 1px solid #8a6d00;
                          border-radius: 6px; padding: 8px 12px; max-width: 80vw;
                          box-shadow: 0 2px 12px rgba(0,0,0,.3); }
"""


@solara.component_vue("network.vue")
def NetworkCanvas(graph, runs, colours, selected, stage_labels, role_labels, event_pick):
    pass


@solara.component_vue("chart.vue")
def Chart(chart, title, weeks, now, show_bands):
    pass


@solara.component_vue("player.vue")
def Player(playing, interval, serial, event_tick):
    pass


@solara.component
def Layout(children=()):
    """No app bar or side bar of Solara's own: the page is the whole window."""
    return solara.Div(children=list(children))


def _guarded(handler: Callable, report: Callable[[str], None]) -> Callable:
    """``handler`` with any exception turned into a message on the page (and a traceback in
    the server's log), so no click can replace the page with a traceback."""

    def run(*args):
        try:
            return handler(*args)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            report(f"That did not work: {e}")

    return run


def guarded(component: Callable) -> Callable:
    """A component's body that shows a message where it would have raised: a failure while
    drawing one part of the page leaves the rest of the page, and the run, as they were
    (never a traceback in place of the page)."""

    @functools.wraps(component)
    def render(*args, **kwargs):
        try:
            return component(*args, **kwargs)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            return solara.Error(f"This part of the page could not be drawn: {e}",
                                classes=["ba-message"])  # fmt: skip

    return render


# --- the controls ---------------------------------------------------------------------------


def _control(name: str, values: dict, on_change: Callable, disabled: bool = False):
    spec = controls.model_params()[name]
    value = values[name]
    kind = spec["type"]
    if kind == "Select":
        return solara.Select(
            label=spec["label"],
            values=spec["values"],
            value=value,
            on_value=lambda v: on_change(name, v),
            disabled=disabled,
        )
    if kind == "Checkbox":
        return solara.Checkbox(
            label=spec["label"], value=value, on_value=lambda v: on_change(name, v)
        )
    top = spec["max"]
    if name == "size":
        top = controls.MAX_SIZE[values["organisation"]]
    shown = f"{value:g}" if kind == "SliderFloat" else f"{value}"
    if name.endswith("_end") and value == 0:
        shown = "never"
    slider = solara.SliderFloat if kind == "SliderFloat" else solara.SliderInt
    return slider(
        label=f"{spec['label']}: {shown}",
        value=value,
        min=spec["min"],
        max=top,
        step=spec["step"],
        on_value=lambda v: on_change(name, v),
        thumb_label=False,
        disabled=disabled,
    )


def _section(title: str, text: str) -> None:
    """A heading and a line saying what the controls below it do."""
    solara.HTML(tag="h3", unsafe_innerHTML=title)
    solara.HTML(tag="p", unsafe_innerHTML=text)


@solara.component
@guarded
def ControlsPanel(values: dict, on_change: Callable, files: Callable):
    """The configuration: the run, the champions, each intervention kind, scenario files."""
    with solara.Div(classes=["ba-config"]) as panel:
        _section(
            "The run",
            "A comparison runs the other programme on the same organisation with the same "
            "seed. More than one seed for a band runs the programmes again with the next seeds, "
            "in the background, and shades the spread.",
        )
        for name in ("programme", "compare_with", "organisation", "size", "weeks", "seed",
                     "band_seeds"):  # fmt: skip
            _control(name, values, on_change)
        _section(
            "Champions",
            "Unless set here, the programme's champions (share of non-managers, and how they "
            "are chosen).",
        )
        _control("set_champions", values, on_change)
        for name in ("champion_share", "champion_rule"):
            _control(name, values, on_change, disabled=not values["set_champions"])
        _section(
            "Interventions",
            "For each kind: <i>as programme</i> runs the programme's own (shown), <i>on</i> "
            "runs it with the settings below, <i>off</i> switches it off (intensity 0). "
            "Changes apply on <b>Reset</b>.",
        )
        for kind in controls.kinds():
            with solara.Div(classes=["ba-kind"]):
                _control(kind, values, on_change)
                for field in ("start", "end", "intensity", "target"):
                    _control(f"{kind}_{field}", values, on_change, disabled=values[kind] != "on")
        files()
    return panel


def download(values: dict, name: str) -> bytes:
    """The scenario file to download (or, for settings that cannot run, a file that says
    why: the download happens outside the page's handlers)."""
    try:
        return scenario_file.to_yaml(values, name).encode()
    except controls.ControlError as e:
        return f"# these settings cannot be saved: {e}\n".encode()


@solara.component
@guarded
def ScenarioFiles(values: dict, on_load: Callable[[dict], None], report: Callable):
    """Save the controls as a scenario file ``python -m sim`` runs, and load one back."""
    name, set_name = solara.use_state("workshop")
    names, set_names = solara.use_state(scenario_file.saved())
    choice, set_choice = solara.use_state(names[0] if names else None)

    def save():
        path = scenario_file.save(values, name)
        set_names(scenario_file.saved())
        report(
            f"Saved {path}. Run it with: python -m sim --config-dir {path.parent} "
            f"--config-name {path.stem}"
        )

    def load():
        if choice:
            on_load(scenario_file.load(choice))
            report(f"Loaded {choice}: press Reset to run it.")

    def upload(file):
        data = file["file_obj"].read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise controls.ControlError(f"{file['name']} is larger than a scenario file")
        on_load(scenario_file.from_yaml(data.decode("utf-8", errors="replace")))
        report(f"Loaded {file['name']}: press Reset to run it.")

    guard = lambda f: _guarded(f, report)  # noqa: E731
    with solara.Div() as box:
        solara.HTML(tag="h3", unsafe_innerHTML="Scenario files")
        solara.InputText("file name", value=name, on_value=set_name, continuous_update=True)
        solara.Button("Save", on_click=guard(save), classes=["ba-save"])
        solara.FileDownload(
            lambda: download(values, name),
            filename=f"{name}.yaml",
            label="Download the scenario file",
        )
        solara.Select(label="saved scenarios", values=names, value=choice, on_value=set_choice,
                      disabled=not names)  # fmt: skip
        solara.Button("Load", on_click=guard(load), classes=["ba-load"], disabled=not names)
        solara.FileDrop(label="…or drop a scenario file here", on_file=guard(upload), lazy=True)
    return box


# --- the pictures -----------------------------------------------------------------------------


def _legend_html(frame: session.Frame, mode: str) -> str:
    parts = []
    for item in frame.legend:
        shares = " | ".join(f"{s:.0%}" for s in item["shares"])
        parts.append(
            f"<span><span class='ba-swatch' style='background:{item['colour']}'></span>"
            f"{html.escape(item['label'])} {shares}</span>"
        )
    if mode == "groups":
        parts.append("<span>each circle a group of people (a manager and everyone under them, "
                     "or neighbours in the network): slices = stages, black arc = share active "
                     "this week</span>")  # fmt: skip
    else:
        parts.append("<span>■ manager ★ champion ● employee; bigger = more active</span>")
    return "".join(parts)


def _inspector_html(data: dict) -> str:
    facts = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in data["facts"].items()
    )
    runs = data["runs"]
    head = "".join(f"<th>{html.escape(r['label'])}</th>" for r in runs)
    rows = "".join(
        f"<tr><th>{html.escape(key)}</th>"
        + "".join(f"<td>{html.escape(r['rows'][key])}</td>" for r in runs)
        + "</tr>"
        for key in runs[0]["rows"]
    )
    return (
        f"<div><b>{html.escape(data['title'])}</b></div><table>{facts}</table>"
        f"<table><tr><th></th>{head}</tr>{rows}</table>"
    )


@solara.component
@guarded
def Inspector(workshop: session.Workshop, frame: session.Frame, selected: int, on_close):
    data = workshop.inspect(selected)
    if data is None:
        return solara.Div()
    with solara.Div(classes=["ba-inspector"]) as box:
        solara.HTML(unsafe_innerHTML=_inspector_html(data))
        solara.Button("Close", on_click=on_close, text=True, classes=["ba-inspector-close"])
    return box


BOTH = "both side by side"


@solara.component
@guarded
def Stage(workshop, frame: session.Frame, selected: int, on_pick, on_unpick):
    """What must be on screen at once: the network, the caption, the charts, the tally.
    Comparing, both networks are shown side by side, or one at a time (larger), named."""
    shown, set_shown = solara.use_state(BOTH)
    labels = [run["label"] for run in frame.network]
    runs = [r for r in frame.network if shown in (BOTH, r["label"])] or frame.network
    with solara.Div(classes=["ba-stage"]) as stage:
        with solara.Div(classes=["ba-left"]):
            solara.ToggleButtonsSingle(
                value=shown if shown in labels else BOTH,
                values=[BOTH, *labels],
                on_value=set_shown,
                classes=["ba-shown" if frame.comparing else "ba-gone"],
            )
            with solara.Div(classes=["ba-netbox", "ba-network"]):
                NetworkCanvas(
                    graph=workshop.layout,
                    runs=runs,
                    colours=list(STAGE_COLOURS),
                    selected=selected,
                    stage_labels=list(views.STAGE_LABELS),
                    role_labels=list(ROLE_NAMES),
                    event_pick=on_pick,
                )
            mode = workshop.layout["mode"] if workshop.layout else "people"
            solara.HTML(unsafe_innerHTML=_legend_html(frame, mode), classes=["ba-legend"])
            if selected >= 0:
                Inspector(workshop, frame, selected, on_unpick)
        with solara.Div(classes=["ba-right"]):
            solara.HTML(unsafe_innerHTML="".join(f"<div>{html.escape(line)}</div>"
                                                 for line in frame.caption),
                        classes=["ba-caption"])  # fmt: skip
            with solara.Div(classes=["ba-chartbox", "ba-adoption"]):
                Chart(chart=frame.adoption, title=ADOPTION_TITLE, weeks=frame.weeks,
                      now=frame.week, show_bands=True)  # fmt: skip
            with solara.Div(classes=["ba-chartbox", "ba-value"]):
                Chart(chart=frame.value, title="Net value so far (hours)", weeks=frame.weeks,
                      now=frame.week, show_bands=False)  # fmt: skip
            solara.HTML(unsafe_innerHTML=frame.tally, classes=["ba-tally"])
    return stage


@solara.component
@guarded
def More(frame: session.Frame):
    """Below the fold: the stage mix over time, what the programmes do, the commands."""
    with solara.Div(classes=["ba-more"]) as more:
        with solara.Div(classes=["ba-stagesbox", "ba-stages"]):
            Chart(chart=frame.stages, title="Maturity stages (main run)", weeks=frame.weeks,
                  now=frame.week, show_bands=True)  # fmt: skip
        with solara.Div():
            if frame.band:
                solara.HTML(tag="p", unsafe_innerHTML=html.escape(frame.band),
                            classes=["ba-band"])  # fmt: skip
            if frame.comparing:
                same = "same organisation and seed ✓" if frame.same_organisation else "DIFFERENT"
                solara.HTML(tag="p", unsafe_innerHTML=f"Comparing two programmes: {same}.")
            items = "".join(f"<li>{html.escape(line)}</li>" for line in frame.programmes)
            solara.HTML(tag="ul", unsafe_innerHTML=items, classes=["ba-programmes"])
            solara.HTML(tag="p", unsafe_innerHTML="Repeat on the command line:")
            solara.HTML(tag="pre", unsafe_innerHTML=html.escape("\n".join(frame.commands)),
                        classes=["ba-commands"])  # fmt: skip
    return more


# --- the page -----------------------------------------------------------------------------------


@solara.component
@guarded
def Bar(frame, playing, speed, presenter, pending, on_step, on_play, on_reset, on_speed,
        on_presenter):  # fmt: skip
    """Step (a week, or a quarter), ▶, Reset, the speed and presenter mode: always on
    screen."""
    with solara.Div(classes=["ba-bar"]) as bar:
        solara.Text(f"Week {frame.week} of {frame.weeks}", classes=["ba-week"])
        solara.Button("Step", on_click=lambda: on_step(1), disabled=not frame.running or playing,
                      classes=["ba-step"])  # fmt: skip
        solara.Button("+13", on_click=lambda: on_step(QUARTER),
                      disabled=not frame.running or playing, classes=["ba-quarter"])  # fmt: skip
        solara.Button("⏸ Pause" if playing else "▶ Play", on_click=on_play,
                      disabled=not frame.running and not playing, color="primary",
                      classes=["ba-play"])  # fmt: skip
        solara.Button("Reset", on_click=on_reset, color="warning" if pending else None,
                      classes=["ba-reset"])  # fmt: skip
        # always there (hidden when nothing is pending): an element that comes and goes would
        # make the widgets after it be rebuilt, under a facilitator's click
        solara.Text(
            "changed: press Reset to apply", classes=["ba-pending" if pending else "ba-gone"]
        )
        solara.Text("weeks/s", classes=["ba-speed-label"])
        solara.ToggleButtonsSingle(value=speed, values=list(session.SPEEDS), on_value=on_speed,
                                   classes=["ba-speed"])  # fmt: skip
        solara.Checkbox(label="presenter mode", value=presenter, on_value=on_presenter)
    return bar


@solara.component
def WorkshopPage(key: str):
    """One tab's page: its run, controls and state (restored after a reload)."""
    saved = solara.use_memo(lambda: session.SAVED.load(key), [])
    first = saved["draft"] if saved else controls.with_programme_values(controls.defaults())
    workshop = solara.use_memo(
        lambda: session.Workshop(
            saved["applied"] if saved else first, saved["week"] if saved else 0
        ),
        [],
    )
    start = solara.use_memo(workshop.frame, [])
    frame, set_frame = solara.use_state(start)
    draft, set_draft = solara.use_state(first)
    playing, set_playing = solara.use_state(False)
    speed, set_speed = solara.use_state(saved["speed"] if saved else session.DEFAULT_SPEED)
    presenter, set_presenter = solara.use_state(saved["presenter"] if saved else False)
    selected, set_selected = solara.use_state(-1)
    notice, set_notice = solara.use_state(None)
    generation, set_generation = solara.use_state(0)

    def report(text: str) -> None:
        set_notice(text)

    def show(f: session.Frame) -> None:
        set_frame(f)
        if playing and (not f.running):
            set_playing(False)

    def step(weeks: int):
        set_playing(False)
        workshop.pause()
        show(workshop.step(min(int(weeks), QUARTER)))

    def play():
        if playing:
            workshop.pause()
        set_playing(not playing)

    def tick(_data=None):
        f = workshop.tick(speed)
        set_frame(f)
        if not f.running:
            set_playing(False)

    def reset():
        set_playing(False)
        set_selected(-1)
        set_notice(None)
        set_frame(workshop.reset(draft))
        set_generation(generation + 1)

    def change(name: str, value) -> None:
        value = controls.check_value(name, value)
        new = {**draft, name: value}
        if name == "organisation":
            new["size"] = min(new["size"], controls.MAX_SIZE[value])
        set_draft(controls.with_programme_values(new))
        try:
            controls.check(new)
        except controls.ControlError as e:
            report(f"These settings cannot run yet: {e}")

    def load(values: dict) -> None:
        set_draft(values)

    def dismiss():
        set_frame(workshop.dismiss())

    def band(cancel):
        applied = workshop.values
        mine = workshop.generation
        if workshop.model.error or applied["band_seeds"] < 2:
            return
        result = seeds.run_band(applied)
        if not cancel.is_set() and workshop.generation == mine:
            set_frame(workshop.set_band(result))

    solara.use_thread(band, dependencies=[generation], intrusive_cancel=False)

    def persist():
        state = {"draft": draft, "applied": workshop.values, "week": frame.week,
                 "speed": speed, "presenter": presenter}  # fmt: skip
        session.SAVED.save(key, state)

    solara.use_effect(persist, [draft, frame.week, speed, presenter, generation])

    guard = lambda f: _guarded(f, report)  # noqa: E731
    pending = controls.with_programme_values(draft) != workshop.values
    interval = max(1000 / speed, 1000 / session.MAX_TICKS_PER_SECOND)
    with solara.Div(classes=["ba-app"]) as page:
        Bar(frame, playing, speed, presenter, pending, guard(step), guard(play), guard(reset),
            guard(lambda v: set_speed(session.check_speed(v))), guard(set_presenter))  # fmt: skip
        Player(playing=playing, interval=interval, serial=frame.serial, event_tick=guard(tick))
        with solara.Div(classes=["ba-body"]):
            if not presenter:
                ControlsPanel(
                    draft,
                    guard(change),
                    lambda: ScenarioFiles(draft, guard(load), report),
                )
            with solara.Div(classes=["ba-main"]):
                if frame.error:
                    with solara.Div(classes=["ba-message", "ba-error"]):
                        solara.Error(f"This combination of controls cannot run: {frame.error}")
                        solara.Text("Change the controls on the left and press Reset.")
                else:
                    Stage(workshop, frame, selected, guard(set_selected),
                          guard(lambda: set_selected(-1)))  # fmt: skip
                    More(frame)
                # messages float over the page; last, so that they never move what is above
                if frame.problem:
                    with solara.Div(classes=["ba-message", "ba-problem"]):
                        solara.Warning(f"Something went wrong: {frame.problem}")
                        solara.Button("Continue", on_click=guard(dismiss))
                        solara.Button("Reset", on_click=guard(reset))
                if notice:
                    with solara.Div(classes=["ba-notice"]):
                        solara.Text(notice)
                        solara.Button("OK", on_click=lambda: set_notice(None), text=True)
    return page


@solara.component
def Page():
    """One page per browser tab, admitted while fewer than ``session.MAX_PAGES`` are open."""
    kernel = solara.get_kernel_id()
    admitted = solara.use_memo(lambda: session.PAGES.open(kernel), [])

    def release():
        import solara.server.kernel_context as kc

        if kc.has_current_context():
            kc.get_current_context().on_close(lambda: session.PAGES.close(kernel))
        return lambda: session.PAGES.close(kernel)

    solara.use_effect(release, [])
    with solara.Div() as root:
        solara.Title(TITLE)
        solara.Style(CSS)
        if admitted:
            WorkshopPage(solara.get_session_id())
        else:
            solara.Error(
                f"{session.MAX_PAGES} dashboard pages are open on this server already: close "
                "one (or wait half a minute after closing it) and reload this page.",
                classes=["ba-message"],
            )
    return root
