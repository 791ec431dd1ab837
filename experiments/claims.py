"""The essays' six claims as named, falsifiable predicates — defined here and only here — and
the command that writes where each holds and fails into docs/MODEL.md §10:

    python -m experiments.claims                     # print the section's generated block
    python -m experiments.claims --docs              # and rewrite it in docs/MODEL.md
    python -m experiments.claims --docs --study results/sensitivity/<run>   # with its boxes

A claim compares **programmes** (a named programme of conf/scenario/, or one with a few settings
changed, ``PROGRAMMES``) run with the same seeds (common random numbers: replication i of every
programme runs on the same organisation with the same draws), through **outcomes** (one number
per replication: a difference between two programmes' runs, over a stated window, ``OUTCOMES``),
and **holds** when a predicate over the outcomes' means is true (``CLAIMS``: e.g.
``"mandate_net_gain <= 0 or mandate_gain_after <= 0"``). Value outcomes are net of every hour
the programmes cost (``net_value``) unless the claim's reasoning says why not.

The same definitions serve three uses: the verdict at the defaults (≥ 10 seeds), one factor at
a time across each uncertain parameter's plausible range (the registry's), and the sensitivity
study (``experiment=sensitivity``), whose scenario discovery finds the boxes where each fails.
``evaluate`` is the one engine: it runs every (point, programme, replication) through
``sim.replicate.run_jobs`` and reduces the runs of each point to its outcomes.
"""

import argparse
import math
import operator
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from experiments.docs_blocks import block, replace_block
from models.errors import InputError
from models.registry import PARAMETERS, uncertain
from sim.batch import Composer, format_override
from sim.labels import describe
from sim.replicate import Spec, replication_seeds, run_jobs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "MODEL.md"
BEGIN = "<!-- claims:begin (python -m experiments.claims --docs) -->"
END = "<!-- claims:end -->"

#: Weeks after a programme ends over which what it left behind is measured.
AFTER_WEEKS = 52
#: A campaign "spikes" when weekly-active share rises by at least this much over the baseline
#: (2 percentage points of everyone: above the week-to-week noise of a 1,000-person
#: organisation's paired difference).
MIN_SPIKE = 0.02
#: It "falls back" when, in the year after it ends, it keeps at most this share of its spike.
FALL_BACK = 0.5
#: Smoothing of weekly-active share before looking for a fall (a quarter: seasonless here,
#: but it averages out week-to-week noise), the rise in cumulative adoption that must go with
#: the fall, and the noise envelope the fall must exceed, in standard deviations of the
#: weekly residuals around the smoothed series.
SMOOTH_WEEKS = 13
MIN_RISE = 0.02
NOISE_SDS = 2.0
#: The weekly series the outcomes read (the rest of a run's weekly record is dropped).
SERIES = ("active_share", "adopted_share", "value_total")


# --- programmes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Programme:
    """A programme the claims compare: overrides on top of the study's own."""

    name: str
    overrides: tuple[str, ...]
    description: str


PROGRAMMES: dict[str, Programme] = {
    p.name: p
    for p in (
        Programme("baseline", ("scenario=baseline",), "deploy and wait"),
        Programme("mandate", ("scenario=mandate",), "everyone told to use it for two years"),
        Programme("incentives", ("scenario=incentives",), "a year of points for taking part"),
        Programme("adoption_drive", ("scenario=adoption_drive",), "a year of adoption events"),
        Programme(
            "sense_making", ("scenario=sense_making",), "managers lead monthly value conversations"
        ),
        Programme(
            "champions_bridging",
            ("scenario=champions", "champions.share=0.05", "champions.rule=bridging"),
            "trained champions: 5% of non-managers, the best bridges between teams",
        ),
        Programme(
            "champions_random",
            ("scenario=champions", "champions.share=0.05", "champions.rule=random"),
            "the same programme and cost, champions chosen at random",
        ),
        Programme(
            "champions_random_triple",
            ("scenario=champions", "champions.share=0.15", "champions.rule=random"),
            "three times as many champions (15%), chosen at random",
        ),
    )
}


