"""The parameter registry: every number the dynamics use, with its default, plausible range,
unit and source.

This is the single place a behavioural parameter is declared. ``models.params.Behaviour``
(what the model reads, and the Hydra ``population`` schema) is built from it; docs/MODEL.md §8
is generated from it (``python -m models.registry --docs``); sensitivity analysis and the
calibration take their ranges (priors) from it; the dashboard's controls read their limits from
it. The building blocks of interventions (``conf/intervention/``) take their defaults from the
intervention half of the registry (``BLOCKS``).

For each parameter:

- ``default``: the value a run uses unless told otherwise: for the parameters the shipped
  calibration fitted, its posterior's medoid — the multivariate median, one of its parameter
  sets (``models.calibrated``, written by
  ``python -m sim experiment=calibrate experiment.params.install=default``); for the others the
  value declared here;
- ``low``, ``high``: its plausible range — what a sceptical reader would still accept; the
  uniform prior of the calibration and the default range of a sensitivity study;
- ``bounds``: the range the model accepts at all (a value outside is refused);
- ``unit`` and ``meaning``;
- ``source``: a paper and figure, or the word *assumption* with the reasoning, or
  *calibration* (chosen so that the baseline reproduces the patterns of docs/CALIBRATION.md);
- ``uncertain``: whether studies vary it by default (True for everything not fixed by a
  definition, a unit or a published figure that the model uses as such).
"""

from dataclasses import dataclass, replace

from models import calibrated

UNIT = (0.0, 1.0)
NON_NEGATIVE = (0.0, float("inf"))
POSITIVE = (1e-9, float("inf"))
ANY = (float("-inf"), float("inf"))


@dataclass(frozen=True)
class Parameter:
    name: str
    default: float
    low: float
    high: float
    unit: str
    meaning: str
    source: str
    group: str
    uncertain: bool = True
    bounds: tuple[float, float] = NON_NEGATIVE
    whole: bool = False  # a whole number (weeks, contacts)

    @property
    def range(self) -> tuple[float, float]:
        return (self.low, self.high)


_GROUP = ["switches"]
_ALL: list[Parameter] = []


def _group(name: str) -> None:
    _GROUP[0] = name


def _p(name, default, low, high, unit, meaning, source, **kw) -> None:
    _ALL.append(Parameter(name, default, low, high, unit, meaning, source, _GROUP[0], **kw))


CALIBRATION = "calibration (docs/CALIBRATION.md)"

# --- trial: first use, or return after lapsing -------------------------------------------------
_group("trial")
_p("innovation_p", 0.25, 0.02, 0.6, "1/year",
   "spontaneous trial hazard (Bass p)",
   "Bass (1969); Sultan, Farley & Lehmann (1990) find p ≈ 0.03/year for consumer products. "
   "Higher here because a deployment announces the tool to every employee (accounts, launch "
   "mail); " + CALIBRATION)
_p("imitation_q", 0.6, 0.1, 1.5, "1/year per share of active contacts",
   "imitation hazard (Bass q)",
   "Bass (1969); Sultan et al. (1990) find q ≈ 0.38/year; higher because the contacts are "
   "colleagues one works with; " + CALIBRATION)
_p("complex_prob", 0.02, 0.0, 0.2, "probability/week",
   "weekly chance of trying once the contagion threshold is met",
   "route from Centola & Macy (2007) and Centola (2010); size " + CALIBRATION, bounds=UNIT)
_p("return_contagion", 1.0, 0.0, 1.0, "weight",
   "weight of contagion (imitation, the threshold route) for people who used the network "
   "before and stopped: they know it already, and come back for their own reasons",
   "a contact's sign-up is news only once (Centola 2010 measured first adoption); 1 means "
   "returning is like first trial; size: calibration", bounds=UNIT)
_p("threshold_mean", 0.2, 0.1, 0.35, "share of contacts",
   "mean contagion threshold φ",
   "Watts (2002) analyses φ = 0.18; rounded", bounds=UNIT)
_p("joined_signal", 0.0, 0.0, 1.0, "weight",
   "weight of contacts who have joined but were idle last week in the contagion threshold "
   "(active contacts count 1)",
   "Centola (2010): the adoption signal was a contact's sign-up, which lasts, not their current "
   "activity; assumption — 0 counts active contacts only", bounds=UNIT)
_p("threshold_sd", 0.05, 0.0, 0.15, "share of contacts",
   "spread of individual thresholds", "assumption: narrow heterogeneity around φ")
_p("threshold_count", 2, 1, 3, "contacts",
   "active contacts needed as well as the share",
   "complex contagion needs reinforcement from more than one contact (Centola & Macy 2007; "
   "Centola 2010)", uncertain=False, whole=True)
