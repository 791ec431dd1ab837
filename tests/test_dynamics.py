"""The weekly step (``models.dynamics.advance``).

Four kinds of test:

* oracle agreement: the vectorised step and the plain per-agent oracle (``tests/oracle.py``,
  DESIGN §5) compute the same next week from the same state and the same uniforms, on several
  small organisations, with and without value dynamics and interventions;
* invariants under random valid parameters (hypothesis): nothing becomes NaN, bounded
  quantities stay in bounds, the adoption flags nest, counts stay counts;
* mechanisms, one at a time: two runs with the same seed (common random numbers) that differ
  in one parameter or lever, each test failing if its mechanism broke;
* reproducibility: one seed, one run.
"""

from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.dynamics import N_DRAWS, advance, choose
from models.model import AdoptionModel
from models.organisation import Organisation
from models.params import BOUNDS, NON_NEGATIVE, POSITIVE, UNIT, Behaviour
from models.registry import PARAMETERS
from models.state import (
    CHAMPION,
    CONNECT,
    INNOVATE,
    NONE,
    REWARD_BASES,
    SHARE,
    SOLVE,
    AgentState,
)

try:  # tests/ on sys.path (pytest's default "prepend" import mode, no tests/__init__.py)
    from oracle import oracle_advance
except ImportError:  # tests/ imported as a package
    from tests.oracle import oracle_advance

STATE_FIELDS = [f.name for f in fields(AgentState)]
UNIT_FIELDS = (
    "sense", "intrinsic", "extrinsic", "reactance", "alignment", "low_quality", "event_share",
    "relevance", "extrinsic_hollow",
)
#: Quantities that are zero for anyone not active this week.
ACTIVE_ONLY = ("posts", "low_quality", "event_share", "benefit", "value_strategic",
               "time_spent", "read")

#: Ranges for the random levers: (low, high) of a uniform, zero for ~30% of people.
LEVER_RANGES = {
    "pressure": (0.0, 0.5),
    "reward": (0.0, 0.5),
    "reward_basis": (1, len(REWARD_BASES)),  # a code: engagement, completion, performance
    "reward_hollow": (0.0, 1.0),
    "crowding": (0.0, 0.1),
    "awareness": (0.0, 0.5),
    "leading": (0.0, 0.5),
    "coaching": (0.0, 2.0),
    "alignment_push": (0.0, 0.1),
    "stories": (0.0, 0.2),
    "cross_reach": (0.5, 3.0),
    "sense_push": (0.0, 0.05),
    "posting": (0.5, 2.0),
    "role_model": (0.0, 1.0),
    "relevance_push": (0.0, 0.2),
    "time_cut": (0.0, 0.2),
    "curation": (0.0, 1.0),
}
MULTIPLIERS = ("cross_reach", "posting")  # levers whose neutral value is 1, not 0


# --- helpers ------------------------------------------------------------------------------------


def tiny_org() -> Organisation:
    """Nine people by hand: 0 leads 1, 2, 3; 1 leads 4, 5; 3 leads 6; 7 has no manager and one
    informal tie; 8 is isolated (no manager, no ties). Ties 2-4, 5-6, 4-6 and 3-7 cross teams."""
    return Organisation.from_edges(
        9,
        np.array([2, 5, 4, 3]),
        np.array([4, 6, 6, 7]),
        manager_of=[-1, 0, 0, 0, 1, 1, 3, -1, -1],
        department=[0, 1, 1, 2, 1, 1, 2, 2, 0],
        department_names=("top", "a", "b"),
        kind="tiny",
    )


ORGS = {
    "hierarchy-60": {"generator": "hierarchy", "size": 60},
    "hierarchy-150": {"generator": "hierarchy", "size": 150, "span": 5},
    "small_world": {"generator": "small_world", "size": 100, "k": 6, "rewire": 0.2},
    "scale_free": {"generator": "scale_free", "size": 80, "m": 3},
    "tiny": "tiny",
}


def make_model(org, behaviour: Behaviour | None = None, seed: int = 0, **kwargs) -> AdoptionModel:
    org = tiny_org() if org == "tiny" else org
    return AdoptionModel(org=org, behaviour=behaviour, rng=seed, **kwargs)