def programme(name: str, custom: Mapping[str, Sequence[str]] | None = None) -> Programme:
    """A programme by name: one given in ``custom`` (name -> overrides), a built-in one, or a
    programme of conf/scenario/."""
    if custom and name in custom:
        return Programme(name, tuple(custom[name]), "given in experiment.params.programmes")
    if name in PROGRAMMES:
        return PROGRAMMES[name]
    return Programme(name, (f"scenario={name}",), f"the programme {name} (conf/scenario/)")


# --- the runs of one point ---------------------------------------------------------------------


class Sample:
    """The runs of one point of a study: every programme it needs × the same replications.

    ``metric(p, key)`` is a summary scalar of programme ``p``, one value per replication, and
    ``series(p, column)`` a weekly series (replications × weeks); replication i of every
    programme ran with the same seed, so differences between programmes are paired.
    """

    def __init__(self, runs: pd.DataFrame, weekly: Mapping[str, np.ndarray]):
        self._runs = runs
        self._weekly = weekly

    def metric(self, p: str, key: str) -> np.ndarray:
        return self._runs.loc[self._runs["scenario"] == p, key].to_numpy(float)

    def series(self, p: str, column: str) -> np.ndarray:
        return self._weekly[p][column]

    def window_end(self, p: str) -> int:
        """The last week programme ``p`` runs (its runs' ``window_end``)."""
        return int(self.metric(p, "window_end")[0])


def _paired(fn: Callable[[np.ndarray], np.ndarray], p: str, ref: str, column: str):
    """An outcome from the paired weekly difference ``p − ref`` of ``column``."""

    def outcome(s: Sample) -> np.ndarray:
        return fn(s.series(p, column) - s.series(ref, column), s.window_end(p))

    return outcome


def _after(diff: np.ndarray, end: int, how: str = "sum") -> np.ndarray:
    """The paired difference over the ``AFTER_WEEKS`` weeks after week ``end`` (summed or
    averaged); NaN when the horizon leaves no week after it."""
    part = diff[:, end : end + AFTER_WEEKS]
    if part.shape[1] == 0:
        return np.full(len(diff), np.nan)
    return part.sum(axis=1) if how == "sum" else part.mean(axis=1)


def _peak_during(diff: np.ndarray, end: int) -> np.ndarray:
    return diff[:, : max(end, 1)].max(axis=1)


def _fall_back(s: Sample) -> np.ndarray:
    diff = s.series("adoption_drive", "active_share") - s.series("baseline", "active_share")
    end = s.window_end("adoption_drive")
    return FALL_BACK * _peak_during(diff, end) - _after(diff, end, "mean")


