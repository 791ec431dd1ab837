"""Agent state as NumPy arrays: one row per agent, one array per state variable.

The model owns one ``AgentState``; each Mesa agent reads and writes its own row. Keeping the
state columnar is what lets the weekly step be a handful of array operations and sparse
products instead of a Python loop over agents (DESIGN §5).

``Levers`` are the per-agent inputs that interventions set each week (mandate pressure,
rewards, campaign awareness, leading sense-making, coaching strength). With no intervention
they hold the baseline: no pressure, no reward, managers leading value conversations at
their baseline rate, champions coaching at strength one.
"""

from dataclasses import dataclass, fields

import numpy as np

from models.params import Behaviour

# Role codes, also used for group records.
EMPLOYEE, CHAMPION, MANAGER = 0, 1, 2
ROLE_NAMES = ("employee", "champion", "manager")

# Maturity stages (Terry's Value Maturity Methodology), 0 = never connected.
NONE, CONNECT, SHARE, SOLVE, INNOVATE = 0, 1, 2, 3, 4
STAGE_NAMES = ("none", "connect", "share", "solve", "innovate")


# Agent state is float32: a person's sense or perceived value needs no more than seven
# significant digits, and half-width arrays make every array operation of the step about
# twice as fast. Running totals over the whole horizon stay float64.
REAL = np.float32


@dataclass(eq=False)
class AgentState:
    """Everything that changes from week to week, as arrays of length n (float32 unless
    noted)."""

    user: np.ndarray  # bool: a current user (has tried it and has not abandoned it)
    ever: np.ndarray  # bool: has ever adopted (cumulative adoption)
    active: np.ndarray  # bool: active this week
    stage: np.ndarray  # int8: maturity stage, NONE..INNOVATE
    perceived: np.ndarray  # perceived weekly benefit, hours
    sense: np.ndarray  # sense-making: how well one sees how to use it in one's work, 0..1
    intrinsic: np.ndarray  # intrinsic motivation, 0..1
    extrinsic: np.ndarray  # extrinsic motivation (rewards), 0..1
    reactance: np.ndarray  # psychological reactance, 0..1
    alignment: np.ndarray  # strategic alignment, 0..1
    idle: np.ndarray  # int32: weeks since last active
    posts: np.ndarray  # contributions this week
    low_quality: np.ndarray  # hollow share of this week's activity: what a lever added, weighted
    event_share: np.ndarray  # share of this week's activity that campaign events added
    benefit: np.ndarray  # experienced gross benefit this week, hours (0 if inactive)
    value_personal: np.ndarray  # net personal value this week, hours (benefit - time - noise)
    value_strategic: np.ndarray  # strategic value this week, hours
    time_spent: np.ndarray  # hours spent on the network this week
    read: np.ndarray  # good posts read from one's contacts this week (0 if inactive): what one
    # can pass on to one's own contacts next week (spill-over)
    relevance: np.ndarray  # how much one's work can gain from the network now, 0..1
    time_cost: np.ndarray  # hours an active week costs one now
    extrinsic_hollow: np.ndarray  # hollow weight of one's extrinsic motivation (by the
    # contingency of the last reward received)
    total_posts: np.ndarray  # float64: contributions since the start
    total_value: np.ndarray  # float64: net value created since the start, hours

    @property
    def n(self) -> int:
        return len(self.user)

    def copy(self) -> "AgentState":
        return AgentState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


@dataclass(frozen=True, eq=False)
class Traits:
    """Fixed individual characteristics, drawn once at the start."""

    role: np.ndarray  # int8 role code
    time_cost_base: np.ndarray  # hours an active week costs this person, before integration
    propensity: np.ndarray  # propensity to post (posts a week at posting factor 1; 0: a lurker)
    threshold: np.ndarray  # share of active contacts that meets the contagion threshold
    alignment_base: np.ndarray  # alignment the person drifts back to
    relevance_base: np.ndarray  # how much this person's work can gain, before use cases, 0..1
    need: np.ndarray  # share of weeks this person's work calls for the network, 0..1