_p("manager_pull", 0.5, 0.0, 2.0, "1/year",
   "trial hazard added while one's manager is active",
   "managers' recent activity goes with starting to participate (Brzozowski, Sandholm & Hogg "
   "2009); managers influence adoption (Chelmis & Prasanna 2013); size " + CALIBRATION)
_p("coaching_pull", 1.0, 0.0, 3.0, "1/year per unit coaching",
   "trial hazard from coaching by active champions",
   "champions as change agents (Rogers 2003; Terry's learning community); size " + CALIBRATION)
_p("leading_pull", 2.0, 0.0, 5.0, "1/year per unit of value conversations",
   "trial hazard from value conversations led by one's manager",
   "Terry: leaders create new meaning; managers shape adoption (Chelmis & Prasanna 2013); "
   "size " + CALIBRATION)
_p("reward_pull", 0.5, 0.0, 2.0, "1/year per unit reward",
   "trial hazard from rewards for taking part (a reason to try it once)",
   "points raised participation while they ran (Farzan et al. 2008); size: assumption, "
   "comparable to a manager's example")

# --- activity of users: logit weights ----------------------------------------------------------
_group("activity")
_p("activity_base", 0.5, -2.0, 2.0, "log-odds",
   "baseline log-odds of a user being active in a week", CALIBRATION, bounds=ANY)
_p("value_weight", 3.0, 1.0, 6.0, "log-odds per mean time cost",
   "weight of perceived net value (V − c)/c̄",
   "perceived usefulness and job relevance drive use (Davis 1989; Venkatesh & Davis 2000); "
   "size " + CALIBRATION)
_p("sense_weight", 1.0, 0.0, 3.0, "log-odds per unit sense",
   "weight of sense-making in the activity decision",
   "seeing how it fits one's work is perceived ease of use and usefulness (Davis 1989); size "
   + CALIBRATION)
_p("intrinsic_weight", 1.5, 0.5, 3.0, "log-odds per unit",
   "weight of intrinsic motivation",
   "free-choice participation follows intrinsic motivation (Deci, Koestner & Ryan 1999); size "
   + CALIBRATION)
_p("extrinsic_weight", 2.0, 0.5, 4.0, "log-odds per unit",
   "weight of extrinsic motivation (rewards)",
   "points raised contributions while they ran (Farzan et al. 2008); size " + CALIBRATION)
_p("social_weight", 0.5, 0.0, 2.0, "log-odds per share",
   "weight of the share of contacts active last week",
   "social influence (Venkatesh et al. 2003); co-workers' activity (Brzozowski et al. 2009); "
   "size " + CALIBRATION)
_p("manager_weight", 0.5, 0.0, 2.0, "log-odds",
   "own manager active last week (role modelling)",
   "Brzozowski et al. (2009); Chelmis & Prasanna (2013); size " + CALIBRATION)
_p("habit_weight", 1.5, 0.0, 3.0, "log-odds",
   "active last week in a week that paid off (habit)",
   "habit forms through repeated, satisfying use (Limayem, Hirt & Cheung 2007); size "
   + CALIBRATION)
_p("pressure_weight", 3.0, 1.0, 5.0, "log-odds per unit pressure",
   "mandate pressure, discounted by reactance",
   "mandates can force use; social influence matters in mandatory settings (Venkatesh et al. "
   "2003); size " + CALIBRATION)
_p("reactance_weight", 2.0, 0.0, 4.0, "log-odds per unit",
   "reactance lowers activity", "Brehm (1966); size " + CALIBRATION)
_p("awareness_weight", 2.0, 0.5, 4.0, "log-odds per unit",
   "campaign awareness raises activity",
   "utilisation spikes during adoption drives (Terry; Berg); size " + CALIBRATION)
_p("need_mean", 1.0, 0.2, 1.0, "share of weeks",
   "mean share of weeks one's work calls for the network (it is one of several channels: mail, "
   "meetings, chat); one's own reasons to use it act only in those weeks",
   "SWOOP Analytics: most users visit occasionally, not weekly; assumption for its size — 1 "
   "means every week", bounds=UNIT)
_p("need_concentration", 4.0, 1.0, 20.0, "Beta concentration",
   "concentration of that need across people (low = varied)", "assumption", bounds=POSITIVE)
_p("role_model_weight", 1.5, 0.0, 3.0, "log-odds per unit",
   "a leader's commitment to use the network visibly in their own work",
   "assumption: leaders who decide to work out loud use it about as reliably as a habit")

# --- time cost and value, hours per week ---------------------------------------------------------
_group("time and value")
_p("time_cost", 0.25, 0.1, 0.5, "hours/week",
   "mean time an active week costs (reading, keeping up)",
   "assumption: a quarter of an hour a week for a light user", bounds=POSITIVE)
_p("time_cost_sd", 0.3, 0.1, 0.6, "log scale",
   "log-normal spread of individual time cost", "assumption", bounds=(0.0, 2.0))