def active_fall_margin(active: np.ndarray, adopted: np.ndarray) -> float:
    """How far weekly use falls while cumulative adoption rises, beyond noise, in one run.

    Weekly-active share is smoothed over ``SMOOTH_WEEKS`` (centred mean); the fall is the
    largest drop of the smoothed share from an earlier peak, over a stretch in which
    cumulative adoption rose by at least ``MIN_RISE``; the margin is that fall minus
    ``NOISE_SDS`` standard deviations of the weekly share around its smoothed course (the
    noise envelope: a flat series of noise has a margin below 0). NaN for runs shorter than
    the smoothing window.
    """
    k = SMOOTH_WEEKS
    if len(active) < k + 1:
        return math.nan
    smooth = np.convolve(active, np.ones(k) / k, mode="valid")
    centre = slice(k // 2, k // 2 + len(smooth))
    noise = float(np.std(active[centre] - smooth))
    adopted = np.maximum.accumulate(adopted[centre])  # cumulative: never falls
    earlier = np.searchsorted(adopted, adopted - MIN_RISE, side="right") - 1
    peaks = np.maximum.accumulate(smooth)
    ok = earlier >= 0
    fall = float((peaks[earlier[ok]] - smooth[ok]).max()) if ok.any() else 0.0
    return fall - NOISE_SDS * noise


def _rise_and_fall(s: Sample) -> np.ndarray:
    active, adopted = s.series("baseline", "active_share"), s.series("baseline", "adopted_share")
    return np.array([active_fall_margin(a, c) for a, c in zip(active, adopted, strict=True)])


@dataclass(frozen=True)
class Outcome:
    """One number per replication of a point, from its programmes' paired runs."""

    name: str
    unit: str
    description: str
    programmes: tuple[str, ...]
    compute: Callable[[Sample], np.ndarray]
    after: str | None = None  # the programme whose end it measures after (None: no window)
    metric: str | None = None  # the summary metric it compares, for a difference


def difference(name: str, p: str, ref: str | None = None, metric: str = "net_value") -> Outcome:
    """``metric`` of programme ``p`` minus that of ``ref`` (paired by replication), or of
    ``p`` alone."""
    unit = describe(metric)[1]
    if ref is None:
        return Outcome(
            name, unit, f"`{metric}` of `{p}`", (p,), lambda s: s.metric(p, metric), None, metric
        )
    return Outcome(
        name,
        unit,
        f"`{metric}` of `{p}` minus that of `{ref}`, paired by seed",
        (p, ref),
        lambda s: s.metric(p, metric) - s.metric(ref, metric),
        None,
        metric,
    )


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        difference("mandate_net_gain", "mandate", "baseline"),
        Outcome(
            "mandate_gain_after",
            "h",
            f"value created in the {AFTER_WEEKS} weeks after the mandate is lifted, `mandate` "
            "minus `baseline` over the same weeks",
            ("mandate", "baseline"),
            _paired(_after, "mandate", "baseline", "value_total"),
            after="mandate",
        ),
        difference("incentives_net_gain", "incentives", "baseline"),
        Outcome(
            "incentives_activity_after",
            "share",
            f"mean weekly-active share over the {AFTER_WEEKS} weeks after the rewards stop, "
            "`incentives` minus `baseline`",
            ("incentives", "baseline"),
            _paired(
                lambda d, end: _after(d, end, "mean"), "incentives", "baseline", "active_share"
            ),
            after="incentives",
        ),
        Outcome(
            "campaign_peak_lift",
            "share",
            "largest weekly-active share of `adoption_drive` above `baseline` (same week) while "
            "the campaign runs",
            ("adoption_drive", "baseline"),
            _paired(_peak_during, "adoption_drive", "baseline", "active_share"),
        ),
        Outcome(
            "campaign_fall_back",
            "share",
            f"{FALL_BACK:g} × `campaign_peak_lift` minus the mean lift over the {AFTER_WEEKS} "
            f"weeks after the campaign: ≥ 0 when it keeps at most {FALL_BACK:.0%} of its spike",
            ("adoption_drive", "baseline"),
            _fall_back,
            after="adoption_drive",
        ),
        difference("bridging_vs_random_net_gain", "champions_bridging", "champions_random"),
        difference(
            "small_bridging_vs_triple_random_value",
            "champions_bridging",
            "champions_random_triple",
            "long_run_value",
        ),
        difference("sense_making_net_gain", "sense_making", "baseline"),
        Outcome(
            "baseline_active_fall",
            "share",
            f"in `baseline`: the largest fall of weekly-active share ({SMOOTH_WEEKS}-week mean) "
            f"while cumulative adoption rises by ≥ {MIN_RISE:g}, minus {NOISE_SDS:g} sd of the "
            "weekly noise around it",
            ("baseline",),
            _rise_and_fall,
        ),
    )
}


