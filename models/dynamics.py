"""The weekly step, over all agents at once.

Every agent updates synchronously from last week's state of its contacts: one pass over the
ties of last week's sources gives every sum over contacts (active, engaged and joined
contacts; posts to read; what contacts say it is worth; what they read and can pass on; the
engaged contacts in other teams, whom innovation needs; coaching from champions), the
products of the adjacency matrix with those state vectors (``models.neighbours``). Role
behaviour is array work over role rows: managers' activity and sense reach their team by
indexing with ``manager``.

The rules that are long chains of element-wise operations (what one reads of one's
contacts, the trial hazard, the activity logit, who tries and uses it, experienced value,
learning, stage moves, motivation, the mean of one's posts, the week's end: leaving, idle
weeks and running totals) run as one compiled pass over the rows each (``models.fused``),
doing exactly the float32 operations of the NumPy expressions written beside each call, so
that the results are the same to the bit; the rest (``exp`` and ``log``, the levers' rarer
terms) are NumPy array operations.

The random numbers a week needs are drawn before the step as one ``(N_DRAWS, n)`` array of
uniforms, one row per decision. That keeps the step a pure function of (state, draws), which
is what lets the per-agent oracle in the tests replay exactly the same week.

Every number the rules use is a parameter (``models.registry``); literals here are structural
(0, 1, stage codes). A parameter may be a number or, in an ensemble whose runs differ in it,
an array with one value per agent (``models.fused.row`` reads it at a row).

Equations, symbols and parameter sources: docs/MODEL.md, "Submodels".
"""

from dataclasses import dataclass

import numpy as np

from models import fused
from models.neighbours import Network
from models.params import WEEKS_PER_YEAR, Behaviour
from models.state import (
    CONNECT,
    REAL,
    SHARE,
    SOLVE,
    AgentState,
    Levers,
    Traits,
)

# Rows of the weekly draws: which uniform each decision uses.
DRAWS = ("trial", "activity", "posts", "stage", "abandon")
TRIAL, ACTIVITY, POSTS, STAGE, ABANDON = range(len(DRAWS))
N_DRAWS = len(DRAWS)


#: The parameters of the compiled passes (``models.fused``), in the order each takes them.
EXPERIENCE_TERMS = (
    "skill_floor",
    lambda b: 1 - b.skill_floor,
    "benefit_connect",
    "benefit_share",
    "benefit_solve",
    "benefit_innovate",
    "noise_hours",
    "post_time",
    "read_time",
)
LEARNING_TERMS = (
    "value_learning",
    "hearsay_learning",
    "use_learning",
    "coaching_learning",
    "leading_learning",
    "sense_forgetting",
    "alignment_learning",
    "alignment_decay",
)
HAZARD_TERMS = (
    "threshold_count",
    "imitation_q",
    "complex_prob",
    "return_contagion",
    "innovation_p",
    "manager_pull",
    "coaching_pull",
    "leading_pull",
    lambda b: WEEKS_PER_YEAR,
)
LOGIT_TERMS = (
    "activity_base",
    "value_weight",
    "time_cost",
    "sense_weight",
    "intrinsic_weight",
    "social_weight",
    "manager_weight",
    "habit_weight",
    "reactance_weight",
)
EXPOSURE_TERMS = (
    "joined_signal",
    "spillover",
    "curation_reading_gain",
    "half_contacts",
    "half_posts",
)
POSTING_TERMS = (
    "posting_connect",
    "posting_share",
    "posting_solve",
    "posting_innovate",
    "feedback_gain",
    "role_model_posting",
)
MOTIVATION_TERMS = (
    "intrinsic_learning",
    "reactance_erosion",
    lambda b: 1 - b.extrinsic_decay,
    "reactance_gain",
    "reactance_decay",
)


