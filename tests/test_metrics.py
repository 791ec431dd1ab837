"""Weekly records and summaries agree with direct computations."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from models.metrics import inequality
from models.model import AdoptionModel


def gini_by_sorting(x: np.ndarray) -> float:
    x = np.sort(x.astype(float))
    n = len(x)
    return float(2 * (np.arange(1, n + 1) * x).sum() / (n * x.sum()) - (n + 1) / n)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=300))
def test_inequality_matches_a_sort(values):
    x = np.array(values)
    gini, top = inequality(x, top=0.1)
    if x.sum() == 0:
        assert (gini, top) == (0.0, 0.0)
        return
    assert np.isclose(gini, gini_by_sorting(x))
    k = max(1, int(np.ceil(0.1 * len(x))))
    assert np.isclose(top, np.sort(x)[::-1][:k].sum() / x.sum())
    assert 0 <= gini < 1


def test_weekly_records_match_the_state():
    model = AdoptionModel(org={"generator": "hierarchy", "size": 400}, rng=2)
    model.run(40)
    last = model.weekly().iloc[-1]
    s = model.state
    assert last["week"] == 40
    assert np.isclose(last["active_share"], s.active.mean())
    assert np.isclose(last["adopted_share"], s.ever.mean())
    assert np.isclose(last["value_total"], (s.value_personal + s.value_strategic).sum(), rtol=1e-5)
    stages = [last[f"stage_{k}"] for k in ("none", "connect", "share", "solve", "innovate")]
    assert np.isclose(sum(stages), 1.0)
    ever = s.total_posts[s.ever]
    assert np.isclose(last["gini_posts"], inequality(ever)[0])


def test_group_records_add_up_to_the_organisation():
    model = AdoptionModel(org={"generator": "hierarchy", "size": 400}, rng=2)
    model.run(20)
    weekly, groups = model.weekly(), model.recorder.groups()
    for kind in ("role", "department"):
        part = groups[groups.group_type == kind]
        per_week = part.groupby("week").apply(totals, include_groups=False)
        assert np.allclose(per_week["size"], 400)
        assert np.allclose(per_week["active"], weekly["active_share"].to_numpy() * 400)
        assert np.allclose(per_week["value"], weekly["value_total"].to_numpy(), rtol=1e-4)
    assert set(groups[groups.group_type == "role"]["group"]) <= {"employee", "champion", "manager"}


def totals(g: pd.DataFrame) -> pd.Series:
    return pd.Series(
        {
            "size": g["size"].sum(),
            "active": (g["active_share"] * g["size"]).sum(),
            "value": g["value_total"].sum(),
        }
    )


def test_summary_definitions():
    model = AdoptionModel(org={"generator": "hierarchy", "size": 300}, rng=5, discount_rate=0.05)
    model.run(104)
    weekly, summary = model.weekly(), model.summary()
    assert np.isclose(summary["long_run_value"], weekly["value_total"].sum())
    assert np.isclose(summary["value_last_year"], weekly["value_total"].tail(52).sum())
    gap = (weekly["adopted_share"] - weekly["value_creators_share"]).tail(52).mean()
    assert np.isclose(summary["adoption_value_gap"], gap)
    discount = 1.05 ** (-weekly["week"] / 52)
    assert np.isclose(summary["discounted_value"], (weekly["value_total"] * discount).sum())
    assert summary["cost_total"] == 0 and summary["net_value"] == summary["long_run_value"]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.lists(st.integers(0, 3) | st.integers(400, 3000), min_size=n, max_size=n),
                min_size=1,
                max_size=4,
            ),
            st.integers(1, n),
        )
    )
)
def test_ranked_sums_of_posts_match_a_sort(case):
    """Records' sums for the Gini and top share (``_ranked``) — the total, Σ position × count
    of the counts sorted ascending, and the total of the ``top`` largest — equal those of a
    sort, for counts on both sides of the histogram's bound (``DENSE_COUNTS``)."""
    from models.records import _ranked

    n, runs, top = case
    counts = np.array([c for run in runs for c in run], np.float32)
    out = np.zeros((3, len(runs)), np.int64)
    _ranked(n, counts, int(counts.max()), np.full(len(runs), top, np.int64), out)
    for r, run in enumerate(runs):
        x = np.sort(np.array(run, np.int64))
        assert out[0, r] == x.sum()
        assert out[1, r] == (np.arange(1, n + 1) * x).sum()
        assert out[2, r] == x[::-1][:top].sum()
