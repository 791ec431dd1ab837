"""Numerical soundness of a model's state and records (issue 8, item 5), shared by the
property tests (test_properties.py) and the long-run and extreme-value tests
(test_reliability.py): nothing NaN or infinite, every 0..1 quantity in [0, 1], stages in
range, the population conserved."""

from dataclasses import fields

import numpy as np

from models.state import INNOVATE, NONE, AgentState

#: State arrays that are levels or shares, 0..1.
UNIT_STATE = ("sense", "intrinsic", "extrinsic", "reactance", "alignment", "low_quality")
#: Weekly records that are shares of people or of contributions, 0..1.
UNIT_WEEKLY = (
    "active_share",
    "adopted_share",
    "user_share",
    "stage_none",
    "stage_connect",
    "stage_share",
    "stage_solve",
    "stage_innovate",
    "value_creators_share",
    "observer_share",
    "gini_posts",
    "top1_posts_share",
    "mean_intrinsic",
    "mean_extrinsic",
    "mean_reactance",
    "mean_sense",
    "mean_alignment",
)
NON_NEGATIVE_STATE = ("posts", "time_spent", "total_posts", "value_strategic", "idle")


def assert_sound_state(state: AgentState, n: int) -> None:
    """The invariants of one week's state, for a population of ``n``."""
    for f in fields(AgentState):
        values = getattr(state, f.name)
        assert values.shape == (n,), f"{f.name}: population not conserved"
        if values.dtype.kind == "f":
            assert np.isfinite(values).all(), f"{f.name} is not finite"
    for name in UNIT_STATE:
        values = getattr(state, name)
        assert values.min() >= 0.0 and values.max() <= 1.0, (name, values.min(), values.max())
    for name in NON_NEGATIVE_STATE:
        assert getattr(state, name).min() >= 0, f"{name} is negative"
    assert state.stage.min() >= NONE and state.stage.max() <= INNOVATE, "stage out of range"
    assert not (state.active & ~state.user).any() and not (state.user & ~state.ever).any()


def assert_sound_model(model) -> None:
    """The state now, and every weekly record so far."""
    n = model.org.n
    assert len(model.agents) == n, "agents were added or lost"
    assert_sound_state(model.state, n)
    weekly = model.weekly()
    numbers = weekly.select_dtypes("number").to_numpy(dtype=float)
    assert np.isfinite(numbers).all(), "a weekly record is NaN or infinite"
    for column in UNIT_WEEKLY:
        values = weekly[column].to_numpy()
        assert values.min() >= 0 and values.max() <= 1 + 1e-9, (column, values.min(), values.max())
    stages = weekly[[c for c in weekly.columns if c.startswith("stage_")]].sum(axis=1)
    np.testing.assert_allclose(stages, 1.0, atol=1e-6, err_msg="stage shares do not add up")
    groups = model.recorder.groups()
    roles = groups[groups["group_type"] == "role"].groupby("week")["size"].sum()
    assert (roles == n).all(), "role groups do not add up to the population"
