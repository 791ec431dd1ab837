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
from models.state import (
    CHAMPION,
    CONNECT,
    INNOVATE,
    REAL,
    SHARE,
    SOLVE,
    AgentState,
    Levers,
    Traits,
)

# Rows of the weekly draws: which uniform each decision uses.
TRIAL, ACTIVITY, POSTS, STAGE, ABANDON = range(5)
N_DRAWS = 5

# Above this share of people with something to pass on, a full sparse product is cheaper
# than summing over their rows alone (measured at 100k agents: the two cost the same near 0.4).
SPARSE_SOURCES = 0.35
SMALL = 10_000  # below this many agents the full product always wins (fixed costs dominate)
# ... and so it does for a product this small (stored ties × columns), whatever the agents:
# the cross-team ties of a 10k organisation (40k ties, one column) take 20 µs in full and
# 50 µs by active rows, most of it the fixed cost of slicing the rows.
SMALL_WORK = 100_000


@dataclass(frozen=True, eq=False)
class Network:
    """What the step needs from the organisation and the roles, prepared once.

    The matrices are float32: they hold 0/1 ties, and the sums they produce (counts of
    contacts, posts, hours) need no more precision, while halving the memory the sparse
    products stream through. Champions' coaching comes from the adjacency's champion
    columns only, a product over a few percent of the ties.
    """

    adjacency: sp.csr_array  # (n, n) float32
    cross_team: sp.csr_array  # (n, n) float32, ties between teams
    to_champions: sp.csr_array  # (n, champions) float32, ties to each champion
    champions: np.ndarray  # rows of the champions
    degree: np.ndarray  # float, number of contacts (at least 1, to divide by)
    manager: np.ndarray  # int64, own manager's row (0 where there is none)
    has_manager: np.ndarray  # bool
    columns: np.ndarray  # (n, 4) float32 work space for the neighbour sums

    @classmethod
    def build(cls, org, role: np.ndarray) -> "Network":
        adjacency = org.adjacency.astype(np.float32)
        champions = np.flatnonzero(role == CHAMPION)
        has_manager = org.manager_of >= 0
        return cls(
            adjacency=adjacency,
            cross_team=org.cross_team.astype(np.float32),
            to_champions=sp.csr_array(adjacency[:, champions]),
            champions=champions,
            degree=np.maximum(org.degree, 1).astype(REAL),
            manager=np.where(has_manager, org.manager_of, 0),
            has_manager=has_manager,
            columns=np.empty((org.n, 4), np.float32),
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
    manager_active: np.ndarray  # own manager active (0 or 1)
    leading: np.ndarray  # sense-making led by one's manager
    # Diminishing returns of the above, used by several sub-steps (see ``saturating``).
    g_active: np.ndarray
    g_engaged: np.ndarray
    g_cross: np.ndarray
    g_reading: np.ndarray


def saturating(x: np.ndarray, half: float) -> np.ndarray:
    """x / (x + half): diminishing returns, half the maximum at x = half."""
    return x / (x + half)


def neighbour_sums(matrix: sp.csr_array, source: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``matrix @ values`` where ``values`` is zero outside the rows where ``source`` is True.

    Every neighbour quantity comes from active contacts, and in most weeks most people are
    not active; then summing over the active people's own rows of the (symmetric) matrix
    costs a fraction of the full product. When most people are active, the full product is
    cheaper, so the choice is made week by week; both give the same sums (up to the order of
    floating-point additions).
    """
    if source.size < SMALL or matrix.nnz * (values.size // source.size) < SMALL_WORK:
        return matrix @ values
    rows = np.flatnonzero(source)
    if rows.size > SPARSE_SOURCES * source.size:
        return matrix @ values
    if rows.size == 0:
        return np.zeros(values.shape, values.dtype)
    return matrix[rows].T @ values[rows]


def expose(state: AgentState, net: Network, b: Behaviour, levers: Levers) -> Exposure:
    """Neighbour effects from last week's state (DESIGN §3 step 1): one sparse product with
    four columns, one with the cross-team ties, one with the champions' columns, and one for
    noise only in weeks when someone posted low-quality content."""
    a = state.active
    engaged = a & (state.stage >= SHARE)
    columns = net.columns
    columns[:, 0] = a
    columns[:, 1] = engaged
    columns[:, 2] = state.posts * (1 - state.low_quality)
    columns[:, 3] = state.benefit
    sums = neighbour_sums(net.adjacency, a, columns)
    n_active = sums[:, 0]
    c = net.champions
    coaching = net.to_champions @ (a[c] * state.sense[c] * levers.coaching[c])
    noisy = state.posts * state.low_quality
    noise = neighbour_sums(net.adjacency, noisy > 0, noisy)
    engaged_contacts = sums[:, 1]
    cross = neighbour_sums(net.cross_team, engaged, engaged.astype(REAL))
    return Exposure(
        active=n_active,
        share=n_active / net.degree,
        engaged=engaged_contacts,
        reading=sums[:, 2],
        cross=cross,
        coaching=coaching,
        noise=noise,
        heard=sums[:, 3] / np.maximum(n_active, 1.0),
        manager_active=(net.has_manager & a[net.manager]).astype(REAL),
        leading=net.has_manager * levers.leading[net.manager] * state.sense[net.manager],
        g_active=saturating(n_active, b.half_contacts),
        g_engaged=saturating(engaged_contacts, b.half_contacts),
        g_cross=saturating(cross, b.half_contacts),
        g_reading=saturating(sums[:, 2], b.half_posts),
    )


def trial_probability(
    state: AgentState, traits: Traits, ex: Exposure, b: Behaviour, levers: Levers
) -> np.ndarray:
    """Weekly chance that a non-user tries the network (DESIGN §3 step 1).

    Independent routes combine as 1 - Π(1 - p): a Bass-style hazard (spontaneous trial p,
    imitation q of active contacts, manager role modelling, champion coaching, value
    conversations led by one's manager) converted
    from per-year to per-week, a complex-contagion route once enough contacts are active,
    and the pressure of a mandate and the awareness from a campaign.
    """
    hazard = (
        b.innovation_p
        + b.imitation_q * ex.share
        + b.manager_pull * ex.manager_active
        + b.coaching_pull * ex.coaching
        + b.leading_pull * ex.leading
    ) / WEEKS_PER_YEAR
    met = (ex.active >= b.threshold_count) & (ex.share >= traits.threshold)
    stay = np.exp(-hazard) * (1 - met.astype(REAL) * b.complex_prob)
    if levers.pressure.any():
        stay *= 1 - levers.pressure
    if levers.awareness.any():
        stay *= 1 - levers.awareness
    return 1 - stay


def activity_probability(
    state: AgentState, traits: Traits, ex: Exposure, b: Behaviour, levers: Levers
) -> np.ndarray:
    """Weekly chance that a user is active: a logit of value, motivation and influence.

    Terms whose lever is zero for everyone this week (no mandate, no campaign) are skipped:
    they would add zero, and most weeks of most scenarios have none.
    """
    utility = (
        b.activity_base
        + b.value_weight * (state.perceived - traits.time_cost) / b.time_cost
        + b.sense_weight * state.sense
        + b.intrinsic_weight * state.intrinsic
        + b.extrinsic_weight * state.extrinsic
        + b.social_weight * ex.share
        + b.manager_weight * ex.manager_active
        + b.habit_weight * (state.active & (state.benefit >= state.time_spent)).astype(REAL)
        - b.reactance_weight * state.reactance
    )
    if levers.pressure.any():
        utility += b.pressure_weight * levers.pressure * (1 - state.reactance)
    if levers.awareness.any():
        utility += b.awareness_weight * levers.awareness
    return 1 / (1 + np.exp(-utility))


def contributions(
    active: np.ndarray,
    stage: np.ndarray,
    traits: Traits,
    ex: Exposure,
    b: Behaviour,
    levers: Levers,
    u: np.ndarray,
) -> np.ndarray:
    """Posts this week: geometric counts (inverse transform of ``u``) with a mean that grows
    with propensity, stage, the feedback engaged contacts give (Brzozowski et al. 2009) and
    rewards per post. Only active people post, so only their rows are computed."""
    who = np.flatnonzero(active)
    factor = np.asarray((0.0,) + b.stage_posting, REAL)[stage[who]]
    mean = traits.propensity[who] * factor * (1 + b.feedback_gain * ex.g_engaged[who])
    mean *= levers.posting[who]
    with np.errstate(divide="ignore"):
        # log(mean / (1 + mean)), written so that it stays below 0 for any mean in float32
        counts = np.floor(np.log1p(-u[who]) / -np.log1p(1 / mean))
    posts = np.zeros(active.size, REAL)
    posts[who] = np.where(mean > 0, counts, 0.0)
    return posts


def low_quality_share(state: AgentState, levers: Levers, active: np.ndarray) -> np.ndarray:
    """Share of this week's activity that is driven by rewards, compliance or a campaign's
    special event rather than by intrinsic motivation and sense: hollow / (genuine + hollow).
    Such activity produces no content worth reading for work and teaches little about it."""
    if not (levers.pressure.any() or levers.reward_quality.any() or levers.niche.any()):
        return np.zeros(active.size, REAL)
    hollow = (
        levers.reward_quality * state.extrinsic
        + levers.pressure * (1 - state.reactance)
        + levers.niche
    )
    genuine = state.intrinsic + state.sense
    return np.where(active, hollow / (genuine + hollow + 1e-12), 0.0).astype(REAL)


def advance(
    state: AgentState,
    traits: Traits,
    net: Network,
    b: Behaviour,
    levers: Levers,
    draws: np.ndarray,
) -> None:
    """Advance ``state`` by one week in place, using the uniforms in ``draws``."""
    ex = expose(state, net, b, levers)
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
    posts = contributions(active, stage, traits, ex, b, levers, draws[POSTS])
    low_quality = low_quality_share(state, levers, active)

    # Experienced value (step 3): each stage adds a benefit that needs others — posts to
    # read (Connect), an audience that answers (Share), engaged contacts to solve problems
    # with (Solve), engaged contacts in other teams to combine ideas with (Innovate) — scaled
    # by how relevant it is to one's job and one's sense, and for the strategic stages by
    # one's alignment.
    act = active.astype(REAL)
    skill = act * traits.relevance * (b.skill_floor + (1 - b.skill_floor) * state.sense)
    personal = skill * (
        b.benefit_connect * ex.g_reading + (stage >= SHARE) * ex.g_active * b.benefit_share
    )
    strategic = (
        skill
        * state.alignment
        * (
            (stage >= SOLVE) * ex.g_engaged * b.benefit_solve
            + (stage >= INNOVATE) * ex.g_cross * b.benefit_innovate
        )
    )
    noise_cost = act * b.noise_hours * ex.noise
    time_spent = act * (traits.time_cost + b.post_time * posts)
    benefit = personal + strategic - noise_cost
    state.value_personal = personal - noise_cost - time_spent
    state.value_strategic = strategic

    if b.value_dynamics:
        _learn(state, traits, ex, b, levers, active, benefit, low_quality)
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
    state.time_spent = time_spent
    state.total_posts += posts
    state.low_quality = low_quality
    state.benefit = benefit
    state.total_value += state.value_personal + state.value_strategic


def _learn(state, traits, ex, b, levers, active, benefit, low_quality) -> None:
    """Perceived value moves toward what one experiences (or hears from active contacts, or
    from value stories); sense grows with one's own genuine use (not with compliance-,
    reward- or event-driven use), with coaching,
    leader-led sense-making and training, and fades with disuse; alignment grows when managers
    lead value conversations and with strategic-alignment work (DESIGN §3 step 4)."""
    state.perceived += np.where(
        active,
        b.value_learning * (benefit - state.perceived),
        b.hearsay_learning * ex.share * (ex.heard - state.perceived),
    )
    if levers.stories.any():
        state.perceived += levers.stories * (ex.heard - state.perceived) * (ex.active > 0)
    use = (1 - low_quality) * active * b.use_learning
    gain = use + b.coaching_learning * (1 - np.exp(-ex.coaching)) + b.leading_learning * ex.leading
    if levers.sense_push.any():
        gain += levers.sense_push
    forget = (state.sense * ~active) * b.sense_forgetting
    state.sense += (1 - state.sense) * np.minimum(gain, 1.0) - forget
    push = b.alignment_learning * ex.leading
    if levers.alignment_push.any():
        push += levers.alignment_push
    state.alignment += (1 - state.alignment) * np.minimum(push, 1.0) - b.alignment_decay * (
        state.alignment - traits.alignment_base
    )


def _move_stages(state, ex, b, levers, active, u) -> None:
    """Up one stage with sense, alignment and the right contacts; down after idle weeks
    (DESIGN §3 step 5). Sharing needs an audience (active contacts), solving needs engaged
    contacts and alignment, innovating needs engaged contacts in other teams."""
    stage = state.stage
    # Only active people move up: readiness is computed for their rows alone.
    who = np.flatnonzero(active)
    at, sense = stage[who], state.sense[who]
    aligned = sense * state.alignment[who]
    readiness = np.where(
        at == CONNECT,
        sense * ex.g_active[who],
        np.where(
            at == SHARE,
            aligned * ex.g_engaged[who],
            (at == SOLVE) * aligned * ex.g_cross[who] * levers.innovate_boost[who],
        ),
    )
    up = np.zeros(stage.size, bool)
    up[who] = u[who] < b.stage_up * np.minimum(readiness, 1.0)
    down = ~active & (state.idle + 1 >= b.idle_weeks) & (stage >= SHARE) & (u < b.stage_down)
    state.stage = (stage + up - down).astype(np.int8)


def _motivate(state, traits, b, levers, active, benefit, time_spent) -> None:
    """Intrinsic motivation follows satisfaction and is crowded out by rewards and eroded by
    reactance; extrinsic motivation tracks rewards and decays after them; reactance grows
    under pressure in people who see little value (DESIGN §3 step 6). Terms that are zero
    for everyone this week (no rewards, no pressure, no reactance) are skipped."""
    spent = np.maximum(time_spent, traits.time_cost)
    satisfaction = np.clip((benefit - spent) / spent, -1.0, 1.0)
    room = np.where(satisfaction > 0, 1 - state.intrinsic, state.intrinsic)
    state.intrinsic += satisfaction * room * active * b.intrinsic_learning
    if levers.reward.any():
        state.intrinsic -= levers.crowding * levers.reward * state.intrinsic
    if state.reactance.any():
        state.intrinsic -= b.reactance_erosion * state.reactance * state.intrinsic
        state.perceived -= b.reactance_erosion * state.reactance * np.maximum(state.perceived, 0)
    if levers.reward.any() or state.extrinsic.any():
        state.extrinsic = np.maximum(levers.reward, state.extrinsic * (1 - b.extrinsic_decay))
    if levers.pressure.any():
        seen = np.clip(state.perceived / traits.time_cost, 0.0, 1.0)
        state.reactance += b.reactance_gain * levers.pressure * (1 - seen) * (1 - state.reactance)
    if state.reactance.any():
        state.reactance -= b.reactance_decay * state.reactance
    np.clip(state.intrinsic, 0.0, 1.0, out=state.intrinsic)
    np.clip(state.reactance, 0.0, 1.0, out=state.reactance)
