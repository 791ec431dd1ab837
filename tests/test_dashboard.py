"""The workshop dashboard without a browser: import cost, layout, controls, comparison, exports.

The page itself is driven in a real browser by tests/test_browser.py.
"""

import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from models import generators
from models.errors import InputError
from models.state import CHAMPION, MANAGER
from sim.api import compose
from sim.dashboard import controls
from sim.dashboard.compare import same_organisation
from sim.dashboard.export import export
from sim.dashboard.export import main as export_main
from sim.dashboard.layout import org_layout, spanning_forest
from sim.dashboard.model import WorkshopModel
from sim.run import build_model

SMALL = {"size": 120, "weeks": 12}


def org(kind: str, size: int, seed: int = 0, **params):
    return generators.build(kind, {"size": size, **params}, np.random.default_rng(seed))


# --- importing builds nothing ------------------------------------------------------------


def test_importing_the_app_builds_no_model():
    code = """
import models.model as m
built = []
original = m.AdoptionModel.__init__
def spy(self, *a, **k):
    built.append(1)
    original(self, *a, **k)
m.AdoptionModel.__init__ = spy
import sim.dashboard.app as app
import sim.dashboard.export, sim.dashboard.screenshots, sim.dashboard.__main__
assert app.page is not None and callable(app.Page)
print(len(built))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "0"


# --- layout ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1000, 10_000])
def test_hierarchy_layout_is_fast_deterministic_and_reads_as_a_tree(size):
    o = org("hierarchy", size)
    started = time.perf_counter()
    layout = org_layout(o, seed=0)
    assert time.perf_counter() - started < 2.0
    again = org_layout(org("hierarchy", size), seed=0)
    assert np.array_equal(layout.xy, again.xy)
    assert np.array_equal(layout.ties, again.ties)
    assert layout.xy.shape == (size, 2) and np.isfinite(layout.xy).all()
    # the top in the centre, every manager closer to it than their reports
    radius = np.hypot(*layout.xy.T)
    assert radius[0] == 0
    has_boss = o.manager_of >= 0
    assert (radius[o.manager_of[has_boss]] < radius[has_boss]).all()
    assert len(layout.tree) == size - 1
    assert layout.ties_total == o.cross_team.nnz // 2
    # departments are slices of the disc: their angular ranges do not overlap
    angle = np.arctan2(layout.xy[:, 1], layout.xy[:, 0]) % (2 * np.pi)
    spans = sorted((angle[o.department == d].min(), angle[o.department == d].max()) for d in
                   range(1, o.department.max() + 1))  # fmt: skip
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert end <= start


def test_layout_never_uses_a_spring_layout(monkeypatch):
    import networkx

    def refuse(*args, **kwargs):
        raise AssertionError("spring layout called")

    monkeypatch.setattr(networkx, "spring_layout", refuse)
    monkeypatch.setattr(networkx, "kamada_kawai_layout", refuse)
    WorkshopModel(seed=1, size=200, weeks=4)
    org_layout(org("small_world", 2000))


@pytest.mark.parametrize(
    "kind,params",
    [("small_world", {}), ("scale_free", {}), ("random", {"mean_degree": 0.8}), ("complete", {})],
)
def test_networks_without_reporting_lines_get_a_spanning_tree(kind, params):
    o = org(kind, 400, **params)
    parent = spanning_forest(o.adjacency)
    child = np.flatnonzero(parent >= 0)
    assert o.adjacency[parent[child], child].all()  # every tree edge is a real tie
    # one root per connected component (isolated people are their own roots)
    from scipy.sparse.csgraph import connected_components

    assert np.count_nonzero(parent < 0) == connected_components(o.adjacency)[0]
    layout = org_layout(o, seed=3)
    assert np.isfinite(layout.xy).all()
    assert np.array_equal(layout.xy, org_layout(o, seed=3).xy)
    assert layout.ties_shown <= layout.ties_total
    assert layout.ties_total + len(layout.tree) == o.n_edges


def test_too_many_ties_are_sampled_by_seed():
    o = org("complete", 300)
    a, b, c = (org_layout(o, seed=s, max_ties=500) for s in (1, 1, 2))
    assert a.ties_shown == 500 and a.ties_total == o.n_edges - (o.n - 1)
    assert np.array_equal(a.ties, b.ties)
    assert not np.array_equal(a.ties, c.ties)


# --- controls → model --------------------------------------------------------------------


def test_model_params_are_what_solaraviz_accepts():
    from mesa.visualization.solara_viz import _check_model_params

    params = controls.model_params()
    _check_model_params(WorkshopModel.__init__, params)
    assert params["seed"]["type"] == "SliderInt"  # a text box would hand the model a string
    for name, spec in params.items():
        if spec["type"] == "Select":
            assert spec["value"] in spec["values"], name
        if spec["type"].startswith("Slider"):
            assert spec["min"] <= spec["value"] <= spec["max"], name
    assert set(params["programme"]["values"]) >= {"baseline", "mandate", "sense_making"}


def test_controls_build_the_run_the_command_line_would():
    values = {
        "programme": "mandate",
        "organisation": "small_world",
        "size": 200,
        "weeks": 30,
        "set_champions": True,
        "champion_share": 0.1,
        "champion_rule": "degree",
        "mandate": "on",
        "mandate_start": 3,
        "mandate_end": 20,
        "mandate_intensity": 0.8,
        "stories": "on",
        "stories_end": 0,
        "stories_target": "managers",
    }
    model = WorkshopModel(seed=5, **values)
    run = model.main.model
    assert run.org.n == 200 and run.org.kind == "small_world"
    non_managers = np.count_nonzero(run.traits.role != MANAGER)
    assert np.count_nonzero(run.traits.role == CHAMPION) == round(0.1 * non_managers)
    by_kind = {iv.kind: iv for iv in run.schedule.items}
    assert set(by_kind) == {"mandate", "stories"}
    assert (by_kind["mandate"].start, by_kind["mandate"].end) == (3, 20)
    assert by_kind["mandate"].intensity == pytest.approx(0.8)
    assert by_kind["stories"].end is None and by_kind["stories"].target == "managers"
    assert model.main.command.startswith("python -m sim scenario=mandate org=small_world")

    cli = build_model(compose(controls.overrides({**values, "seed": 5})))
    for _ in range(8):
        model.step()
        cli.step()
    assert model.main.model.weekly().equals(cli.weekly())


def test_switching_a_programmes_intervention_off_removes_it():
    model = WorkshopModel(seed=0, programme="connect_basf", sense_making="off", **SMALL)
    kinds = [iv.kind for iv in model.main.model.schedule.items]
    assert "sense_making" not in kinds and "campaign" in kinds
    model = WorkshopModel(seed=0, programme="mandate", mandate="off", **SMALL)
    assert model.main.model.schedule.items == []


def test_a_new_control_value_and_reset_give_a_new_run():
    """What SolaraViz's Reset does: rebuild the model class with the controls as keywords
    (and a Mesa Scenario), so a changed control must show up in the new run."""
    from mesa.visualization.solara_viz import _build_model_init_kwargs

    first = WorkshopModel(**{**controls.defaults(), **SMALL})
    for _ in range(3):
        first.step()
    params = {**controls.defaults(), **SMALL, "programme": "incentives", "seed": 7}
    kwargs = _build_model_init_kwargs(
        first, params, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    fresh = type(first)(**kwargs)
    assert fresh.steps == 0 and fresh.running
    assert fresh.main.label == "incentives" and "seed=7" in fresh.main.command
    assert [iv.kind for iv in fresh.main.model.schedule.items] == ["incentive"]


def test_browser_tabs_can_reset_at_the_same_time():
    """The server builds each tab's model in that tab's thread; Hydra's composing is not
    thread-safe on its own."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda s: WorkshopModel(seed=s, programme="mandate", **SMALL),
                               range(8)))  # fmt: skip
    assert [m.error for m in models] == [None] * 8
    assert all(f"seed={s} " in m.main.command + " " for s, m in enumerate(models))


