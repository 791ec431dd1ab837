"""The weekly step, as array operations over all agents at once.

Every agent updates synchronously from last week's state of its contacts: one sparse product
of the adjacency matrix with a few state columns gives every neighbour effect at once
(active contacts, engaged contacts, posts to read, coaching, noise, what contacts say it is
worth),
plus one product with the cross-team ties for the diverse contacts that innovation needs.
Role behaviour is array work over role rows: managers' activity and sense reach their team by
indexing with ``manager_of``; champions' coaching is a column of the sparse product.

The random numbers a week needs are drawn before the step as one ``(N_DRAWS, n)`` array of
uniforms, one row per decision. That keeps the step a pure function of (state, draws), which
is what lets the per-agent oracle in the tests replay exactly the same week.

Equations, symbols and parameter sources: docs/MODEL.md, "Submodels".
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.params import WEEKS_PER_YEAR, Behaviour
from models.state import CHAMPION, CONNECT, INNOVATE, SHARE, SOLVE, AgentState, Levers, Traits

# Rows of the weekly draws: which uniform each decision uses.
TRIAL, ACTIVITY, POSTS, STAGE, ABANDON = range(5)
N_DRAWS = 5


@dataclass(frozen=True, eq=False)
class Network:
    """What the step needs from the organisation, precomputed once."""

    adjacency: sp.csr_array
    cross_team: sp.csr_array
    degree: np.ndarray  # float, number of contacts
    manager_of: np.ndarray  # int64, -1 for none

    @classmethod
    def from_organisation(cls, org) -> "Network":
        return cls(
            adjacency=org.adjacency,
            cross_team=org.cross_team,
            degree=np.asarray(org.degree, dtype=float),
            manager_of=np.asarray(org.manager_of, dtype=np.int64),
        )


@dataclass(frozen=True, eq=False)
class Exposure:
    """Last week's contacts, seen from each agent (all arrays of length n)."""

    active: np.ndarray  # active contacts
    share: np.ndarray  # share of contacts active
    engaged: np.ndarray  # active contacts at Share or above
    reading: np.ndarray  # good (not low-quality) posts from contacts last week
    cross: np.ndarray  # engaged contacts in other teams
    coaching: np.ndarray  # coaching received from active champions
    noise: np.ndarray  # low-quality posts from contacts
    heard: np.ndarray  # mean benefit of active contacts
    manager_active: np.ndarray  # own manager active (0/1)
    leading: np.ndarray  # sense-making led by one's manager


def saturating(x: np.ndarray, half: float) -> np.ndarray:
    """x / (x + half): diminishing returns, half the maximum at x = half."""
    return x / (x + half)


def expose(state: AgentState, traits: Traits, net: Network, levers: Levers) -> Exposure:
    """Neighbour effects from last week's state, with one sparse product (DESIGN §3 step 1)."""
    a = state.active
    engaged = a & (state.stage >= SHARE)
    columns = np.column_stack(
        [
            a,
            engaged,
            state.posts * (1 - state.low_quality),
            a * (traits.role == CHAMPION) * state.sense * levers.coaching,
            state.posts * state.low_quality,
            state.benefit,
        ]
    ).astype(float)
    sums = net.adjacency @ columns
    n_active = sums[:, 0]
    has_manager = net.manager_of >= 0
    manager = np.where(has_manager, net.manager_of, 0)
    return Exposure(
        active=n_active,
        share=n_active / np.maximum(net.degree, 1.0),
        engaged=sums[:, 1],
        reading=sums[:, 2],
        cross=net.cross_team @ engaged.astype(float),
        coaching=sums[:, 3],
        noise=sums[:, 4],
        heard=sums[:, 5] / np.maximum(n_active, 1.0),
        manager_active=(has_manager & a[manager]).astype(float),
        leading=has_manager * levers.leading[manager] * state.sense[manager],
    )