def randomise_levers(levers, rng: np.random.Generator) -> None:
    """Every lever gets a random value per person (in place, keeping the arrays' dtype); all
    but the multipliers are zero for about 30% of people, so both branches of every rule run."""
    for name, (lo, hi) in LEVER_RANGES.items():
        array = getattr(levers, name)
        if array.dtype.kind in "iu":
            values = rng.integers(lo, hi, array.size)
        else:
            values = rng.uniform(lo, hi, array.size)
        if name not in MULTIPLIERS:
            values *= rng.random(array.size) < 0.7
        array[:] = values


def snapshot_levers(levers) -> dict[str, np.ndarray]:
    return {f.name: getattr(levers, f.name).copy() for f in fields(levers)}


def seed_users(model: AdoptionModel, rows, stage: int = CONNECT) -> None:
    """Make ``rows`` current users who were active last week."""
    s = model.state
    s.user[rows] = s.ever[rows] = s.active[rows] = True
    s.stage[rows] = np.maximum(s.stage[rows], stage)
    s.idle[rows] = 0


def contacts_of(model: AdoptionModel, rows: np.ndarray) -> np.ndarray:
    """Mask of everyone tied to at least one of ``rows``."""
    mask = np.zeros(model.org.n, dtype=float)
    mask[rows] = 1.0
    return (model.org.adjacency @ mask) > 0


class Tolerance:
    """How closely the two implementations must agree, from the precision of the state.

    The vectorised step stores float32 (``models.state.REAL``); the oracle computes in
    float64. From the same state, one week's results then differ by a few float32 roundings.
    A discrete decision may differ only where the oracle reports a closer call than that.
    """

    def __init__(self, state: AgentState):
        eps = float(np.finfo(state.sense.dtype).eps)
        self.rtol = max(1e-9, 100 * eps)  # 1.2e-5 for float32
        self.atol = max(1e-12, 10 * eps)  # 1.2e-6 for float32
        self.near = max(1e-12, 100 * eps)


def assert_same_week(fast: AgentState, slow: AgentState, before: AgentState, sure, where: str):
    """Every state array agrees between the vectorised (``fast``) and oracle (``slow``) week,
    for the agents that were not within rounding of a different decision (``sure``)."""
    tol = Tolerance(before)
    for name in STATE_FIELDS:
        x, y = getattr(fast, name), getattr(slow, name)
        assert x.shape == y.shape == before.user.shape, f"{where}: {name} changed length"
        assert x.dtype.kind == getattr(before, name).dtype.kind, f"{where}: {name}'s dtype"
        message = f"{where}: {name} differs between advance and the oracle"
        if x.dtype.kind in "biu" or name in ("posts", "total_posts"):
            np.testing.assert_array_equal(x[sure], y[sure], err_msg=message)
        else:
            np.testing.assert_allclose(
                x[sure], y[sure], rtol=tol.rtol, atol=tol.atol, err_msg=message
            )


def run_against_oracle(
    model: AdoptionModel,
    weeks: int,
    seed: int,
    random_levers: bool = False,
    draw_dtype=np.float64,
    label: str = "",
) -> dict:
    """Step a copy of the model's state with ``advance`` for ``weeks`` weeks; every week, also
    step a copy of the same starting state with the oracle and require the same result.

    Each week starts both from the vectorised state, so rounding differences (float32 against
    float64) cannot build up into different trajectories; a difference in any rule shows up
    in the week it matters. Returns counts of what happened, so callers can check that the
    rules they meant to exercise were exercised.
    """
    rng = np.random.default_rng(seed)
    n = model.org.n
    state = model.state.copy()
    seen = {"adopted": 0, "lapsed": 0, "abandoned": 0, "readopted": 0, "down": 0, "close": 0}
    reached = np.zeros(INNOVATE + 1, dtype=int)
    for week in range(weeks):
        if random_levers and week % 5 == 0:
            randomise_levers(model.levers, rng)
        draws = rng.random((N_DRAWS, n), dtype=draw_dtype)
        before = state.copy()
        slow = state.copy()
        levers = snapshot_levers(model.levers)
        advance(state, model.traits, model.network, model.behaviour, model.levers, draws)
        closest = np.asarray(
            oracle_advance(slow, model.traits, model.org, model.behaviour, model.levers, draws)
        )
        tol = Tolerance(before)
        sure = closest > tol.near
        assert_same_week(state, slow, before, sure, f"{label} week {week}")
        for name, values in levers.items():
            np.testing.assert_array_equal(getattr(model.levers, name), values, err_msg=name)

        new = state.ever & ~before.ever
        seen["adopted"] += int(new.sum())
        seen["lapsed"] += int((state.user & ~state.active).sum())
        seen["abandoned"] += int((before.user & ~state.user).sum())
        seen["readopted"] += int((~before.user & state.user & before.ever).sum())
        seen["down"] += int((state.stage < before.stage).sum())
        seen["close"] += int((~sure).sum())
        reached += np.bincount(state.stage, minlength=INNOVATE + 1)
    seen["max_stage"] = int(np.flatnonzero(reached).max())
    seen["reached"] = reached
    # A closer call than rounding should be rare (it is common only for people with very many
    # posts a week, whose geometric count float32 resolves coarsely); many would mean the
    # comparison is hollow.
    assert seen["close"] <= 0.05 * n * weeks + 5, seen
    return seen


