"""Mechanism tests of issue 12: hollow activity only where a lever adds it, incentives done
properly, the essays' new levers, and the adoption–value gap among current users.

Every comparison is paired by common random numbers: two runs with the same seed and the same
organisation that differ only in the lever under test, or one week advanced twice from the same
state with the same uniforms (``paired_week``). Each test would fail if its mechanism did
nothing; the mutation tried for each is named in its docstring.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.dynamics import N_DRAWS, advance
from models.interventions import Intervention, crowding_rate
from models.model import AdoptionModel
from models.params import Behaviour
from models.state import MANAGER, AgentState

ORG = {"generator": "hierarchy", "size": 600}
SEEDS = (1, 2)
CONTINGENCIES = ("engagement", "completion", "performance")


# --- helpers ------------------------------------------------------------------------------------


def model(interventions=(), seed: int = 1, org=ORG, **behaviour) -> AdoptionModel:
    """A model of ``org`` with the given interventions and behavioural parameters changed from
    their defaults."""
    return AdoptionModel(
        org=org, behaviour=Behaviour(**behaviour), interventions=list(interventions), rng=seed
    )


def uniforms(n: int, seed: int = 0) -> np.ndarray:
    """One week's uniforms, float32 as the model draws them."""
    return np.random.default_rng(seed).random((N_DRAWS, n), dtype=np.float32)


def paired_week(m: AdoptionModel, levers=None, behaviour=None, draws=None) -> AgentState:
    """The next week from a copy of ``m``'s state, with ``levers`` and ``behaviour`` (default:
    the model's own) and fixed uniforms: call it twice with one change between the calls and
    the difference in the two weeks is that change's doing."""
    state = m.state.copy()
    draws = uniforms(m.org.n) if draws is None else draws
    advance(state, m.traits, m.network, behaviour or m.behaviour, levers or m.levers, draws)
    return state


def weekly_states(m: AdoptionModel, weeks: int) -> list[tuple[AgentState, AgentState]]:
    """Run ``weeks`` weeks, keeping (state before, state after) of each."""
    out = []
    for _ in range(weeks):
        before = m.state.copy()
        m.step()
        out.append((before, m.state.copy()))
    return out


def reached_non_managers(m: AdoptionModel) -> np.ndarray:
    return m.traits.role != MANAGER


# --- item 2: hollow activity only where a lever adds it ----------------------------------------

MANDATE_START, MANDATE_WEEKS = 27, 8


def _mandate_weeks(seed: int) -> dict:
    """The first ``MANDATE_WEEKS`` weeks of a mandate that starts at week ``MANDATE_START``, and
    the same weeks of the same organisation without it (same seed: the first 26 weeks are the
    same run). Each mandated week is also advanced from the same state with the same uniforms
    without the pressure (``unpressed``): who is active only with it is what the mandate
    added."""
    mandate = Intervention("m", "mandate", start=MANDATE_START, intensity=0.5)
    free, mandated = model(seed=seed), model([mandate], seed=seed)
    free.run(MANDATE_START)
    mandated.run(MANDATE_START)
    unpressed = mandated.levers.copy()
    assert unpressed.pressure.any()
    unpressed.pressure[:] = 0
    out = {"free": weekly_states(free, MANDATE_WEEKS), "mandated": [], "added": []}
    for week in range(MANDATE_WEEKS):
        draws = uniforms(mandated.org.n, seed=week)
        before = mandated.state.copy()
        pressed = paired_week(mandated, draws=draws)
        alone = paired_week(mandated, levers=unpressed, draws=draws)
        out["mandated"].append((before, pressed))
        out["added"].append(pressed.active & ~alone.active & before.user)
        assert not (alone.active & ~pressed.active).any()
        mandated.step()
    return out


def _by_perceived_value(weeks, users: bool, values=None) -> tuple[np.ndarray, np.ndarray]:
    """Over the weeks: each active person-week's perceived value as a multiple of its time cost
    (as it entered the decision, i.e. last week's) and its hollow share (or ``values``, one
    array a week); ``users``: people who were users before the week (the activity decision),
    else newcomers (the trial decision)."""
    ratio, hollow = [], []
    for k, (before, after) in enumerate(weeks):
        who = after.active & (before.user if users else ~before.user)
        ratio.append((before.perceived / before.time_cost)[who])
        hollow.append((after.low_quality if values is None else values[k])[who])
    return np.concatenate(ratio), np.concatenate(hollow)


@pytest.fixture(scope="module")
def mandate_pairs():
    return {seed: _mandate_weeks(seed) for seed in SEEDS}


