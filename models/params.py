"""Behavioural parameters of the model, with their defaults.

One frozen dataclass holds every behavioural parameter. It is both what the model reads and
the typed schema of the Hydra ``population`` config group (``sim/schema.py`` registers it), so
a parameter is declared once. Each field's comment gives its unit; docs/MODEL.md gives the
source or reason for every default.

Rates that the literature states per year (Bass p and q, the adoption hazards) are annual
here too and are converted to weekly probabilities inside the step
(``1 - exp(-rate / 52)``), so that the discrete weekly curve follows the continuous-time model.
"""

from dataclasses import dataclass, fields

WEEKS_PER_YEAR = 52.0


@dataclass(frozen=True)
class Behaviour:
    # --- switches -------------------------------------------------------------------------
    value_dynamics: bool = True  # False: users stay active; no learning, stage or motive change

    # --- trial (first use, or return after lapsing): hazards per year -----------------------
    innovation_p: float = 0.25  # spontaneous trial hazard (Bass p), /year
    imitation_q: float = 0.6  # hazard per share of active contacts (Bass q), /year
    complex_prob: float = 0.02  # weekly trial probability once the contagion threshold is met
    threshold_mean: float = 0.2  # mean share of active contacts meeting the threshold
    threshold_sd: float = 0.05  # spread of individual thresholds
    threshold_count: int = 2  # active contacts needed as well (complex contagion, Centola)
    manager_pull: float = 0.5  # trial hazard added while one's manager is active, /year
    coaching_pull: float = 1.0  # trial hazard per unit of coaching from active champions, /year
    leading_pull: float = 2.0  # trial hazard per unit of manager-led value conversations, /year

    # --- weekly activity of users: logit weights -------------------------------------------
    activity_base: float = 0.5  # baseline log-odds of being active in a week
    value_weight: float = 3.0  # per mean-cost unit of perceived net value
    sense_weight: float = 1.0  # sense-making: seeing how it helps one's work (0..1)
    intrinsic_weight: float = 1.5  # intrinsic motivation (0..1)
    extrinsic_weight: float = 2.0  # extrinsic motivation from rewards (0..1)
    social_weight: float = 0.5  # share of contacts active last week
    manager_weight: float = 0.5  # own manager active last week (role modelling)
    habit_weight: float = 1.5  # was active last week
    pressure_weight: float = 3.0  # mandate pressure, discounted by reactance
    reactance_weight: float = 2.0  # reactance (0..1)
    awareness_weight: float = 2.0  # campaign awareness (0..1)

    # --- time cost and value, hours per week -----------------------------------------------
    time_cost: float = 0.25  # mean hours an active week costs a reader (log-normal spread)
    time_cost_sd: float = 0.3  # log-normal spread of individual time cost
    benefit_connect: float = 1.0  # weekly benefit of reading engaged contacts, at saturation
    benefit_share: float = 1.0  # added at Share: feedback and answers on one's own posts
    benefit_solve: float = 2.0  # added at Solve: problems solved with others (strategic)
    benefit_innovate: float = 3.0  # added at Innovate: new ideas from diverse ties (strategic)
    half_contacts: float = 3.0  # contacts giving half the saturating benefit
    half_posts: float = 5.0  # good posts a week from contacts giving half the reading benefit
    skill_floor: float = 0.2  # share of benefit reached with no sense-making at all
    relevance_mean: float = 0.25  # mean job relevance: share of the benefit one's work allows
    relevance_concentration: float = 2.0  # Beta concentration of job relevance (low = varied)
    post_time: float = 0.05  # hours it takes to write a post or answer (3 minutes)
    noise_hours: float = 0.05  # hours lost per low-quality post from a contact
    initial_expectation: float = 0.6  # mean perceived weekly benefit before use, hours
    initial_expectation_sd: float = 0.3  # spread of that expectation

    # --- contributions (participation inequality) ------------------------------------------
    propensity_sigma: float = 1.2  # log-normal spread of individual propensity to post
    posting_connect: float = 0.1  # posts a week per unit propensity at Connect (mostly reading)
    posting_share: float = 1.0  # ... at Share
    posting_solve: float = 1.5  # ... at Solve
    posting_innovate: float = 2.0  # ... at Innovate
    feedback_gain: float = 1.0  # extra posting when engaged contacts respond

    # --- learning ---------------------------------------------------------------------------
    value_learning: float = 0.1  # weekly pull of perceived toward experienced benefit
    hearsay_learning: float = 0.02  # weekly pull toward contacts' benefit, per share active
    use_learning: float = 0.025  # weekly sense gain from own use
    coaching_learning: float = 0.05  # weekly sense gain per unit of coaching
    leading_learning: float = 0.05  # weekly sense gain from one's manager leading sense-making
    sense_forgetting: float = 0.01  # weekly sense loss while inactive
    manager_leading: float = 0.1  # managers' baseline rate of leading value conversations (0..1)
    alignment_learning: float = 0.03  # weekly alignment gain from a manager leading sense-making
    alignment_decay: float = 0.005  # weekly drift of alignment back to its starting level

    # --- maturity stages --------------------------------------------------------------------
    stage_up: float = 0.09  # weekly chance of moving up when fully ready
    stage_down: float = 0.05  # weekly chance of moving down once idle too long
    idle_weeks: int = 8  # idle weeks before stages start to slip

    # --- motivation, reactance, abandonment -------------------------------------------------
    intrinsic_learning: float = 0.025  # weekly change of intrinsic motivation with satisfaction
    extrinsic_decay: float = 0.2  # weekly decay of extrinsic motivation once rewards stop
    reactance_gain: float = 0.2  # weekly reactance growth under full pressure and no value seen
    reactance_decay: float = 0.05  # weekly reactance decay
    reactance_erosion: float = 0.02  # weekly loss of intrinsic and perceived value per reactance
    abandon_rate: float = 0.1  # weekly chance of quitting: value < cost, contacts quiet
    crowding_d_engagement: float = 0.40  # free-choice effect size, engagement-contingent
    crowding_d_completion: float = 0.36  # ... completion-contingent rewards
    crowding_d_performance: float = 0.28  # ... performance-contingent rewards
    crowding_reference_weeks: float = 12.0  # reward weeks at which those sizes are reached

    # --- initial state ------------------------------------------------------------------------
    intrinsic_mean: float = 0.3  # mean initial intrinsic motivation (Beta distributed)
    sense_mean: float = 0.1  # mean initial sense-making (Beta distributed)
    alignment_mean: float = 0.4  # mean initial strategic alignment (department level)
    champion_lift: float = 0.3  # champions start with this much more intrinsic motivation and sense

    @property
    def stage_posting(self) -> tuple[float, float, float, float]:
        """Posting factor at each stage, Connect to Innovate."""
        return (self.posting_connect, self.posting_share, self.posting_solve, self.posting_innovate)

    @classmethod
    def from_mapping(cls, values) -> "Behaviour":
        """Build from a mapping (e.g. an OmegaConf node) holding some or all fields."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


UNIT = (0.0, 1.0)
NON_NEGATIVE = (0.0, float("inf"))
POSITIVE = (1e-9, float("inf"))
ANY = (float("-inf"), float("inf"))

# Allowed range of every parameter: weekly probabilities and 0..1 levels in [0, 1], rates,
# weights and amounts non-negative, a few strictly positive because they divide.
BOUNDS: dict[str, tuple[float, float]] = {
    name: UNIT
    for name in (
        "complex_prob threshold_mean skill_floor value_learning hearsay_learning use_learning "
        "coaching_learning leading_learning sense_forgetting manager_leading alignment_learning "
        "alignment_decay stage_up stage_down intrinsic_learning extrinsic_decay reactance_gain "
        "reactance_decay reactance_erosion abandon_rate intrinsic_mean sense_mean alignment_mean "
        "champion_lift relevance_mean crowding_d_engagement crowding_d_completion "
        "crowding_d_performance"
    ).split()
} | {
    "activity_base": ANY,
    "time_cost": POSITIVE,
    "half_contacts": POSITIVE,
    "half_posts": POSITIVE,
    "relevance_concentration": POSITIVE,
    "idle_weeks": (1, float("inf")),
    # Spreads of log-normal traits and posting rates: beyond these, float32 state under- or
    # overflows (time costs of 0, post counts past 2**24), and no organisation looks like that.
    "time_cost_sd": (0.0, 2.0),
    "propensity_sigma": (0.0, 3.0),
    "posting_connect": (0.0, 50.0),
    "posting_share": (0.0, 50.0),
    "posting_solve": (0.0, 50.0),
    "posting_innovate": (0.0, 50.0),
    "feedback_gain": (0.0, 10.0),
    "crowding_reference_weeks": POSITIVE,
}


def problems(values, prefix: str = "population") -> list[str]:
    """Messages for every parameter outside its allowed range (empty when all are valid).

    ``values`` is a mapping (or a Behaviour); each message names the full key, the bad value
    and the allowed range.
    """
    get = values.get if hasattr(values, "get") else lambda k: getattr(values, k)
    out = []
    for f in fields(Behaviour):
        value = get(f.name)
        if f.type is bool or isinstance(value, bool):
            continue
        lo, hi = BOUNDS.get(f.name, NON_NEGATIVE)
        if not lo <= value <= hi:
            if lo == float("-inf"):
                allowed = "a number"
            elif hi != float("inf"):
                allowed = f"between {lo:g} and {hi:g}"
            elif (lo, hi) == POSITIVE:
                allowed = "greater than 0"
            else:
                allowed = f"at least {lo:g}" if lo > 0 else "non-negative"
            out.append(f"{prefix}.{f.name}={value!r} is not allowed: it must be {allowed}")
    return out