_p("benefit_connect", 1.0, 0.5, 2.0, "hours/week",
   "benefit of reading engaged contacts, at saturation",
   "McKinsey Global Institute (2012): social technologies could raise interaction workers' "
   "productivity by 20–25%; the four stage benefits sum to 7 h/week (about 17% of a 40-hour "
   "week) at the top; the split follows Terry's stages")
_p("benefit_share", 1.0, 0.5, 2.0, "hours/week",
   "added at Share: feedback and answers on one's own posts", "as benefit_connect")
_p("benefit_solve", 2.0, 1.0, 4.0, "hours/week",
   "added at Solve: problems solved with others (strategic)", "as benefit_connect")
_p("benefit_innovate", 3.0, 1.0, 5.0, "hours/week",
   "added at Innovate: new ideas from diverse ties (strategic)", "as benefit_connect")
_p("half_contacts", 3.0, 1.0, 6.0, "contacts",
   "contacts giving half the saturating benefit (also feedback and stage readiness)",
   "assumption: a handful of engaged contacts gives most of the benefit", bounds=POSITIVE)
_p("half_posts", 5.0, 2.0, 15.0, "posts/week",
   "good posts a week giving half the reading benefit",
   "assumption: a few useful posts a week are most of what a reader gets", bounds=POSITIVE)
_p("skill_floor", 0.2, 0.0, 0.5, "share",
   "share of the benefit reached with no sense-making at all", "assumption", bounds=UNIT)
_p("relevance_mean", 0.25, 0.1, 0.5, "share",
   "mean job relevance: share of the benefit one's work allows",
   "job relevance (Venkatesh & Davis 2000); assumption: for most jobs the network helps with "
   "part of the work", bounds=UNIT)
_p("relevance_concentration", 2.0, 0.5, 8.0, "Beta concentration",
   "concentration of job relevance (low = varied)",
   "assumption: a wide spread of need (Beta(0.5, 1.5) at the defaults)", bounds=POSITIVE)
_p("post_time", 0.05, 0.02, 0.15, "hours/post",
   "time to write a post or answer", "assumption: three minutes")
_p("read_time", 0.0, 0.0, 0.03, "hours/post",
   "time to read a post shown to one (limited attention; 0: reading is inside time_cost)",
   "assumption: up to two minutes a post; range includes 0 so that limited attention can be "
   "tested rather than assumed", bounds=(0.0, 1.0))
_p("noise_hours", 0.05, 0.0, 0.15, "hours/low-quality post",
   "time lost per hollow post from a contact",
   "assumption: three minutes; range includes 0 (hollow posts cost nothing to skip)")
_p("community_reach", 0.0, 0.0, 0.05, "share",
   "share of the good posts made anywhere in the organisation last week that reach each reader "
   "(the groups and communities one follows, feeds, search), beside those of one's contacts",
   "SWOOP Analytics: most readers of enterprise networks read beyond their own ties, in "
   "groups; assumption for its size — range includes 0 (only contacts' posts are read)",
   bounds=UNIT)
_p("spillover", 0.0, 0.0, 0.1, "share",
   "share of the good posts one's active contacts read that reaches one as well (resharing, "
   "mentions, answers found)",
   "assumption: range includes 0 (value reaches only direct contacts)", bounds=UNIT)
_p("initial_expectation", 0.6, 0.2, 1.2, "hours/week",
   "mean perceived weekly benefit before use",
   "assumption: expectations exceed the cost at first and are corrected by experience "
   "(early gains and reversion: Repenning 2002)")
_p("initial_expectation_sd", 0.3, 0.1, 0.5, "hours/week",
   "spread of that expectation", "assumption")

# --- contributions (participation inequality) ----------------------------------------------------
_group("contributions")
_p("propensity_sigma", 1.2, 0.8, 2.5, "log scale",
   "log-normal spread of the propensity to post",
   "heavy-tailed contribution (Nielsen 2006, 90-9-1: 1% of users make most contributions, which "
   "takes a spread of 2 or more)", bounds=(0.0, 3.0))
_p("lurker_share", 0.0, 0.0, 0.9, "share of people",
   "share of people who read but never post (their propensity to post is 0)",
   "lurking is common and for many a lasting choice: no need to post, wanting to learn the "
   "group first, not wanting to be visible (Nonnecke & Preece 2000; Preece, Nonnecke & Andrews "
   "2004); Nielsen (2006): 90% of users never contribute. Size: calibration; 0 means everyone "
   "posts at their propensity", bounds=UNIT)
_p("posting_connect", 0.1, 0.01, 0.3, "posts/week per unit propensity",
   "posting factor at Connect (mostly reading)",
   "participation inequality (Nielsen 2006); " + CALIBRATION, bounds=(0.0, 50.0))
_p("posting_share", 1.0, 0.3, 2.0, "posts/week per unit propensity",
   "posting factor at Share", CALIBRATION, bounds=(0.0, 50.0))