@dataclass(eq=False)
class Levers:
    """Per-agent intervention inputs for the current week (see module docstring)."""

    pressure: np.ndarray  # mandate pressure, 0..1
    reward: np.ndarray  # reward intensity, 0..1
    reward_basis: np.ndarray  # int8: what rewards are for (REWARD_BASES index; 0 = none)
    reward_hollow: np.ndarray  # hollow share of reward-added activity (by contingency), 0..1
    crowding: np.ndarray  # weekly intrinsic loss per unit reward received (by contingency)
    posting: np.ndarray  # multiplier on posting (rewards per post)
    awareness: np.ndarray  # campaign awareness, 0..1
    leading: np.ndarray  # rate at which this person, as a manager, leads value conversations
    coaching: np.ndarray  # strength of this person's coaching, as a champion
    alignment_push: np.ndarray  # weekly alignment gain from strategic-alignment work
    stories: np.ndarray  # weekly pull of perceived value toward value told in stories
    sense_push: np.ndarray  # weekly sense gain from training and events, 0..1
    role_model: np.ndarray  # a leader's commitment to use it visibly in their own work, 0..1
    relevance_push: np.ndarray  # relevance gained this week from use cases (share of the gap)
    time_cut: np.ndarray  # share of the time cost above its floor removed this week
    curation: np.ndarray  # community management of what one sees, 0..1
    cross_reach: np.ndarray  # multiplier on contact with engaged people in other teams

    def copy(self) -> "Levers":
        return Levers(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    @classmethod
    def baseline(cls, n: int, role: np.ndarray, behaviour: Behaviour) -> "Levers":
        zeros = np.zeros(n, REAL)
        values = {f.name: zeros.copy() for f in fields(cls)}
        values["reward_basis"] = np.zeros(n, np.int8)
        values["posting"] = np.ones(n, REAL)
        values["cross_reach"] = np.ones(n, REAL)
        values["leading"] = np.where(role == MANAGER, behaviour.manager_leading, 0).astype(REAL)
        values["coaching"] = (role == CHAMPION).astype(REAL)
        return cls(**values)


#: What rewards are contingent on (Deci, Koestner & Ryan 1999), by ``Levers.reward_basis``.
REWARD_BASES = ("none", "engagement", "completion", "performance")


#: Beta means are kept this far inside (0, 1), where both shape parameters stay positive.
_BETA_EDGE = 1e-3


def _beta(rng: np.random.Generator, mean: float, n: int, concentration: float) -> np.ndarray:
    """Beta draws with the given mean; concentration sets how tightly they gather around it."""
    mean = min(max(mean, _BETA_EDGE), 1 - _BETA_EDGE)
    return rng.beta(mean * concentration, (1 - mean) * concentration, n)


def initial_state(
    rng: np.random.Generator,
    role: np.ndarray,
    department: np.ndarray,
    behaviour: Behaviour,
) -> tuple[AgentState, Traits]:
    """Draw the starting state and fixed traits: nobody has used the network yet.

    Alignment is drawn per department first (departments differ in how well they know the
    strategy), then per person around it. Champions start keener and with more sense: they
    are the enthusiasts who volunteered or were picked.
    """
    n = len(role)
    b = behaviour
    champion = role == CHAMPION
    lift = np.where(champion, b.champion_lift, 0.0)
    n_dept = int(department.max()) + 1 if n else 0
    dept_alignment = _beta(rng, b.alignment_mean, n_dept, b.department_concentration)
    spread = b.alignment_spread * rng.standard_normal(n)  # drawn at any spread (common numbers)
    alignment = np.clip(dept_alignment[department] + spread, 0.0, 1.0)
    traits = Traits(
        role=role.astype(np.int8),
        time_cost_base=_real(_lognormal(rng, b.time_cost, b.time_cost_sd, n)),
        propensity=_real(_lognormal(rng, 1.0, b.propensity_sigma, n)),
        threshold=_real(np.clip(rng.normal(b.threshold_mean, b.threshold_sd, n), 0.0, 1.0)),
        alignment_base=_real(alignment),
        relevance_base=_real(_beta(rng, b.relevance_mean, n, b.relevance_concentration)),
        need=np.ones(n, REAL),  # drawn last, below, so that no other draw moves
    )
    zeros = np.zeros(n, REAL)
    state = AgentState(
        user=np.zeros(n, bool),
        ever=np.zeros(n, bool),
        active=np.zeros(n, bool),
        stage=np.zeros(n, np.int8),
        perceived=_real(
            np.maximum(rng.normal(b.initial_expectation, b.initial_expectation_sd, n), 0.0)
        ),
        sense=_real(np.clip(_beta(rng, b.sense_mean, n, b.trait_concentration) + lift, 0.0, 1.0)),
        intrinsic=_real(
            np.clip(_beta(rng, b.intrinsic_mean, n, b.trait_concentration) + lift, 0.0, 1.0)
        ),
        extrinsic=zeros.copy(),
        reactance=zeros.copy(),
        alignment=_real(alignment),
        idle=np.zeros(n, np.int32),
        posts=zeros.copy(),
        low_quality=zeros.copy(),
        event_share=zeros.copy(),
        benefit=zeros.copy(),
        value_personal=zeros.copy(),
        value_strategic=zeros.copy(),
        time_spent=zeros.copy(),
        read=zeros.copy(),
        relevance=traits.relevance_base.copy(),
        time_cost=traits.time_cost_base.copy(),
        extrinsic_hollow=zeros.copy(),
        total_posts=np.zeros(n),
        total_value=np.zeros(n),
    )
    if b.need_mean < 1:
        traits.need[:] = _beta(rng, b.need_mean, n, b.need_concentration)
    if b.lurker_share > 0:  # after need, for the same reason
        traits.propensity[rng.random(n) < b.lurker_share] = 0
    return state, traits


def _lognormal(rng: np.random.Generator, mean: float, sigma: float, n: int) -> np.ndarray:
    """Log-normal draws with the given mean (not median) and log-scale spread ``sigma``."""
    return mean * rng.lognormal(-(sigma**2) / 2, sigma, n)


def _real(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=REAL)
