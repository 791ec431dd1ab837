"""Weekly rules that are a long chain of element-wise operations, each as one compiled pass
over the rows (Numba) instead of a NumPy pass per operation.

At 10,000 people a NumPy operation over the rows costs 1–3 µs, most of it reading and
writing the arrays; a rule of twenty such operations is then several times the cost of one
pass that does them all on each row while its values are at hand. Each pass here does, row
by row, exactly the float32 operations of the NumPy expressions it replaces, in their order
(``models/dynamics.py`` gives each one beside its call), so the results are the same to the
bit: a number the rules use (a parameter) is rounded to float32 as NumPy rounds a Python
number it combines with a float32 array (``scalar``), and a parameter with one value per
row (an ensemble whose runs differ in it) is read at the row (``row``). The transcendental
functions stay in NumPy, whose float32 ``exp`` and ``log`` differ in their last bits from the
compiled ones: their results come in as arrays.
"""

from collections.abc import Callable

import numba
import numpy as np
from numba.extending import overload

from models.compiled import compiled
from models.state import CONNECT, INNOVATE, REAL, REWARD_BASES, SHARE, SOLVE

ENGAGEMENT, COMPLETION, PERFORMANCE = (REWARD_BASES.index(k) for k in REWARD_BASES[1:])
#: The rows of the returns table (``dynamics.Exposure.returns``) that moving up from Connect,
#: Share and Solve reads: those of active contacts, engaged ones, engaged ones in other teams.
FROM_CONNECT, FROM_SHARE, FROM_SOLVE = (s - CONNECT for s in (CONNECT, SHARE, SOLVE))


#: What a pass gets for a lever or a term nobody has this week: no values, and it leaves the
#: term out (a pass tests ``.size``).
NOBODY = np.zeros(0, REAL)


def if_held(lever: np.ndarray) -> np.ndarray:
    """``lever`` if anyone holds it this week, else ``NOBODY``."""
    return lever if lever.any() else NOBODY


def scalar(value):
    """A parameter as the passes take it: a number as NumPy rounds it against float32 arrays
    (``np.float32``), an array (one value per row, float32) as it is."""
    return value if isinstance(value, np.ndarray) else REAL(value)


#: key → (the Behaviour it was last worked out for, what was worked out): ``kept``.
_KEPT: dict = {}


def kept(b, key, work_out: Callable):
    """``work_out(b)`` for the Behaviour ``b``, kept under ``key`` for the last Behaviour asked
    about (a run steps with one Behaviour throughout): what a step asks of its parameters —
    converted for the passes, or whether anyone holds one — is then worked out once a run,
    not every week. The Behaviour is held while kept, so the identity test cannot mistake a
    new one for it."""
    entry = _KEPT.get(key)
    if entry is None or entry[0] is not b:
        entry = _KEPT[key] = (b, work_out(b))
    return entry[1]


def parameters(b, *terms) -> tuple:
    """The parameters ``terms`` of the Behaviour ``b`` — names of its fields, or functions of
    it (``1 - skill_floor``) — as the passes take them (``scalar``), kept (``kept``): a step
    would otherwise spend more on converting them than a pass spends on a thousand rows."""
    return kept(
        b,
        terms,
        lambda b: tuple(scalar(term(b) if callable(term) else getattr(b, term)) for term in terms),
    )


def row(value, i):
    """A parameter's value at row ``i``: itself if it is one number, else ``value[i]``."""
    return value[i] if isinstance(value, np.ndarray) else value


@overload(row)
def _row(value, i):  # pragma: no cover  (compiled)
    if isinstance(value, numba.types.Array):
        return lambda value, i: value[i]
    return lambda value, i: value


@compiled
def experience(
    active, stage, relevance, sense, alignment, time_cost, posts, g_reading, g_active, g_engaged,
    g_cross, noise, reading, p, benefit, time_spent, value_personal, value_strategic,
):  # pragma: no cover  (compiled)  # fmt: skip
    """Experienced value and time of the week (``dynamics.advance``, step 3), into
    ``benefit``, ``time_spent``, ``value_personal`` and ``value_strategic``. ``p``:
    skill_floor, 1 - skill_floor, benefit_connect, benefit_share, benefit_solve,
    benefit_innovate, noise_hours, post_time, read_time (``scalar``)."""
    floor, rest, connect, share, solve, innovate, noise_hours, post_time, read_time = p
    for i in range(active.size):
        act, s = REAL(active[i]), stage[i]
        skill = act * relevance[i] * (row(floor, i) + row(rest, i) * sense[i])
        personal = skill * (
            row(connect, i) * g_reading[i] + REAL(s >= SHARE) * g_active[i] * row(share, i)
        )
        strategic = (
            skill
            * alignment[i]
            * (
                REAL(s >= SOLVE) * g_engaged[i] * row(solve, i)
                + REAL(s >= INNOVATE) * g_cross[i] * row(innovate, i)
            )
        )
        noise_cost = act * row(noise_hours, i) * noise[i]
        spent = act * (time_cost[i] + row(post_time, i) * posts[i] + row(read_time, i) * reading[i])
        benefit[i] = personal + strategic - noise_cost
        time_spent[i] = spent
        value_personal[i] = personal - noise_cost - spent
        value_strategic[i] = strategic


