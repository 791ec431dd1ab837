"""Pattern-oriented validation (experiments/validate.py, docs/VALIDATION.md): each published
pattern the model must reproduce is a test that fails if the pattern breaks. The patterns run
once, small, in a module fixture; the tests check its numbers."""

import json

import numpy as np
import pytest

import sim
from experiments import validate as v
from models.model import AdoptionModel
from models.params import Behaviour

PRESET = v.preset_params()
SMALL = {
    "bass": {**PRESET["bass"], "size": 1000, "weeks": 520},
    "watts": {**PRESET["watts"], "size": 2000, "degrees": (0.5, 2.0, 4.0, 10.0), "trials": 20},
    "centola": {**PRESET["centola"], "size": 600},
    "baseline": {**PRESET["baseline"], "posting_connect": [0.01]},
    "crowding": PRESET["crowding"],
}


@pytest.fixture(scope="module")
def results():
    return v.run_all(SMALL, seed=1, replications=4, n_jobs=2)


def test_bass_closed_form():
    t = np.array([0.0, 1.0, 5.0, 50.0])
    f = v.bass_closed_form(t, 0.03, 0.38)
    assert f[0] == 0 and np.all(np.diff(f) > 0) and f[-1] == pytest.approx(1.0)
    # dF/dt at 0 is p (only innovators at the start)
    assert v.bass_closed_form(1e-6, 0.03, 0.38) / 1e-6 == pytest.approx(0.03, rel=1e-3)


def test_bass_diffusion(results):
    numbers, tables = results
    b = numbers["bass"]
    assert b["max_gap"] < 0.03, b
    assert b["mean_gap"] < 0.02, b
    curve = tables["bass"]
    assert curve["simulated"].is_monotonic_increasing


def test_seed_adopters_stay_alone_when_nobody_is_vulnerable():
    b = Behaviour(
        **v.PURE_DIFFUSION,
        innovation_p=0.0,
        imitation_q=0.0,
        complex_prob=1.0,
        threshold_mean=0.5,
        threshold_sd=0.0,
        threshold_count=1,
    )
    m = AdoptionModel(
        org={"generator": "random", "size": 300, "mean_degree": 10},
        behaviour=b,
        champion_share=0.0,
        rng=3,
    )
    v.seed_adopters(m, [7])
    assert v.run_until_still(m, 100) == 1
    assert m.state.active[7] and m.state.user[7]


def test_watts_cascade_window(results):
    w = results[0]["watts"]
    freq, size = w["frequency"], w["mean_size"]
    assert freq[0.5] == 0  # below the percolation threshold: no giant component
    assert freq[2.0] > 0.3 and freq[4.0] > 0.3  # inside the window
    assert size[4.0] > 0.8  # global cascades reach almost everyone
    assert freq[10.0] == 0  # well above the window: none


def test_complex_contagion_prefers_clustering(results):
    c = results[0]["centola"]
    r = c["reach"]
    assert r["complex_clustered"] > 5 * r["complex_random"], r
    assert r["complex_clustered"] > 0.2
    # simple contagion: the clustered network's advantage vanishes (here it reverses)
    assert r["simple_random"] >= r["simple_clustered"], r


def test_participation_split_definitions():
    posts = np.array([0] * 90 + [1] * 9 + [100])
    s = v.participation_split(posts)
    assert (s["observers"], s["occasional"], s["heavy"]) == pytest.approx((0.9, 0.09, 0.01))
    assert s["heavy_share_of_posts"] == pytest.approx(100 / 109)
    assert 0.9 < s["gini"] < 1
    assert v.participation_split(np.zeros(5))["gini"] == 0


def test_participation_inequality(results):
    p = results[0]["participation"]
    assert p["gini"] > 0.7, p
    assert p["heavy"] < p["occasional"], p
    assert p["heavy_share_of_posts"] > 0.5, p  # a small share contributes most
    assert p["weekly_observer_share"] > 0.5, p  # most active people only read in a week


def test_active_falls_while_cumulative_rises(results):
    a = results[0]["active_vs_cumulative"]
    assert a["fall"] > 0.05, a
    assert a["adoption_rise"] > 0.1, a
    assert a["replications_falling"] >= a["replications"] - 1, a


def test_crowding_out_matches_meta_analysis(results):
    c = results[0]["crowding"]
    d, published = c["lab_d"], v.CROWDING_PUBLISHED
    for kind in published:
        # rewards lower free-choice activity, by roughly the published amount (the model's
        # free-choice measure is activity, a little more sensitive than the meta-analysis's
        # mixture of measures: about 0.1 more negative throughout)
        assert d[kind] < 0, c
        assert d[kind] == pytest.approx(published[kind], abs=0.12), (kind, c)
    # the contingencies in the published order, apart by the published gaps (±0.03: tighter
    # than the gaps themselves, 0.04 and 0.08, so a mixed-up contingency fails)
    assert d["engagement"] < d["completion"] < d["performance"], d
    for a, b in (("engagement", "completion"), ("completion", "performance")):
        gap, published_gap = d[b] - d[a], published[b] - published[a]
        assert gap == pytest.approx(published_gap, abs=0.03), (a, b, d)
    # in the field, after the rewards, people who were rewarded for showing up choose the
    # network less than if there had been no points
    assert c["field_d"]["engagement"] < 0, c


