"""Memory of a run's records (issue 6, item 5): the weekly records do not grow with agents ×
weeks; agent-level snapshots are opt-in (``output.snapshots``, ``snapshot_every``) and taken at
the chosen cadence."""

import numpy as np
import pandas as pd
import pytest

from models.errors import InputError
from models.model import AdoptionModel
from models.snapshots import STATE_COLUMNS
from models.state import ROLE_NAMES, STAGE_NAMES
from sim.api import simulate


def model(size: int, **kwargs) -> AdoptionModel:
    return AdoptionModel(org={"generator": "hierarchy", "size": size}, rng=3, **kwargs)


def test_default_records_do_not_grow_with_agents():
    """Ten times the agents, the same records: one organisation row and one row per role and
    department a week, all scalars, and no snapshots."""
    weeks = 15
    small, large = model(300), model(3000)
    small.run(weeks)
    large.run(weeks)
    for m in (small, large):
        assert len(m.weekly()) == weeks
        assert len(m.snapshots) == 0 and m.snapshots.frame().empty
    assert small.recorder.memory_bytes() == large.recorder.memory_bytes()
    groups = len(ROLE_NAMES) + len(large.org.department_names)
    assert len(small.recorder.groups()) == len(large.recorder.groups()) == weeks * groups


def test_snapshots_at_the_cadence_match_the_state():
    """Every 5th week (weeks 5, 10, 15 of 17), one row per agent, holding that week's state;
    taking them changes nothing in the run."""
    size, every, weeks = 400, 5, 17
    with_snapshots, plain = model(size, snapshot_every=every), model(size)
    expected = {}
    for _ in range(weeks):
        with_snapshots.step()
        plain.step()
        if plain.steps % every == 0:
            expected[plain.steps] = plain.state.copy()
    frame = with_snapshots.snapshots.frame()
    assert sorted(frame["week"].unique()) == [5, 10, 15] == sorted(expected)
    assert len(frame) == size * len(expected)
    assert {"week", "agent", "role", "department", "stage", "value", *STATE_COLUMNS} <= set(frame)
    assert set(frame["stage"].cat.categories) == set(STAGE_NAMES)
    for week, state in expected.items():
        rows = frame[frame["week"] == week].sort_values("agent")
        np.testing.assert_array_equal(rows["agent"], np.arange(size))
        np.testing.assert_array_equal(rows["active"], state.active)
        np.testing.assert_array_equal(rows["adopted"], state.ever)
        np.testing.assert_array_equal(rows["stage"].cat.codes, state.stage)
        np.testing.assert_array_equal(rows["sense"], state.sense)
        np.testing.assert_allclose(rows["value"], state.value_personal + state.value_strategic)
        np.testing.assert_array_equal(rows["total_value"], state.total_value)
    roles = frame[frame["week"] == 5].sort_values("agent")["role"].cat.codes
    np.testing.assert_array_equal(roles, with_snapshots.traits.role)
    pd.testing.assert_frame_equal(with_snapshots.weekly(), plain.weekly())


def test_run_folder_has_snapshots_only_when_asked(tmp_path):
    common = ["org.size=150", "weeks=9", "output.plot=false", "output.progress=false"]
    off = simulate([*common, f"output.dir={tmp_path / 'off'}"], write=True)
    assert off.snapshots is None
    assert not (off.folder / "snapshots.parquet").exists()

    on = simulate([*common, "output.snapshots=4", f"output.dir={tmp_path / 'on'}"], write=True)
    table = pd.read_parquet(on.folder / "snapshots.parquet")
    assert sorted(table["week"].unique()) == [4, 8]
    assert len(table) == 2 * 150
    assert table["role"].isin(ROLE_NAMES).all()


def test_negative_cadence_is_refused(tmp_path):
    with pytest.raises(InputError, match="output.snapshots=-2"):
        simulate(["org.size=50", "weeks=2", "output.snapshots=-2", f"output.dir={tmp_path}"])
    with pytest.raises(ValueError, match="snapshot"):
        model(50, snapshot_every=-1)
