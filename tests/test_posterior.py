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


def test_bad_files(tmp_path):
    pd.DataFrame({"nonsense": [1.0], "weight": [1.0]}).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(InputError, match="not behavioural parameters"):
        load(tmp_path / "a.parquet")
    pd.DataFrame({"stage_up": [1.0], "weight": [-1.0]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="non-negative"):
        load(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / "c.parquet")