def test_participation_moves_toward_published_with_rarer_connect_posts(results):
    p = results[0]["participation"]
    (rarer,) = p["alternatives"]
    assert rarer["posting_connect"] == 0.01
    assert rarer["observers"] > p["observers"] + 0.1, (p, rarer)


def test_a_pattern_alone_gives_the_same_numbers(results):
    alone, _ = v.run_all(SMALL, seed=1, replications=4, n_jobs=1, patterns=("centola",))
    assert alone == {"centola": results[0]["centola"]}


def test_docs_keep_other_sections(results, tmp_path):
    numbers, tables = results
    docs, img = tmp_path / "VALIDATION.md", tmp_path / "img"
    v.update_docs(numbers, tables, docs, img)
    text = docs.read_text()
    assert v.BEGIN in text and v.SENSITIVITY_HEADING in text
    assert sorted(p.name for p in img.iterdir()) == [
        f"validation_{n}.png"
        for n in ("active", "bass", "centola", "crowding", "participation", "watts")
    ]
    docs.write_text(text.replace("(To be written by the sensitivity study.)", "Morris: x."))
    v.update_docs(numbers, tables, docs, img)
    again = docs.read_text()
    assert "Morris: x." in again and again.count(v.BEGIN) == 1
    for n in ("bass", "watts", "centola", "participation", "active", "crowding"):
        assert f"img/validation_{n}.png" in again


def test_the_preset_lists_every_parameter_of_every_pattern():
    import inspect

    functions = {"bass": v.bass, "watts": v.watts, "centola": v.centola}
    functions.update(baseline=v.baseline, crowding=v.crowding)
    assert list(PRESET) == list(v.PATTERNS)
    for name, fn in functions.items():
        wanted = set(inspect.signature(fn).parameters) - {"seed", "seeds", "n_jobs", "progress"}
        assert set(PRESET[name]) == wanted, name
        assert set(PRESET[name]) == {k for p, k in v._RULES if p == name}, name


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("experiment.params.bass.p=0", "experiment.params.bass.p=0 is not allowed"),
        ("experiment.params.bass.size=abc", "experiment.params.bass.size='abc'"),
        ("experiment.params.watts.degrees=[2,-1]", "experiment.params.watts.degrees"),
        ("experiment.params.centola.k=5", "an even integer"),
        ("experiment.patterns=[bass,nope]", "choose from bass, watts"),
        ("experiment.params.bass.pp=1", "Key 'pp' is not in struct"),
    ],
)
def test_bad_pattern_settings_are_refused_before_any_run(override, needle, tmp_path):
    from models.errors import InputError

    overrides = ["experiment=validate", override, f"experiment.dir={tmp_path}/v"]
    with pytest.raises(InputError, match=None) as error:
        v.main(sim.compose(overrides), overrides)
    assert needle in str(error.value)
    assert not (tmp_path / "v").exists()


def test_experiment_writes_folder(tmp_path):
    overrides = [
        "experiment=validate",
        "experiment.replications=1",
        "experiment.jobs=1",
        f"experiment.dir={tmp_path}",
        "experiment.params.bass.size=200",
        "experiment.params.bass.weeks=52",
        "experiment.params.watts.size=300",
        "experiment.params.watts.degrees=[2.0,10.0]",
        "experiment.params.watts.trials=2",
        "experiment.params.centola.size=200",
        "experiment.params.centola.weeks=10",
        "experiment.params.baseline.weeks=60",
        "experiment.params.baseline.posting_connect=[]",
        "experiment.params.crowding.weeks=4",
        "experiment.params.crowding.field_start=4",
        "experiment.params.crowding.field_after=2",
        "org.size=200",
        "output.progress=false",
    ]
    cfg = sim.compose(overrides)
    folder = v.main(cfg, overrides)
    assert folder.parent == tmp_path
    numbers = json.loads((folder / "validation.json").read_text())
    assert numbers["bass"]["size"] == 200 and numbers["bass"]["weeks"] == 52
    assert {"VALIDATION.md", "provenance.json", "bass.csv", "validation_watts.png"} <= {
        p.name for p in folder.iterdir()
    }


def test_a_preset_runs_one_pattern_with_its_overrides(tmp_path):
    overrides = [
        "experiment=bass",
        "experiment.params.bass.p=0.05",
        "experiment.params.bass.size=100",
        "experiment.params.bass.weeks=26",
        "experiment.replications=2",
        "experiment.jobs=1",
        f"experiment.dir={tmp_path}",
        "output.progress=false",
    ]
    folder = v.main(sim.compose(overrides), overrides)
    numbers = json.loads((folder / "validation.json").read_text())
    assert list(numbers) == ["bass"]
    assert (numbers["bass"]["p"], numbers["bass"]["size"], numbers["bass"]["weeks"]) == (
        0.05,
        100,
        26,
    )
    text = (folder / "VALIDATION.md").read_text()
    assert "## 1. Bass diffusion" in text and "## 2." not in text
