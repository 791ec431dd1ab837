"""Interventions: what organisations do to "drive adoption", as inputs to the weekly step.

An intervention never writes an outcome. It sets, for the people it reaches and the weeks it
runs, one or more of the model's levers (``models.state.Levers``) — mandate pressure, rewards
and their crowding of intrinsic motivation, campaign awareness, managers leading value
conversations, champions' coaching, strategic-alignment work, value stories, pilot groups —
and what follows from those levers is decided by the dynamics (``models.dynamics``). Each has a
cost in the model's value unit, hours of productive work: the time of the people involved and
the value of rewards.

Several interventions run together; a scenario is a named collection of them. An intervention
at intensity 0 does nothing and costs nothing, so a scenario of zero-intensity interventions
reproduces the baseline exactly (same seed, same numbers).
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from models import targeting
from models.errors import InputError
from models.organisation import Organisation
from models.params import Behaviour
from models.state import CHAMPION, EMPLOYEE, MANAGER, AgentState, Levers

KINDS = (
    "mandate",
    "incentive",
    "campaign",
    "sense_making",
    "champions",
    "alignment",
    "stories",
    "experiment",
)
GROUPS = ("everyone", "managers", "champions", "employees", "non_managers")
CONTINGENCIES = ("engagement", "completion", "performance")

# How rewarded activity turns into low-quality content, and how much a reward for posts
# raises posting, by what the reward is contingent on. Assumptions (docs/MODEL.md): paying
# for showing up rewards activity for its own sake; paying per post rewards volume; paying
# for judged quality rewards some volume and little noise.
REWARD_QUALITY = {"engagement": 1.0, "completion": 0.6, "performance": 0.2}
REWARD_POSTING = {"engagement": 0.0, "completion": 1.0, "performance": 0.5}

# Awareness below this is treated as gone, so a finished campaign stops touching the levers.
FADED = 1e-4


@dataclass(frozen=True)
class Intervention:
    """One intervention. Which fields matter depends on ``kind`` (docs/MODEL.md, §7.15).

    ``intensity`` is the lever's value where the intervention reaches someone: mandate
    pressure (0..1), reward intensity (0..1), campaign awareness at a pulse (0..1), the rate
    at which managers lead value conversations (0..1), champions' extra coaching strength
    from training (≥ 0; untrained champions coach at 1), weekly alignment gain (0..1), weekly
    pull of value stories (0..1), or the pilot groups' extra chance of reaching Innovate (≥ 0).
    """

    name: str
    kind: str
    start: int = 1  # first week it runs (weeks count from 1)
    end: int | None = None  # last week it runs; None = to the end of the run
    target: str = "everyone"  # a group (GROUPS) or "department:<name>"
    share: float = 1.0  # share of the target group reached
    rule: str = "random"  # how that share is chosen: random, degree, betweenness, bridging
    intensity: float = 1.0
    cadence: int = 1  # weeks between pulses (campaign events, value conversations)
    cost_fixed: float = 0.0  # hours, once, in the first week (design, training)
    cost_per_week: float = 0.0  # hours each week it runs (a team running it)
    cost_per_person: float = 0.0  # hours per person reached, each pulse week
    cost_per_reward: float = 0.0  # incentive: hours of reward value per rewarded unit
    contingency: str = "engagement"  # incentive: engagement, completion or performance
    decay: float = 0.5  # campaign: weekly decay of awareness after a pulse
    niche: float = 0.5  # campaign: share of event-driven use that teaches nothing for work
    sense_gain: float = 0.0  # sense gain where it reaches, each pulse week (training), 0..1

    def key(self, field: str) -> str:
        return f"scenario.interventions.{self.name}.{field}"

    def problems(self, weeks: int | None = None) -> list[str]:
        """Messages for every invalid field, naming the full config key."""
        out = []

        def bad(field: str, allowed: str) -> None:
            out.append(f"{self.key(field)}={getattr(self, field)!r} is not allowed: {allowed}")

        if self.kind not in KINDS:
            bad("kind", f"choose one of {', '.join(KINDS)}")
        if not (isinstance(self.start, int) and self.start >= 1):
            bad("start", "it must be a week number, at least 1")
        if self.end is not None and not (isinstance(self.end, int) and self.end >= self.start):
            bad("end", f"it must be a week number not before start ({self.start}), or null")
        if not (self.target in GROUPS or self.target.startswith("department:")):
            bad("target", f"choose one of {', '.join(GROUPS)}, or department:<name>")
        if not 0 <= self.share <= 1:
            bad("share", "it must be between 0 and 1")
        if self.rule not in targeting.RULES:
            bad("rule", f"choose one of {', '.join(targeting.RULES)}")
        top = None if self.kind in ("champions", "experiment") else 1.0
        if not (self.intensity >= 0 and (top is None or self.intensity <= top)):
            bad("intensity", "it must be between 0 and 1" if top else "it must be non-negative")
        if not (isinstance(self.cadence, int) and self.cadence >= 1):
            bad("cadence", "it must be a whole number of weeks, at least 1")
        for field in ("cost_fixed", "cost_per_week", "cost_per_person", "cost_per_reward"):
            if not getattr(self, field) >= 0:
                bad(field, "a cost must be non-negative (hours)")
        if self.contingency not in CONTINGENCIES:
            bad("contingency", f"choose one of {', '.join(CONTINGENCIES)}")
        for field in ("decay", "niche", "sense_gain"):
            if not 0 <= getattr(self, field) <= 1:
                bad(field, "it must be between 0 and 1")
        return out

    def pulses(self, week: int) -> bool:
        """Whether ``week`` is one of its pulse weeks (every ``cadence`` weeks from start)."""
        return self.runs(week) and (week - self.start) % self.cadence == 0

    def runs(self, week: int) -> bool:
        return self.intensity > 0 and week >= self.start and (self.end is None or week <= self.end)


def from_config(name: str, values: Mapping) -> Intervention:
    """An Intervention from a config node; unknown fields are refused by name."""
    known = {f.name for f in fields(Intervention)} - {"name"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(
            f"scenario.interventions.{name}.{unknown[0]}: not a field of an intervention; "
            f"the fields are {', '.join(sorted(known))}"
        )
    if "kind" not in values:
        raise InputError(f"scenario.interventions.{name}.kind is required: one of {KINDS}")
    return Intervention(name=name, **dict(values))


def crowding_rate(d: float, b: Behaviour) -> float:
    """Weekly loss of intrinsic motivation per unit reward that reproduces effect size ``d``.

    Deci, Koestner & Ryan (1999) report the drop in free-choice intrinsic motivation of
    rewarded versus unrewarded people as a standardised difference d. Here a reward of
    intensity 1 for ``b.crowding_reference_weeks`` weeks lowers intrinsic motivation by a
    factor (1 - rate)^weeks ≈ exp(-rate × weeks); setting that drop equal to d standard
    deviations of the initial intrinsic motivation (Beta with mean m and concentration 8:
    sd = sqrt(m(1-m)/9)) gives rate = -ln(1 - d·sd/m) / weeks.
    """
    m = b.intrinsic_mean
    if m <= 0:  # nobody starts with intrinsic motivation: nothing to crowd out
        return 0.0
    sd = np.sqrt(m * (1 - m) / 9.0)
    return float(-np.log(max(1 - d * sd / m, 1e-9)) / b.crowding_reference_weeks)


class Schedule:
    """The interventions of a run, resolved against the organisation, applied week by week."""

    def __init__(
        self,
        interventions: list[Intervention],
        org: Organisation,
        role: np.ndarray,
        behaviour: Behaviour,
        rng: np.random.Generator,
    ) -> None:
        self.items = list(interventions)
        self._b = behaviour
        self._reach = {iv.name: self._resolve(iv, org, role, rng) for iv in self.items}
        self._is_manager = role == MANAGER
        self._is_champion = role == CHAMPION
        # Managers' reports: for the cost of the value conversations they lead.
        has = org.manager_of >= 0
        self._team_size = np.bincount(org.manager_of[has], minlength=org.n)

    @staticmethod
    def _resolve(iv: Intervention, org: Organisation, role: np.ndarray, rng) -> np.ndarray:
        """Who the intervention reaches: its target group, then its share of it by its rule."""
        if iv.target.startswith("department:"):
            name = iv.target.split(":", 1)[1]
            if name not in org.department_names:
                raise InputError(
                    f"{iv.key('target')}={iv.target!r}: no department {name!r}; the departments "
                    f"are {', '.join(org.department_names)}"
                )
            group = org.department == org.department_names.index(name)
        else:
            group = {
                "everyone": np.ones(org.n, bool),
                "managers": role == MANAGER,
                "champions": role == CHAMPION,
                "employees": role == EMPLOYEE,
                "non_managers": role != MANAGER,
            }[iv.target]
        if iv.share >= 1:
            return group
        return targeting.pick(
            org, group, iv.share, iv.rule, rng, f"scenario.interventions.{iv.name}"
        )

    def window_end(self, horizon: int) -> int:
        """The last week any intervention runs (``horizon`` if one never ends; 0 if none)."""
        ends = [horizon if iv.end is None else iv.end for iv in self.items if iv.intensity > 0]
        return min(max(ends, default=0), horizon)

    def awareness(self, iv: Intervention, week: int) -> float:
        """A campaign's awareness in ``week``: the intensity at each pulse, decaying between
        pulses and after the last one."""
        if iv.intensity <= 0 or week < iv.start:
            return 0.0
        last_week = week if iv.end is None else min(week, iv.end)
        last_pulse = iv.start + (last_week - iv.start) // iv.cadence * iv.cadence
        value = iv.intensity * (1 - iv.decay) ** (week - last_pulse)
        return value if value >= FADED else 0.0

    def levers(self, week: int, baseline: Levers, state: AgentState) -> tuple[Levers, float]:
        """The levers and the cost (hours) of ``week``. Without anything running, the
        baseline levers themselves are returned (nothing is copied)."""
        live = [
            iv
            for iv in self.items
            if iv.runs(week) or (iv.kind == "campaign" and self.awareness(iv, week) > 0)
        ]
        if not live:
            return baseline, 0.0
        levers = baseline.copy()
        cost = 0.0
        for iv in live:
            cost += getattr(self, f"_{iv.kind}")(iv, week, levers, state, self._reach[iv.name])
            if week == iv.start:
                cost += iv.cost_fixed
            if iv.runs(week):
                cost += iv.cost_per_week
            if iv.sense_gain and iv.pulses(week):
                reached = self._reach[iv.name]
                levers.sense_push[reached] += iv.sense_gain
        return levers, cost

    @staticmethod
    def _pulse_cost(iv: Intervention, week: int, people: int) -> float:
        """Hours of the people involved in a pulse week, scaled by intensity."""
        return iv.cost_per_person * iv.intensity * people if iv.pulses(week) else 0.0

    # Each kind: set its levers where it reaches; return its variable cost this week.

    def _mandate(self, iv, week, levers, state, reach) -> float:
        """Pressure to be active (UTAUT: social influence in mandatory settings); compliance
        is low-quality activity and pressure breeds reactance where little value is seen."""
        levers.pressure[reach] = np.maximum(levers.pressure[reach], iv.intensity)
        return iv.cost_per_person * iv.intensity * np.count_nonzero(reach)

    def _incentive(self, iv, week, levers, state, reach) -> float:
        """Rewards raise extrinsic motivation, crowd out intrinsic motivation at the rate its
        contingency implies (Deci, Koestner & Ryan 1999), and add low-quality activity."""
        d = getattr(self._b, f"crowding_d_{iv.contingency}")
        levers.reward[reach] = iv.intensity
        levers.crowding[reach] = crowding_rate(d, self._b)
        levers.reward_quality[reach] = REWARD_QUALITY[iv.contingency]
        levers.posting[reach] *= 1 + iv.intensity * REWARD_POSTING[iv.contingency]
        units = {
            "engagement": lambda: np.count_nonzero(state.active & reach),
            "completion": lambda: float(state.posts[reach].sum()),
            "performance": lambda: float((state.posts * (1 - state.low_quality))[reach].sum()),
        }[iv.contingency]()
        return iv.cost_per_reward * iv.intensity * units

    def _campaign(self, iv, week, levers, state, reach) -> float:
        """Pulses of awareness (launch events, webinars, roadshows) that decay; event-driven
        use is partly niche use that teaches little about everyday work."""
        a = self.awareness(iv, week)
        levers.awareness[reach] = 1 - (1 - levers.awareness[reach]) * (1 - a)
        levers.niche[reach] = np.maximum(levers.niche[reach], iv.niche * a)
        return (
            iv.cost_per_person * iv.intensity * np.count_nonzero(reach) if iv.pulses(week) else 0.0
        )

    def _sense_making(self, iv, week, levers, state, reach) -> float:
        """Managers reached lead value conversations with their teams on pulse weeks; the
        effect on the team scales with the manager's own sense (``models.dynamics``)."""
        if not iv.pulses(week):
            return 0.0
        leaders = reach & self._is_manager
        levers.leading[leaders] = np.minimum(levers.leading[leaders] + iv.intensity, 1.0)
        return self._pulse_cost(
            iv, week, np.count_nonzero(leaders) + self._team_size[leaders].sum()
        )

    def _champions(self, iv, week, levers, state, reach) -> float:
        """Training makes champions coach more strongly; they answer questions and model use."""
        trained = reach & self._is_champion
        levers.coaching[trained] += iv.intensity
        return iv.cost_per_person * np.count_nonzero(trained)

    def _alignment(self, iv, week, levers, state, reach) -> float:
        """Making the link to strategy explicit raises alignment where it reaches."""
        if not iv.pulses(week):
            return 0.0
        levers.alignment_push[reach] += iv.intensity
        return self._pulse_cost(iv, week, np.count_nonzero(reach))

    def _stories(self, iv, week, levers, state, reach) -> float:
        """Discussing value created: people hear what their active contacts really got."""
        levers.stories[reach] = np.maximum(levers.stories[reach], iv.intensity)
        return (
            iv.cost_per_person * iv.intensity * np.count_nonzero(reach) if iv.pulses(week) else 0.0
        )

    def _experiment(self, iv, week, levers, state, reach) -> float:
        """Pilot groups that experiment and learn get a higher chance of reaching Innovate."""
        levers.innovate_boost[reach] *= 1 + iv.intensity
        return (
            iv.cost_per_person * iv.intensity * np.count_nonzero(reach) if iv.pulses(week) else 0.0
        )
