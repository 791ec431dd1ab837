"""The weekly record (``models.records.Records.record``): what its one compiled pass over the
rows (``_tally``) keeps for each run equals what NumPy computes from the state directly —
counts exactly, float64 sums to rounding — for any state, any number of runs and any layout
of roles and departments."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from models.records import MEAN_STATES, SUMS, Records
from models.state import REAL, ROLE_NAMES, STAGE_NAMES, AgentState


def random_state(rng, rows: int) -> AgentState:
    """A state of ``rows`` people with every kind of value the records read: users and
    non-users, active people who posted nothing, negative and positive value."""
    ever = rng.random(rows) < 0.7
    user = ever & (rng.random(rows) < 0.8)
    active = user & (rng.random(rows) < 0.5)
    posts = (rng.geometric(0.5, rows) - 1) * active
    unit = {name: rng.random(rows).astype(REAL) for name in MEAN_STATES}
    return AgentState(
        user=user,
        ever=ever,
        active=active,
        stage=(rng.integers(1, len(STAGE_NAMES), rows) * ever).astype(np.int8),
        idle=np.zeros(rows, np.int32),
        posts=posts.astype(REAL),
        low_quality=(rng.random(rows) * active).astype(REAL),
        event_share=np.zeros(rows, REAL),
        benefit=np.zeros(rows, REAL),
        value_personal=(rng.normal(0, 2, rows) * active).astype(REAL),
        value_strategic=(rng.random(rows) * active).astype(REAL),
        time_spent=(rng.random(rows) * active).astype(REAL),
        read=np.zeros(rows, REAL),
        relevance=np.zeros(rows, REAL),
        time_cost=np.ones(rows, REAL),
        extrinsic_hollow=np.zeros(rows, REAL),
        total_posts=(posts + rng.integers(0, 40, rows) * ever).astype(np.float64),
        total_value=np.zeros(rows),
        **unit,
    )


def expected(s: AgentState, runs: int, n: int, year_active, year_posts) -> dict:
    """Each run's counts and sums, from NumPy's own reductions over the run's rows."""
    per = {}
    value = s.value_personal.astype(np.float64) + s.value_strategic

    def each(values, kind=float):
        return np.asarray(values, kind).reshape(runs, n).sum(axis=1)

    per["active"], per["ever"], per["users"] = (each(x, int) for x in (s.active, s.ever, s.user))
    for k, name in enumerate(STAGE_NAMES):
        per[f"stage_{name}"] = each(s.stage == k, int)
    per["value_personal"], per["value_strategic"] = each(s.value_personal), each(s.value_strategic)
    per["value_total"] = each(value)
    per["value_creators"], per["user_value_creators"] = (
        each(value > 0, int),
        each(s.user & (value > 0), int),
    )
    per["time_spent"], per["posts"] = each(s.time_spent), each(s.posts)
    per["noise"], per["hollow"] = each(s.posts * s.low_quality), each(s.low_quality)
    per["observers"] = each(s.active & (s.posts == 0), int)
    per["year_active"] = each(year_active, int)
    per["year_observers"] = each(year_active & (year_posts == 0), int)
    for name in MEAN_STATES:
        per[f"mean_{name}"] = each(getattr(s, name))
    return per


@settings(max_examples=60, deadline=None)
@given(
    runs=st.integers(1, 4),
    n=st.integers(1, 300),
    departments=st.integers(1, 5),
    weeks=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_weeks_record_is_what_numpy_computes_from_the_state(runs, n, departments, weeks, seed):
    """Counts exact, sums to float64 rounding, each cell's people and value, and the year's
    activity and posts carried from week to week.

    Mutations tried: two float sums swapped in ``_tally``'s output order, and the year's
    posts added after the year's observers are counted: both fail here."""
    rng = np.random.default_rng(seed)
    rows = runs * n
    role = rng.integers(0, len(ROLE_NAMES), rows)
    department = rng.integers(0, departments, rows)
    names = [tuple(f"d{k}" for k in range(departments))] * runs
    records = Records(role, department, n, names)
    year_active, year_posts = np.zeros(rows, bool), np.zeros(rows, REAL)
    for week in range(1, weeks + 1):
        s = random_state(rng, rows)
        cost = rng.random((runs, records.n_cells))
        records.record(week, s, cost)
        year_active |= s.active
        year_posts += s.posts
    want = expected(s, runs, n, year_active, year_posts)
    kept = dict(zip(SUMS, records._sums[-1], strict=True))
    for key, values in want.items():
        if values.dtype.kind == "i":
            np.testing.assert_array_equal(kept[key], values, err_msg=key)
        else:
            np.testing.assert_allclose(kept[key], values, rtol=1e-12, atol=1e-9, err_msg=key)
    cells = records._cells[-1]  # active, ever, value, stage sum, cost; runs × cells
    cell = records.cell.reshape(runs, n)
    value = (s.value_personal.astype(np.float64) + s.value_strategic).reshape(runs, n)
    for r in range(runs):
        count = np.bincount(cell[r], s.active.reshape(runs, n)[r], records.n_cells)
        np.testing.assert_array_equal(cells[0, r], count)
        np.testing.assert_allclose(cells[2, r], np.bincount(cell[r], value[r], records.n_cells))
        stage = np.bincount(cell[r], s.stage.reshape(runs, n)[r], records.n_cells)
        np.testing.assert_array_equal(cells[3, r], stage)
        ever = np.bincount(cell[r], s.ever.reshape(runs, n)[r], records.n_cells)
        np.testing.assert_array_equal(cells[1, r], ever)
        np.testing.assert_array_equal(cells[4, r], cost[r])
        # the cells' costs added in their order (as np.cumsum adds them), to the bit
        assert kept["cost"][r] == np.cumsum(cost[r])[-1]
