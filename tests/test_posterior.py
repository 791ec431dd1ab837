"""Calibration ensembles (sim/posterior.py): round trip, weighted median and draws, bad files."""

import numpy as np
import pandas as pd
import pytest

from models.errors import InputError
from sim.posterior import Posterior, load


def test_roundtrip_median_and_draws(tmp_path):
    p = Posterior(
        pd.DataFrame({"stage_up": [0.1, 0.2, 0.3], "abandon_rate": [0.05, 0.1, 0.2]}),
        np.array([0.2, 0.5, 0.3]),
        {"name": "t"},
    )
    path = p.save(tmp_path / "p.parquet")
    q = load(path)
    assert q.info == {"name": "t"} and q.median() == {"stage_up": 0.2, "abandon_rate": 0.1}
    assert q.draw(5, 3) == q.draw(5, 3) and len(q.draw(5, 3)) == 5
    counts = pd.Series([d["stage_up"] for d in q.draw(4000, 1)]).value_counts(normalize=True)
    assert counts[0.2] == pytest.approx(0.5, abs=0.03)


def test_the_medoid_is_a_set_the_posterior_holds_where_the_medians_are_not():
    """The coordinate-wise medians can pair values from different sets; the medoid is the held
    set nearest all others in their ranges (a heavy set pulls it to itself), and it matches a
    brute-force search."""
    table = pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [0.3, 0.1, 0.2]})
    p = Posterior(table, np.full(3, 1 / 3))
    ranges = {"a": (0.0, 1.0), "b": (0.0, 2.0)}
    assert p.median() == {"a": 0.2, "b": 0.2}
    assert p.median() not in table.to_dict("records")
    assert p.medoid(ranges) in table.to_dict("records")
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = pd.DataFrame(rng.random((30, 2)), columns=["a", "b"])
        w = rng.random(30)
        w /= w.sum()
        scaled = t.to_numpy() / [1.0, 2.0]
        cost = (np.abs(scaled[:, None] - scaled[None]).sum(-1) * w).sum(1)
        best = t.iloc[int(np.argmin(cost))]
        assert Posterior(t, w).medoid(ranges) == {"a": best["a"], "b": best["b"]}
    p = Posterior(table, np.array([0.1, 0.1, 0.8]))
    assert p.medoid(ranges) == {"a": 0.3, "b": 0.2}


def test_bad_files(tmp_path):
    pd.DataFrame({"nonsense": [1.0], "weight": [1.0]}).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(InputError, match="not behavioural parameters"):
        load(tmp_path / "a.parquet")
    pd.DataFrame({"stage_up": [1.0], "weight": [-1.0]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="non-negative"):
        load(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "c.parquet")
