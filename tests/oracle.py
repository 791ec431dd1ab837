"""The test oracle: a plain, per-agent implementation of the weekly step.

``models.dynamics.advance`` updates every agent at once with array operations and sparse
products, because the model must scale to hundreds of thousands of agents (DESIGN §5). That
speed comes at the price of readability: the rules are spread over masks, ``np.where`` and
column stacks, and an optimisation can change their meaning without any test of aggregate
behaviour noticing. DESIGN §5 therefore asks for "a plain per-agent implementation of the
same rules" as "a useful oracle in the tests at small sizes". This is it.

``oracle_advance`` is written from the equations (DESIGN §3 and docs/MODEL.md §3 and §7,
"Submodels"), not from the vectorised code: it loops over agents in Python, reads
each agent's contacts from the CSR ``indices``/``indptr`` of ``org.adjacency`` and
``org.cross_team``, and does scalar ``math`` per agent. It shares no helper with
``models.dynamics``, only the row numbers of the weekly draws and the stage and role codes.

Semantics it shares with the vectorised step:

* synchronous update: every quantity an agent reads about its contacts or its manager comes
  from last week's state (copied before anyone is updated);
* the same order of sub-steps within an agent's week: exposure, trial and activity,
  contributions, experienced value, learning, stage moves, motivation, abandonment;
* agent ``i`` uses the uniforms ``draws[:, i]``, one row per decision (``TRIAL``,
  ``ACTIVITY``, ``POSTS``, ``STAGE``, ``ABANDON``).

It also reports, for every agent, how close its week came to a knife edge: the smallest gap
between a uniform and the probability it was compared with (or between the two sides of any
other comparison that decides something discrete). The vectorised step works in float32 and
the oracle in float64, so where that gap is within rounding error the two may legitimately
decide differently; everywhere else they must agree.

It is slow (a few milliseconds a week for a hundred agents) and meant only for tests.
"""

import math
from dataclasses import fields

from models.dynamics import ABANDON, ACTIVITY, POSTS, STAGE, TRIAL
from models.params import WEEKS_PER_YEAR
from models.state import CHAMPION, CONNECT, INNOVATE, REWARD_BASES, SHARE, SOLVE, AgentState


def _saturating(x: float, half: float) -> float:
    """Diminishing returns: half the maximum at x = half."""
    return x / (x + half)


def _logistic(x: float) -> float:
    """1 / (1 + e^-x) without overflowing ``math.exp`` for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _contact_lists(matrix) -> list[list[int]]:
    """Row i's column indices of a CSR matrix, as a plain list per row."""
    indptr = matrix.indptr.tolist()
    indices = matrix.indices.tolist()
    return [indices[indptr[i] : indptr[i + 1]] for i in range(len(indptr) - 1)]


def _geometric(mean: float, u: float) -> tuple[int, float]:
    """A geometric count (0, 1, 2, ...) with the given mean, by inverse transform of ``u``,
    and how far the draw was from giving a different count.

    P(X >= k) = r^k with r = mean / (1 + mean), so X = floor(log(1 - u) / log r);
    log r is written as -log1p(1 / mean), which keeps its precision when the mean is large.
    The margin is the distance from the nearest count boundary (relative to the count), divided
    by (1 + mean), the factor by which rounding in r is magnified in log r.
    """
    if mean <= 0:
        return 0, math.inf
    x = math.log1p(-u) / -math.log1p(1.0 / mean)
    margin = abs(x - max(round(x), 1)) / (max(x, 1.0) * (1.0 + mean))
    return math.floor(x), margin


def _lever_split(added: float, parts: list[tuple[float, float]]) -> float:
    """The share ``added`` split among levers in proportion to their terms, each term weighted
    by its lever's hollow weight: added × Σ wₖ tₖ / Σ tₖ (0 with no lever term)."""
    total = sum(t for _, t in parts)
    return added * sum(w * t for w, t in parts) / total if total > 0 else 0.0


