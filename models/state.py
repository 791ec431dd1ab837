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
    low_quality: np.ndarray  # share of this week's activity driven by rewards, compliance, events
    benefit: np.ndarray  # experienced gross benefit this week, hours (0 if inactive)
    value_personal: np.ndarray  # net personal value this week, hours (benefit - time - noise)
    value_strategic: np.ndarray  # strategic value this week, hours
    time_spent: np.ndarray  # hours spent on the network this week
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
    time_cost: np.ndarray  # hours a week an active week costs this person
    propensity: np.ndarray  # propensity to post (posts a week at posting factor 1)
    threshold: np.ndarray  # share of active contacts that meets the contagion threshold
    alignment_base: np.ndarray  # alignment the person drifts back to
    relevance: np.ndarray  # how much this person's work can gain from the network, 0..1


@dataclass(eq=False)
class Levers:
    """Per-agent intervention inputs for the current week (see module docstring)."""

    pressure: np.ndarray  # mandate pressure, 0..1
    reward: np.ndarray  # reward intensity, 0..1
    crowding: np.ndarray  # weekly intrinsic loss per unit reward (depends on contingency)
    reward_quality: np.ndarray  # share of rewarded activity that is low quality, 0..1
    awareness: np.ndarray  # campaign awareness, 0..1
    leading: np.ndarray  # rate at which this person, as a manager, leads value conversations
    coaching: np.ndarray  # strength of this person's coaching, as a champion
    alignment_push: np.ndarray  # weekly alignment gain from strategic-alignment work
    stories: np.ndarray  # weekly pull of perceived value toward value told in stories
    innovate_boost: np.ndarray  # multiplier on the chance to reach Innovate
    sense_push: np.ndarray  # weekly sense gain from training and events, 0..1
    posting: np.ndarray  # multiplier on posting (rewards per post)
    niche: np.ndarray  # share of this week's use that is event-only, teaching nothing for work

    def copy(self) -> "Levers":
        return Levers(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    @classmethod
    def baseline(cls, n: int, role: np.ndarray, behaviour: Behaviour) -> "Levers":
        zeros = np.zeros(n, REAL)
        return cls(
            pressure=zeros.copy(),
            reward=zeros.copy(),
            crowding=zeros.copy(),
            reward_quality=zeros.copy(),
            awareness=zeros.copy(),
            leading=np.where(role == MANAGER, behaviour.manager_leading, 0.0).astype(REAL),
            coaching=(role == CHAMPION).astype(REAL),
            alignment_push=zeros.copy(),
            stories=zeros.copy(),
            innovate_boost=np.ones(n, REAL),
            sense_push=zeros.copy(),
            posting=np.ones(n, REAL),
            niche=zeros.copy(),
        )


def _beta(rng: np.random.Generator, mean: float, n: int, concentration: float = 8.0) -> np.ndarray:
    """Beta draws with the given mean; concentration sets how tightly they gather around it."""
    mean = min(max(mean, 1e-3), 1 - 1e-3)
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
    dept_alignment = _beta(rng, b.alignment_mean, n_dept, concentration=20.0)
    alignment = np.clip(dept_alignment[department] + rng.normal(0.0, 0.1, n), 0.0, 1.0)
    traits = Traits(
        role=role.astype(np.int8),
        time_cost=_real(b.time_cost * rng.lognormal(-0.5 * b.time_cost_sd**2, b.time_cost_sd, n)),
        propensity=_real(rng.lognormal(-0.5 * b.propensity_sigma**2, b.propensity_sigma, n)),
        threshold=_real(np.clip(rng.normal(b.threshold_mean, b.threshold_sd, n), 0.0, 1.0)),
        alignment_base=_real(alignment),
        relevance=_real(_beta(rng, b.relevance_mean, n, concentration=b.relevance_concentration)),
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
        sense=_real(np.clip(_beta(rng, b.sense_mean, n) + lift, 0.0, 1.0)),
        intrinsic=_real(np.clip(_beta(rng, b.intrinsic_mean, n) + lift, 0.0, 1.0)),
        extrinsic=zeros.copy(),
        reactance=zeros.copy(),
        alignment=_real(alignment),
        idle=np.zeros(n, np.int32),
        posts=zeros.copy(),
        low_quality=zeros.copy(),
        benefit=zeros.copy(),
        value_personal=zeros.copy(),
        value_strategic=zeros.copy(),
        time_spent=zeros.copy(),
        total_posts=np.zeros(n),
        total_value=np.zeros(n),
    )
    return state, traits


def _real(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=REAL)