_p("posting_solve", 1.5, 0.5, 3.0, "posts/week per unit propensity",
   "posting factor at Solve", CALIBRATION, bounds=(0.0, 50.0))
_p("posting_innovate", 2.0, 0.5, 4.0, "posts/week per unit propensity",
   "posting factor at Innovate", CALIBRATION, bounds=(0.0, 50.0))
_p("feedback_gain", 1.0, 0.0, 2.0, "multiplier",
   "extra posting when engaged contacts respond (up to ×(1 + gain))",
   "feedback on a post predicts posting again (Brzozowski et al. 2009); size " + CALIBRATION,
   bounds=(0.0, 10.0))
_p("role_model_posting", 1.0, 0.0, 3.0, "multiplier per unit",
   "extra posting of a leader who works out loud (×(1 + gain × commitment))",
   "assumption: visible use means posting about one's own work", bounds=(0.0, 10.0))
_p("reward_posting_engagement", 0.0, 0.0, 0.5, "multiplier per unit reward",
   "extra posting under rewards for taking part",
   "assumption: paying for showing up does not pay for posts", bounds=(0.0, 10.0))
_p("reward_posting_completion", 1.0, 0.0, 2.0, "multiplier per unit reward",
   "extra posting under rewards per post",
   "assumption: paying per post rewards volume (points raised contributions: Farzan et al. 2008)",
   bounds=(0.0, 10.0))
_p("reward_posting_performance", 0.5, 0.0, 1.0, "multiplier per unit reward",
   "extra posting under rewards for judged quality",
   "assumption: paying for quality rewards some volume", bounds=(0.0, 10.0))

# --- hollow activity: what a lever adds beyond one's own reasons ---------------------------------
_group("hollow activity")
_p("hollow_pressure", 1.0, 0.0, 1.0, "share",
   "share of the activity a mandate adds (beyond one's own reasons) that is hollow",
   "Terry: compliance-only use is thin; assumption — range includes 0 (mandated use as good as "
   "any)", bounds=UNIT)
_p("hollow_reward_engagement", 1.0, 0.0, 1.0, "share",
   "share of reward-added activity that is hollow, rewards for taking part",
   "Terry: incentives make participation an end in itself; assumption", bounds=UNIT)
_p("hollow_reward_completion", 0.6, 0.0, 1.0, "share",
   "the same for rewards per post", "assumption: volume, partly useful", bounds=UNIT)
_p("hollow_reward_performance", 0.2, 0.0, 1.0, "share",
   "the same for rewards for judged quality", "assumption: judged quality keeps most of it useful",
   bounds=UNIT)
_p("hollow_event", 0.5, 0.0, 1.0, "share",
   "share of campaign-added activity that is event-only use (teaches nothing for work)",
   "Terry: adoption drives are unlike everyday use; assumption", bounds=UNIT)
_p("event_relevance_loss", 0.0, 0.0, 0.05, "1/week per unit event share",
   "relevance lost for ordinary work per unit of event-only use (\"it's for events\")",
   "Terry: special-occasion use teaches that the tool is for special occasions; assumption — "
   "range includes 0, so the backfire is tested, not assumed", bounds=UNIT)

# --- work in the flow of work (use cases) --------------------------------------------------------
_group("flow of work")
_p("relevance_gain", 0.1, 0.0, 0.3, "share of the gap per pulse",
   "relevance gained for one's work at a use-case pulse of intensity 1 (share of the way to 1)",
   "Terry: guide personal value creation, work in the flow of work; size: assumption",
   bounds=UNIT)
_p("flow_time_cut", 0.1, 0.0, 0.3, "share per pulse",
   "share of one's time cost removed at a use-case pulse of intensity 1 (integration into "
   "everyday tools)", "assumption", bounds=UNIT)
_p("flow_time_floor", 0.5, 0.2, 1.0, "share of baseline",
   "lowest time cost integration can reach, as a share of one's baseline", "assumption",
   bounds=UNIT)

# --- strategy and stories ----------------------------------------------------------------------
_group("strategy and stories")
_p("alignment_gain", 0.05, 0.01, 0.2, "share of the gap per pulse",
   "alignment gained at a strategic-alignment pulse of intensity 1",
   "Terry: create strategic alignment; size: assumption", bounds=UNIT)
_p("story_pull", 0.05, 0.01, 0.2, "1/week",
   "weekly pull of perceived value toward what active contacts really got, at value-story "
   "intensity 1", "Terry: discussing value creation; size: assumption", bounds=UNIT)

# --- community management ------------------------------------------------------------------------
_group("community management")
_p("curation_noise_cut", 0.8, 0.3, 1.0, "share",
   "share of hollow posts a community manager keeps out of the feed, at full curation",
   "assumption: moderation and curation remove most noise", bounds=UNIT)