def outcome_from_spec(name: str, spec) -> Outcome:
    """An outcome given in config: ``"programme - reference"`` (net value difference),
    ``"metric: programme - reference"``, ``"metric: programme"``, or a mapping with
    ``programme``, optional ``reference`` and ``metric`` (default ``net_value``)."""
    key = f"experiment.params.outcomes.{name}"
    if isinstance(spec, str):
        metric, _, pair = spec.rpartition(":")
        parts = [p.strip() for p in pair.split(" - ")]
        if not 1 <= len(parts) <= 2 or not all(parts):
            raise InputError(
                f"{key}={spec!r} is not allowed: write 'programme - reference', "
                "'metric: programme - reference' or 'metric: programme'"
            )
        spec = {"programme": parts[0], "reference": parts[1] if len(parts) == 2 else None}
        if metric.strip():
            spec["metric"] = metric.strip()
    if not isinstance(spec, Mapping) or "programme" not in spec:
        raise InputError(f"{key}={spec!r} is not allowed: give at least a programme")
    unknown = set(spec) - {"programme", "reference", "metric"}
    if unknown:
        raise InputError(
            f"{key}: unknown field(s) {', '.join(sorted(unknown))}; the fields are "
            "programme, reference, metric"
        )
    return difference(
        name, str(spec["programme"]), spec.get("reference"), str(spec.get("metric", "net_value"))
    )


# --- claims ------------------------------------------------------------------------------------

_OPS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_COMPARISON = re.compile(r"\s*([A-Za-z_]\w*)\s*(<=|>=|<|>)\s*([-+]?[\d.]+(?:e[-+]?\d+)?)\s*")


def parse_predicate(text: str, key: str = "holds_when") -> list[list[tuple[str, str, float]]]:
    """``"a <= 0 or b > 0.5 and c < 1"`` as clauses joined by *or*, each a list of comparisons
    joined by *and* (``and`` binds tighter). Refuses anything else with a message naming
    ``key``."""
    clauses = []
    for clause in re.split(r"\bor\b", text):
        comparisons = []
        for part in re.split(r"\band\b", clause):
            m = _COMPARISON.fullmatch(part)
            if not m:
                raise InputError(
                    f"{key}={text!r} is not allowed: write comparisons of an outcome with a "
                    "number ('<outcome> <= 0'), joined by 'and' / 'or'"
                )
            comparisons.append((m.group(1), m.group(2), float(m.group(3))))
        clauses.append(comparisons)
    return clauses


@dataclass(frozen=True)
class Claim:
    """A claim of the essays as a predicate over outcomes (``holds_when``)."""

    name: str
    essay: str  # the claim in the essays' words
    holds_when: str
    reasoning: str  # why this comparison, window, outcome and threshold

    @property
    def outcomes(self) -> list[str]:
        names = [c[0] for clause in parse_predicate(self.holds_when) for c in clause]
        return list(dict.fromkeys(names))

    def holds(self, values: Mapping[str, float]) -> bool | None:
        """Whether the claim holds for these outcome values; None when one is missing (NaN:
        e.g. a horizon that ends before the window after a programme)."""
        if any(not np.isfinite(values[n]) for n in self.outcomes):
            return None
        return any(
            all(_OPS[op](values[name], threshold) for name, op, threshold in clause)
            for clause in parse_predicate(self.holds_when)
        )


