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

SMALL = {
    "bass": {"size": 1000, "weeks": 520},
    "watts": {"size": 2000, "degrees": (0.5, 2.0, 4.0, 10.0), "trials": 20},
    "centola": {"size": 600, "k": 6, "weeks": 52},
    "baseline": {"weeks": 260, "period": 52},
    "crowding": {"weeks": 12, "weeks_after": 26},
}


@pytest.fixture(scope="module")
def results():
    return v.run_all(seed=1, replications=4, n_jobs=2, params=SMALL)


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
    for kind, published in v.CROWDING_PUBLISHED.items():
        assert c["d"][kind] < 0, c  # rewards lower free-choice intrinsic motivation
        assert c["d"][kind] == pytest.approx(published, abs=0.1), (kind, c)
    d = c["d"]
    assert d["engagement"] < d["completion"] < d["performance"], d


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


def test_bass_overrides():
    got = v.bass_overrides(["population.innovation_p=0.01", "org.size=800", "seed=3"])
    assert got == {"p": 0.01, "size": 800}


def test_experiment_writes_folder(tmp_path, monkeypatch):
    tiny = {
        "bass": {**v.DEFAULTS["bass"], "weeks": 52},
        "watts": {**v.DEFAULTS["watts"], "size": 300, "degrees": (2.0, 10.0), "trials": 2},
        "centola": {**v.DEFAULTS["centola"], "size": 200, "weeks": 10},
        "baseline": {"weeks": 60, "period": 52},
        "crowding": {"weeks": 4, "weeks_after": 4},
    }
    monkeypatch.setattr(v, "DEFAULTS", tiny)
    overrides = [
        "experiment=validate",
        "experiment.replications=1",
        "experiment.jobs=1",
        f"experiment.dir={tmp_path}",
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