_p("curation_reading_gain", 0.5, 0.0, 1.0, "multiplier",
   "extra good posts surfaced at full curation (×(1 + gain))",
   "assumption: curated digests and answered questions surface what would be missed",
   bounds=(0.0, 10.0))

# --- learning ------------------------------------------------------------------------------------
_group("learning")
_p("value_learning", 0.1, 0.03, 0.3, "1/week",
   "weekly pull of perceived toward experienced benefit",
   "assumption: about ten weeks to adjust", bounds=UNIT)
_p("hearsay_learning", 0.02, 0.0, 0.1, "1/week per share active",
   "weekly pull toward contacts' benefit while idle", "assumption", bounds=UNIT)
_p("use_learning", 0.025, 0.005, 0.08, "1/week",
   "sense gain from one's own genuine use", CALIBRATION, bounds=UNIT)
_p("coaching_learning", 0.05, 0.0, 0.15, "1/week",
   "sense gain per unit of (saturating) coaching",
   "Terry: guide personal value creation, champions; size " + CALIBRATION, bounds=UNIT)
_p("leading_learning", 0.05, 0.0, 0.15, "1/week",
   "sense gain from one's manager leading sense-making",
   "Terry: leaders create new meaning; size " + CALIBRATION, bounds=UNIT)
_p("sense_forgetting", 0.01, 0.0, 0.05, "1/week",
   "sense loss while inactive", "assumption", bounds=UNIT)
_p("manager_leading", 0.1, 0.0, 0.3, "rate",
   "managers' baseline rate of leading value conversations",
   "assumption: without an intervention, managers rarely lead them (Terry)", bounds=UNIT)
_p("alignment_learning", 0.03, 0.0, 0.1, "1/week",
   "alignment gain from a manager leading sense-making",
   "Terry: create strategic alignment; size: assumption", bounds=UNIT)
_p("alignment_decay", 0.005, 0.0, 0.03, "1/week",
   "drift of alignment back to its starting level", "assumption", bounds=UNIT)
_p("work_drift", 0.01, 0.0, 0.05, "1/week",
   "drift of relevance and time cost back to their baseline once nothing holds them",
   "assumption: redesigned work practices mostly stick (half-life over a year)", bounds=UNIT)

# --- maturity stages -----------------------------------------------------------------------------
_group("maturity stages")
_p("stage_up", 0.09, 0.02, 0.2, "probability/week",
   "chance of moving up a stage when fully ready",
   "Terry's Value Maturity stages; size " + CALIBRATION, bounds=UNIT)
_p("stage_down", 0.05, 0.01, 0.15, "probability/week",
   "chance of moving down once idle too long", "assumption", bounds=UNIT)
_p("idle_weeks", 8, 4, 16, "weeks",
   "idle weeks before stages start to slip", "assumption: about two months",
   bounds=(1, float("inf")), whole=True)

# --- motivation, reactance, abandonment ----------------------------------------------------------
_group("motivation and abandonment")
_p("intrinsic_learning", 0.025, 0.005, 0.08, "1/week",
   "change of intrinsic motivation with satisfaction", "assumption", bounds=UNIT)
_p("extrinsic_decay", 0.2, 0.05, 0.5, "1/week",
   "decay of extrinsic motivation once rewards stop",
   "removing points lowered participation (Thom, Millen & DiMicco 2012); size: assumption",
   bounds=UNIT)
_p("reactance_gain", 0.2, 0.0, 0.5, "1/week",
   "reactance growth under full pressure when no value is seen",
   "Brehm (1966); size: assumption — range includes 0 (no reactance)", bounds=UNIT)
_p("reactance_decay", 0.05, 0.01, 0.2, "1/week", "reactance decay", "assumption", bounds=UNIT)
_p("reactance_erosion", 0.02, 0.0, 0.06, "1/week per unit reactance",
   "loss of intrinsic motivation and of perceived value per unit of reactance",
   "interventions felt as controlling crowd out intrinsic motivation (Frey & Jegen 2001); size: "
   "assumption", bounds=UNIT)
_p("abandon_rate", 0.1, 0.02, 0.3, "probability/week",
   "chance of abandoning when value < cost and all contacts are quiet",
   "people abandon when their contacts go quiet (Fisher, Kim & Cummings 2018); size "
   + CALIBRATION, bounds=UNIT)
_p("crowding_d_engagement", 0.40, 0.30, 0.50, "standard deviations",
   "drop in free-choice intrinsic motivation from engagement-contingent rewards",
   "Deci, Koestner & Ryan (1999): d = −0.40; range about ±0.1", bounds=UNIT)
_p("crowding_d_completion", 0.36, 0.26, 0.46, "standard deviations",
   "the same for completion-contingent rewards",
   "Deci, Koestner & Ryan (1999): d = −0.36; range about ±0.1", bounds=UNIT)