def choose(condition: np.ndarray, if_true, if_false) -> np.ndarray:
    """``np.where(condition, if_true, if_false)``, the same bits, for float32 values (arrays or
    numbers; values of other types go to ``np.where``): picked by masking the values' bits.
    ``np.where`` takes a branch a row, and where the condition is as unpredictable as who is
    active this week it mispredicts often enough to cost about 3 ns a row (33 µs at 10,000
    rows, 0.5 ms at 165,000); three bitwise passes cost about 0.5 ns a row."""
    if np.result_type(if_true, if_false) != REAL:
        return np.where(condition, if_true, if_false)
    true, false = (np.asarray(v, REAL).view(np.int32) for v in (if_true, if_false))
    mask = np.negative(condition.view(np.int8), dtype=np.int32)  # every bit set where True
    if false.ndim == 0 and false == 0:  # nothing to take from where the condition fails
        return np.bitwise_and(true, mask).view(REAL)
    picked = np.bitwise_and(np.bitwise_xor(true, false), mask)
    picked ^= false  # where True: true ^ false ^ false; elsewhere 0 ^ false
    return picked.view(REAL)


@dataclass(frozen=True, eq=False)
class Exposure:
    """Last week's contacts, seen from each agent (all arrays of length n)."""

    active: np.ndarray  # active contacts
    share: np.ndarray  # share of contacts active
    signals: np.ndarray  # contacts that count toward the contagion threshold
    signal_share: np.ndarray  # their share of one's contacts
    engaged: np.ndarray  # active contacts at Share or above
    reading: np.ndarray  # good posts shown: from contacts, passed on (spill-over), curated
    direct: np.ndarray  # good posts from contacts alone (what one can pass on)
    cross: np.ndarray  # engaged contacts in other teams (times the reach of pilot groups)
    coaching: np.ndarray  # coaching received from active champions
    noise: np.ndarray  # hollow posts from contacts that reach one's feed
    heard: np.ndarray  # mean benefit of active contacts
    manager_active: np.ndarray  # own manager active (0 or 1)
    leading: np.ndarray  # sense-making led by one's manager
    # Diminishing returns of the above, x / (x + half), used by several sub-steps.
    g_active: np.ndarray
    g_engaged: np.ndarray
    g_cross: np.ndarray
    g_reading: np.ndarray
    returns: np.ndarray  # (3, n): g_active, g_engaged, g_cross as rows (``STAGE_RETURNS``)


#: What ``fused.exposure`` works out for each person, one row each, in its order.
EXPOSED = (
    "share",
    "signals",
    "signal_share",
    "heard",
    "manager_active",
    "leading",
    "reading",
    "g_reading",
)
#: What moving up from Connect, Share and Solve needs: returns of active contacts, of engaged
#: contacts, of engaged contacts in other teams (the rows of ``Exposure.returns``).
STAGE_RETURNS = (CONNECT, SHARE, SOLVE)