def oracle_advance(state: AgentState, traits, org, b, levers, draws) -> list[float]:
    """Advance ``state`` by one week in place, one agent at a time.

    ``org`` is anything with ``adjacency`` and ``cross_team`` (CSR) and ``manager_of``, such
    as an ``Organisation``. ``draws`` is the ``(N_DRAWS, n)`` array of uniforms for the week.

    Returns, per agent, the closest call of its week: the smallest gap between the two sides
    of any comparison that decided something discrete (trial, threshold, activity, posts,
    stage, abandonment). Agents whose closest call is within rounding error may be decided
    differently by an implementation that rounds differently.
    """
    n = state.n
    contacts = _contact_lists(org.adjacency)
    cross_contacts = _contact_lists(org.cross_team)
    manager_of = [int(m) for m in org.manager_of.tolist()]

    # Last week's state, copied before anyone is updated (synchronous update).
    last = {f.name: getattr(state, f.name).tolist() for f in fields(state)}
    was_user, was_active = last["user"], last["active"]
    old_stage, old_sense, old_posts = last["stage"], last["sense"], last["posts"]
    old_lq, old_benefit, old_read = last["low_quality"], last["benefit"], last["read"]
    relevance_now, time_cost = last["relevance"], last["time_cost"]

    role = traits.role.tolist()
    propensity = traits.propensity.tolist()
    threshold = traits.threshold.tolist()
    alignment_base = traits.alignment_base.tolist()
    relevance_base = traits.relevance_base.tolist()
    time_cost_base = traits.time_cost_base.tolist()
    need = traits.need.tolist()
    lever = {f.name: getattr(levers, f.name).tolist() for f in fields(levers)}
    u_all = draws.tolist()
    posting = (0.0, b.posting_connect, b.posting_share, b.posting_solve, b.posting_innovate)
    closest_calls = []
    everyone_posts = sum(p * (1.0 - q) for p, q in zip(old_posts, old_lq, strict=True))

    def own_utility(i: int, share: float, manager_active: float, commitment: float) -> float:
        """The log-odds of being active from one's own reasons (§7.7), no lever terms."""
        # habit: active last week, and that week repaid the time it took
        habit = was_active[i] and old_benefit[i] >= last["time_spent"][i]
        return (
            b.activity_base
            + b.value_weight * (last["perceived"][i] - time_cost[i]) / b.time_cost
            + b.sense_weight * old_sense[i]
            + b.intrinsic_weight * last["intrinsic"][i]
            + b.social_weight * share
            + b.manager_weight * manager_active
            + (b.habit_weight if habit else 0.0)
            - b.reactance_weight * last["reactance"][i]
            + b.role_model_weight * commitment
        )

    for i in range(n):
        u_trial, u_activity = u_all[TRIAL][i], u_all[ACTIVITY][i]
        u_posts, u_stage, u_abandon = u_all[POSTS][i], u_all[STAGE][i], u_all[ABANDON][i]
        closest = math.inf  # the nearest this agent's week came to a different decision
        pressure = lever["pressure"][i]
        reward = lever["reward"][i]
        awareness = lever["awareness"][i]
        commitment = lever["role_model"][i]
        curation = lever["curation"][i]

        # --- 1. Exposure: what i sees of its contacts and its manager last week ----------
        n_active = 0  # active contacts
        joined_idle = 0  # contacts who are users but were idle last week
        engaged = 0  # active contacts at Share or above
        heard_total = 0.0  # summed benefit of active contacts
        coaching = 0.0  # coaching from active champions
        direct = 0.0  # good posts from contacts
        relayed = 0.0  # good posts that active contacts read from their own contacts
        noise = 0.0  # hollow posts
        for j in contacts[i]:
            if was_user[j] and not was_active[j]:
                joined_idle += 1
            if was_active[j]:
                n_active += 1
                heard_total += old_benefit[j]
                if old_stage[j] >= SHARE:
                    engaged += 1
                if role[j] == CHAMPION:
                    coaching += old_sense[j] * lever["coaching"][j]
            direct += old_posts[j] * (1.0 - old_lq[j])
            relayed += old_read[j]
            noise += old_posts[j] * old_lq[j]
        elsewhere = everyone_posts - old_posts[i] * (1.0 - old_lq[i])  # the others' good posts
        reading = (direct + b.spillover * relayed + b.community_reach * elsewhere) * (
            1.0 + b.curation_reading_gain * curation
        )
        noise *= 1.0 - b.curation_noise_cut * curation
        cross = lever["cross_reach"][i] * sum(
            1 for j in cross_contacts[i] if was_active[j] and old_stage[j] >= SHARE
        )
        degree = len(contacts[i])
        share = n_active / degree if degree else 0.0
        heard = heard_total / n_active if n_active else 0.0
        m = manager_of[i]
        manager_active = 1.0 if m >= 0 and was_active[m] else 0.0
        leading = lever["leading"][m] * old_sense[m] if m >= 0 else 0.0


        # --- 2. Trial (non-users) and activity (users), and what the levers added --------
        new = False
        active = False
        hollow = 0.0  # share of this week's activity that a lever added and that is hollow
        events = 0.0  # share that campaign events added
        if not was_user[i]:
            news = b.return_contagion if last["ever"][i] else 1.0  # contagion is news once
            hazard = (
                b.innovation_p
                + news * b.imitation_q * share
                + b.manager_pull * manager_active
                + b.coaching_pull * coaching
                + b.leading_pull * leading
            ) / WEEKS_PER_YEAR
            signals = n_active + b.joined_signal * joined_idle
            signal_share = signals / degree if degree else 0.0
            threshold_met = signals >= b.threshold_count and signal_share >= threshold[i]
            p_own = need[i] * (  # one's own reasons act only in the weeks one needs it
                1.0
                - math.exp(-hazard)
                * (1.0 - (news * b.complex_prob if threshold_met else 0.0))
                * (1.0 - commitment)
            )
            paid = 1.0 - math.exp(-b.reward_pull * reward / WEEKS_PER_YEAR)
            p_trial = 1.0 - (1.0 - p_own) * (1.0 - pressure) * (1.0 - awareness) * (1.0 - paid)
            new = u_trial < p_trial
            closest = min(closest, abs(u_trial - p_trial))
            # the threshold can only decide a trial that one's need lets happen
            reinforceable = b.complex_prob > 0 and need[i] > 0
            if reinforceable and signals >= b.threshold_count and 0 < signals < degree:
                closest = min(closest, abs(signal_share - threshold[i]))  # else exact
            if reinforceable and 0 < b.joined_signal < 1 and joined_idle:  # fractions
                closest = min(closest, abs(signals - b.threshold_count))
            if new:
                # what the levers added to trying, as far as one's own reasons (the activity
                # rule without levers, as if one were a user) would not have one use it
                unwilling = (  # willingness before need: a lever acts on it in any week
                    1.0 - _logistic(own_utility(i, share, manager_active, commitment))
                    if b.value_dynamics
                    else 1.0
                )
                added = (p_trial - p_own) / p_trial * unwilling
                hollow = _lever_split(
                    added,
                    [
                        (b.hollow_pressure, pressure),
                        (b.hollow_event, awareness),
                        (lever["reward_hollow"][i], paid),
                    ],
                )
                events = _lever_split(added, [(1.0, awareness), (0.0, pressure), (0.0, paid)])
            active = new
        elif not b.value_dynamics:
            active = True
        else:
            own = own_utility(i, share, manager_active, commitment)
            pressed = b.pressure_weight * pressure * (1.0 - last["reactance"][i])
            extrinsic_term = b.extrinsic_weight * last["extrinsic"][i]
            aware = b.awareness_weight * awareness
            # one's own reasons act only in the weeks one's work calls for it (need); what the
            # levers add acts in any week
            willing = _logistic(own)
            alone = need[i] * willing
            p_active = _logistic(own + pressed + extrinsic_term + aware) - (1.0 - need[i]) * willing
            active = u_activity < p_active
            closest = min(closest, abs(u_activity - p_active))
            if active:
                added = 1.0 - alone / p_active
                hollow = _lever_split(
                    added,
                    [
                        (b.hollow_pressure, pressed),
                        (last["extrinsic_hollow"][i], extrinsic_term),
                        (b.hollow_event, aware),
                    ],
                )
                events = _lever_split(added, [(0.0, pressed), (0.0, extrinsic_term), (1.0, aware)])
        user = was_user[i] or new
        ever = last["ever"][i] or new
        stage = max(old_stage[i], CONNECT) if new else old_stage[i]

        # --- contributions ------------------------------------------------------------------
        posts = 0
        if active:
            mean = (
                propensity[i]
                * posting[stage]
                * (1.0 + b.feedback_gain * _saturating(engaged, b.half_contacts))
                * lever["posting"][i]  # rewards per post
                * (1.0 + b.role_model_posting * commitment)  # a leader working out loud
            )
            posts, margin = _geometric(mean, u_posts)
            closest = min(closest, margin)

        # --- 3. Experienced value ---------------------------------------------------------
        skill = relevance_now[i] * (b.skill_floor + (1.0 - b.skill_floor) * old_sense[i])
        personal = b.benefit_connect * _saturating(reading, b.half_posts)
        if stage >= SHARE:
            personal += b.benefit_share * _saturating(n_active, b.half_contacts)
        personal *= skill
        strategic = 0.0
        if stage >= SOLVE:
            strategic += b.benefit_solve * _saturating(engaged, b.half_contacts)
        if stage >= INNOVATE:
            strategic += b.benefit_innovate * _saturating(cross, b.half_contacts)
        strategic *= skill * last["alignment"][i]
        noise_cost = b.noise_hours * noise
        if active:
            time_spent = time_cost[i] + b.post_time * posts + b.read_time * reading
            benefit = personal + strategic - noise_cost
            value_personal = personal - noise_cost - time_spent
            value_strategic = strategic
            read = direct
        else:
            time_spent = benefit = value_personal = value_strategic = read = 0.0

        perceived = last["perceived"][i]
        sense = old_sense[i]
        alignment = last["alignment"][i]
        intrinsic = last["intrinsic"][i]
        extrinsic = last["extrinsic"][i]
        extrinsic_hollow = last["extrinsic_hollow"][i]
        reactance = last["reactance"][i]
        relevance = relevance_now[i]
        cost_of_time = time_cost[i]
        if b.value_dynamics:
            # --- 4. Learning ------------------------------------------------------------
            if active:
                perceived += b.value_learning * (benefit - perceived)
            else:
                perceived += b.hearsay_learning * share * (heard - perceived)
            if n_active > 0:
                perceived += lever["stories"][i] * (heard - perceived)
            # own use teaches as far as it is genuine (not hollow); coaching, leader-led
            # sense-making and training add to it
            gain = (
                (b.use_learning * (1.0 - hollow) if active else 0.0)
                + b.coaching_learning * (1.0 - math.exp(-coaching))
                + b.leading_learning * leading
                + lever["sense_push"][i]
            )
            sense = old_sense[i] + (1.0 - old_sense[i]) * min(gain, 1.0)
            if not active:
                sense -= b.sense_forgetting * old_sense[i]
            old_alignment = last["alignment"][i]
            alignment = (
                old_alignment
                + (1.0 - old_alignment)
                * min(b.alignment_learning * leading + lever["alignment_push"][i], 1.0)
                - b.alignment_decay * (old_alignment - alignment_base[i])
            )

            # --- 5. Stages: up with sense, alignment and the right contacts ---------------
            if stage == CONNECT:
                readiness = sense * _saturating(n_active, b.half_contacts)
            elif stage == SHARE:
                readiness = sense * _saturating(engaged, b.half_contacts) * alignment
            elif stage == SOLVE:
                readiness = sense * _saturating(cross, b.half_contacts) * alignment
            else:
                readiness = 0.0
            if active:
                p_up = b.stage_up * min(readiness, 1.0)
                closest = min(closest, abs(u_stage - p_up))
                if u_stage < p_up:
                    stage += 1
            elif last["idle"][i] + 1 >= b.idle_weeks and stage >= SHARE:
                closest = min(closest, abs(u_stage - b.stage_down))
                if u_stage < b.stage_down:
                    stage -= 1

            # --- 6. Motivation, reactance ---------------------------------------------------
            spent = max(time_spent, time_cost[i])
            satisfaction = _clip((benefit - spent) / spent, -1.0, 1.0)
            if active:
                room = 1.0 - intrinsic if satisfaction > 0 else intrinsic
                intrinsic += b.intrinsic_learning * satisfaction * room
            old_reactance = last["reactance"][i]
            # rewards crowd out those who receive one (by what they are for), then reactance
            # erodes, one after the other (MODEL.md §7.12)
            basis = REWARD_BASES[lever["reward_basis"][i]]
            received = reward > 0 and (
                (basis == "engagement" and active)
                or (basis == "completion" and posts > 0)
                or (basis == "performance" and posts * (1.0 - hollow) >= 1.0)
            )
            if reward > 0 and basis == "performance" and posts > 0:
                closest = min(closest, abs(posts * (1.0 - hollow) - 1.0) / posts)
            if received:
                intrinsic *= 1.0 - lever["crowding"][i] * reward
            if reward > 0:
                extrinsic_hollow = lever["reward_hollow"][i]
            intrinsic *= 1.0 - b.reactance_erosion * old_reactance
            perceived -= b.reactance_erosion * old_reactance * max(perceived, 0.0)
            extrinsic = max(reward, extrinsic * (1.0 - b.extrinsic_decay))
            seen = _clip(perceived / time_cost[i], 0.0, 1.0)
            reactance += b.reactance_gain * pressure * (1.0 - seen) * (1.0 - old_reactance)
            reactance -= b.reactance_decay * reactance
            intrinsic = _clip(intrinsic, 0.0, 1.0)
            reactance = _clip(reactance, 0.0, 1.0)

            # --- abandonment: a lapsed user who sees too little and whose contacts are quiet
            if was_user[i] and not active:
                p_leave = b.abandon_rate * (1.0 - share)
                closest = min(
                    closest,
                    abs(u_abandon - p_leave),
                    abs(perceived - time_cost[i]) / max(abs(perceived), time_cost[i]),
                )
                if perceived < time_cost[i] and u_abandon < p_leave:
                    user = False

            # --- how the network fits one's work, for next week: use cases, integration,
            # event-only use, drift back to the baseline
            relevance += min(lever["relevance_push"][i], 1.0) * (1.0 - relevance)
            relevance -= b.event_relevance_loss * (events if active else 0.0) * relevance
            relevance -= b.work_drift * (relevance - relevance_base[i])
            floor = b.flow_time_floor * time_cost_base[i]
            cost_of_time -= min(lever["time_cut"][i], 1.0) * max(cost_of_time - floor, 0.0)
            cost_of_time += b.work_drift * (time_cost_base[i] - cost_of_time)

        # --- write agent i's new row --------------------------------------------------------
        state.user[i] = user
        state.ever[i] = ever
        state.active[i] = active
        state.stage[i] = stage
        state.perceived[i] = perceived
        state.sense[i] = sense
        state.intrinsic[i] = intrinsic
        state.extrinsic[i] = extrinsic
        state.extrinsic_hollow[i] = extrinsic_hollow
        state.reactance[i] = reactance
        state.alignment[i] = alignment
        state.relevance[i] = relevance
        state.time_cost[i] = cost_of_time
        state.idle[i] = 0 if active else last["idle"][i] + 1
        state.posts[i] = posts
        state.total_posts[i] = last["total_posts"][i] + posts
        state.low_quality[i] = hollow if active else 0.0
        state.event_share[i] = events if active else 0.0
        state.benefit[i] = benefit
        state.value_personal[i] = value_personal
        state.value_strategic[i] = value_strategic
        state.total_value[i] = last["total_value"][i] + value_personal + value_strategic
        state.time_spent[i] = time_spent
        state.read[i] = read
        closest_calls.append(closest)
    return closest_calls


