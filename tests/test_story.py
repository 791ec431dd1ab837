"""The default calibration tells the story of DESIGN §4 and issue 2, item 8.

Baseline deployment (no intervention) over five years, at the documented defaults: diffusion
levels off well below 100% weekly-active, most users stay at low maturity stages, and a
minority creates most of the value. Nothing here is typed into the model; these tests fail if
a change to the mechanisms or the defaults stops the story from emerging.
"""

import numpy as np
import pytest

from models.model import AdoptionModel
from models.state import STAGE_NAMES

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def baseline_runs():
    runs = []
    for seed in SEEDS:
        model = AdoptionModel(rng=seed)
        model.run(260)
        runs.append((model.weekly(), model.summary(), model))
    return runs


def test_weekly_activity_levels_off_well_below_everyone(baseline_runs):
    for weekly, _, _ in baseline_runs:
        year4 = weekly["active_share"].iloc[156:208].mean()
        year5 = weekly["active_share"].iloc[208:260].mean()
        assert year5 < 0.5, "weekly-active share should stay well below 100%"
        assert abs(year5 - year4) < 0.05, "weekly-active share should have levelled off"
        assert weekly["active_share"].max() < 0.6


def test_cumulative_adoption_runs_ahead_of_use(baseline_runs):
    for weekly, summary, _ in baseline_runs:
        assert weekly["adopted_share"].is_monotonic_increasing
        assert summary["final_adopted_share"] > 2 * summary["active_share_last_year"]


def test_most_users_stay_at_low_stages(baseline_runs):
    for _, summary, _ in baseline_runs:
        stage = {k: summary[f"final_adopter_share_{k}"] for k in STAGE_NAMES[1:]}
        assert stage["connect"] + stage["share"] > 0.6
        assert stage["solve"] + stage["innovate"] > 0, "some should reach the high stages"


def test_a_minority_creates_most_value(baseline_runs):
    for _, summary, model in baseline_runs:
        assert summary["top10_value_share"] > 0.5
        created = np.sort(np.maximum(model.state.total_value, 0))[::-1]
        assert created[: len(created) // 10].sum() > 0.5 * created.sum()
