"""The essays' claims as predicates (experiments/claims.py): each can hold and can fail, outcomes
are CRN-paired differences of the runs ``sim.simulate`` makes, the rise-and-fall test beats a
noise envelope, the small-share claim works through who is trained, and docs/MODEL.md §10 is
what the code gives."""

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from experiments import claims
from experiments.claims import CLAIMS, OUTCOMES, Claim, active_fall_margin, parse_predicate
from models.errors import InputError
from models.registry import PARAMETERS
from sim.batch import Composer
from sim.replicate import replication_seeds

TINY = ["org.size=40", "weeks=110"]


def test_predicates_join_comparisons_with_and_before_or():
    assert parse_predicate("a <= 0 or b > 0.5 and c < 1e-3") == [
        [("a", "<=", 0.0)],
        [("b", ">", 0.5), ("c", "<", 0.001)],
    ]
    c = Claim("x", "x", "a <= 0 or b > 0.5 and c < 1", "")
    assert c.outcomes == ["a", "b", "c"]
    assert c.holds({"a": -1, "b": 0, "c": 5}) is True
    assert c.holds({"a": 1, "b": 1, "c": 0}) is True
    assert c.holds({"a": 1, "b": 1, "c": 2}) is False
    assert c.holds({"a": math.nan, "b": 1, "c": 0}) is None  # not judged, not "fails"
    for bad in ("a >> 0", "a > b", "import os", "a > 0 or", ""):
        with pytest.raises(InputError, match="experiment.params.claims.mine="):
            claims.claim_from_spec("mine", bad)


@pytest.mark.parametrize("name", list(CLAIMS))
def test_every_claim_can_hold_and_can_fail(name):
    claim = CLAIMS[name]
    assert set(claim.outcomes) <= set(OUTCOMES)
    verdicts = {claim.holds(dict.fromkeys(claim.outcomes, x)) for x in (-1e6, 1e6)}
    assert verdicts == {True, False}


def test_flat_noise_is_no_fall_and_a_real_fall_is():
    """Issue 12: "active fell" counted as any fall passes 100 of 100 flat noise series; the
    envelope must refuse nearly all of them and still see a fall of a few points."""
    rng = np.random.default_rng(1)
    weeks = np.arange(260)
    adopted = 1 - np.exp(-weeks / 80)  # cumulative adoption keeps rising
    flat = [active_fall_margin(0.2 + rng.normal(0, 0.01, 260), adopted) for _ in range(100)]
    assert sum(m > 0 for m in flat) <= 5
    course = 0.2 + 0.06 * np.exp(-(((weeks - 60) / 30) ** 2))  # peaks, then falls back
    real = [active_fall_margin(course + rng.normal(0, 0.01, 260), adopted) for _ in range(20)]
    assert all(m > 0 for m in real)
    # no new adopters while it falls: not the pattern
    assert active_fall_margin(course, np.full(260, 0.5)) < 0


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 0.5), st.floats(0.001, 0.05), st.integers(0, 2**31))
def test_a_flat_series_never_shows_a_fall_beyond_its_own_envelope_twice(level, sd, seed):
    rng = np.random.default_rng(seed)
    adopted = np.linspace(0, 1, 260)
    margins = [active_fall_margin(level + rng.normal(0, sd, 260), adopted) for _ in range(2)]
    assert not all(m > 0 for m in margins)


@pytest.fixture(scope="module")
def one_point():
    """Every built-in outcome at the defaults of a tiny organisation, 2 seeds."""
    seeds = replication_seeds(5, 2)
    per = claims.evaluate([{}], list(OUTCOMES.values()), seeds, TINY)
    return seeds, per