@compiled
def learn(
    active, benefit, low_quality, share, heard, contacts, coached, leading, alignment_base,
    stories, sense_push, alignment_push, p, perceived, sense, alignment,
):  # pragma: no cover  (compiled)  # fmt: skip
    """Learning of the week (``dynamics._learn``), in place in ``perceived``, ``sense`` and
    ``alignment``. ``coached`` is 1 - exp(-coaching); a lever nobody holds comes as an empty
    array. ``p``: value_learning, hearsay_learning, use_learning, coaching_learning,
    leading_learning, sense_forgetting, alignment_learning, alignment_decay (``scalar``)."""
    value_l, hearsay_l, use_l, coaching_l, leading_l, forgetting, align_l, align_decay = p
    one = REAL(1)
    for i in range(active.size):
        a = active[i]
        if a:
            perceived[i] += row(value_l, i) * (benefit[i] - perceived[i])
        else:
            perceived[i] += row(hearsay_l, i) * share[i] * (heard[i] - perceived[i])
        if stories.size:
            perceived[i] += stories[i] * (heard[i] - perceived[i]) * REAL(contacts[i] > 0)
        use = (one - low_quality[i]) * REAL(a) * row(use_l, i)
        gain = use + row(coaching_l, i) * coached[i] + row(leading_l, i) * leading[i]
        if sense_push.size:
            gain += sense_push[i]
        forget = (sense[i] * REAL(not a)) * row(forgetting, i)
        sense[i] += (one - sense[i]) * min(gain, one) - forget
        push = row(align_l, i) * leading[i]
        if alignment_push.size:
            push += alignment_push[i]
        alignment[i] += (one - alignment[i]) * min(push, one) - row(align_decay, i) * (
            alignment[i] - alignment_base[i]
        )


@compiled
def motivate(
    active, posts, low_quality, benefit, time_spent, time_cost, reward, reward_basis, crowding,
    reward_hollow, pressure, reacting, rewarded_before, p, intrinsic, extrinsic,
    extrinsic_hollow, reactance, perceived,
):  # pragma: no cover  (compiled)  # fmt: skip
    """Motivation and reactance of the week (``dynamics._motivate``), in place. A lever nobody
    holds (``reward``, ``pressure``) comes as an empty array; ``reacting``: someone has
    reactance; ``rewarded_before``: someone has extrinsic motivation. ``p``:
    intrinsic_learning, reactance_erosion, 1 - extrinsic_decay, reactance_gain,
    reactance_decay (``scalar``)."""
    learning, erosion, keep, gain, decay = p
    zero, one = REAL(0), REAL(1)
    paying, pressing = reward.size > 0, pressure.size > 0
    for i in range(active.size):
        spent = max(time_spent[i], time_cost[i])
        satisfaction = min(max((benefit[i] - spent) / spent, -one), one)
        room = one - intrinsic[i] if satisfaction > 0 else intrinsic[i]
        intrinsic[i] += satisfaction * room * REAL(active[i]) * row(learning, i)
        paid = reward[i] if paying else zero
        if paying:
            basis, good = reward_basis[i], posts[i] * (one - low_quality[i]) >= 1
            received = paid > 0 and (
                (basis == ENGAGEMENT and active[i])
                or (basis == COMPLETION and posts[i] > 0)
                or (basis == PERFORMANCE and good)
            )
            intrinsic[i] -= REAL(received) * crowding[i] * paid * intrinsic[i]
            if paid > 0:
                extrinsic_hollow[i] = reward_hollow[i]
        if reacting:
            intrinsic[i] -= row(erosion, i) * reactance[i] * intrinsic[i]
            perceived[i] -= row(erosion, i) * reactance[i] * max(perceived[i], zero)
        if paying or rewarded_before:
            extrinsic[i] = max(paid, extrinsic[i] * row(keep, i))
        if pressing:
            seen = min(max(perceived[i] / time_cost[i], zero), one)
            reactance[i] += row(gain, i) * pressure[i] * (one - seen) * (one - reactance[i])
        if reacting or pressing:
            reactance[i] -= row(decay, i) * reactance[i]
        intrinsic[i] = min(max(intrinsic[i], zero), one)
        reactance[i] = min(max(reactance[i], zero), one)