def expose(state: AgentState, net: Network, b: Behaviour, levers: Levers) -> Exposure:
    """Neighbour effects from last week's state (DESIGN §3 step 1): sums over one's contacts
    from one pass over the sources' ties (the counts of active, engaged and joined contacts;
    good posts; what contacts got out of it; what they read; engaged contacts in other teams),
    a pass over the coaching champions' ties, and a sum of noise only in weeks when someone
    posted hollow content.

    Communities: a share ``community_reach`` of the good posts made anywhere in the
    organisation last week reaches every reader too (groups one follows, feeds, search), so that
    what there is to read does not depend on one's own contacts alone.

    The contagion threshold counts active contacts, and contacts who have joined but were idle
    last week at the weight ``joined_signal`` (a sign-up is a lasting signal: Centola 2010).

    Spill-over: what one's active contacts read from *their* contacts last week reaches one too,
    at the rate ``spillover`` (reshares, mentions, answers found), so a well-connected poster's
    content travels two steps. Community management (``curation``) filters hollow posts and
    surfaces more good ones.

    What contacts read, and who has joined, are left out of the pass while no run passes
    posts on (``spillover``) or counts idle users (``joined_signal``): fewer sums to add, the
    same results."""
    a = state.active
    engaged = a & (state.stage >= SHARE)
    joining = held(b, "joined_signal")  # only then do users who are idle count
    passing = held(b, "spillover")
    good_posts = state.posts * (1 - state.low_quality)
    values = (good_posts, state.benefit, state.read) if passing else (good_posts, state.benefit)
    counts, sums, cross = net.contacts(
        a | state.user if joining else a,
        (a, engaged, state.user) if joining else (a, engaged),
        values,
        engaged,
    )
    n_active, engaged_contacts, *joined = counts  # joined: [users] when joining
    direct, heard, *read = sums  # read: [what contacts read] when passing
    c = net.champions
    coaching = net.coaching(a[c] * state.sense[c] * levers.coaching[c])
    noisy = state.posts * state.low_quality
    noise = net.sums(noisy > 0, noisy)
    curation = fused.if_held(levers.curation)
    if curation.size:
        noise = noise * (1 - b.curation_noise_cut * curation)
    # One compiled pass (``models.fused.exposure``) does, row by row, exactly these float32
    # operations (a term nobody has this week left out):
    #   share = active contacts / degree;  signals = active + joined_signal · (joined - active)
    #   signal_share = signals / degree;  heard = heard / max(active contacts, 1)
    #   manager_active = [has a manager and the manager was active]
    #   leading = (leading lever · sense) of one's manager · [has a manager]
    #   reading = (direct + spillover · read + community_reach · everyone's good posts)
    #             · (1 + curation_reading_gain · curation)
    #   cross = cross · cross_reach;  the returns x / (x + half_contacts) of active contacts,
    #   engaged ones and cross, and g_reading = reading / (reading + half_posts)
    n = a.size
    share, signals, signal_share, heard_mean, manager_active, leading, reading, g_reading = (
        np.empty((len(EXPOSED), n), REAL)
    )
    g = np.empty((len(STAGE_RETURNS), n), REAL)
    fused.exposure(
        n_active,
        engaged_contacts,
        joined[0] if joining else fused.NOBODY,
        direct,
        heard,
        read[0] if passing else fused.NOBODY,
        # the organisation's posts, through communities
        (
            b.community_reach * net.everyone(good_posts)
            if held(b, "community_reach")
            else fused.NOBODY
        ),
        curation,
        cross,
        levers.cross_reach,
        net.degree,
        net.has_manager,
        net.manager,
        a,
        levers.leading,
        state.sense,
        fused.parameters(b, *EXPOSURE_TERMS),
        share,
        signals,
        signal_share,
        heard_mean,
        manager_active,
        leading,
        reading,
        g,
        g_reading,
    )
    g_active, g_engaged, g_cross = g
    return Exposure(
        active=n_active,
        share=share,
        signals=signals,
        signal_share=signal_share,
        engaged=engaged_contacts,
        reading=reading,
        direct=direct,
        cross=cross,
        coaching=coaching,
        noise=noise,
        heard=heard_mean,
        manager_active=manager_active,
        leading=leading,
        g_active=g_active,
        g_engaged=g_engaged,
        g_cross=g_cross,
        g_reading=g_reading,
        returns=g,
    )


def held(b: Behaviour, name: str) -> bool:
    """Whether the parameter ``name`` of ``b`` (a number, or one value a row) is non-zero
    anywhere: worked out once a run (``fused.kept``), not every week."""
    return fused.kept(b, ("held", name), lambda b: bool(np.asarray(getattr(b, name)).any()))


def _returns_fade(b: Behaviour) -> bool:
    """Whether ``return_contagion`` is below 1 anywhere: contacts' use is news only once."""
    return bool(np.any(np.asarray(b.return_contagion) < 1))


@dataclass(frozen=True, eq=False)
class Decision:
    """A week's chance of an action, and what the levers added to it.

    ``hollow`` is the hollow share of the activity if it happens: the share the levers added
    beyond one's own reasons (``added``), weighted by how hollow each lever's activity is.
    ``events`` is the share campaign events added. ``own`` (activity only) is one's
    willingness: the chance one's own reasons give in a week one's work calls for the network
    (before ``need``)."""

    probability: np.ndarray
    hollow: np.ndarray | None = None  # None: no lever ran this week
    events: np.ndarray | None = None
    own: np.ndarray | None = None