def test_horizon_stops_the_run():
    model = WorkshopModel(seed=0, size=100, weeks=26)
    while model.running:
        model.step()
    assert model.steps == 26 and len(model.weekly()["baseline"]) == 26


def test_bad_controls_show_a_message_instead_of_crashing():
    model = WorkshopModel(seed=0, mandate="on", mandate_start=60, mandate_end=10, **SMALL)
    assert model.runs == [] and not model.running
    assert "scenario.interventions.mandate.end=10" in model.error
    with pytest.raises(ValueError, match="unknown dashboard control 'colour'"):
        WorkshopModel(colour="red")


def test_the_page_says_what_is_running():
    from sim.dashboard.app import programme_lines

    model = WorkshopModel(seed=0, programme="mandate", compare_with="baseline", mandate="on",
                          mandate_end=0, mandate_intensity=0.3, **SMALL)  # fmt: skip
    text = programme_lines(model)
    assert "**mandate (adjusted)**: mandate (mandate) weeks 1–end, intensity 0.3" in text
    assert "**baseline**: no intervention" in text


# --- comparison mode ---------------------------------------------------------------------


def test_comparison_runs_on_the_same_organisation_and_seed():
    model = WorkshopModel(seed=4, programme="mandate", compare_with="sense_making", **SMALL)
    main, other = model.runs
    assert model.comparing and model.same_organisation
    assert same_organisation(main.model, other.model)
    assert np.array_equal(main.model.state.sense, other.model.state.sense)
    assert "seed=4" in main.command and "seed=4" in other.command
    assert [iv.kind for iv in other.model.schedule.items] == ["sense_making"]
    for _ in range(10):
        model.step()
    weekly = model.weekly()
    assert set(weekly) == {"mandate", "sense_making"}
    assert weekly["mandate"].active_share.mean() > weekly["sense_making"].active_share.mean()