def test_outcomes_are_paired_differences_of_the_runs_simulate_makes(one_point):
    seeds, per = one_point
    assert per["replication"].tolist() == [0, 1]
    for r, seed in enumerate(seeds):
        net = {
            name: sim.simulate([*TINY, *claims.PROGRAMMES[name].overrides, f"seed={seed}"]).summary[
                "net_value"
            ]
            for name in ("sense_making", "baseline")
        }
        assert per.loc[r, "sense_making_net_gain"] == pytest.approx(
            net["sense_making"] - net["baseline"]
        )
        assert per.loc[r, "baseline.net_value"] == pytest.approx(net["baseline"])
    assert per.loc[0, "mandate_net_gain"] == pytest.approx(
        per.loc[0, "mandate.net_value"] - per.loc[0, "baseline.net_value"]
    )
    assert np.isfinite(per.drop(columns=["point", "replication"]).to_numpy()).all()


def test_the_same_point_and_seeds_give_the_same_outcomes(one_point):
    seeds, per = one_point
    outcomes = [OUTCOMES["sense_making_net_gain"]]
    again = claims.evaluate([{}], outcomes, seeds, TINY)
    assert again["sense_making_net_gain"].tolist() == per["sense_making_net_gain"].tolist()
    other = claims.evaluate([{}], outcomes, replication_seeds(6, 2), TINY)
    assert other["sense_making_net_gain"].tolist() != per["sense_making_net_gain"].tolist()


def test_a_point_changes_only_the_programmes_that_have_its_key():
    outcomes = [OUTCOMES["mandate_net_gain"]]
    seeds = replication_seeds(5, 1)
    points = [{"scenario.interventions.mandate.intensity": v} for v in (0.1, 0.9)]
    per = claims.evaluate(points, outcomes, seeds, TINY)
    assert per["baseline.net_value"].nunique() == 1  # no mandate in the baseline
    assert per["mandate.net_value"].nunique() == 2


def test_the_small_share_claim_varies_who_is_trained_not_how_value_is_counted():
    composer = Composer()

    def flat(name):
        return _leaves(composer(list(claims.PROGRAMMES[name].overrides)))

    bridging, random_, triple = map(
        flat, ("champions_bridging", "champions_random", "champions_random_triple")
    )
    assert {k for k in bridging if bridging[k] != random_[k]} == {"champions.rule"}
    assert {k for k in bridging if bridging[k] != triple[k]} == {
        "champions.rule",
        "champions.share",
    }
    assert triple["champions.share"] == pytest.approx(3 * bridging["champions.share"])


def _leaves(cfg, prefix=""):
    from omegaconf import OmegaConf

    out = {}
    for key, value in OmegaConf.to_container(cfg, resolve=True).items():
        if isinstance(value, dict):
            out.update(_leaves(OmegaConf.create(value), f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_model_md_lists_every_claim_and_every_uncertain_parameter():
    """The block in docs/MODEL.md §10 is what ``python -m experiments.claims --docs`` writes:
    the claims as the code defines them, and a row for each uncertain registry parameter
    (regenerate the block when this fails)."""
    text = claims.documented()
    for k, (name, claim) in enumerate(CLAIMS.items(), 1):
        assert f"| {k} | {claim.essay} (`{name}`) | `{claim.holds_when}` |" in text, name
        assert f"(`{name}`) holds when `{claim.holds_when}`. {claim.reasoning}" in text, name
    rows = re.findall(r"^\| `(\w+)` \| [\d.e+-]+–", text, re.M)
    assert rows == [n for n, p in PARAMETERS.items() if p.uncertain]


def test_a_small_measurement_makes_a_block_of_the_same_shape(monkeypatch):
    points = [("noise_hours", 0.0), ("noise_hours", 0.15)]
    monkeypatch.setattr(claims, "one_at_a_time", lambda levels: points)
    measured = claims.measure(seeds=2, levels=2, base=TINY, n_jobs=1)
    assert len(measured.defaults) == 2 and len(measured.varied) == 2 * 2
    text = claims.docs_block(measured)
    for name, claim in CLAIMS.items():
        assert f"(`{name}`) | `{claim.holds_when}` |" in text
    assert re.findall(r"^\| `(\w+)` \|", text, re.M) == ["noise_hours"]
    assert "python -m experiments.claims --docs org.size=40 weeks=110" in text