# --- oracle agreement ---------------------------------------------------------------------------


@pytest.mark.parametrize("interventions", [False, True], ids=["baseline", "levers"])
@pytest.mark.parametrize("value_dynamics", [True, False], ids=["value", "bass"])
@pytest.mark.parametrize("org", list(ORGS))
def test_vectorised_step_agrees_with_the_per_agent_oracle(org, value_dynamics, interventions):
    seed = sorted(ORGS).index(org) * 4 + 2 * value_dynamics + interventions
    behaviour = Behaviour(value_dynamics=value_dynamics, complex_prob=0.1, threshold_count=1)
    model = make_model(ORGS[org], behaviour, seed=seed, champion_share=0.2)
    seen = run_against_oracle(model, 40, seed, random_levers=interventions, label=org)
    assert seen["adopted"] > 0
    if value_dynamics:
        assert seen["lapsed"] > 0  # users who were not active: the activity rule was used
    else:
        assert seen["lapsed"] == 0 and seen["max_stage"] <= CONNECT


def test_oracle_agreement_through_every_stage_and_back():
    """A long run in which people climb to Innovate, lapse, fall back and abandon: every stage
    rule and the abandonment rule are exercised, and both implementations agree throughout."""
    behaviour = Behaviour(manager_leading=0.5, stage_up=0.3, idle_weeks=3, stage_down=0.2)
    model = make_model(ORGS["hierarchy-150"], behaviour, seed=11, champion_share=0.1)
    model.levers.cross_reach[:] = 2.0
    seen = run_against_oracle(model, 150, seed=5, label="long run")
    reached = seen["reached"]
    assert reached[SHARE] > 0 and reached[SOLVE] > 0 and reached[INNOVATE] > 0, reached
    assert seen["down"] > 0 and seen["abandoned"] > 0 and seen["lapsed"] > 0, seen


def test_oracle_agreement_with_interventions_at_high_stages():
    """Random levers (mandate, rewards, campaign, coaching, alignment, stories, boost) while
    people reach Solve and Innovate, so every term of the equations is non-zero somewhere."""
    behaviour = Behaviour(manager_leading=0.5, stage_up=0.3)
    model = make_model(ORGS["small_world"], behaviour, seed=3, champion_share=0.15)
    seen = run_against_oracle(model, 120, seed=8, random_levers=True, label="levers, high")
    assert seen["reached"][INNOVATE] > 0, seen["reached"]


def test_oracle_agreement_with_float32_draws():
    """The model itself draws float32 uniforms; the step must agree with the oracle on those
    too (a float32 uniform can be exactly 0)."""
    model = make_model(ORGS["hierarchy-60"], Behaviour(manager_leading=0.5), seed=4)
    seen = run_against_oracle(model, 60, seed=9, random_levers=True, draw_dtype=np.float32)
    assert seen["adopted"] > 0


def test_advance_keeps_the_dtype_of_every_state_array():
    """The state is float32 by design (``models.state.REAL``: half the memory, about twice the
    speed); a step that silently widens arrays loses that."""
    model = make_model(ORGS["hierarchy-60"], seed=0)
    randomise_levers(model.levers, np.random.default_rng(0))
    dtypes = {name: getattr(model.state, name).dtype for name in STATE_FIELDS}
    model.run(3)
    changed = {
        name: (str(dtype), str(getattr(model.state, name).dtype))
        for name, dtype in dtypes.items()
        if getattr(model.state, name).dtype != dtype
    }
    assert not changed