_p("crowding_d_performance", 0.28, 0.18, 0.38, "standard deviations",
   "the same for performance-contingent rewards",
   "Deci, Koestner & Ryan (1999): d = −0.28; range about ±0.1", bounds=UNIT)
_p("crowding_reference_weeks", 12.0, 4.0, 26.0, "weeks",
   "weeks of full reward after which those effect sizes are reached",
   "assumption: the meta-analysis gives effect sizes, not durations; a quarter of a year",
   bounds=POSITIVE)

# --- initial state -------------------------------------------------------------------------------
_group("initial state")
_p("intrinsic_mean", 0.3, 0.1, 0.6, "level",
   "mean initial intrinsic motivation (Beta)", "assumption", bounds=UNIT)
_p("sense_mean", 0.1, 0.02, 0.3, "share",
   "mean initial sense-making (Beta)",
   "assumption: at deployment few see how it fits their work (Terry)", bounds=UNIT)
_p("trait_concentration", 8.0, 2.0, 20.0, "Beta concentration",
   "concentration of initial intrinsic motivation and sense around their means",
   "assumption: moderate spread (sd ≈ 0.15 at a mean of 0.3)", bounds=POSITIVE)
_p("alignment_mean", 0.4, 0.2, 0.7, "level",
   "mean initial strategic alignment (department level)", "assumption", bounds=UNIT)
_p("department_concentration", 20.0, 5.0, 50.0, "Beta concentration",
   "concentration of departments' alignment around the mean",
   "assumption: departments differ moderately in how well they know the strategy",
   bounds=POSITIVE)
_p("alignment_spread", 0.1, 0.0, 0.2, "level (sd)",
   "spread of personal alignment around one's department's", "assumption")
_p("champion_lift", 0.3, 0.0, 0.5, "level",
   "champions start with this much more intrinsic motivation and sense",
   "assumption: champions are the enthusiasts who volunteered or were picked (Rogers 2003)",
   bounds=UNIT)

# --- numerical -----------------------------------------------------------------------------------
_group("numerical")
_p("awareness_floor", 1e-4, 1e-6, 1e-3, "level",
   "campaign awareness below this counts as gone (it decays geometrically, never to 0)",
   "numerical tolerance: well below any effect on activity (awareness weight × floor ≪ 0.01 "
   "log-odds)", uncertain=False, bounds=(0.0, 1.0))

# --- intervention building blocks (conf/intervention/<kind>.yaml) ------------------------------
#: Unit and meaning of each numeric field of an intervention (models.interventions.Intervention).
FIELDS: dict[str, tuple[str, str]] = {
    "start": ("week", "first week it runs (weeks count from 1)"),
    "end": ("week", "last week it runs; null = to the end of the run"),
    "share": ("share", "share of the target group reached"),
    "intensity": ("level", "the lever's strength where it reaches (see each kind)"),
    "cadence": ("weeks", "weeks between pulses (events, conversations, trainings)"),
    "cost_fixed": ("hours", "once, in the first week (design, set-up)"),
    "cost_per_week": ("hours/week × intensity", "each week it runs (a team running it)"),
    "cost_per_person": ("hours/person/pulse × intensity", "time of each person reached, each "
                                                          "pulse week"),
    "cost_per_reward": ("hours/unit × intensity", "incentive: reward value per rewarded unit"),
    "training_hours": ("hours/person/pulse × intensity", "training time of each person given a "
                                                         "sense gain, each pulse week"),
    "decay": ("1/week", "campaign: weekly decay of awareness after a pulse"),
    "sense_gain": ("share of the gap per pulse × intensity", "sense gained where it reaches, each "
                                                             "pulse week (training, events)"),
}