def trial_probability(
    state: AgentState, traits: Traits, ex: Exposure, b: Behaviour, levers: Levers
) -> np.ndarray:
    """Weekly chance that a non-user tries the network (DESIGN §3 step 1).

    Independent routes combine as 1 - Π(1 - p): a Bass-style hazard (spontaneous trial p,
    imitation q of active contacts, manager role modelling, champion coaching) converted
    from per-year to per-week, a complex-contagion route once enough contacts are active,
    and the pressure of a mandate and the awareness from a campaign.
    """
    hazard = (
        b.innovation_p
        + b.imitation_q * ex.share
        + b.manager_pull * ex.manager_active
        + b.coaching_pull * ex.coaching
    ) / WEEKS_PER_YEAR
    met = (ex.active >= b.threshold_count) & (ex.share >= traits.threshold)
    stay = (1 - b.complex_prob * met) * (1 - levers.pressure) * (1 - levers.awareness)
    return 1 - stay * np.exp(-hazard)


def activity_probability(
    state: AgentState, traits: Traits, ex: Exposure, b: Behaviour, levers: Levers
) -> np.ndarray:
    """Weekly chance that a user is active: a logit of value, motivation and influence."""
    utility = (
        b.activity_base
        + b.value_weight * (state.perceived - traits.time_cost) / b.time_cost
        + b.intrinsic_weight * state.intrinsic
        + b.extrinsic_weight * state.extrinsic
        + b.social_weight * ex.share
        + b.manager_weight * ex.manager_active
        + b.habit_weight * state.active
        + b.pressure_weight * levers.pressure * (1 - state.reactance)
        - b.reactance_weight * state.reactance
        + b.awareness_weight * levers.awareness
    )
    return 1 / (1 + np.exp(-utility))


def contributions(
    active: np.ndarray, stage: np.ndarray, traits: Traits, ex: Exposure, b: Behaviour, u: np.ndarray
) -> np.ndarray:
    """Posts this week: geometric counts (inverse transform of ``u``) with a mean that grows
    with propensity, stage and the feedback engaged contacts give (Brzozowski et al. 2009)."""
    factor = np.asarray((0.0,) + b.stage_posting)[stage]
    mean = active * traits.propensity * factor
    mean *= 1 + b.feedback_gain * saturating(ex.engaged, b.half_contacts)
    ratio = mean / (1 + mean)
    with np.errstate(divide="ignore"):
        posts = np.floor(np.log1p(-u) / np.log(ratio))
    return np.where(mean > 0, posts, 0.0)


def advance(
    state: AgentState,
    traits: Traits,
    net: Network,
    b: Behaviour,
    levers: Levers,
    draws: np.ndarray,
) -> None:
    """Advance ``state`` by one week in place, using the uniforms in ``draws``."""
    ex = expose(state, traits, net, levers)
    was_user = state.user

    # Trial and activity (DESIGN §3 step 2).
    new = ~was_user & (draws[TRIAL] < trial_probability(state, traits, ex, b, levers))
    if b.value_dynamics:
        stays = was_user & (draws[ACTIVITY] < activity_probability(state, traits, ex, b, levers))
    else:
        stays = was_user
    active = stays | new
    user = was_user | new
    state.ever |= new
    state.stage[new] = np.maximum(state.stage[new], CONNECT)
    stage = state.stage

    # Contributions and their quality.
    posts = contributions(active, stage, traits, ex, b, draws[POSTS])
    hollow = levers.reward_quality * state.extrinsic + levers.pressure * (1 - state.reactance)
    genuine = state.intrinsic + state.sense
    low_quality = np.where(active, hollow / (genuine + hollow + 1e-12), 0.0)

    # Experienced value (step 3): each stage adds a benefit that needs others — posts to
    # read (Connect), an audience that answers (Share), engaged contacts to solve problems
    # with (Solve), engaged contacts in other teams to combine ideas with (Innovate) — scaled
    # by how relevant it is to one's job and one's sense, and for the strategic stages by
    # one's alignment.
    skill = traits.relevance * (b.skill_floor + (1 - b.skill_floor) * state.sense)
    personal = skill * (
        b.benefit_connect * saturating(ex.reading, b.half_posts)
        + b.benefit_share * (stage >= SHARE) * saturating(ex.active, b.half_contacts)
    )
    strategic = (
        skill
        * state.alignment
        * (
            b.benefit_solve * (stage >= SOLVE) * saturating(ex.engaged, b.half_contacts)
            + b.benefit_innovate * (stage >= INNOVATE) * saturating(ex.cross, b.half_contacts)
        )
    )
    noise_cost = b.noise_hours * ex.noise
    time_spent = active * (traits.time_cost + b.post_time * posts)
    benefit = active * (personal + strategic - noise_cost)
    state.value_personal = active * (personal - noise_cost) - time_spent
    state.value_strategic = active * strategic

    if b.value_dynamics:
        _learn(state, traits, ex, b, levers, active, benefit)
        _move_stages(state, ex, b, levers, active, draws[STAGE])
        _motivate(state, traits, b, levers, active, benefit, time_spent)
        dissatisfied = state.perceived < traits.time_cost
        leave = (
            was_user & ~active & dissatisfied & (draws[ABANDON] < b.abandon_rate * (1 - ex.share))
        )
        user &= ~leave

    state.user = user
    state.active = active
    state.idle = np.where(active, 0, state.idle + 1).astype(np.int32)
    state.posts = posts
    state.total_posts += posts
    state.low_quality = low_quality
    state.benefit = benefit
    state.total_value += state.value_personal + state.value_strategic