def test_isolated_person_in_the_tiny_organisation():
    """The isolated person (no contacts, no manager) divides by no degree, hears nothing and
    can still adopt on their own; the oracle agrees on them as on everyone."""
    model = make_model("tiny", Behaviour(innovation_p=5.0), seed=1, champion_share=0.34)
    assert model.org.degree[8] == 0 and model.org.manager_of[8] == -1
    assert (model.traits.role == CHAMPION).sum() == 2
    run_against_oracle(model, 60, seed=2, label="tiny")
    model.run(60)
    assert model.state.ever[8]


# --- invariants under random parameters ---------------------------------------------------------


def _unit() -> st.SearchStrategy:
    return st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))


#: Upper ends for parameters that are only bounded below (BOUNDS: non-negative or positive);
#: they are rates, weights and amounts, so "large" is a few times the default, not infinity.
CAPS = {
    "time_cost": 2.0,
    "time_cost_sd": 2.0,
    "propensity_sigma": 2.5,
    "threshold_sd": 0.5,
    "initial_expectation": 3.0,
    "initial_expectation_sd": 1.0,
    "relevance_concentration": 20.0,
    "post_time": 1.0,
    "noise_hours": 1.0,
    "half_contacts": 10.0,
    "half_posts": 20.0,
}
#: The annual trial hazards: Bass p and q and every "pull" (manager, coaching, leading, ...).
HAZARDS = ["innovation_p", "imitation_q"] + [
    name for name, p in PARAMETERS.items() if p.group == "trial" and name.endswith("_pull")
]


def behaviour_strategy(smallest_positive: float = POSITIVE[0]) -> st.SearchStrategy:
    """Any valid Behaviour: every field within ``models.params.BOUNDS`` (non-negative where
    BOUNDS says nothing), edges such as 0, 1 and the smallest positive value included
    (``smallest_positive``: the oracle's comparison, float64 against float32, needs divisors no
    smaller than a thousandth, or a ratio of two roundings dominates the difference)."""
    strategies = {}
    for f in fields(Behaviour):
        name = f.name
        bounds = BOUNDS.get(name, NON_NEGATIVE)
        if f.type is bool:
            strategies[name] = st.booleans()
        elif name == "threshold_count":
            strategies[name] = st.integers(0, 5)
        elif name == "idle_weeks":
            strategies[name] = st.integers(1, 20)
        elif bounds == UNIT:
            strategies[name] = _unit()
        elif name == "activity_base":
            strategies[name] = st.floats(-8.0, 8.0)
        elif bounds == POSITIVE:
            cap = CAPS.get(name, 5.0)
            strategies[name] = st.one_of(st.just(smallest_positive), st.floats(1e-3, cap))
        else:
            cap = CAPS.get(name, 50.0 if name in HAZARDS else 5.0)
            strategies[name] = st.one_of(st.just(0.0), st.floats(0.0, cap))
    return st.builds(Behaviour, **strategies)


@st.composite
def small_orgs(draw) -> dict:
    if draw(st.booleans()):
        return {
            "generator": "hierarchy",
            "size": draw(st.integers(10, 150)),
            "span": draw(st.integers(2, 10)),
        }
    size = draw(st.integers(10, 120))
    return {
        "generator": "small_world",
        "size": size,
        "k": 2 * draw(st.integers(1, 4)),
        "rewire": draw(_unit()),
    }


