"""The compiled passes of the weekly rules (``models.fused``) give, to the bit, what the NumPy
expressions they replace give — written out here as they stood in ``models/dynamics.py``
before the passes — on random inputs, with every parameter given as a number (as one run
has it) and as one float32 value a row (as an ensemble whose runs differ in it has it).

Bit for bit means ``np.array_equal``: a sum that came out -0.0 in one and +0.0 in the other
would pass, and no rule here divides by a value that could be zero."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import fused
from models.state import CONNECT, INNOVATE, NONE, REAL, REWARD_BASES, SHARE, SOLVE

ENGAGEMENT, COMPLETION, PERFORMANCE = (REWARD_BASES.index(k) for k in REWARD_BASES[1:])
CASES = dict(
    max_examples=40,
    deadline=None,
)


class Draw:
    """Random inputs of ``n`` rows from one seed."""

    def __init__(self, seed: int, n: int, per_row: bool):
        self.rng, self.n, self.per_row = np.random.default_rng(seed), n, per_row

    def unit(self, zero_share: float = 0.3) -> np.ndarray:
        x = self.rng.random(self.n).astype(REAL)
        return np.where(self.rng.random(self.n) < zero_share, REAL(0), x)

    def positive(self, scale: float = 3.0) -> np.ndarray:
        return (self.rng.random(self.n) * scale + 0.05).astype(REAL)

    def signed(self, scale: float = 3.0) -> np.ndarray:
        return (self.rng.normal(0, scale, self.n)).astype(REAL)

    def flag(self, share: float = 0.5) -> np.ndarray:
        return self.rng.random(self.n) < share

    def counts(self, top: int = 12) -> np.ndarray:
        return self.rng.integers(0, top, self.n).astype(REAL)

    def stage(self) -> np.ndarray:
        return self.rng.integers(NONE, INNOVATE + 1, self.n).astype(np.int8)

    def parameter(self, low: float = 0.0, high: float = 1.0, whole: bool = False):
        """A Python number, or (``per_row``) one float32 value a row (int64 when whole)."""
        if self.per_row:
            if whole:
                return self.rng.integers(int(low), int(high) + 1, self.n)
            return self.rng.uniform(low, high, self.n).astype(REAL)
        return (
            int(self.rng.integers(int(low), int(high) + 1))
            if whole
            else self.rng.uniform(low, high)
        )


def same(*pairs) -> None:
    for k, (got, want) in enumerate(pairs):
        assert got.dtype == want.dtype, (k, got.dtype, want.dtype)
        np.testing.assert_array_equal(got, want, err_msg=f"output {k}")


def given_inputs(test):
    return settings(**CASES)(
        given(
            seed=st.integers(0, 2**32 - 1),
            n=st.integers(1, 400),
            per_row=st.booleans(),
        )(test)
    )


@given_inputs
def test_experience(seed, n, per_row):
    d = Draw(seed, n, per_row)
    active, stage = d.flag(), d.stage()
    relevance, sense, alignment, posts = d.unit(), d.unit(), d.unit(), d.counts()
    time_cost, noise, reading = d.positive(), d.counts(), d.counts()
    g = [d.unit() for _ in range(4)]
    names = "floor connect share solve innovate noise_hours post_time read_time".split()
    p = {k: d.parameter(0, 2) for k in names}
    act = active.astype(REAL)
    skill = act * relevance * (p["floor"] + (1 - p["floor"]) * sense)
    personal = skill * (p["connect"] * g[0] + (stage >= SHARE) * g[1] * p["share"])
    strategic = (
        skill
        * alignment
        * ((stage >= SOLVE) * g[2] * p["solve"] + (stage >= INNOVATE) * g[3] * p["innovate"])
    )
    noise_cost = act * p["noise_hours"] * noise
    time_spent = act * (time_cost + p["post_time"] * posts + p["read_time"] * reading)
    want = (
        personal + strategic - noise_cost,
        time_spent,
        personal - noise_cost - time_spent,
        strategic,
    )
    got = [np.empty(n, REAL) for _ in range(4)]
    terms = (p["floor"], 1 - p["floor"], *(p[k] for k in names[1:]))
    fused.experience(
        active, stage, relevance, sense, alignment, time_cost, posts, *g, noise, reading,
        tuple(fused.scalar(x) for x in terms), *got,
    )  # fmt: skip
    same(*zip(got, want, strict=True))


@pytest.mark.parametrize("levers", [False, True], ids=["no levers", "levers"])
@given_inputs
def test_learn(seed, n, per_row, levers):
    d = Draw(seed, n, per_row)
    active, benefit, low_quality = d.flag(), d.signed(), d.unit()
    share, heard, contacts = d.unit(), d.signed(), d.counts(3)
    coaching, leading, base = d.counts(3), d.unit(), d.unit()
    perceived, sense, alignment = d.signed(), d.unit(), d.unit()
    stories, sense_push, alignment_push = (d.unit() if levers else np.zeros(n, REAL) for _ in "sss")
    names = "value hearsay use coaching leading forgetting align decay".split()
    p = {k: d.parameter(0, 0.6) for k in names}
    coached = 1 - np.exp(-coaching)
    want_p, want_s, want_a = perceived.copy(), sense.copy(), alignment.copy()
    want_p += np.where(
        active,
        p["value"] * (benefit - want_p),
        p["hearsay"] * share * (heard - want_p),
    ).astype(REAL)
    if levers:
        want_p += stories * (heard - want_p) * (contacts > 0)
    gain = (1 - low_quality) * active * p["use"] + p["coaching"] * coached + p["leading"] * leading
    if levers:
        gain += sense_push
    forget = (want_s * ~active) * p["forgetting"]
    want_s += (1 - want_s) * np.minimum(gain, 1) - forget
    push = p["align"] * leading
    if levers:
        push += alignment_push
    want_a += (1 - want_a) * np.minimum(push, 1) - p["decay"] * (want_a - base)
    unheld = np.zeros(0, REAL)
    fused.learn(
        active, benefit, low_quality, share, heard, contacts, coached, leading, base,
        *((stories, sense_push, alignment_push) if levers else (unheld,) * 3),
        tuple(fused.scalar(p[k]) for k in names), perceived, sense, alignment,
    )  # fmt: skip
    same((perceived, want_p), (sense, want_s), (alignment, want_a))


@given_inputs
def test_trial_hazard(seed, n, per_row):
    d = Draw(seed, n, per_row)
    signals, share, degree = d.counts(), d.unit(), d.positive(10)
    signal_share, threshold = signals / degree, d.unit()
    ever, manager_active, coaching, leading = d.flag(), d.flag().astype(REAL), d.counts(3), d.unit()
    count = d.parameter(1, 3, whole=True)
    q, cp, rc, p0, mp, coach, lead = (d.parameter(0, 1.5) for _ in range(7))
    fading = not per_row or bool(np.any(np.asarray(rc) < 1))
    met = (signals >= count) & (signal_share >= threshold)
    imitation = q * share
    reinforced = met.astype(REAL) * cp
    if fading:
        news = np.where(ever, np.asarray(rc, REAL), REAL(1)).astype(REAL)
        imitation, reinforced = imitation * news, reinforced * news
    hazard = (p0 + imitation + mp * manager_active + coach * coaching + lead * leading) / 52.0
    got_h, got_k = np.empty(n, REAL), np.empty(n, REAL)
    terms = (count, q, cp, rc, p0, mp, coach, lead, 52.0)
    fused.trial_hazard(
        signals, signal_share, threshold, share, ever, manager_active, coaching, leading,
        fading, tuple(fused.scalar(x) for x in terms), got_h, got_k,
    )  # fmt: skip
    same((got_h, hazard), (got_k, 1 - reinforced))


@given_inputs
def test_activity_logit(seed, n, per_row):
    d = Draw(seed, n, per_row)
    perceived, time_cost, sense, intrinsic = d.signed(), d.positive(), d.unit(), d.unit()
    share, manager_active, active = d.unit(), d.flag().astype(REAL), d.flag()
    benefit, time_spent, reactance = d.signed(), d.positive(), d.unit()
    names = "base value hours sense intrinsic social manager habit reactance".split()
    p = {k: d.parameter(0.1, 3) for k in names}
    want = (
        p["base"]
        + p["value"] * (perceived - time_cost) / p["hours"]
        + p["sense"] * sense
        + p["intrinsic"] * intrinsic
        + p["social"] * share
        + p["manager"] * manager_active
        + p["habit"] * (active & (benefit >= time_spent)).astype(REAL)
        - p["reactance"] * reactance
    )
    got = np.empty(n, REAL)
    fused.activity_logit(
        perceived, time_cost, sense, intrinsic, share, manager_active, active, benefit,
        time_spent, reactance, tuple(fused.scalar(p[k]) for k in names), got,
    )  # fmt: skip
    same((got, want))


@pytest.mark.parametrize("levers", [False, True], ids=["no levers", "levers"])
@given_inputs
def test_motivate(seed, n, per_row, levers):
    d = Draw(seed, n, per_row)
    active, posts, low_quality = d.flag(), d.counts(4), d.unit()
    benefit, time_spent, time_cost = d.signed(), d.positive(), d.positive()
    reward = d.unit(0.5) if levers else np.zeros(n, REAL)
    basis = d.rng.integers(0, len(REWARD_BASES), n).astype(np.int8)
    crowding, reward_hollow = d.unit(), d.unit()
    pressure = d.unit(0.5) if levers else np.zeros(n, REAL)
    intrinsic, extrinsic, hollow, perceived = d.unit(), d.unit(0.6), d.unit(), d.signed()
    reactance = d.unit(0.6) if levers else np.zeros(n, REAL)
    names = "learning erosion keep gain decay".split()
    p = {k: d.parameter(0, 0.5) for k in names}
    want = {k: v.copy() for k, v in dict(i=intrinsic, e=extrinsic, h=hollow, r=reactance,
                                           p=perceived).items()}  # fmt: skip
    reacting, rewarded_before = bool(reactance.any()), bool(extrinsic.any())
    spent = np.maximum(time_spent, time_cost)
    satisfaction = np.clip((benefit - spent) / spent, -1, 1)
    room = np.where(satisfaction > 0, 1 - want["i"], want["i"]).astype(REAL)
    want["i"] += satisfaction * room * active * p["learning"]
    if levers:
        good = posts * (1 - low_quality) >= 1
        received = (reward > 0) & (
            ((basis == ENGAGEMENT) & active)
            | ((basis == COMPLETION) & (posts > 0))
            | ((basis == PERFORMANCE) & good)
        )
        want["i"] -= received * crowding * reward * want["i"]
        want["h"] = np.where(reward > 0, reward_hollow, want["h"]).astype(REAL)
    if reacting:
        want["i"] -= p["erosion"] * want["r"] * want["i"]
        want["p"] -= p["erosion"] * want["r"] * np.maximum(want["p"], 0)
    if levers or rewarded_before:
        want["e"] = np.maximum(reward, want["e"] * p["keep"])
    if levers:
        seen = np.clip(want["p"] / time_cost, 0, 1)
        want["r"] += p["gain"] * pressure * (1 - seen) * (1 - want["r"])
    if want["r"].any():
        want["r"] -= p["decay"] * want["r"]
    np.clip(want["i"], 0, 1, out=want["i"])
    np.clip(want["r"], 0, 1, out=want["r"])
    unheld = np.zeros(0, REAL)
    fused.motivate(
        active, posts, low_quality, benefit, time_spent, time_cost,
        reward if levers else unheld, basis, crowding, reward_hollow,
        pressure if levers else unheld, reacting, rewarded_before,
        tuple(fused.scalar(p[k]) for k in names),
        intrinsic, extrinsic, hollow, reactance, perceived,
    )  # fmt: skip
    same(
        (intrinsic, want["i"]),
        (extrinsic, want["e"]),
        (hollow, want["h"]),
        (reactance, want["r"]),
        (perceived, want["p"]),
    )


@pytest.mark.parametrize("extras", [False, True], ids=["plain", "every term"])
@given_inputs
def test_exposure(seed, n, per_row, extras):
    d = Draw(seed, n, per_row)
    n_active, engaged, joined = d.counts(), d.counts(), d.counts()
    direct, heard, read, community = d.counts(), d.signed(), d.counts(), d.unit()
    curation, cross, cross_reach, degree = d.unit(), d.counts(), d.positive(2), d.positive(10)
    has_manager, manager = d.flag(0.9), d.rng.integers(0, n, n)
    active, leading_lever, sense = d.flag(), d.unit(), d.unit()
    names = "joined_signal spillover curation_gain half_contacts half_posts".split()
    p = {k: d.parameter(0.1, 2) for k in names}
    signals = n_active + p["joined_signal"] * (joined - n_active) if extras else n_active
    reading = direct + p["spillover"] * read if extras else direct
    if extras:
        reading = reading + community
        reading = reading * (1 + p["curation_gain"] * curation)
    want_cross = cross * cross_reach

    def saturating(x, half):
        return x / (x + half)

    want = (
        n_active / degree,
        signals,
        signals / degree,
        heard / np.maximum(n_active, 1),
        (has_manager & active[manager]).astype(REAL),
        (leading_lever * sense)[manager] * has_manager,
        reading,
        np.stack([saturating(x, p["half_contacts"]) for x in (n_active, engaged, want_cross)]),
        saturating(reading, p["half_posts"]),
    )
    got = [np.empty(n, REAL) for _ in range(7)] + [np.empty((3, n), REAL), np.empty(n, REAL)]
    unheld = np.zeros(0, REAL)
    fused.exposure(
        n_active, engaged, *((joined, direct, heard, read, community, curation) if extras else
                             (unheld, direct, heard, unheld, unheld, unheld)),
        cross, cross_reach, degree, has_manager, manager, active, leading_lever, sense,
        tuple(fused.scalar(p[k]) for k in names), *got,
    )  # fmt: skip
    same(*zip(got, want, strict=True), (cross, want_cross))


@given_inputs
def test_move_stages(seed, n, per_row):
    d = Draw(seed, n, per_row)
    stage = np.maximum(d.stage(), CONNECT).astype(np.int8)
    active, sense, alignment = d.flag(), d.unit(), d.unit()
    returns = np.stack([d.unit() for _ in range(3)])
    idle, u = d.rng.integers(0, 8, n).astype(np.int32), d.unit(0)
    stage_up, idle_weeks, stage_down = d.parameter(0, 1), d.parameter(1, 6, True), d.parameter()
    stage[~active] = d.stage()[~active]  # the inactive may be at any stage
    who = np.flatnonzero(active)
    at_stage, s = stage[who], sense[who]
    aligned = s * alignment[who]
    need = np.minimum(at_stage, SOLVE).astype(np.intp) - CONNECT
    gains = returns.take(need * n + who)
    readiness = np.where(at_stage == CONNECT, s, aligned).astype(REAL) * gains
    readiness = readiness * (at_stage < INNOVATE)
    up = np.zeros(n, bool)
    picked = stage_up[who] if isinstance(stage_up, np.ndarray) else stage_up
    up[who] = u[who] < picked * np.minimum(readiness, 1)
    down = ~active & (idle + 1 >= idle_weeks) & (stage >= SHARE) & (u < stage_down)
    want = (stage + up - down).astype(np.int8)
    terms = tuple(fused.scalar(x) for x in (stage_up, idle_weeks, stage_down))
    fused.move_stages(stage, active, sense, alignment, returns, idle, u, terms)
    same((stage, want))


@pytest.mark.parametrize("modelled", [False, True], ids=["no role model", "role model"])
@given_inputs
def test_posting_means(seed, n, per_row, modelled):
    d = Draw(seed, n, per_row)
    stage, active = d.stage(), d.flag()
    propensity, g_engaged, posting, role_model = d.positive(), d.unit(), d.positive(2), d.unit()
    names = "connect share solve innovate feedback modelled".split()
    p = {k: d.parameter(0, 2) for k in names}
    who = np.flatnonzero(active)
    factors = [p[k][who] if per_row else p[k] for k in names[:4]]
    at_stage = stage[who]
    conditions = [at_stage == k for k in (CONNECT, SHARE, SOLVE, INNOVATE)]
    factor = (
        np.select(conditions, factors, 0).astype(REAL)
        if per_row
        else np.asarray((0, *factors), REAL)[at_stage]
    )

    def at(x):
        return x[who] if isinstance(x, np.ndarray) else x

    want = propensity[who] * factor
    want *= 1 + at(p["feedback"]) * g_engaged[who]
    want *= posting[who]
    if modelled:
        want *= 1 + at(p["modelled"]) * role_model[who]
    got = np.empty(who.size, REAL)
    fused.posting_means(
        who, propensity, stage, g_engaged, posting,
        role_model if modelled else np.zeros(0, REAL),
        tuple(fused.scalar(p[k]) for k in names), got,
    )  # fmt: skip
    same((got, want))


@pytest.mark.parametrize("dynamic", [True, False], ids=["value dynamics", "no value dynamics"])
@given_inputs
def test_decide(seed, n, per_row, dynamic):
    d = Draw(seed, n, per_row)
    was_user, ever, stage = d.flag(), d.flag(), d.stage()
    u_trial, trial, u_use, use = d.unit(0), d.unit(), d.unit(0), d.unit()
    new = ~was_user & (u_trial < trial)
    stays = was_user & (u_use < use) if dynamic else was_user
    want = (
        new,
        stays,
        stays | new,
        was_user | new,
        ever | new,
        np.maximum(stage, new * np.int8(CONNECT)),
    )
    got = [np.empty(n, bool) for _ in range(4)]
    fused.decide(
        was_user, u_trial, trial, u_use, use if dynamic else fused.NOBODY, *got, ever, stage
    )
    same(*zip([*got, ever, stage], want, strict=True))


@pytest.mark.parametrize("dynamic", [True, False], ids=["value dynamics", "no value dynamics"])
@given_inputs
def test_close_week(seed, n, per_row, dynamic):
    d = Draw(seed, n, per_row)
    active, was_user, user = d.flag(), d.flag(), d.flag()
    perceived, time_cost, u, share = d.signed(), d.positive(), d.unit(0), d.unit()
    idle = d.rng.integers(0, 30, n).astype(np.int32)
    direct, posts, personal, strategic = d.counts(), d.counts(), d.signed(), d.positive()
    total_posts, total_value = d.counts(300), d.signed(50)
    abandon = d.parameter()
    want_user = user.copy()
    if dynamic:
        dissatisfied = perceived < time_cost
        want_user &= ~(was_user & ~active & dissatisfied & (u < abandon * (1 - share)))
    want = (
        want_user,
        (idle + 1) * ~active,
        direct * active,
        total_posts + posts,
        total_value + (personal + strategic),
    )
    got = [np.empty(n, np.int32), np.empty(n, REAL)]
    fused.close_week(
        active, was_user, perceived if dynamic else fused.NOBODY, time_cost, u, share,
        (fused.scalar(abandon),), idle, direct, posts, personal, strategic, user, *got,
        total_posts, total_value,
    )  # fmt: skip
    same(*zip([user, *got, total_posts, total_value], want, strict=True))


def test_what_a_step_asks_of_a_behaviour_is_worked_out_again_for_another():
    """``fused.kept`` keeps one answer per question for the last Behaviour asked about: the
    same Behaviour again gets it without working it out, another gets its own answer (a
    stale answer would run one run's ensemble with another's parameters)."""
    from dataclasses import replace

    from models.dynamics import held
    from models.params import Behaviour

    b = Behaviour()
    asked = []
    work_out = lambda b: asked.append(b) or b.spillover  # noqa: E731
    assert fused.kept(b, "test", work_out) == b.spillover
    assert fused.kept(b, "test", work_out) == b.spillover and asked == [b]
    other = replace(b, spillover=b.spillover + 0.25)
    assert fused.kept(other, "test", work_out) == other.spillover and asked == [b, other]
    assert held(replace(b, joined_signal=0.0), "joined_signal") is False
    assert held(replace(b, joined_signal=0.5), "joined_signal") is True
    per_row = replace(b, joined_signal=np.array([0.0, 0.0, 0.1], REAL))  # one value a row
    assert held(per_row, "joined_signal") is True
    assert held(replace(b, joined_signal=np.zeros(3, REAL)), "joined_signal") is False