#: What each kind of intervention does, in a sentence (the building block's header).
KIND_TEXT: dict[str, str] = {
    "mandate": "Everyone reached is told to use the network (pressure `intensity`, 0..1, while "
    "it runs). The activity pressure adds beyond people's own reasons is compliance "
    "(`hollow_pressure`); pressure breeds reactance in people who see little value. Cost: "
    "managers' time checking compliance.",
    "incentive": "Points or prizes while it runs (reward `intensity`, 0..1), for taking part "
    "(engagement), per post (completion) or for judged quality (performance). Rewards give "
    "non-users a reason to try it, raise extrinsic motivation, and crowd out intrinsic "
    "motivation in those who receive them (Deci, Koestner & Ryan 1999). Cost: reward value "
    "per rewarded unit and the time to run the scheme.",
    "campaign": "A launch event, then events and webinars every `cadence` weeks: awareness "
    "pulses (`intensity`) that decay by `decay` a week. Event-added use is partly event-only "
    "use (`hollow_event`) and can teach that the network is for events "
    "(`event_relevance_loss`). Cost: design, and each reached person's time an event.",
    "sense_making": "Managers lead value conversations with their teams every `cadence` weeks "
    "(adds `intensity` to their rate of leading them), and are trained for it (`sense_gain`). "
    "The effect on a team scales with the manager's own sense. Cost: design, the manager's "
    "and each report's time a conversation, and the managers' training.",
    "champions": "Champions (`champions.share`, `champions.rule`) are trained to coach "
    "(coaching strength 1 + `intensity`) and grow their own sense. Cost: set-up, and each "
    "champion's time a week.",
    "alignment": "The link between the network and the organisation's strategy is made "
    "explicit every `cadence` weeks (alignment gain `intensity` × `alignment_gain`). Cost: the "
    "strategy narrative, and each reached person's time a pulse.",
    "stories": "Discussing value creation: people hear what their active contacts really got "
    "out of the network — only value actually created (weekly pull `intensity` × "
    "`story_pull`). Cost: the time to collect and share stories.",
    "experiment": "Experiment & learn: pilot groups (a `share` chosen by `rule`) work across "
    "teams — (1 + `intensity`) times the contact with engaged people in other teams — and "
    "learn (`sense_gain`) every `cadence` weeks. Cost: each pilot member's time a session.",
    "role_model": "Leaders use the network visibly in their own work: a commitment "
    "(`intensity`) that is their own reason to use it and post, not compliance; their teams "
    "see their manager active. Cost: each leader's extra time a week.",
    "use_cases": "Work in the flow of work: every `cadence` weeks a use-case round raises the "
    "network's relevance to each person's work (`relevance_gain`) and integration cuts its "
    "time cost (`flow_time_cut`, down to `flow_time_floor`), both × `intensity`. Cost: mapping "
    "the use cases, and each person's workshop time a round.",
    "community": "Community managers curate what people see (`intensity`, 0..1): hollow posts "
    "filtered (`curation_noise_cut`), more good posts surfaced (`curation_reading_gain`). "
    "Cost: the community managers' time, per member reached.",
}


@dataclass(frozen=True)
class Setting:
    """A numeric default of one kind of intervention: value, plausible range and source."""

    value: float
    low: float
    high: float
    source: str


#: Each kind's defaults. Numbers are Settings (default, range, source); targets, rules and
#: contingencies are plain values. Fields not listed take the generic defaults of
#: ``models.interventions.Intervention``.
BLOCKS: dict[str, dict] = {
    "mandate": {
        "end": Setting(104, 26, 260, "assumption: a two-year mandate"),
        "intensity": Setting(0.5, 0.1, 1.0, "assumption: firm but not total pressure"),
        "cost_per_person": Setting(
            0.02, 0.005, 0.1, "assumption: managers checking compliance, about a minute a "
            "person a week at full pressure"),
    },
    "incentive": {
        "end": Setting(52, 13, 104, "assumption: a year of points"),
        "contingency": "engagement",
        "intensity": Setting(0.5, 0.1, 1.0, "assumption"),
        "cost_per_reward": Setting(0.1, 0.02, 0.5, "assumption: six minutes' worth of prize a "
                                   "rewarded unit"),
        "cost_per_week": Setting(8.0, 2.0, 20.0, "assumption: a day a week to run a full "
                                 "scheme (half that at the default intensity)"),
    },
    "campaign": {
        "end": Setting(52, 13, 156, "assumption: a launch year"),
        "cadence": Setting(13, 4, 26, "assumption: quarterly events"),
        "intensity": Setting(0.2, 0.05, 0.6, "assumption"),
        "decay": Setting(0.5, 0.2, 0.8, "assumption: attention halves each week after an event"),
        "sense_gain": Setting(0.05, 0.0, 0.2, "assumption: events show a little of how to use "
                              "it (0.01 a pulse at intensity 0.2)"),
        "cost_fixed": Setting(80.0, 20.0, 200.0, "assumption: two weeks to design the drive"),
        "cost_per_person": Setting(1.0, 0.5, 2.0, "assumption: an hour of each person's time an "
                                   "event"),
    },
    "sense_making": {
        "target": "managers",
        "cadence": Setting(4, 1, 13, "assumption: monthly value conversations"),
        "intensity": Setting(0.5, 0.1, 1.0, "assumption"),
        "sense_gain": Setting(0.1, 0.0, 0.3, "assumption: managers' coaching on how to lead "
                              "the conversations (0.05 a pulse at intensity 0.5)"),
        "training_hours": Setting(1.0, 0.5, 4.0, "assumption: an hour of each manager's time "
                                  "a month"),
        "cost_fixed": Setting(40.0, 10.0, 120.0, "assumption: a week to design and train"),
        "cost_per_person": Setting(0.5, 0.25, 1.0, "assumption: half an hour of the manager's and "
                                   "each report's time a conversation"),
    },
    "champions": {
        "target": "champions",
        "intensity": Setting(1.0, 0.5, 3.0, "assumption: training doubles coaching strength"),
        "sense_gain": Setting(0.01, 0.0, 0.05, "assumption"),
        "cost_fixed": Setting(200.0, 50.0, 400.0, "assumption: set-up and initial training"),
        "cost_per_person": Setting(2.0, 0.5, 4.0, "assumption: two hours a week of each "
                                   "champion's time"),
    },
    "alignment": {
        "cadence": Setting(13, 4, 26, "assumption: quarterly strategy communication"),
        "intensity": Setting(1.0, 0.25, 1.0, "assumption: everyone reached each pulse"),
        "cost_fixed": Setting(20.0, 5.0, 80.0, "assumption: the strategy narrative"),
        "cost_per_person": Setting(0.25, 0.1, 1.0, "assumption: a quarter hour a pulse"),
    },
    "stories": {
        "intensity": Setting(1.0, 0.25, 1.0, "assumption: stories shared every week"),
        "cost_per_week": Setting(4.0, 1.0, 10.0, "assumption: half a day a week collecting and "
                                 "telling stories"),
    },
    "experiment": {
        "cadence": Setting(4, 1, 13, "assumption: monthly pilot sessions"),
        "share": Setting(0.15, 0.05, 0.3, "assumption: pilot groups of about one in seven"),
        "rule": "bridging",
        "intensity": Setting(1.0, 0.5, 3.0, "assumption: doubles contact with other teams"),
        "sense_gain": Setting(0.02, 0.0, 0.05, "assumption"),
        "cost_per_person": Setting(0.5, 0.25, 2.0, "assumption: half an hour a session"),
    },
    "role_model": {
        "target": "managers",
        "intensity": Setting(0.5, 0.1, 1.0, "assumption: half of their weeks"),
        "cost_per_person": Setting(0.25, 0.1, 1.0, "assumption: a quarter hour a week writing "
                                   "about their work beyond ordinary use"),
    },
    "use_cases": {
        "cadence": Setting(13, 4, 26, "assumption: a use-case round a quarter"),
        "intensity": Setting(0.5, 0.1, 1.0, "assumption"),
        "sense_gain": Setting(0.04, 0.0, 0.1, "assumption: working through one's own use cases "
                              "teaches how to use it"),
        "cost_fixed": Setting(80.0, 20.0, 200.0, "assumption: two weeks to map use cases"),
        "cost_per_person": Setting(1.0, 0.5, 2.0, "assumption: an hour's workshop a round"),
    },
    "community": {
        "intensity": Setting(1.0, 0.25, 1.0, "assumption: full curation"),
        "cost_per_person": Setting(0.02, 0.01, 0.05, "assumption: community managers' time, "
                                   "about one full-time person per 2,000 members"),
    },
}