def check_invariants(s: AgentState, prev: AgentState | None, b: Behaviour, pressured: np.ndarray):
    """What must hold of any state, and (given ``prev``) of any week's change."""
    n = len(pressured)
    for name in STATE_FIELDS:
        values = getattr(s, name)
        assert values.shape == (n,), name  # population size conserved
        if values.dtype.kind == "f":
            assert np.isfinite(values).all(), f"{name} is not finite"
    for name in UNIT_FIELDS:
        values = getattr(s, name)
        assert values.min() >= 0.0 and values.max() <= 1.0, (name, values.min(), values.max())
    assert s.stage.min() >= NONE and s.stage.max() <= INNOVATE
    assert not (s.active & ~s.user).any(), "active but not a user"
    assert not (s.user & ~s.ever).any(), "a user who never adopted"
    np.testing.assert_array_equal(s.stage >= CONNECT, s.ever, err_msg="stage vs adoption")
    assert (s.posts >= 0).all() and (s.posts == np.floor(s.posts)).all()
    for name in ACTIVE_ONLY:
        assert (getattr(s, name)[~s.active] == 0).all(), f"{name} of an inactive person"
    assert (s.value_strategic >= 0).all()
    assert (s.reactance[~pressured] == 0).all(), "reactance without pressure"
    if prev is None:
        return
    # one stage a week at most; a first adoption sets Connect, and the adoption week counts
    # as a week of use, so a newcomer can reach Share at once (but not beyond)
    first = s.ever & ~prev.ever
    moved = np.abs(s.stage.astype(int) - prev.stage)
    assert (moved[~first] <= 1).all(), "moved two stages in a week"
    assert (s.stage[first] <= SHARE).all(), "a newcomer went beyond Share"
    assert not (prev.ever & ~s.ever).any(), "adoption was undone"
    assert s.active[s.ever & ~prev.ever].all(), "a new adopter was not active"
    np.testing.assert_array_equal(s.total_posts, prev.total_posts + s.posts)
    np.testing.assert_array_equal(s.idle, np.where(s.active, 0, prev.idle + 1))
    np.testing.assert_allclose(
        s.total_value,
        prev.total_value + s.value_personal + s.value_strategic.astype(float),
        rtol=1e-6,
        atol=1e-6,
    )
    if not b.value_dynamics:
        np.testing.assert_array_equal(s.active, s.user)
        assert s.stage.max() <= CONNECT
        for name in ("perceived", "sense", "intrinsic", "alignment", "reactance"):
            np.testing.assert_array_equal(getattr(s, name), getattr(prev, name), err_msg=name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    behaviour=behaviour_strategy(),
    org=small_orgs(),
    seed=st.integers(0, 2**32 - 1),
    weeks=st.integers(30, 100),
    interventions=st.booleans(),
)
def test_invariants_hold_for_any_valid_behaviour(behaviour, org, seed, weeks, interventions):
    model = AdoptionModel(org=org, behaviour=behaviour, champion_share=0.1, rng=seed)
    if interventions:
        randomise_levers(model.levers, np.random.default_rng(seed))
    pressured = model.levers.pressure > 0
    check_invariants(model.state, None, behaviour, pressured)
    with np.errstate(over="ignore"):  # extreme logits overflow exp() harmlessly
        for _ in range(weeks):
            prev = model.state.copy()
            model.step()
            check_invariants(model.state, prev, behaviour, pressured)
    assert len(model.weekly()) == weeks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    behaviour=behaviour_strategy(smallest_positive=1e-3),
    org=small_orgs(),
    seed=st.integers(0, 2**32 - 1),
    interventions=st.booleans(),
)
def test_oracle_agrees_for_any_valid_behaviour(behaviour, org, seed, interventions):
    model = AdoptionModel(org=org, behaviour=behaviour, champion_share=0.1, rng=seed)
    with np.errstate(over="ignore"):
        run_against_oracle(model, 25, seed, random_levers=interventions, label=str(behaviour))


# --- mechanisms ---------------------------------------------------------------------------------


def test_without_value_dynamics_every_user_is_active_every_week():
    org = {"generator": "hierarchy", "size": 200}
    off = make_model(org, Behaviour(value_dynamics=False), seed=3)
    on = make_model(org, Behaviour(value_dynamics=True), seed=3)
    lapsed_with_dynamics = 0
    for _ in range(60):
        was_user = off.state.user.copy()
        off.step()
        on.step()
        np.testing.assert_array_equal(off.state.active, off.state.user)
        assert not (was_user & ~off.state.user).any(), "a user left without value dynamics"
        lapsed_with_dynamics += int((on.state.user & ~on.state.active).sum())
    assert off.state.user.sum() > 20
    assert lapsed_with_dynamics > 0  # the same setting with value dynamics does lapse


def test_no_trial_route_means_nobody_adopts():
    """With every route to a first trial closed (p = q = 0, every pull 0, no complex
    contagion, no pressure or campaign), nobody adopts, even next to active users; opening any
    one route lets people in."""
    closed = replace(
        Behaviour(manager_leading=1.0), complex_prob=0.0, **dict.fromkeys(HAZARDS, 0.0)
    )
    org = {"generator": "hierarchy", "size": 200}
    cases = [(closed, False), (replace(closed, reward_pull=20.0), False)]  # no reward: closed
    cases += [(replace(closed, **{route: 20.0}), route != "reward_pull") for route in HAZARDS]
    cases += [(replace(closed, complex_prob=0.5, threshold_count=1, threshold_mean=0.05), True)]
    for behaviour, opened in cases:
        model = make_model(
            org, replace(behaviour, value_dynamics=False), seed=1, champion_share=0.1
        )
        seeds = np.flatnonzero(model.org.is_manager | (model.traits.role == CHAMPION))[::2]
        seed_users(model, seeds)
        model.run(30)
        others = np.ones(model.org.n, bool)
        others[seeds] = False
        assert model.state.ever[others].any() == opened, behaviour

    for lever in ("pressure", "awareness", "reward"):
        model = make_model(org, replace(closed, reward_pull=20.0), seed=1)
        model.run(10)
        assert not model.state.ever.any()
        getattr(model.levers, lever)[:5] = 0.5
        model.run(20)
        assert model.state.ever[:5].any() and not model.state.ever[5:].any()