CLAIMS: dict[str, Claim] = {
    c.name: c
    for c in (
        Claim(
            "mandates_rarely_create_lasting_value",
            "mandates rarely create lasting value",
            "mandate_net_gain <= 0 or mandate_gain_after <= 0",
            "A mandate creates lasting value only if it pays for itself over the horizon, net "
            "of its cost, and the organisation still gains after it is lifted; the claim fails "
            "when both hold. The horizon runs well past the mandate (weeks 105–260 at the "
            "defaults), and the year after the lifting is measured on its own so that value "
            "forced during the mandate cannot stand in for value that lasts.",
        ),
        Claim(
            "incentives_crowd_out",
            "incentives crowd out motivation and make participation an end in itself",
            "incentives_activity_after < 0 and incentives_net_gain <= 0",
            "Crowding-out is what free-choice behaviour does once rewards stop (Deci, Koestner "
            "& Ryan 1999; Farzan et al. 2008 on IBM's points scheme): the year after the "
            "rewards end, fewer people "
            "use the network than without the scheme. Participation as an end in itself is "
            "activity that buys no value: the scheme adds no net value over the baseline. "
            "Both must hold.",
        ),
        Claim(
            "campaigns_spike_and_fall_back",
            "adoption campaigns spike utilisation, which falls back afterwards",
            f"campaign_peak_lift >= {MIN_SPIKE:g} and campaign_fall_back >= 0",
            f"Measured on weekly use, which is what the claim is about (no cost enters it): "
            f"the campaign must lift weekly use visibly while it runs (≥ {MIN_SPIKE:g} of "
            f"everyone above the baseline in some week) and keep at most {FALL_BACK:.0%} of "
            f"that lift over the year after it ends.",
        ),
        Claim(
            "small_connected_share_suffices",
            "a small share of users suffices if it is well connected: there is no magic number",
            "bridging_vs_random_net_gain > 0 and small_bridging_vs_triple_random_value >= 0",
            "Tested through who is trained, never through how value is counted: the champions "
            "programme with 5% of non-managers chosen as the best bridges between teams must "
            "beat the same programme with champions chosen at random (same size, same cost, "
            "net value) and create at least as much value as three times as many random "
            "champions. The second comparison is gross of cost: the larger group costs three "
            "times as much, and net of cost the price of training, not the spread of use, "
            "would decide it.",
        ),
        Claim(
            "leaders_sense_making_raises_value",
            "leaders leading sense-making raises long-run value",
            "sense_making_net_gain > 0",
            "Managers leading value conversations with their teams must beat deploying and "
            "waiting on value net of every hour the conversations and training cost, over the "
            "whole horizon.",
        ),
        Claim(
            "adoption_rises_while_use_falls",
            "cumulative adoption keeps rising while weekly use falls",
            "baseline_active_fall > 0",
            "Without any programme, weekly use must fall by more than its own week-to-week "
            "noise (a noise envelope, not any fall) over a stretch in which cumulative "
            "adoption still rises (Fisher, Kim & Cummings 2018).",
        ),
    )
}


def claim_from_spec(name: str, spec) -> Claim:
    """A claim given in config: a predicate string, or a mapping with ``holds_when`` and
    optionally ``essay`` (its wording)."""
    key = f"experiment.params.claims.{name}"
    if isinstance(spec, str):
        spec = {"holds_when": spec}
    if not isinstance(spec, Mapping) or "holds_when" not in spec:
        raise InputError(f"{key}={spec!r} is not allowed: give a predicate such as 'x > 0'")
    parse_predicate(str(spec["holds_when"]), key)
    return Claim(name, str(spec.get("essay", name)), str(spec["holds_when"]), "given in config")


# --- the engine --------------------------------------------------------------------------------


def applicable(composer: Composer, base: Sequence[str], p: Programme, keys: Sequence[str]):
    """The keys of ``keys`` that programme ``p``'s config has (an intervention field only
    applies to programmes with that intervention)."""
    cfg = composer([*base, *p.overrides])
    missing = object()
    return [k for k in keys if OmegaConf.select(cfg, k, default=missing) is not missing]


