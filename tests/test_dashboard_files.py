"""The dashboard's scenario files (saved controls that ``python -m sim`` runs) and its band of
outcomes over several seeds."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.dashboard import controls, scenario_file, seeds
from sim.dashboard.controls import ControlError
from sim.dashboard.model import WorkshopModel

ROOT = Path(__file__).resolve().parents[1]


def page_values(**values) -> dict:
    return controls.with_programme_values(controls.check({**controls.defaults(), **values}))


TUNED = page_values(
    programme="connect_basf",
    compare_with="mandate",
    organisation="small_world",
    size=150,
    weeks=13,
    seed=3,
    band_seeds=5,
    set_champions=True,
    champion_share=0.1,
    champion_rule="bridging",
    campaign="on",
    campaign_start=2,
    campaign_end=10,
    campaign_intensity=0.7,
    campaign_target="managers",
    sense_making="off",
    stories="on",
    stories_end=0,
)


def test_a_saved_scenario_runs_on_the_command_line_as_it_ran_on_the_page(tmp_path):
    path = scenario_file.save(TUNED, "tuned", tmp_path / "scenarios")
    out = tmp_path / "runs"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "--config-dir",
            str(path.parent),
            "--config-name",
            path.stem,
            f"output.dir={out}",
            "output.plot=false",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    (folder,) = out.iterdir()
    cli = pd.read_parquet(folder / "weekly.parquet")
    page = WorkshopModel(**TUNED)
    while page.running:
        page.step()
    mine = page.main.model.weekly()
    assert len(cli) == len(mine) == 13
    pd.testing.assert_frame_equal(cli[mine.columns].reset_index(drop=True), mine)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    interventions = config["scenario"]["interventions"]
    assert interventions["advisory"]["intensity"] == 0  # switched off
    assert interventions["events"]["end"] == 10 and interventions["stories"]["end"] is None


def test_a_saved_scenario_loads_back_into_the_same_controls(tmp_path):
    path = scenario_file.save(TUNED, "tuned", tmp_path)
    assert scenario_file.saved(tmp_path) == ["tuned"]
    assert scenario_file.load("tuned", tmp_path) == TUNED
    text = path.read_text()
    assert "--config-name tuned" in text and "# dashboard: {compare_with: mandate" in text


def _value(spec: dict):
    if spec["type"] == "Select":
        return st.sampled_from(spec["values"])
    if spec["type"] == "Checkbox":
        return st.booleans()
    steps = round((spec["max"] - spec["min"]) / spec["step"])
    grid = st.integers(0, steps).map(lambda k: spec["min"] + k * spec["step"])
    return grid if spec["type"] == "SliderInt" else grid.map(lambda v: round(v, 6))


CONTROLS = st.fixed_dictionaries({name: _value(s) for name, s in controls.model_params().items()})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=CONTROLS)
def test_any_page_settings_survive_a_save_and_a_load(values):
    """Every setting comes back, except that a kind switched off which the programme does
    not run comes back "as programme" (nothing to switch off: the same run)."""
    values["size"] = min(values["size"], controls.MAX_SIZE[values["organisation"]])
    values["band_seeds"] = 1
    expected = controls.with_programme_values(controls.check(values))
    runs = controls.programme_keys(values["programme"])
    for kind in controls.kinds():
        if expected[kind] == controls.OFF and kind not in runs:
            expected[kind] = controls.AS_PROGRAMME
    assert scenario_file.from_yaml(scenario_file.to_yaml(values)) == expected


@pytest.mark.parametrize(
    "text,message",
    [
        ("defaults: [config, _self_]\nseed: ${oc.env:HOME}\n", "seed="),
        ("defaults: [config, _self_, {override scenario: '${oc.env:HOME}'}]\n", "programme="),
        ("defaults: [config, _self_, {override hydra/launcher: joblib}]\n", "defaults entry"),
        ("defaults: [config, _self_]\nexperiment: {name: compare}\n", "'experiment'"),
        ("defaults: [config, _self_]\norg: {path: /etc/passwd}\n", "org.path"),
        ("defaults: [_self_]\n", "must start with config"),
        ("defaults: [config, _self_]\norg: {size: 99999}\n", "size=99999"),
        (
            "defaults: [config, _self_, {/intervention@scenario.interventions.x: nope}]\n",
            "defaults entry",
        ),  # fmt: skip
        ("defaults: [config, _self_]\nscenario: {interventions: {x: {kind: mandate}}}\n", "x must"),
        ("# dashboard: {speed: 99}\ndefaults: [config, _self_]\n", "page setting 'speed'"),
        ("[1, 2", "not YAML"),
    ],
)
def test_a_scenario_file_that_is_not_the_pages_is_refused_by_name(text, message):
    with pytest.raises(ControlError, match="not a dashboard scenario file|not allowed") as e:
        scenario_file.from_yaml(text)
    assert message in str(e.value)
    assert os.environ.get("HOME", "/root") not in str(e.value)


def test_scenario_names_are_file_names_only(tmp_path):
    for bad in ("../escape", "config", "", "a b", "x" * 65, ".hidden"):
        with pytest.raises(ControlError, match="scenario name"):
            scenario_file.save(TUNED, bad, tmp_path)
    assert list(tmp_path.iterdir()) == []


# --- a band over several seeds -----------------------------------------------------------


def test_the_band_runs_the_pages_runs_for_several_seeds():
    values = page_values(programme="mandate", compare_with="baseline", size=80, weeks=13,
                         seed=4, band_seeds=5)  # fmt: skip
    assert seeds.band_seeds(values) == [4, 5, 6, 7, 8]
    band = seeds.run_band(values)
    assert band.seeds == 5 and set(band.weeks) == {"mandate", "baseline"}
    for label in band.weeks:
        assert list(band.weeks[label]) == list(range(1, 14))
        lo, hi = band.net[label]
        assert np.all(lo <= hi) and np.any(lo < hi)  # the seeds differ
        lo, hi = band.active[label]
        assert np.all((0 <= lo) & (lo <= hi) & (hi <= 1))
    assert "mandate" in band.summary and "5 seeds" in band.summary
    assert seeds.run_band(page_values(size=80, weeks=13)) is None  # one seed: no band


def test_a_band_too_large_for_the_page_is_refused_before_it_runs():
    with pytest.raises(ControlError, match="band_seeds=20 is too much"):
        controls.check({"size": 5000, "weeks": 520, "band_seeds": 20})
    with pytest.raises(ControlError, match="band_seeds=5 is too much"):
        controls.check({"organisation": "complete", "size": 1000, "band_seeds": 5})
    controls.check({"size": 1000, "weeks": 260, "band_seeds": 20, "compare_with": "mandate"})