@compiled
def trial_hazard(
    signals, signal_share, threshold, share, ever, manager_active, coaching, leading, fading,
    p, hazard, keep,
):  # pragma: no cover  (compiled)  # fmt: skip
    """The weekly hazard of trying the network from one's own reasons (before ``exp``) and
    1 - the complex-contagion route (``dynamics.trial_probability``), into ``hazard`` and
    ``keep``; ``fading``: contacts' use counts at ``return_contagion`` for those who used it
    before. ``p``: threshold_count, imitation_q, complex_prob, return_contagion,
    innovation_p, manager_pull, coaching_pull, leading_pull, weeks a year (``scalar``)."""
    count, q, complex_prob, returning, p0, manager, coach, lead, weeks = p
    one = REAL(1)
    for i in range(share.size):
        met = signals[i] >= row(count, i) and signal_share[i] >= threshold[i]
        imitation = row(q, i) * share[i]
        reinforced = REAL(met) * row(complex_prob, i)
        if fading:
            news = row(returning, i) if ever[i] else one
            imitation, reinforced = imitation * news, reinforced * news
        hazard[i] = (
            row(p0, i)
            + imitation
            + row(manager, i) * manager_active[i]
            + row(coach, i) * coaching[i]
            + row(lead, i) * leading[i]
        ) / row(weeks, i)
        keep[i] = one - reinforced


@compiled
def activity_logit(
    perceived, time_cost, sense, intrinsic, share, manager_active, active, benefit, time_spent,
    reactance, p, own,
):  # pragma: no cover  (compiled)  # fmt: skip
    """The logit of one's own reasons to be active this week (``dynamics.activity_probability``,
    before any lever), into ``own``. ``p``: activity_base, value_weight, time_cost (the
    parameter), sense_weight, intrinsic_weight, social_weight, manager_weight, habit_weight,
    reactance_weight (``scalar``)."""
    base, value_w, hours, sense_w, intrinsic_w, social_w, manager_w, habit_w, reactance_w = p
    for i in range(own.size):
        habit = REAL(active[i] and benefit[i] >= time_spent[i])
        own[i] = (
            row(base, i)
            + row(value_w, i) * (perceived[i] - time_cost[i]) / row(hours, i)
            + row(sense_w, i) * sense[i]
            + row(intrinsic_w, i) * intrinsic[i]
            + row(social_w, i) * share[i]
            + row(manager_w, i) * manager_active[i]
            + row(habit_w, i) * habit
            - row(reactance_w, i) * reactance[i]
        )


@compiled
def exposure(
    n_active, engaged, joined, direct, heard, read, community, curation, cross, cross_reach, degree,
    has_manager, manager, active, leading_lever, sense, p, share, signals, signal_share,
    heard_mean, manager_active, leading, reading, returns, g_reading,
):  # pragma: no cover  (compiled)  # fmt: skip
    """What the step reads of one's contacts, from the sums over them (``dynamics.expose``).
    ``joined``, ``read``, ``community``, ``curation``: empty when nobody counts idle users,
    passes posts on, reads the organisation's posts or curates. ``returns`` gets the
    diminishing returns of active contacts, of engaged ones and of ``cross`` (engaged ones in
    other teams, multiplied in place by ``cross_reach``) as its rows.
    ``p``: joined_signal, spillover, curation_reading_gain, half_contacts, half_posts
    (``scalar``)."""
    joined_signal, spillover, curation_gain, half_contacts, half_posts = p
    one = REAL(1)
    for i in range(n_active.size):
        count = n_active[i]
        signal = count + row(joined_signal, i) * (joined[i] - count) if joined.size else count
        share[i] = count / degree[i]
        signals[i] = signal
        signal_share[i] = signal / degree[i]
        heard_mean[i] = heard[i] / max(count, one)
        m = manager[i]
        manager_active[i] = REAL(has_manager[i] and active[m])
        leading[i] = leading_lever[m] * sense[m] * REAL(has_manager[i])
        seen = direct[i] + row(spillover, i) * read[i] if read.size else direct[i]
        if community.size:
            seen = seen + community[i]
        if curation.size:
            seen = seen * (one + row(curation_gain, i) * curation[i])
        reading[i] = seen
        g_reading[i] = seen / (seen + row(half_posts, i))
        cross[i] = cross[i] * cross_reach[i]
        half = row(half_contacts, i)
        returns[FROM_CONNECT, i] = count / (count + half)
        returns[FROM_SHARE, i] = engaged[i] / (engaged[i] + half)
        returns[FROM_SOLVE, i] = cross[i] / (cross[i] + half)