def test_mandated_users_who_see_value_add_nothing_hollow(mandate_pairs):
    """Issue 12, item 2. Under a mandate, users whose perceived value exceeds their time cost
    were going to be active anyway: the pressure adds (almost) nothing to their activity, and
    (almost) nothing of it is hollow; users who see little value are active partly because they
    are told to, and that part is hollow. Without the mandate (same seed) nothing is hollow.

    The pairs show why: each mandated week advanced again from the same state with the same
    uniforms but no pressure — the people active only with the pressure are the activity it
    added: almost none among those who see value, many among those who see little.

    Mutation tried: ``_lever_share`` returning the lever weight alone (hollow = h_μ wherever
    pressure runs, the old hard-wired compliance) — the "see value" bounds fail."""
    for runs in mandate_pairs.values():
        assert all((after.low_quality == 0).all() for _, after in runs["free"])
        ratio, hollow = _by_perceived_value(runs["mandated"], users=True)
        sees_value, sees_twice, sees_little = ratio > 1, ratio >= 2, ratio < 0.5
        assert min(sees_value.sum(), sees_twice.sum(), sees_little.sum()) >= 100, "too few"
        assert hollow[sees_value].mean() < 0.05
        assert hollow[sees_twice].mean() < 0.01
        assert np.quantile(hollow[sees_twice], 0.99) < 0.05
        assert hollow[sees_little].mean() > 0.25
        ratio, added = _by_perceived_value(runs["mandated"], users=True, values=runs["added"])
        assert added[ratio >= 2].mean() < 0.01 < 0.1 < added[ratio < 0.5].mean()


@pytest.mark.xfail(
    strict=True,
    reason="model bug (issue 12, item 2): a newcomer's first week under a mandate is ~96% "
    "hollow whatever value they expect, because the trial rule (dynamics.trial_probability) "
    "has no term for perceived value, so the mandate's trial chance counts as activity added "
    "beyond one's own reasons even for people who expect several times their time cost",
)
def test_mandated_newcomers_who_expect_value_add_nothing_hollow(mandate_pairs):
    """The same claim for the people whose first week is under the mandate: someone who
    expects the network to repay at least twice its time cost and tries it is not complying."""
    for runs in mandate_pairs.values():
        ratio, hollow = _by_perceived_value(runs["mandated"], users=False)
        sees_twice = ratio >= 2
        assert sees_twice.sum() >= 20, "group too small"
        assert hollow[sees_twice].mean() < 0.05


#: Each hollow weight and a programme that only that weight can make hollow.
HOLLOW_LEVERS = {
    "hollow_pressure": Intervention("m", "mandate", intensity=0.5),
    **{
        f"hollow_reward_{c}": Intervention("i", "incentive", contingency=c, intensity=0.5)
        for c in CONTINGENCIES
    },
    "hollow_event": Intervention("c", "campaign", cadence=4, intensity=0.3),
}
HOLLOW_WEIGHTS = tuple(HOLLOW_LEVERS)


@pytest.mark.parametrize("weight", HOLLOW_WEIGHTS)
def test_each_hollow_weight_governs_the_noise_of_its_own_lever(weight):
    """Issue 12, item 2. Each lever's hollow weight decides how much of the activity that lever
    adds is hollow: at its default the programme produces noise; at 0 nothing anyone does is
    hollow (``hollow_pressure=0``: mandated use is as good as any) and the programme produces
    no noise; and the other levers' weights do not matter to it at all (same records).

    Mutations tried: the mandate's activity term weighted by ``hollow_event`` (fails for
    ``hollow_pressure``), the campaign's by ``hollow_pressure`` (fails for ``hollow_event``);
    ``levers.reward_hollow`` set from the engagement weight whatever the contingency (fails for
    completion and performance)."""
    iv = HOLLOW_LEVERS[weight]
    weeks = 30

    def run(**weights) -> pd.DataFrame:
        m = model([iv], seed=3, **weights)
        m.run(weeks)
        return m.weekly()

    default = run()
    assert getattr(Behaviour(), weight) > 0
    assert default["noise"].sum() > 0 and default["hollow_share"].max() > 0
    off = run(**{weight: 0.0})
    assert (off["noise"] == 0).all() and (off["hollow_share"] == 0).all()
    others_off = run(**{w: 0.0 for w in HOLLOW_WEIGHTS if w != weight})
    pd.testing.assert_frame_equal(default, others_off)


# --- item 3: incentives -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rewards_give_non_users_a_route_to_a_first_trial(seed):
    """Issue 12, item 3. In the first week of rewards for non-managers (everyone a non-user),
    with the same uniforms: with ``reward_pull`` > 0 everyone who tries without the rewards
    tries with them, and more try — all of them people the rewards reach; with
    ``reward_pull=0`` exactly the same people try as without any rewards.

    Mutation tried: ``reward_pull`` left out of ``trial_probability`` (no extra trials)."""
    incentive = Intervention("i", "incentive", target="non_managers", intensity=1.0)
    tried = {}
    for name, pull, ivs in (
        ("none", 2.0, []),
        ("pull", 2.0, [incentive]),
        ("no pull", 0.0, [incentive]),
    ):
        m = model(ivs, seed=seed, reward_pull=pull)
        m.step()
        tried[name] = m.state.ever.copy()
    reached = reached_non_managers(m)
    np.testing.assert_array_equal(tried["no pull"], tried["none"])
    assert not (tried["none"] & ~tried["pull"]).any()
    extra = tried["pull"] & ~tried["none"]
    assert extra.sum() >= 3 and reached[extra].all()