def block(kind: str) -> dict:
    """The building block of ``kind`` as plain values (``kind`` included)."""
    values = {"kind": kind}
    for field_, value in BLOCKS[kind].items():
        values[field_] = value.value if isinstance(value, Setting) else value
    return values


def _point_calibration(p: Parameter) -> Parameter:
    """``p`` with the shipped calibration's point (``models.calibrated``: the posterior's set
    most likely to meet every target at once) as its default, if it was fitted (written when a
    calibration is installed as the default)."""
    if p.name not in calibrated.POINT:
        return p
    return replace(
        p,
        default=calibrated.POINT[p.name],
        source=f"{p.source}; default: the point calibration of {calibrated.SOURCE} (its "
        "posterior's set most likely to meet every target at once, docs/CALIBRATION.md §6)",
    )


#: Every behavioural parameter, by name, in declaration order.
PARAMETERS: dict[str, Parameter] = {p.name: _point_calibration(p) for p in _ALL}

#: Switches of the dynamics (booleans, not numbers; not varied by studies).
SWITCHES = {"value_dynamics": (True, "False: users stay active once they try; no learning, stage "
                                     "moves, motivation change or abandonment (reduces the model "
                                     "to Bass/threshold diffusion for verification)")}


def uncertain() -> list[Parameter]:
    """The parameters studies vary by default."""
    return [p for p in PARAMETERS.values() if p.uncertain]


def check() -> list[str]:
    """Inconsistencies within the registry (a test asserts there are none): each default inside
    its plausible range, each plausible range inside the allowed bounds."""
    out = []
    for p in PARAMETERS.values():
        if not p.low <= p.default <= p.high:
            out.append(f"{p.name}: default {p.default} outside its range [{p.low}, {p.high}]")
        if not (p.bounds[0] <= p.low and p.high <= p.bounds[1]):
            out.append(f"{p.name}: range [{p.low}, {p.high}] outside its bounds {p.bounds}")
    for kind, fields_ in BLOCKS.items():
        for name, s in fields_.items():
            if isinstance(s, Setting) and not s.low <= s.value <= s.high:
                out.append(f"{kind}.{name}: default {s.value} outside [{s.low}, {s.high}]")
    return out