@compiled
def move_stages(
    stage, active, sense, alignment, returns, idle, u, p,
):  # pragma: no cover  (compiled)  # fmt: skip
    """Stage moves of the week (``dynamics._move_stages``), in place in ``stage``: up for the
    active with the readiness their stage needs (``returns``' row for it), down after idle
    weeks. ``p``: stage_up, idle_weeks, stage_down (``scalar``)."""
    stage_up, idle_weeks, stage_down = p
    one = REAL(1)
    for i in range(stage.size):
        s = stage[i]
        if active[i]:
            ready = sense[i] if s == CONNECT else sense[i] * alignment[i]
            readiness = ready * returns[min(s, SOLVE) - CONNECT, i] * REAL(s < INNOVATE)
            if u[i] < row(stage_up, i) * min(readiness, one):
                stage[i] = s + 1
        elif idle[i] + 1 >= row(idle_weeks, i) and s >= SHARE and u[i] < row(stage_down, i):
            stage[i] = s - 1


@compiled
def posting_means(
    who, propensity, stage, g_engaged, posting, role_model, p, mean,
):  # pragma: no cover  (compiled)  # fmt: skip
    """The mean number of posts this week of each active person (rows ``who``), into
    ``mean`` (``dynamics.contributions``): propensity · the stage's posting factor · (1 +
    feedback_gain · returns of engaged contacts) · the posting lever · (1 +
    role_model_posting · role_model; ``role_model`` empty when nobody holds it). ``p``:
    posting_connect, posting_share, posting_solve, posting_innovate, feedback_gain,
    role_model_posting (``scalar``)."""
    connect, share, solve, innovate, feedback, modelled = p
    one = REAL(1)
    for k in range(who.size):
        i, s = who[k], stage[who[k]]
        if s == CONNECT:
            factor = row(connect, i)
        elif s == SHARE:
            factor = row(share, i)
        elif s == SOLVE:
            factor = row(solve, i)
        elif s == INNOVATE:
            factor = row(innovate, i)
        else:
            factor = REAL(0)
        m = propensity[i] * factor
        m = m * (one + row(feedback, i) * g_engaged[i])
        m = m * posting[i]
        if role_model.size:
            m = m * (one + row(modelled, i) * role_model[i])
        mean[k] = m


@compiled
def decide(
    was_user, u_trial, trial, u_use, use, new, stays, active, user, ever, stage,
):  # pragma: no cover  (compiled)  # fmt: skip
    """Who tries the network and which users use it this week (``dynamics.advance``), into
    ``new``, ``stays``, ``active`` and ``user``; newcomers are marked in ``ever`` and put at
    least at Connect in ``stage`` (in place). ``use`` empty: no value dynamics (every user
    stays active)."""
    dynamic = use.size > 0
    for i in range(was_user.size):
        w = was_user[i]
        n = (not w) and u_trial[i] < trial[i]
        s = w and (u_use[i] < use[i] if dynamic else True)
        new[i] = n
        stays[i] = s
        active[i] = s or n
        user[i] = w or n
        if n:
            ever[i] = True
            if stage[i] < CONNECT:
                stage[i] = CONNECT


@compiled
def close_week(
    active, was_user, perceived, time_cost, u_leave, share, p, idle, direct, posts, personal,
    strategic, user, idle_next, read, total_posts, total_value,
):  # pragma: no cover  (compiled)  # fmt: skip
    """The end of the week (``dynamics.advance``): users who were idle, value it below the time
    it costs and draw below abandon_rate · (1 - share of contacts active) stop being users
    (``user``, in place; ``perceived`` empty: no value dynamics, nobody leaves); weeks idle
    into ``idle_next`` (0 if active), what one read of one's contacts into ``read`` (0 if not
    active); the cumulative posts and value, in place. ``p``: abandon_rate (``scalar``)."""
    (abandon,) = p
    one = REAL(1)
    leaving = perceived.size > 0
    for i in range(active.size):
        a = active[i]
        if (
            leaving
            and was_user[i]
            and not a
            and perceived[i] < time_cost[i]
            and u_leave[i] < row(abandon, i) * (one - share[i])
        ):
            user[i] = False
        idle_next[i] = (idle[i] + 1) * (not a)
        read[i] = direct[i] * REAL(a)
        total_posts[i] += posts[i]
        total_value[i] += personal[i] + strategic[i]