def _receivers(contingency: str, s: AgentState) -> np.ndarray:
    """Who earns a reward this week, written out from the contingency's definition (Deci,
    Koestner & Ryan 1999): an active week, a post, or a good (not hollow) post."""
    return {
        "engagement": s.active,
        "completion": s.posts > 0,
        "performance": s.posts * (1 - s.low_quality) >= 1,
    }[contingency]


@pytest.mark.parametrize("contingency", CONTINGENCIES)
def test_crowding_falls_only_on_those_who_receive_rewards(contingency):
    """Issue 12, item 3. After 30 weeks of rewards for non-managers, one week advanced twice
    from the same state with the same uniforms, with and without crowding: the decisions are
    the same; intrinsic motivation falls by exactly the contingency's rate × reward in those
    who earn a reward that week, and not at all in anyone else — neither in people the rewards
    reach who earn none (inactive; for completion, active without posting; for performance,
    posting nothing good) nor in people they do not reach.

    Mutations tried: ``dynamics.rewarded`` returning everyone the rewards reach (fails: reached
    non-receivers lose motivation); every incentive crowding at the performance rate (fails:
    the drop is not the contingency's)."""
    intensity = 0.8
    incentive = Intervention(
        "i", "incentive", target="non_managers", contingency=contingency, intensity=intensity
    )
    m = model([incentive], seed=4, org={**ORG, "size": 800})
    m.run(30)
    reached = reached_non_managers(m)
    rate = crowding_rate(getattr(m.behaviour, f"crowding_d_{contingency}"), m.behaviour)
    np.testing.assert_allclose(m.levers.crowding[reached], rate, rtol=1e-6)
    assert (m.levers.crowding[~reached] == 0).all()
    no_crowding = m.levers.copy()
    no_crowding.crowding[:] = 0
    crowded, free = paired_week(m), paired_week(m, levers=no_crowding)
    for field in ("active", "posts", "low_quality"):
        np.testing.assert_array_equal(getattr(crowded, field), getattr(free, field))
    receive = reached & _receivers(contingency, free)
    np.testing.assert_array_equal(crowded.intrinsic[~receive], free.intrinsic[~receive])
    np.testing.assert_allclose(
        crowded.intrinsic[receive], free.intrinsic[receive] * (1 - rate * intensity), rtol=1e-5
    )
    assert (crowded.intrinsic[receive] < free.intrinsic[receive]).sum() >= 10
    # people who make the test discriminate: active but earning nothing (for performance:
    # posting, but nothing good), and active but not reached
    unpaid = reached & free.active & ~receive
    if contingency == "performance":
        unpaid &= free.posts > 0
    if contingency != "engagement":
        assert unpaid.sum() >= 5, "nobody active went unrewarded"
    assert (~reached & free.active).sum() >= 5


def test_contingencies_keep_the_order_of_their_crowding_rates():
    """Issue 12, item 3: the schedule sets each contingency's crowding rate from its effect size,
    so the published order (Deci, Koestner & Ryan 1999: engagement d = −0.40 > completion −0.36
    > performance −0.28 in magnitude) is the order of the rates people are crowded out at.

    Mutation tried: ``_incentive`` reading ``crowding_d_performance`` for every contingency."""
    rates = {}
    for c in CONTINGENCIES:
        m = model([Intervention("i", "incentive", contingency=c)], org={**ORG, "size": 100})
        m.step()
        (rates[c],) = np.unique(m.levers.crowding)
        assert rates[c] == pytest.approx(
            crowding_rate(getattr(m.behaviour, f"crowding_d_{c}"), m.behaviour), rel=1e-6
        )
    assert rates["engagement"] > rates["completion"] > rates["performance"] > 0


@settings(max_examples=200, deadline=None)
@given(
    d=st.tuples(st.floats(0.0, 0.5), st.floats(0.0, 0.5)),
    mean=st.floats(0.1, 0.6),
    concentration=st.floats(2.0, 20.0),
    weeks=st.floats(4.0, 26.0),
)
def test_crowding_rate_keeps_the_order_of_effect_sizes(d, mean, concentration, weeks):
    """For any initial motivation and reference duration in their plausible ranges, a larger
    effect size gives a larger weekly rate: the contingencies' order does not depend on
    parameters that studies vary."""
    b = Behaviour(
        intrinsic_mean=mean, trait_concentration=concentration, crowding_reference_weeks=weeks
    )
    small, large = sorted(d)
    assert crowding_rate(small, b) <= crowding_rate(large, b)
    if large > small + 1e-6:
        assert crowding_rate(small, b) < crowding_rate(large, b)