def _lever_share(added: np.ndarray, weights: list, total: np.ndarray) -> np.ndarray:
    """``added`` × (Σ weight × term) / Σ term: the lever-added share, split among the levers in
    proportion to their terms and weighted by each one's hollowness."""
    weighted = sum(w * t for w, t in weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        return choose(total > 0, added * weighted / total, 0).astype(REAL, copy=False)


def trial_probability(
    state: AgentState, traits: Traits, ex: Exposure, b: Behaviour, levers: Levers
) -> Decision:
    """Weekly chance that a non-user tries the network (DESIGN §3 step 1).

    Independent routes combine as 1 - Π(1 - p): a Bass-style hazard (spontaneous trial p,
    imitation q of active contacts, manager role modelling, champion coaching, value
    conversations led by one's manager) converted from per-year to per-week, a
    complex-contagion route once enough contacts are active, a leader's own commitment to use
    it — one's own reasons — and the levers: the pressure of a mandate, the awareness from a
    campaign, and rewards for taking part.

    Contagion (imitation and the threshold route) is news only once: for someone who used the
    network before and stopped, contacts' use counts at the weight ``return_contagion``; they
    come back for their own reasons and the levers.

    As in ``activity_probability``, one's own reasons act only in the weeks one's work calls
    for the network (the trait ``need``): someone who rarely needs it also tries it late, or
    never, however many contacts use it; the levers act in any week.
    """
    # One compiled pass (``models.fused.trial_hazard``) does, row by row, exactly these
    # float32 operations:
    #   met = signals ≥ threshold_count and signal_share ≥ threshold
    #   imitation = imitation_q · share;  reinforced = met · complex_prob
    #   both times return_contagion for those who used it before, if it is below 1 anywhere
    #   hazard = (innovation_p + imitation + manager_pull · manager_active
    #             + coaching_pull · coaching + leading_pull · leading) / 52
    hazard, keep = np.empty(state.n, REAL), np.empty(state.n, REAL)
    fused.trial_hazard(
        ex.signals,
        ex.signal_share,
        traits.threshold,
        ex.share,
        state.ever,
        ex.manager_active,
        ex.coaching,
        ex.leading,
        fused.kept(b, _returns_fade, _returns_fade),
        fused.parameters(b, *HAZARD_TERMS),
        hazard,
        keep,
    )
    own = np.exp(-hazard) * keep  # keep = 1 - reinforced
    if levers.role_model.any():
        own = own * (1 - levers.role_model)
    alone = traits.need * (1 - own)
    push = levers.pressure
    events = levers.awareness
    if not (push.any() or events.any() or levers.reward.any()):
        return Decision(alone)
    own = 1 - alone
    paid = 1 - np.exp(-b.reward_pull * levers.reward / WEEKS_PER_YEAR)
    stay = own * (1 - push) * (1 - events) * (1 - paid)
    probability = 1 - stay
    with np.errstate(invalid="ignore", divide="ignore"):
        added = choose(probability > 0, (own - stay) / probability, 0)
    total = push + events + paid
    hollow = _lever_share(
        added,
        [(b.hollow_pressure, push), (b.hollow_event, events), (levers.reward_hollow, paid)],
        total,
    )
    return Decision(probability, hollow, _lever_share(added, [(1, events)], total))


def activity_probability(
    state: AgentState, traits: Traits, ex: Exposure, b: Behaviour, levers: Levers
) -> Decision:
    """Weekly chance that a user is active: a logit of one's own reasons (value, sense,
    motivation, contacts, habit, a leader's commitment, less reactance) plus the levers'
    terms (mandate pressure, extrinsic motivation from rewards, campaign awareness).

    One's own reasons act only in the weeks one's work calls for the network (the trait
    ``need``, a share of weeks: it is one of several channels); what the levers add acts in any
    week. So the chance is σ(own + levers) − (1 − need)·σ(own): need·σ(own) with no lever.

    What the levers add — the chance with them minus the chance without, as a share of the
    chance with them — is activity one would not have had on one's own; a lever's hollow
    weight says how much of it is hollow (``Decision``). A mandated person who already sees
    value was going to be active anyway: the lever adds (almost) nothing, and nothing hollow.
    """
    # One compiled pass (``models.fused.activity_logit``) does, row by row, exactly these
    # float32 operations:
    #   own = activity_base + value_weight · (perceived - time_cost) / time_cost (the
    #         parameter) + sense_weight · sense + intrinsic_weight · intrinsic
    #         + social_weight · share + manager_weight · manager_active
    #         + habit_weight · [active and benefit ≥ time_spent] - reactance_weight · reactance
    own = np.empty(state.n, REAL)
    fused.activity_logit(
        state.perceived,
        state.time_cost,
        state.sense,
        state.intrinsic,
        ex.share,
        ex.manager_active,
        state.active,
        state.benefit,
        state.time_spent,
        state.reactance,
        fused.parameters(b, *LOGIT_TERMS),
        own,
    )
    if levers.role_model.any():
        own = own + b.role_model_weight * levers.role_model
    willing = _logistic(own)
    alone = traits.need * willing
    if not (levers.pressure.any() or state.extrinsic.any() or levers.awareness.any()):
        return Decision(alone, own=willing)
    pressed = b.pressure_weight * levers.pressure * (1 - state.reactance)
    paid = b.extrinsic_weight * state.extrinsic
    events = b.awareness_weight * levers.awareness
    total = pressed + paid + events
    # σ(own + total) − σ(own), written without subtracting two numbers near 1 (float32 would
    # lose the small lift of a nearly willing person): σ(own + total)·σ(−own)·(1 − e^−total)
    lift = _logistic(own + total) * _logistic(-own) * -np.expm1(-total)
    probability = alone + lift
    with np.errstate(invalid="ignore", divide="ignore"):  # probability 0: nobody to split
        added = lift / probability
    hollow = _lever_share(
        added,
        [(b.hollow_pressure, pressed), (state.extrinsic_hollow, paid), (b.hollow_event, events)],
        total,
    )
    return Decision(probability, hollow, _lever_share(added, [(1, events)], total), willing)


def _logistic(x: np.ndarray) -> np.ndarray:
    """σ(x). Far below zero (x < -88 in float32, reached at the ends of a study's ranges)
    exp overflows to inf and σ is 0, as it should be: no warning for that."""
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def contributions(
    active: np.ndarray,
    stage: np.ndarray,
    traits: Traits,
    ex: Exposure,
    b: Behaviour,
    levers: Levers,
    u: np.ndarray,
    who: np.ndarray,
) -> np.ndarray:
    """Posts this week: geometric counts (inverse transform of ``u``) with a mean that grows
    with propensity, stage, the feedback engaged contacts give (Brzozowski et al. 2009),
    rewards per post and a leader's commitment to work out loud. Only active people post, so
    only their rows (``who``) are computed: their means in one compiled pass
    (``models.fused.posting_means``, the float32 operations of ``mean = propensity ·
    posting factor of one's stage · (1 + feedback_gain · g_engaged) · posting · (1 +
    role_model_posting · role_model)``), their counts with NumPy's ``log1p``."""
    mean = np.empty(who.size, REAL)
    fused.posting_means(
        who,
        traits.propensity,
        stage,
        ex.g_engaged,
        levers.posting,
        fused.if_held(levers.role_model),
        fused.parameters(b, *POSTING_TERMS),
        mean,
    )
    with np.errstate(divide="ignore"):
        # log(mean / (1 + mean)), written so that it stays below 0 for any mean in float32
        counts = np.floor(np.log1p(-u[who]) / -np.log1p(1 / mean))
    posts = np.zeros(active.size, REAL)
    # 0 where the mean is 0 (1/0 = inf: the count is already +0) and never NaN: ``fmax`` is
    # ``np.where(mean > 0, counts, 0)`` for any mean, without a pass over the mean
    posts[who] = np.fmax(counts, 0, out=counts)
    return posts


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

    # Trial and activity (DESIGN §3 step 2), and the share of it the levers made hollow.
    trial = trial_probability(state, traits, ex, b, levers)
    use = (
        activity_probability(state, traits, ex, b, levers)
        if b.value_dynamics
        else Decision(np.ones(state.n, REAL))
    )
    # One compiled pass (``models.fused.decide``) does, row by row, what these did:
    #   new = not a user and u_trial < trial probability
    #   stays = a user and (u_activity < activity probability, with value dynamics)
    #   active = stays or new;  user = a user or new;  ever |= new
    #   stage = max(stage, Connect) for newcomers
    new, stays = np.empty(state.n, bool), np.empty(state.n, bool)
    active, user = np.empty(state.n, bool), np.empty(state.n, bool)
    fused.decide(
        was_user,
        draws[TRIAL],
        trial.probability,
        draws[ACTIVITY],
        use.probability if b.value_dynamics else fused.NOBODY,
        new,
        stays,
        active,
        user,
        state.ever,
        state.stage,
    )
    stage = state.stage
    if trial.hollow is not None and use.own is not None:
        # A newcomer a lever brought in is hollow only as far as their own reasons would not
        # have them use it: someone who already expects value, pushed to try it now, is not —
        # even in a week their work does not call for it (a lever acts on willingness, not on
        # need: the activity rule's addition does not depend on need either).
        unwilling = 1 - use.own
        trial = Decision(trial.probability, trial.hollow * unwilling, trial.events * unwilling)
    low_quality = _of_the_week(new, stays, trial.hollow, use.hollow)
    events = _of_the_week(new, stays, trial.events, use.events)

    # Contributions.
    who = np.flatnonzero(active)  # the rows of the active, whom posting and moving up concern
    posts = contributions(active, stage, traits, ex, b, levers, draws[POSTS], who)

    # Experienced value (step 3): each stage adds a benefit that needs others — posts to
    # read (Connect), an audience that answers (Share), engaged contacts to solve problems
    # with (Solve), engaged contacts in other teams to combine ideas with (Innovate) — scaled
    # by how relevant it is to one's job and one's sense, and for the strategic stages by
    # one's alignment. Reading what is shown takes time (limited attention: ``read_time``).
    # One compiled pass (``models.fused.experience``) does, row by row, exactly these float32
    # operations:
    #   skill = act · relevance · (skill_floor + (1 - skill_floor) · sense)
    #   personal = skill · (benefit_connect · g_reading + [stage ≥ Share] · g_active ·
    #              benefit_share)
    #   strategic = skill · alignment · ([stage ≥ Solve] · g_engaged · benefit_solve +
    #               [stage ≥ Innovate] · g_cross · benefit_innovate)
    #   noise_cost = act · noise_hours · noise
    #   time_spent = act · (time_cost + post_time · posts + read_time · reading)
    #   benefit = personal + strategic - noise_cost
    #   value_personal = personal - noise_cost - time_spent;  value_strategic = strategic
    benefit, time_spent = np.empty(state.n, REAL), np.empty(state.n, REAL)
    state.value_personal, state.value_strategic = np.empty(state.n, REAL), np.empty(state.n, REAL)
    fused.experience(
        active,
        stage,
        state.relevance,
        state.sense,
        state.alignment,
        state.time_cost,
        posts,
        ex.g_reading,
        ex.g_active,
        ex.g_engaged,
        ex.g_cross,
        ex.noise,
        ex.reading,
        fused.parameters(b, *EXPERIENCE_TERMS),
        benefit,
        time_spent,
        state.value_personal,
        state.value_strategic,
    )

    if b.value_dynamics:
        _learn(state, traits, ex, b, levers, active, benefit, low_quality)
        _move_stages(state, ex, b, active, draws[STAGE])
        _motivate(state, traits, b, levers, active, posts, low_quality, benefit, time_spent)

    # One compiled pass (``models.fused.close_week``) does, row by row, these float32 and
    # integer operations (the first only with value dynamics):
    #   user &= not (was a user, not active, perceived < time_cost,
    #                u_abandon < abandon_rate · (1 - share of contacts active))
    #   idle = (idle + 1) · not active;  read = direct · active
    #   total_posts += posts;  total_value += value_personal + value_strategic
    # before the network's fit to work moves time_cost for next week
    idle, read = np.empty(state.n, np.int32), np.empty(state.n, REAL)
    fused.close_week(
        active,
        was_user,
        state.perceived if b.value_dynamics else fused.NOBODY,
        state.time_cost,
        draws[ABANDON],
        ex.share,
        fused.parameters(b, "abandon_rate"),
        state.idle,
        ex.direct,
        posts,
        state.value_personal,
        state.value_strategic,
        user,
        idle,
        read,
        state.total_posts,
        state.total_value,
    )
    if b.value_dynamics:
        _fit_to_work(state, traits, b, levers, events)

    state.user = user
    state.active = active
    state.idle = idle  # 0 if active
    state.posts = posts
    state.time_spent = time_spent
    state.read = read  # 0 where not active
    state.low_quality = low_quality
    state.event_share = events
    state.benefit = benefit


def _of_the_week(new, stays, for_new, for_stays) -> np.ndarray:
    """A share for this week's active people: from the trial decision for newcomers, from the
    activity decision for users; 0 where no lever ran. (``choose`` picks: several times as
    fast as copying into zeros where a mask holds.)"""
    share = np.zeros(new.size, REAL) if for_stays is None else choose(stays, for_stays, REAL(0))
    if for_new is not None:
        share = choose(new, for_new, share)
    return share.astype(REAL, copy=False)


def _learn(state, traits, ex, b, levers, active, benefit, low_quality) -> None:
    """Perceived value moves toward what one experiences (or hears from active contacts, or
    from value stories); sense grows with one's own genuine use (not with hollow use), with
    coaching, leader-led sense-making and training, and fades with disuse; alignment grows
    when managers lead value conversations and with strategic-alignment work (DESIGN §3
    step 4).

    One compiled pass (``models.fused.learn``) does, row by row, exactly these float32
    operations (a lever nobody holds is left out):
      perceived += value_learning · (benefit - perceived) if active, else
                   hearsay_learning · share · (heard - perceived)
      perceived += stories · (heard - perceived) · [active contacts > 0]
      gain = (1 - hollow) · active · use_learning + coaching_learning · (1 - e^-coaching)
             + leading_learning · leading + sense_push
      sense += (1 - sense) · min(gain, 1) - sense · (not active) · sense_forgetting
      push = alignment_learning · leading + alignment_push
      alignment += (1 - alignment) · min(push, 1) - alignment_decay · (alignment - base)
    """
    fused.learn(
        active,
        benefit,
        low_quality,
        ex.share,
        ex.heard,
        ex.active,
        1 - np.exp(-ex.coaching),  # NumPy's exp (see ``models.fused``)
        ex.leading,
        traits.alignment_base,
        fused.if_held(levers.stories),
        fused.if_held(levers.sense_push),
        fused.if_held(levers.alignment_push),
        fused.parameters(b, *LEARNING_TERMS),
        state.perceived,
        state.sense,
        state.alignment,
    )


def _fit_to_work(state, traits, b, levers, events) -> None:
    """How the network fits one's work, for next week (this week's value and decisions used
    this week's): use cases raise relevance and integration cuts time cost (down to a floor)
    on their pulse weeks; event-only use lowers relevance (it teaches that the network is for
    events); both drift back to their baseline at ``work_drift``. Skipped while nothing has
    moved them."""
    pushed = levers.relevance_push.any() or levers.time_cut.any()
    backfire = held(b, "event_relevance_loss") and events.any()
    moved = pushed or backfire or (state.relevance != traits.relevance_base).any()
    if moved:
        state.relevance += np.minimum(levers.relevance_push, 1) * (1 - state.relevance)
        state.relevance -= b.event_relevance_loss * events * state.relevance
        state.relevance -= b.work_drift * (state.relevance - traits.relevance_base)
    if pushed or (state.time_cost != traits.time_cost_base).any():
        floor = b.flow_time_floor * traits.time_cost_base
        cut = np.minimum(levers.time_cut, 1)
        state.time_cost -= cut * np.maximum(state.time_cost - floor, 0)
        state.time_cost += b.work_drift * (traits.time_cost_base - state.time_cost)


def _move_stages(state, ex, b, active, u) -> None:
    """Up one stage with sense, alignment and the right contacts; down after idle weeks
    (DESIGN §3 step 5). Sharing needs an audience (active contacts), solving needs engaged
    contacts and alignment, innovating needs engaged contacts in other teams.

    Only active people move up: readiness is computed for their rows alone, as
    sense (at Connect) or sense × alignment times the returns of the contacts their stage
    needs (``Exposure.returns``), and 0 at the top stage.

    One compiled pass (``models.fused.move_stages``) does, row by row, exactly these float32
    operations:
      the active: up one stage if u < stage_up · min(readiness, 1), where readiness =
                  (sense at Connect, else sense · alignment) · the returns of the contacts
                  the stage needs · [below Innovate]
      the others: down one stage if idle + 1 ≥ idle_weeks, at Share or above, and
                  u < stage_down
    """
    fused.move_stages(
        state.stage,
        active,
        state.sense,
        state.alignment,
        ex.returns,
        state.idle,
        u,
        fused.parameters(b, "stage_up", "idle_weeks", "stage_down"),
    )


def _motivate(state, traits, b, levers, active, posts, low_quality, benefit, time_spent) -> None:
    """Intrinsic motivation follows satisfaction, is crowded out in people who receive rewards
    and eroded by reactance; extrinsic motivation tracks rewards and decays after them;
    reactance grows under pressure in people who see little value (DESIGN §3 step 6).

    One compiled pass (``models.fused.motivate``) does, row by row, exactly these float32
    operations, leaving out the terms that are zero for everyone this week (no rewards, no
    pressure, no reactance, no extrinsic motivation):
      spent = max(time_spent, time_cost);  s = clip((benefit - spent) / spent, -1, 1)
      intrinsic += s · (1 - intrinsic if s > 0 else intrinsic) · active · intrinsic_learning
      intrinsic -= received · crowding · reward · intrinsic, where received: the reward is
                   contingent on taking part (active), on posting (posts > 0) or on posting
                   something good (posts · (1 - hollow) ≥ 1); extrinsic_hollow = the
                   reward's hollow weight where a reward runs
      intrinsic -= reactance_erosion · reactance · intrinsic
      perceived -= reactance_erosion · reactance · max(perceived, 0)
      extrinsic = max(reward, extrinsic · (1 - extrinsic_decay))
      reactance += reactance_gain · pressure · (1 - clip(perceived / time_cost, 0, 1)) ·
                   (1 - reactance);  reactance -= reactance_decay · reactance
      intrinsic, reactance clipped to [0, 1]
    """
    fused.motivate(
        active,
        posts,
        low_quality,
        benefit,
        time_spent,
        state.time_cost,
        fused.if_held(levers.reward),
        levers.reward_basis,
        levers.crowding,
        levers.reward_hollow,
        fused.if_held(levers.pressure),
        bool(state.reactance.any()),
        bool(state.extrinsic.any()),
        fused.parameters(b, *MOTIVATION_TERMS),
        state.intrinsic,
        state.extrinsic,
        state.extrinsic_hollow,
        state.reactance,
        state.perceived,
    )