@pytest.mark.parametrize("value_dynamics", [False, True], ids=["bass", "value"])
def test_raising_imitation_speeds_adoption(value_dynamics):
    org = {"generator": "small_world", "size": 300, "k": 8, "rewire": 0.1}
    curves = {}
    for q in (0.3, 3.0):
        behaviour = Behaviour(imitation_q=q, complex_prob=0.0, value_dynamics=value_dynamics)
        runs = []
        for seed in range(4):
            model = make_model(org, behaviour, seed=seed)
            model.run(52)
            runs.append(model.weekly()["adopted_share"].to_numpy())
        curves[q] = np.array(runs)
    slow, fast = curves[0.3], curves[3.0]
    assert (fast[:, -1] > slow[:, -1]).all()  # in every replication
    assert fast[:, -1].mean() > slow[:, -1].mean() + 0.05
    assert fast.mean() > slow.mean()  # the whole curve, not only its end


def test_an_active_manager_makes_reports_more_likely_to_try():
    org = {"generator": "hierarchy", "size": 400}
    base = Behaviour(
        value_dynamics=False, innovation_p=0.1, imitation_q=0.0, complex_prob=0.0, coaching_pull=0
    )
    adopted, first_week = {}, {}
    for pull in (0.0, 20.0):
        model = make_model(org, replace(base, manager_pull=pull), seed=5)
        managers = np.flatnonzero(model.org.is_manager)
        leading = managers[::2]
        seed_users(model, leading)
        led = np.isin(model.org.manager_of, leading) & ~model.state.user
        model.step()
        first_week[pull] = model.state.ever.copy()
        model.run(9)
        adopted[pull] = model.state.ever[led].mean()
        if pull:
            extra = first_week[pull] & ~first_week[0.0]
            # week one: the extra trials pull caused are all under an active manager
            assert extra.any() and led[extra].all()
            # and pull changed nothing for anyone whose manager was not active
            np.testing.assert_array_equal(first_week[pull][~led], first_week[0.0][~led])
    assert adopted[20.0] > 0.8 and adopted[0.0] < 0.15, adopted


def test_champions_coaching_raises_their_contacts_sense():
    for seed in range(3):
        behaviour = Behaviour(coaching_pull=0.0)
        org = {"generator": "hierarchy", "size": 300}
        coached = make_model(org, behaviour, seed=seed, champion_share=0.2)
        silent = make_model(org, behaviour, seed=seed, champion_share=0.2)
        silent.levers.coaching[:] = 0.0
        champions = np.flatnonzero(coached.traits.role == CHAMPION)
        for model in (coached, silent):
            seed_users(model, champions)
        near = contacts_of(coached, champions)
        contacts = near & (coached.traits.role != CHAMPION)

        coached.step()
        silent.step()
        assert (coached.state.sense[contacts] > silent.state.sense[contacts]).all()
        np.testing.assert_array_equal(coached.state.sense[~near], silent.state.sense[~near])

        coached.run(15)
        silent.run(15)
        gain = coached.state.sense[contacts].mean() - silent.state.sense[contacts].mean()
        assert gain > 0.02, gain


def test_no_stage_above_connect_without_ever_an_active_contact():
    behaviour = Behaviour(manager_leading=0.5, stage_up=1.0, innovation_p=2.0)
    for org in ("tiny", {"generator": "small_world", "size": 200, "k": 2, "rewire": 0.0}):
        model = make_model(org, behaviour, seed=2)
        if org == "tiny":
            # the isolated person is mandated, fully aligned and understands the tool: only
            # the lack of an audience keeps them at Connect
            model.levers.pressure[8] = 1.0
            model.state.sense[8] = model.state.alignment[8] = 1.0
            model.state.perceived[8] = 5.0
        had_active_contact = np.zeros(model.org.n, bool)
        active_weeks = np.zeros(model.org.n, int)
        unheard_active_weeks = 0
        for _ in range(100):
            had_active_contact |= (model.org.adjacency @ model.state.active.astype(float)) > 0
            model.step()
            active_weeks += model.state.active
            unheard_active_weeks += int((model.state.active & ~had_active_contact).sum())
            assert (model.state.stage[~had_active_contact] <= CONNECT).all()
        assert (model.state.stage >= SHARE).any()  # others did climb
        assert unheard_active_weeks > 0  # and users with no active contact yet had chances
        if org == "tiny":
            assert active_weeks[8] > 25 and model.state.stage[8] == CONNECT