def test_comparison_labels_stay_apart():
    model = WorkshopModel(seed=0, programme="mandate", compare_with="mandate", mandate="on",
                          mandate_end=26, **SMALL)  # fmt: skip
    assert [r.label for r in model.runs] == ["mandate (adjusted)", "mandate"]
    model = WorkshopModel(seed=0, programme="mandate", compare_with="mandate", **SMALL)
    assert [r.label for r in model.runs] == ["mandate", "mandate (comparison)"]


# --- exports -----------------------------------------------------------------------------


def test_export_writes_an_animated_gif_and_stills(tmp_path):
    model = WorkshopModel(seed=0, programme="mandate", compare_with="baseline", size=60, weeks=6)
    result = export(model, tmp_path, stills=[0, 3, 6], every=2, fps=4, dpi=40)
    with Image.open(result.gif) as gif:
        assert gif.format == "GIF" and gif.is_animated
        assert gif.n_frames == result.frames == 5  # weeks 0, 2, 4, 6 and the still at 3
    assert [p.name for p in result.stills] == ["week_000.png", "week_003.png", "week_006.png"]
    for path in result.stills:
        with Image.open(path) as png:
            assert png.format == "PNG" and png.width > 1000
    commands = (tmp_path / "command.txt").read_text().splitlines()
    assert commands[0].startswith("python -m sim scenario=mandate") and len(commands) == 2


def test_redrawing_a_frame_does_not_pile_up_artists():
    """Frames reuse one figure; whatever a frame draws must go before the next (a legend left
    behind each week made a two-year GIF three times slower)."""
    from sim.dashboard.export import draw_frame, frame_figure

    model = WorkshopModel(seed=0, compare_with="mandate", size=60, weeks=6)
    fig, axes = frame_figure()

    def count():
        return {
            name: len(ax.get_children()) + len(ax.lines) + len(ax.collections) + len(ax.artists)
            for name, ax in axes.items()
        }

    model.step()
    draw_frame(fig, axes, model)
    first = count()
    for _ in range(3):
        model.step()
        draw_frame(fig, axes, model)
    assert count() == first


def test_export_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--scenario", "sense_making", "--size", "50", "--weeks", "4", "--every", "4"]
    assert export_main([*args, "--stills", "4", "--control", "seed=2", "--out", str(out)]) == 0
    assert (out / "run.gif").exists() and (out / "week_004.png").exists()
    assert "seed=2" in (out / "command.txt").read_text()
    assert export_main([*args, "--stills", "9", "--out", str(out)]) == 2
    assert "outside the run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        export_main([*args, "--control", "nonsense=1"])


def test_export_refuses_a_run_that_cannot_be_built(tmp_path):
    model = WorkshopModel(seed=0, size=1, weeks=4)
    with pytest.raises(InputError, match="org.size"):
        export(model, tmp_path)