def evaluate(
    points: Sequence[Mapping[str, object]],
    outcomes: Sequence[Outcome],
    seeds: Sequence[int],
    base: Sequence[str] = (),
    custom: Mapping[str, Sequence[str]] | None = None,
    n_jobs: int = 1,
    progress: bool = False,
    composer: Composer | None = None,
    chunk_runs: int = 512,
) -> pd.DataFrame:
    """Every point (config key -> value) × every programme the outcomes need × every seed,
    reduced to one row per point and replication: ``point``, ``replication``, each outcome,
    and ``<programme>.net_value``.

    A programme's config is ``base`` (the study's overrides), then the point's values (only
    keys the programme has), then the programme's own overrides (which win). Runs go through
    ``run_jobs`` a chunk at a time (about ``chunk_runs`` runs), so memory holds one chunk's
    weekly records.
    """
    from tqdm import tqdm

    composer = composer or Composer()
    names = list(dict.fromkeys(p for o in outcomes for p in o.programmes))
    programmes = [programme(n, custom) for n in names]
    keys = list(dict.fromkeys(k for point in points for k in point))
    fits = {p.name: applicable(composer, base, p, keys) for p in programmes}
    per_point = max(1, chunk_runs // max(len(programmes) * len(seeds), 1))
    rows = []
    with tqdm(
        total=len(points), desc="points", unit="point", file=sys.stderr, disable=not progress
    ) as bar:
        numbered = list(enumerate(points))
        for start in range(0, len(points), per_point):
            chunk = numbered[start : start + per_point]
            jobs, tags = [], []
            for i, point in chunk:
                for p in programmes:
                    values = [format_override(k, point[k]) for k in fits[p.name] if k in point]
                    try:
                        spec = Spec.from_config(composer([*base, *values, *p.overrides]), p.name)
                    except InputError as e:
                        raise InputError(f"programme {p.name} at {dict(point)}: {e}") from e
                    for r, seed in enumerate(seeds):
                        jobs.append((spec, r, seed))
                        tags.append(i)
            weekly, runs = run_jobs(jobs, n_jobs=n_jobs)
            rows += _reduce(jobs, tags, weekly, runs, outcomes, programmes, len(seeds))
            bar.update(len(chunk))
    return pd.DataFrame(rows)


def _reduce(jobs, tags, weekly, runs, outcomes, programmes, replications) -> list[dict]:
    """The rows of ``evaluate`` for one chunk of runs (in job order)."""
    offsets = np.cumsum([0] + [spec.weeks for spec, _, _ in jobs])
    if len(weekly) != offsets[-1] or len(runs) != len(jobs):  # run_jobs keeps the jobs' order
        raise RuntimeError("run_jobs returned other rows than the jobs' weeks, in order")
    series = {c: weekly[c].to_numpy(float) for c in SERIES}
    out = []
    tags = np.asarray(tags)
    for i in dict.fromkeys(tags.tolist()):
        idx = np.flatnonzero(tags == i)
        weekly_by = {}
        for p in programmes:
            own = [j for j in idx if jobs[j][0].scenario == p.name]
            weekly_by[p.name] = {
                c: np.stack([v[offsets[j] : offsets[j + 1]] for j in own])
                for c, v in series.items()
            }
        sample = Sample(runs.iloc[idx].reset_index(drop=True), weekly_by)
        values = {o.name: o.compute(sample) for o in outcomes}
        nets = {f"{p.name}.net_value": sample.metric(p.name, "net_value") for p in programmes}
        for r in range(replications):
            row = {"point": int(i), "replication": r}
            row.update({k: float(v[r]) for k, v in values.items()})
            row.update({k: float(v[r]) for k, v in nets.items()})
            out.append(row)
    return out


def means(per_replication: pd.DataFrame) -> pd.DataFrame:
    """One row per point: the mean over replications of every column."""
    return per_replication.drop(columns="replication").groupby("point").mean()


# --- docs/MODEL.md §10: where each claim holds and fails ---------------------------------------

#: Seeds of the verdict at the defaults, and values per parameter one at a time (2: the two
#: ends of its plausible range, where a claim is most likely to turn).
SEEDS = 10
LEVELS = 2


@dataclass
class Measured:
    """What ``measure`` ran: the defaults' runs and one parameter at a time."""

    seeds: list[int]
    base: list[str]
    defaults: pd.DataFrame  # one row per replication at the defaults
    points: list[tuple[str, float]]  # (parameter, value) of each one-at-a-time point
    varied: pd.DataFrame  # evaluate's rows for those points
    agents: int
    weeks: int
    levels: int


def one_at_a_time(levels: int = LEVELS) -> list[tuple[str, float]]:
    """Each uncertain registry parameter at ``levels`` evenly spaced values across its
    plausible range (ends included), leaving out its default."""
    points = []
    for p in uncertain():
        values = np.linspace(p.low, p.high, levels)
        values = np.unique(np.round(values)) if p.whole else values
        points += [(p.name, _plain(v, p.whole)) for v in values if not math.isclose(v, p.default)]
    return points


def _plain(value: float, whole: bool) -> float | int:
    return int(value) if whole else float(value)


def measure(
    seeds: int = SEEDS,
    levels: int = LEVELS,
    base: Sequence[str] = (),
    n_jobs: int = 2,
    progress: bool = False,
) -> Measured:
    """The built-in claims' outcomes at the defaults and one parameter at a time, with the
    same seeds (common random numbers) throughout."""
    composer = Composer()
    cfg = composer(list(base))
    seed_list = replication_seeds(int(cfg.seed), seeds)
    needed = {n for c in CLAIMS.values() for n in c.outcomes}
    outcomes = [o for n, o in OUTCOMES.items() if n in needed]
    points = one_at_a_time(levels)
    rows = [{}] + [{f"population.{n}": v} for n, v in points]
    per = evaluate(rows, outcomes, seed_list, base, n_jobs=n_jobs, progress=progress)
    return Measured(
        seed_list,
        list(base),
        per[per["point"] == 0].reset_index(drop=True),
        points,
        per[per["point"] > 0].reset_index(drop=True),
        int(cfg.org.get("size", 0) or 0),
        int(cfg.weeks),
        levels,
    )


def _number(x: float, unit: str = "") -> str:
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    return text.replace("-", "−") + (f" {unit}" if unit in ("h",) else "")


def _interval(values: np.ndarray) -> str:
    """Mean and 95% t-interval over the seeds."""
    from scipy import stats

    n, m = len(values), float(np.mean(values))
    if n < 2:
        return _number(m)
    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return f"{_number(m)} ({_number(m - half)} to {_number(m + half)})"


def docs_block(m: Measured, study: Path | None = None) -> str:
    """The generated part of docs/MODEL.md §10."""
    from sim.provenance import git_revision

    mean = m.defaults.mean(numeric_only=True)
    holds = {name: c.holds(mean) for name, c in CLAIMS.items()}
    lines = [
        "Measured by `python -m experiments.claims --docs"
        + (f" {' '.join(m.base)}" if m.base else "")
        + f"` at revision `{(git_revision() or {}).get('commit', 'unknown')[:7]}`: "
        f"{len(m.seeds)} seeds (common random numbers), {m.agents:,} people, {m.weeks} weeks, "
        f"the defaults of §8. One at a time: each uncertain parameter of the registry at "
        f"{m.levels} evenly spaced values across its plausible range (ends included), "
        "everything else at the defaults, the same seeds.",
        "",
        *_definitions(),
        "",
        "| # | claim | holds when | at the defaults | outcomes: mean (95% interval over the "
        "seeds) | seeds where it holds |",
        "|---|---|---|---|---|---|",
    ]
    for k, (name, c) in enumerate(CLAIMS.items(), 1):
        seeds = [c.holds(row) for _, row in m.defaults.iterrows()]
        verdict = {True: "**holds**", False: "**fails**", None: "not judged"}[holds[name]]
        values = "; ".join(f"`{o}` {_interval(m.defaults[o].to_numpy(float))}" for o in c.outcomes)
        lines.append(
            f"| {k} | {c.essay} (`{name}`) | `{c.holds_when}` | {verdict} | {values} | "
            f"{sum(bool(s) for s in seeds)} of {len(seeds)} |"
        )
    lines += [
        "",
        "Where the verdict changes, one parameter at a time (the values at which the claim "
        "**fails** when it holds at the defaults, or **holds** when it fails there; · where "
        "no value tried changes it):",
        "",
        "| parameter | range | " + " | ".join(str(k) for k in range(1, len(CLAIMS) + 1)) + " |",
        "|---|---|" + "---|" * len(CLAIMS),
    ]
    varied = means(m.varied) if len(m.varied) else pd.DataFrame()
    for parameter in dict.fromkeys(n for n, _ in m.points):
        p = PARAMETERS[parameter]
        cells = []
        for name, c in CLAIMS.items():
            flips = [
                v
                for i, (n, v) in enumerate(m.points, 1)
                if n == parameter and c.holds(varied.loc[i]) not in (holds[name], None)
            ]
            word = "fails" if holds[name] else "holds"
            cells.append(f"{word} at {', '.join(f'{v:.3g}' for v in flips)}" if flips else "·")
        lines.append(
            f"| `{parameter}` | {f'{p.low:g}–{p.high:g} {p.unit}'.strip()} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", *_boxes(study)]
    return "\n".join(lines)


def _definitions() -> list[str]:
    """Each claim's definition and reasoning, and the outcomes they use (from the code)."""
    lines = ["**The claims** (`experiments/claims.py`):", ""]
    for k, c in enumerate(CLAIMS.values(), 1):
        lines.append(f"{k}. *{c.essay}* (`{c.name}`) holds when `{c.holds_when}`. {c.reasoning}")
    lines += ["", "**Their outcomes**, one number per seed, CRN-paired:", ""]
    used = dict.fromkeys(n for c in CLAIMS.values() for n in c.outcomes)
    for name in used:
        o = OUTCOMES[name]
        lines.append(f"- `{name}` ({o.unit}): {o.description}.")
    return lines


def _boxes(study: Path | None) -> list[str]:
    """The sensitivity study's PRIM boxes, one line per claim."""
    if study is None:
        return [
            "Regions where several parameters together make a claim fail come from the "
            "sensitivity study: run `python -m sim experiment=sensitivity` and regenerate this "
            "block with `--study results/sensitivity/<run>`."
        ]
    from experiments.sensitivity_report import Study, box_text, holds_share

    s = Study(study)
    lines = [
        f"Where each fails when all uncertain parameters vary together (sensitivity study "
        f"`{study.name}`: {s.record['agents']:,} people, {s.record['weeks']} weeks, "
        f"{s.record['replications']} seeds per point; PRIM on "
        f"{len(s.experiments)} Latin-hypercube points; docs/VALIDATION.md):",
        "",
    ]
    for name in CLAIMS:
        if name in s.experiments:
            lines.append(
                f"- `{name}`: holds in {holds_share(s, name)}; fails in {box_text(s, name)}."
            )
    return lines


def documented(docs: Path = DOCS) -> str:
    """The block as docs/MODEL.md has it."""
    return block(docs, BEGIN, END)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="overrides for every run (e.g. weeks=156)")
    parser.add_argument("--docs", action="store_true", help="rewrite the block in docs/MODEL.md")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds (default {SEEDS})")
    parser.add_argument("--levels", type=int, default=LEVELS, help="values per parameter")
    parser.add_argument("--study", type=Path, help="a results/sensitivity/<run> folder")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)
    try:
        if args.seeds < 1 or args.levels < 2:
            raise InputError(
                f"--seeds {args.seeds} --levels {args.levels}: give at least 1 seed and 2 levels"
            )
        measured = measure(args.seeds, args.levels, args.overrides, args.jobs, sys.stderr.isatty())
        text = docs_block(measured, args.study)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from e
    print(text)
    if args.docs:
        print(f"wrote {replace_block(DOCS, BEGIN, END, text)}")


if __name__ == "__main__":
    cli()