def test_pressure_raises_trial_and_activity_and_only_pressure_builds_reactance():
    org = {"generator": "hierarchy", "size": 300}
    for seed in range(3):
        mandated = make_model(org, seed=seed)
        free = make_model(org, seed=seed)
        target = np.random.default_rng(seed).random(mandated.org.n) < 0.5
        mandated.levers.pressure[target] = 0.3
        mandated.step()
        free.step()
        # same draws: pressure can only add trials, and only among the pressured
        extra = mandated.state.ever & ~free.state.ever
        assert extra.any() and target[extra].all()
        assert not (free.state.ever & ~mandated.state.ever).any()
        for _ in range(30):
            mandated.step()
            free.step()
            assert (mandated.state.reactance[~target] == 0).all()
            assert (free.state.reactance == 0).all()
        assert mandated.state.ever[target].mean() > free.state.ever[target].mean() + 0.2
        assert (mandated.state.reactance[target] > 0).mean() > 0.5

    # activity: everyone already a user who sees no value in it yet (so that activity is not
    # near its ceiling anyway); pressure raises who is active, at once and for weeks
    for seed in range(3):
        runs = {}
        for pressure in (0.0, 0.5):
            model = make_model(org, seed=seed)
            seed_users(model, np.arange(model.org.n))
            model.state.active[:] = False
            model.state.perceived[:] = 0.0
            model.levers.pressure[:] = pressure
            actives = []
            for _ in range(6):
                model.step()
                actives.append(model.state.active.copy())
            runs[pressure] = np.array(actives)
        assert not (runs[0.0][0] & ~runs[0.5][0]).any()  # week one: a superset
        assert runs[0.5].mean() > runs[0.0].mean() + 0.1, (runs[0.5].mean(), runs[0.0].mean())


def test_reactance_grows_where_pressure_meets_little_perceived_value():
    model = make_model({"generator": "hierarchy", "size": 200}, seed=4)
    target = np.arange(model.org.n) % 2 == 0
    model.levers.pressure[target] = 0.5
    sees_little = model.state.perceived < 0.5 * model.state.time_cost
    model.step()
    grown = model.state.reactance > 0
    assert grown[target & sees_little].all()
    assert not grown[~target].any()


def test_rewards_with_crowding_lower_intrinsic_motivation():
    org = {"generator": "hierarchy", "size": 300}
    for seed in range(3):
        runs = {}
        for crowding in (0.0, 0.05):
            model = make_model(org, seed=seed)
            model.levers.reward[:] = 0.5
            model.levers.reward_basis[:] = REWARD_BASES.index("engagement")
            model.levers.crowding[:] = crowding
            model.step()
            first = model.state.intrinsic.copy(), model.state.active.copy()
            model.run(25)
            runs[crowding] = first, model.state.intrinsic.copy()
        ((free_1, active), free_26), ((crowded_1, _), crowded_26) = runs[0.0], runs[0.05]
        positive = free_1 > 0
        # crowding hits those who received a reward (engagement: the active) and nobody else
        assert (crowded_1[positive & active] < free_1[positive & active]).all()
        np.testing.assert_array_equal(crowded_1[~active], free_1[~active])
        assert crowded_26.mean() < free_26.mean() - 0.01

    # crowding needs a reward to crowd out: with no reward it changes nothing
    quiet = make_model(org, seed=0)
    crowding_alone = make_model(org, seed=0)
    crowding_alone.levers.crowding[:] = 0.05
    quiet.run(20)
    crowding_alone.run(20)
    pd.testing.assert_frame_equal(quiet.weekly(), crowding_alone.weekly())