def _learn(state, traits, ex, b, levers, active, benefit) -> None:
    """Perceived value moves toward what one experiences (or hears from active contacts, or
    from value stories); sense grows with use, coaching and leader-led sense-making, and fades
    with disuse; alignment grows when managers lead value conversations (DESIGN §3 step 4)."""
    idle = ~active
    state.perceived += active * b.value_learning * (benefit - state.perceived)
    state.perceived += idle * b.hearsay_learning * ex.share * (ex.heard - state.perceived)
    state.perceived += levers.stories * (ex.heard - state.perceived) * (ex.active > 0)
    coaching = 1 - np.exp(-ex.coaching)
    gain = (
        b.use_learning * active + b.coaching_learning * coaching + b.leading_learning * ex.leading
    )
    state.sense += (1 - state.sense) * np.minimum(
        gain, 1.0
    ) - b.sense_forgetting * idle * state.sense
    state.alignment += (1 - state.alignment) * np.minimum(
        b.alignment_learning * ex.leading + levers.alignment_push, 1.0
    ) - b.alignment_decay * (state.alignment - traits.alignment_base)


def _move_stages(state, ex, b, levers, active, u) -> None:
    """Up one stage with sense, alignment and the right contacts; down after idle weeks
    (DESIGN §3 step 5). Sharing needs an audience (active contacts), solving needs engaged
    contacts and alignment, innovating needs engaged contacts in other teams."""
    stage = state.stage
    readiness = state.sense * np.select(
        [stage == CONNECT, stage == SHARE, stage == SOLVE],
        [
            saturating(ex.active, b.half_contacts),
            saturating(ex.engaged, b.half_contacts) * state.alignment,
            saturating(ex.cross, b.half_contacts) * state.alignment * levers.innovate_boost,
        ],
        0.0,
    )
    up = active & (u < b.stage_up * np.minimum(readiness, 1.0))
    down = ~active & (state.idle + 1 >= b.idle_weeks) & (stage >= SHARE) & (u < b.stage_down)
    state.stage = (stage + up - down).astype(np.int8)


def _motivate(state, traits, b, levers, active, benefit, time_spent) -> None:
    """Intrinsic motivation follows satisfaction and is crowded out by rewards and eroded by
    reactance; extrinsic motivation tracks rewards and decays after them; reactance grows
    under pressure in people who see little value (DESIGN §3 step 6)."""
    spent = np.maximum(time_spent, traits.time_cost)
    satisfaction = np.clip((benefit - spent) / spent, -1.0, 1.0)
    room = np.where(satisfaction > 0, 1 - state.intrinsic, state.intrinsic)
    state.intrinsic += active * b.intrinsic_learning * satisfaction * room
    state.intrinsic -= (levers.crowding * levers.reward + b.reactance_erosion * state.reactance) * (
        state.intrinsic
    )
    state.perceived -= b.reactance_erosion * state.reactance * np.maximum(state.perceived, 0.0)
    state.extrinsic = np.maximum(levers.reward, state.extrinsic * (1 - b.extrinsic_decay))
    seen = np.clip(state.perceived / traits.time_cost, 0.0, 1.0)
    state.reactance += b.reactance_gain * levers.pressure * (1 - seen) * (1 - state.reactance)
    state.reactance -= b.reactance_decay * state.reactance
    np.clip(state.intrinsic, 0.0, 1.0, out=state.intrinsic)
    np.clip(state.reactance, 0.0, 1.0, out=state.reactance)