def oracle_levers(schedule, week: int, org, role, b, state, baseline, cell, n_cells):
    """The levers and the cost per cell that ``schedule``'s interventions give in ``week``,
    person by person, written from docs/MODEL.md §7.15 (not from ``models.interventions``).

    Who each intervention reaches (its target group and share, by its rule) is taken from the
    schedule (``schedule._reach``: the targeting rules have tests of their own); everything
    else — which interventions run or pulse, what each sets, how levers combine, what each
    costs and to whom it is charged — is recomputed here.
    """
    n = org.n
    lever = {f.name: getattr(baseline, f.name).tolist() for f in fields(baseline)}
    cost = [0.0] * n_cells
    headcount = [0] * n_cells
    for i in range(n):
        headcount[int(cell[i])] += 1
    manager_of = org.manager_of.tolist()
    m_code = 2  # models.state.MANAGER
    c_code = CHAMPION

    def runs(iv) -> bool:
        return iv.intensity > 0 and week >= iv.start and (iv.end is None or week <= iv.end)

    def pulses(iv) -> bool:
        return runs(iv) and (week - iv.start) % iv.cadence == 0

    def awareness(iv) -> float:
        if iv.intensity <= 0 or week < iv.start:
            return 0.0
        last_week = week if iv.end is None else min(week, iv.end)
        last_pulse = iv.start + (last_week - iv.start) // iv.cadence * iv.cadence
        value = iv.intensity * (1 - iv.decay) ** (week - last_pulse)
        return value if value >= b.awareness_floor else 0.0

    def charge(i: int, hours: float) -> None:
        cost[int(cell[i])] += hours

    def shared(hours: float) -> None:
        for k in range(n_cells):
            cost[k] += hours * headcount[k] / n

    for iv in schedule.items:
        live = runs(iv) or (iv.kind == "campaign" and awareness(iv) > 0)
        if not live:
            continue
        reach = schedule._reach[iv.name].tolist()
        pulse = pulses(iv)
        x = iv.intensity
        for i in range(n):
            if not reach[i]:
                continue
            involved = False
            if iv.kind == "mandate":
                lever["pressure"][i] = max(lever["pressure"][i], x)
                involved = True
            elif iv.kind == "incentive":
                lever["reward"][i] = x
                lever["reward_basis"][i] = REWARD_BASES.index(iv.contingency)
                lever["reward_hollow"][i] = getattr(b, f"hollow_reward_{iv.contingency}")
                d = getattr(b, f"crowding_d_{iv.contingency}")
                m = b.intrinsic_mean
                sd = math.sqrt(m * (1 - m) / (b.trait_concentration + 1))
                lever["crowding"][i] = -math.log(1 - d * sd / m) / b.crowding_reference_weeks
                lever["posting"][i] *= 1 + x * getattr(b, f"reward_posting_{iv.contingency}")
                units = {
                    "engagement": float(state.active[i]),
                    "completion": float(state.posts[i]),
                    "performance": float(state.posts[i] * (1 - state.low_quality[i])),
                }[iv.contingency]
                charge(i, units * iv.cost_per_reward * x)
            elif iv.kind == "campaign":
                a = awareness(iv)
                lever["awareness"][i] = 1 - (1 - lever["awareness"][i]) * (1 - a)
                involved = True
            elif iv.kind == "sense_making":
                if role[i] == m_code:
                    if pulse:
                        lever["leading"][i] = min(lever["leading"][i] + x, 1.0)
                    involved = True
            elif iv.kind == "champions":
                if role[i] == c_code:
                    lever["coaching"][i] += x
                    involved = True
            elif iv.kind == "alignment":
                if pulse:
                    lever["alignment_push"][i] += x * b.alignment_gain
                involved = True
            elif iv.kind == "stories":
                lever["stories"][i] = max(lever["stories"][i], x * b.story_pull)
            elif iv.kind == "experiment":
                lever["cross_reach"][i] *= 1 + x
                involved = True
            elif iv.kind == "role_model":
                if iv.target != "managers" or role[i] == m_code:
                    lever["role_model"][i] = max(lever["role_model"][i], x)
                    involved = True
            elif iv.kind == "use_cases":
                if pulse:
                    lever["relevance_push"][i] += x * b.relevance_gain
                    lever["time_cut"][i] += x * b.flow_time_cut
                involved = True
            elif iv.kind == "community":
                lever["curation"][i] = max(lever["curation"][i], x)
                involved = True
            if pulse and involved:
                charge(i, iv.cost_per_person * x)
            if pulse and iv.sense_gain:
                lever["sense_push"][i] += iv.sense_gain * x
                charge(i, iv.training_hours * x)
        if iv.kind == "sense_making" and pulse:  # each report of a leader reached
            for i in range(n):
                m = manager_of[i]
                leader = reach[i] and role[i] == m_code  # charged once, as a leader
                if m >= 0 and reach[m] and role[m] == m_code and not leader:
                    charge(i, iv.cost_per_person * x)
        if week == iv.start:
            shared(iv.cost_fixed)
        if runs(iv):
            shared(iv.cost_per_week * x)
    return lever, cost