def test_low_quality_posts_lower_their_contacts_benefit():
    """Rewarded posts that are low quality cost their readers time: in the week after, every
    active contact of a low-quality poster gets less out of the network than in the same run
    with the reward paying for genuine posts. (Own use teaches nothing here, so that
    low-quality use cannot also slow the posters' own learning and the runs differ only in
    what contacts read.)"""
    behaviour = Behaviour(posting_connect=2.0, noise_hours=0.1, use_learning=0.0)
    org = {"generator": "hierarchy", "size": 200}
    for seed in range(3):
        runs = {}
        for quality in (0.0, 1.0):
            model = make_model(org, behaviour, seed=seed)
            seed_users(model, np.arange(model.org.n))
            model.state.extrinsic[:] = 0.8
            model.state.extrinsic_hollow[:] = quality
            model.levers.reward[:] = 0.8
            model.levers.reward_hollow[:] = quality
            model.step()
            noisy_posters = np.flatnonzero(model.state.posts * model.state.low_quality > 0)
            exposed = contacts_of(model, noisy_posters)
            model.step()
            runs[quality] = model.state.copy(), exposed
        (genuine, _), (hollow, exposed) = runs[0.0], runs[1.0]
        np.testing.assert_array_equal(genuine.active, hollow.active)
        hit = exposed & hollow.active
        assert hit.sum() > 20
        assert (hollow.benefit[hit] < genuine.benefit[hit]).all()
        assert (hollow.benefit <= genuine.benefit + 1e-6).all()


def test_noise_hours_price_each_low_quality_post_read():
    """One week from the same state with and without a noise cost: benefit falls by exactly
    noise_hours × low-quality posts among one's contacts, for the active, and nothing else
    about the week's decisions changes."""
    model = make_model({"generator": "hierarchy", "size": 200}, Behaviour(posting_connect=2.0))
    seed_users(model, np.arange(model.org.n))
    model.levers.pressure[:] = 0.5
    model.run(3)
    noise = model.org.adjacency @ (model.state.posts * model.state.low_quality).astype(float)
    assert (noise > 0).sum() > 20
    draws = np.random.default_rng(0).random((N_DRAWS, model.org.n))
    weeks = {}
    for hours in (0.0, 0.2):
        state = model.state.copy()
        b = replace(model.behaviour, noise_hours=hours)
        advance(state, model.traits, model.network, b, model.levers, draws)
        weeks[hours] = state
    quiet, noisy = weeks[0.0], weeks[0.2]
    np.testing.assert_array_equal(quiet.active, noisy.active)
    np.testing.assert_array_equal(quiet.posts, noisy.posts)
    on = quiet.active
    np.testing.assert_allclose(
        noisy.benefit[on], quiet.benefit[on] - 0.2 * noise[on], rtol=1e-5, atol=1e-5
    )
    assert (noisy.benefit[on & (noise > 0)] < quiet.benefit[on & (noise > 0)]).all()


# --- reproducibility ----------------------------------------------------------------------------


def test_same_seed_same_weeks_different_seed_different_weeks():
    org = {"generator": "hierarchy", "size": 150}

    def weekly(seed):
        model = make_model(org, seed=seed)
        model.levers.pressure[::3] = 0.2
        model.run(40)
        return model.weekly()

    first = weekly(7)
    pd.testing.assert_frame_equal(first, weekly(7))
    other = weekly(8)
    assert first.shape == other.shape
    assert not first.equals(other)
    assert (first["adopted_share"] != other["adopted_share"]).any()


def test_choose_gives_the_bits_np_where_gives():
    """``choose`` picks by masking bits: the same bits as ``np.where`` for any float32 values
    (NaN, infinities, -0.0 included) and numbers on either side; other types go to
    ``np.where``."""
    rng = np.random.default_rng(3)
    special = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, -1.5, 3e-45], np.float32)
    x = np.concatenate([special, rng.normal(size=993).astype(np.float32)])
    y = np.concatenate([special[::-1], rng.normal(size=993).astype(np.float32)])
    condition = rng.random(x.size) < 0.4
    pairs = [(x, y), (x, 0), (x, np.float32(0)), (np.float32(0.25), y), (np.float32(-0.0), 1)]
    pairs += [(np.asarray(0.16, np.float32), np.float32(1)), (x, np.float32(-0.0))]
    for a, b in pairs:
        got, want = choose(condition, a, b), np.where(condition, a, b)
        assert got.dtype == want.dtype == np.float32
        assert np.array_equal(got.view(np.int32), want.view(np.int32))
    wide = choose(condition, x.astype(np.float64), 0)  # not float32: np.where's own
    assert wide.dtype == np.float64
    assert np.array_equal(wide, np.where(condition, x.astype(np.float64), 0), equal_nan=True)
