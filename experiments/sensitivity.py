"""Sensitivity analysis of the essays' claims: Morris screening, Sobol indices (SALib) and
scenario discovery (PRIM boxes and split rules), defined in config.

    python -m sim experiment=sensitivity
    python -m sim experiment=sensitivity 'experiment.params.methods=[morris]' \\
        'experiment.params.factors=[uncertain,scenario.interventions.mandate.intensity]' \\
        'experiment.params.ranges={scenario.interventions.mandate.intensity:[0.1,1]}'

Everything the study varies, measures and judges is ``experiment.params.*``
(``conf/experiment/sensitivity.yaml`` lists every key with its default):

- ``factors``: what varies, uniformly over a range. ``uncertain`` stands for every parameter
  the parameter registry marks uncertain (``models.registry``), over its
  plausible range; a registry parameter by name (``noise_hours``) or config key
  (``population.noise_hours``); an intervention field or cost
  (``scenario.interventions.<name>.<field>``: it varies in every programme that has that
  intervention); an organisation or other config value (``org.informal_degree``,
  ``champions.share``). Whole-number keys are rounded.
- ``ranges``: ``{key: [low, high]}``, replacing the registry's range; required for keys the
  registry does not cover.
- ``claims``: named predicates over outcomes; the essays' six are built in
  (``experiments.claims.CLAIMS``, listed by name), and a claim of one's own is
  ``"name: <outcome> <op> <number> [and|or ...]"``.
- ``outcomes``: outcomes of one's own, ``{name: "programme - reference"}`` (difference of net
  value, the default metric), ``"metric: programme - reference"`` or ``"metric: programme"``;
  the built-in claims bring theirs (``experiments.claims.OUTCOMES``).
- ``programmes``: programmes of one's own for those outcomes, ``{name: [overrides]}``; a name
  in ``conf/scenario/`` or ``experiments.claims.PROGRAMMES`` needs none.
- method settings: ``methods`` (any of morris, sobol, discovery, in that order), Morris
  trajectories and levels, Sobol N and the number of factors Morris passes to Sobol
  (``sobol_top``), discovery points, bootstrap resamples and confidence level.

Settings are checked together before anything runs (a setting of a method that does not run
is not checked), and every problem is listed with its key, value and what is allowed.

How. A point (values of the factors) runs every programme the outcomes need with the same
seeds (common random numbers, ``experiment.replications`` of them spawned from ``seed``):
``experiments.claims.evaluate``, through ``sim.replicate.run_jobs``. The command's overrides
apply to every programme; a programme's own settings win over a factor (the champions
variants keep their share and rule). Each outcome is the mean over the replications; a claim
holds at a point when its predicate over those means is true.

Writes ``<experiment.dir>/<timestamp>/`` atomically: ``report.md`` and a self-contained
``report.html`` (how much of the space each claim holds in, which factors decide it, where it
fails), ``samples.parquet``/``.csv`` (method, sample, factors, outcomes, each programme's mean
net value), ``indices.csv`` (Morris and Sobol, when they ran), ``experiments.csv`` (one row
per discovery point: factors, outcomes, one boolean column per claim — the table the EMA
workbench's PRIM or a decision tree reads), ``boxes.csv`` (PRIM: where each claim fails) and
``rules.csv`` (the best one- and two-condition rules), charts (PNG and SVG),
``problem.json`` (which columns are factors, outcomes and claims; ranges, units, sources,
settings), ``config.yaml``, ``scenarios.yaml``, ``seeds.csv``, ``provenance.json``.
"""

import json
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from experiments import claims as claims_module
from experiments.claims import Claim, Outcome, programme
from models.errors import InputError
from models.params import Behaviour
from models.registry import BLOCKS, PARAMETERS, Setting, uncertain
from sim.batch import Composer, format_override
from sim.labels import describe
from sim.provenance import provenance
from sim.replicate import Spec, experiment_problems, replication_seeds, write_study_inputs
from sim.resources import memory_problems, sensitivity_estimate
from sim.run import check_output_dir, new_run_folder, write_atomically

METHODS = ("morris", "sobol", "discovery")
#: Smallest share of the points a scenario-discovery box or rule must hold.
MIN_SUPPORT = 0.05
#: PRIM: share peeled off at each step, and the failure density a box should reach.
PEEL = 0.05
PRIM_THRESHOLD = 0.8
#: PRIM: a restriction is dropped while the box keeps its failure density within this.
PRUNE_TOLERANCE = 0.05
RULE_COLUMNS = [
    "claim",
    "box",
    "region",
    "samples",
    "support",
    "failure_density",
    "coverage",
    "failure_share_overall",
]
BOX_COLUMNS = [
    "claim",
    "factor",
    "low",
    "high",
    "samples",
    "support",
    "failure_density",
    "coverage",
    "failure_share_overall",
    "density_without",
]
#: Method settings: name -> (type, check, what is allowed). Checked only when their method
#: runs (``None``: always).
SETTINGS = {
    "morris_trajectories": ("morris", lambda v: v >= 2, "an integer, at least 2"),
    "morris_levels": ("morris", lambda v: v >= 2, "an integer, at least 2"),
    "sobol_n": ("sobol", lambda v: v >= 2 and not v & (v - 1), "a power of two, at least 2"),
    "discovery_n": ("discovery", lambda v: v >= 2, "an integer, at least 2"),
    "resamples": (None, lambda v: v >= 10, "an integer, at least 10"),
}


@dataclass(frozen=True)
class Factor:
    """What a study varies: a config key, uniformly between ``low`` and ``high``."""

    key: str
    low: float
    high: float
    default: float | int | None = None  # its value where the study does not vary it
    integer: bool = False
    unit: str = ""
    source: str = ""

    def value(self, x: float) -> float | int:
        return int(round(x)) if self.integer else float(x)


@dataclass(frozen=True)
class Study:
    """A sensitivity study as ``experiment.params`` defines it (``Study.from_config``)."""

    factors: tuple[Factor, ...]
    outcomes: tuple[Outcome, ...]
    claims: tuple[Claim, ...]
    programmes: dict = field(default_factory=dict)  # custom: name -> overrides
    methods: tuple[str, ...] = METHODS
    morris_trajectories: int = 10
    morris_levels: int = 4
    sobol_n: int = 256
    sobol_top: int = 6
    discovery_n: int = 128
    resamples: int = 1000
    conf_level: float = 0.95

    @property
    def names(self) -> list[str]:
        return [f.key for f in self.factors]

    def problem(self) -> dict:
        """The SALib problem: names and bounds of the factors."""
        return {
            "num_vars": len(self.factors),
            "names": self.names,
            "bounds": [[f.low, f.high] for f in self.factors],
        }

    def programme_names(self) -> list[str]:
        return list(dict.fromkeys(p for o in self.outcomes for p in o.programmes))

    @classmethod
    def from_config(cls, params, overrides=(), composer: Composer | None = None) -> "Study":
        """The study ``experiment.params`` describes, checked as a whole: ``InputError``
        lists every problem."""
        values = OmegaConf.to_container(params) if params is not None else {}
        return _build(values, overrides, composer or Composer())


def _build(params: dict, overrides, composer: Composer) -> Study:
    errors: list[str] = []
    known = {"factors", "ranges", "claims", "outcomes", "programmes", "methods", "sobol_top"}
    known |= {"conf_level", *SETTINGS}
    for key in sorted(set(params) - known):
        errors.append(
            f"experiment.params.{key} is not a setting of experiment=sensitivity: the settings "
            f"are {', '.join(sorted(known))}"
        )
    methods = tuple(params.get("methods", METHODS))
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        errors.append(
            f"experiment.params.methods={list(methods)} is not allowed: choose one or more "
            f"of {', '.join(METHODS)}"
        )
    numbers = {}
    for name, (method, ok, allowed) in SETTINGS.items():
        value = params.get(name, Study.__dataclass_fields__[name].default)
        if method is not None and method not in methods:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not ok(value):
            errors.append(
                f"experiment.params.{name}={value!r} is not allowed: it must be {allowed}"
            )
        numbers[name] = value
    conf = params.get("conf_level", 0.95)
    if isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 < conf < 1:
        errors.append(
            f"experiment.params.conf_level={conf!r} is not allowed: it must be between 0 and 1"
        )
    custom = params.get("programmes") or {}
    outcomes, claims = _outcomes_and_claims(params, custom, errors)
    factors = _factors(params, overrides, custom, outcomes, composer, errors)
    top = params.get("sobol_top", 6)
    if "sobol" in methods and factors:
        k = len(factors)
        if isinstance(top, bool) or not isinstance(top, int) or top < 0 or top == 1 or top > k:
            errors.append(
                f"experiment.params.sobol_top={top!r} is not allowed: give 0 (every factor) or "
                f"2..{k} (the factors Morris ranks highest; the study has {k} factors)"
            )
        elif 0 < top < k and "morris" not in methods:
            errors.append(
                f"experiment.params.sobol_top={top} needs Morris to rank the factors: add morris "
                "to experiment.params.methods, or give sobol_top=0 (every factor)"
            )
    _check_overrides(overrides, factors, outcomes, custom, composer, errors)
    if errors:
        raise InputError("\n".join(errors))
    return Study(
        tuple(factors),
        tuple(outcomes),
        tuple(claims),
        dict(custom),
        methods,
        sobol_top=top,
        conf_level=float(conf),
        **numbers,
    )


def _outcomes_and_claims(params: dict, custom: dict, errors: list[str]):
    """The claims (built-in by name, or ``"name: predicate"``) and every outcome they and
    ``outcomes`` need."""
    entries = params.get("claims", list(claims_module.CLAIMS))
    if isinstance(entries, dict):
        entries = [n if v in (None, "builtin") else {n: v} for n, v in entries.items()]
    claims = []
    for entry in entries:
        try:
            if isinstance(entry, dict):
                ((name, spec),) = entry.items()
                claims.append(claims_module.claim_from_spec(name, spec))
            elif ":" in str(entry):
                name, spec = str(entry).split(":", 1)
                claims.append(claims_module.claim_from_spec(name.strip(), spec.strip()))
            elif entry in claims_module.CLAIMS:
                claims.append(claims_module.CLAIMS[entry])
            else:
                errors.append(
                    f"experiment.params.claims: {entry!r} is not a built-in claim: choose from "
                    f"{', '.join(claims_module.CLAIMS)}, or write 'name: <outcome> > 0'"
                )
        except InputError as e:
            errors.append(str(e))
    outcomes = {}
    for name, spec in (params.get("outcomes") or {}).items():
        try:
            outcomes[name] = claims_module.outcome_from_spec(name, spec)
        except InputError as e:
            errors.append(str(e))
    for claim in claims:
        for name in claim.outcomes:
            if name in outcomes:
                continue
            if name in claims_module.OUTCOMES:
                outcomes[name] = claims_module.OUTCOMES[name]
            else:
                errors.append(
                    f"experiment.params.claims.{claim.name}: outcome {name!r} is not defined: "
                    f"give it in experiment.params.outcomes, or use one of "
                    f"{', '.join(claims_module.OUTCOMES)}"
                )
    if not outcomes:
        errors.append("experiment.params: no outcome to measure: give claims or outcomes")
    metrics = summary_keys()
    scenarios = set(available_scenarios())
    for o in outcomes.values():
        if o.metric is not None and o.metric not in metrics:
            errors.append(
                f"experiment.params.outcomes.{o.name}: {o.metric!r} is not a summary metric: "
                f"choose one of {', '.join(sorted(metrics))}"
            )
        for p in o.programmes:
            if p not in custom and p not in claims_module.PROGRAMMES and p not in scenarios:
                errors.append(
                    f"experiment.params.outcomes.{o.name}: programme {p!r} is not in "
                    "conf/scenario/, not built in (experiments.claims.PROGRAMMES) and not "
                    "given in experiment.params.programmes"
                )
    return list(outcomes.values()), claims


def _factors(params, overrides, custom, outcomes, composer, errors) -> list[Factor]:
    """The factors with their ranges; each is checked at both ends of its range against the
    first programme that has it, with the model's own validation."""
    ranges = {_config_key(k): v for k, v in (params.get("ranges") or {}).items()}
    keys = []
    for entry in params.get("factors", ["uncertain"]):
        if entry == "uncertain":
            keys += [f"population.{p.name}" for p in uncertain()]
        else:
            keys.append(_config_key(str(entry)))
    keys = list(dict.fromkeys(keys))
    for key in ranges:
        if key not in keys:
            errors.append(
                f"experiment.params.ranges: {key} is not a factor: add it to "
                "experiment.params.factors"
            )
    configs = {}
    for name in dict.fromkeys(p for o in outcomes for p in o.programmes):
        try:
            configs[name] = composer([*overrides, *programme(name, custom).overrides])
        except InputError as e:
            errors.append(f"programme {name} ({' '.join(programme(name, custom).overrides)}): {e}")
    missing = object()
    factors = []
    for key in keys:
        fits = [
            n
            for n, c in configs.items()
            if OmegaConf.select(c, key, default=missing) is not missing
        ]
        if not fits:
            what = "a config key" if "." in key else "a registry parameter or a config key"
            errors.append(
                f"experiment.params.factors: {key} is not {what} of the study's programmes "
                f"({', '.join(configs)})"
            )
            continue
        first = fits[0]
        default = OmegaConf.select(configs[first], key)
        found = _range(key, ranges, configs[first], errors)
        if found is None:
            continue
        low, high, source = found
        integer = isinstance(default, int) and not isinstance(default, bool)
        for end in (low, high):
            value = int(round(end)) if integer else float(end)
            try:
                at = programme(first, custom).overrides
                Spec.from_config(composer([*overrides, format_override(key, value), *at]), first)
            except InputError as e:
                errors.append(f"experiment.params.factors: {key} at {value:g}: {e}")
        factors.append(
            Factor(key, float(low), float(high), default, integer, describe(key)[1], source)
        )
    if not factors and not errors:
        errors.append("experiment.params.factors: nothing to vary: give at least one factor")
    return factors


def _range(key: str, ranges: dict, cfg, errors: list[str]) -> tuple[float, float, str] | None:
    """A factor's range and its source: ``experiment.params.ranges``, else the registry's
    plausible range (a behavioural parameter's, or an intervention kind's field's)."""
    name = key.removeprefix("population.")
    intervention = re.fullmatch(r"scenario\.interventions\.(\w+)\.(\w+)", key)
    if key in ranges:
        bounds = ranges[key]
        if not (isinstance(bounds, list) and len(bounds) == 2) or not all(
            isinstance(b, int | float) and not isinstance(b, bool) for b in bounds
        ):
            errors.append(
                f"experiment.params.ranges.{key}={bounds!r} is not allowed: give [low, high]"
            )
            return None
        found = (bounds[0], bounds[1], "experiment.params.ranges")
    elif key.startswith("population.") and name in PARAMETERS:
        p = PARAMETERS[name]
        found = (p.low, p.high, p.source)
    elif intervention and isinstance(
        setting := BLOCKS.get(
            str(OmegaConf.select(cfg, f"scenario.interventions.{intervention[1]}.kind")), {}
        ).get(intervention[2]),
        Setting,
    ):
        found = (setting.low, setting.high, setting.source)
    else:
        errors.append(
            f"experiment.params.factors: {key} has no plausible range in the parameter "
            f"registry: give one, experiment.params.ranges={{{key}:[low,high]}}"
        )
        return None
    if not found[0] < found[1]:
        errors.append(
            f"{key}: range [{found[0]:g}, {found[1]:g}] is not allowed: low must be below high"
        )
        return None
    return found


def _config_key(name: str) -> str:
    """A factor's config key: a behavioural parameter's name becomes ``population.<name>``."""
    return f"population.{name}" if name in Behaviour.__dataclass_fields__ else name


def _check_overrides(overrides, factors, outcomes, custom, composer, errors) -> None:
    """The command line must not choose a programme or set what the study varies, and the
    horizon must reach past the programmes whose aftermath an outcome measures."""
    keys = [o.lstrip("+~").split("=", 1)[0] for o in overrides]
    if "scenario" in keys:
        errors.append(
            "scenario=: experiment=sensitivity runs the programmes its outcomes need "
            f"({', '.join(dict.fromkeys(p for o in outcomes for p in o.programmes))}); "
            "do not choose one"
        )
    varied = {f.key for f in factors}
    for o in overrides:
        if o.lstrip("+~").split("=", 1)[0] in varied:
            errors.append(
                f"{o}: this is a factor of the study; set its range with "
                f"experiment.params.ranges instead"
            )
    if errors:
        return
    for o in outcomes:
        if o.after is None:
            continue
        spec = Spec.from_config(composer([*overrides, *programme(o.after, custom).overrides]))
        ends = [iv.end or spec.weeks for iv in spec.interventions if iv.intensity > 0]
        end = max(ends, default=0)
        if end >= spec.weeks:
            errors.append(
                f"weeks={spec.weeks} is not allowed: outcome {o.name} measures the weeks after "
                f"{o.after} ends (week {end}); give weeks of at least {end + 1} "
                f"({end + claims_module.AFTER_WEEKS} for the full {claims_module.AFTER_WEEKS})"
            )


def available_scenarios() -> list[str]:
    from experiments.compare import available_scenarios as names

    return names()


def summary_keys() -> list[str]:
    """The scalars of a run's summary (from a two-week run of a tiny organisation)."""
    from models.model import AdoptionModel

    model = AdoptionModel(org={"generator": "complete", "size": 5}, rng=0)
    model.run(2)
    return list(model.summary())


# --- methods -----------------------------------------------------------------------------------


def sample(study: Study, method: str, seed: int) -> np.ndarray:
    """The factor values a method asks for (rows: points; columns: ``study.factors``)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = study.problem()
    if method == "morris":
        return morris_sample.sample(
            problem, study.morris_trajectories, num_levels=study.morris_levels, seed=seed
        )
    if method == "discovery":  # a Latin hypercube: independent, space-filling points
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], seed=seed).random(study.discovery_n)
        lo, hi = np.array(problem["bounds"]).T
        return qmc.scale(unit, lo, hi)
    return sobol_sample.sample(problem, study.sobol_n, calc_second_order=False, seed=seed)


def analyse(study: Study, method: str, x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """SALib's indices of one outcome: a dict of arrays, one value per factor."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    problem = study.problem()
    kw = {"num_resamples": study.resamples, "conf_level": study.conf_level, "seed": seed}
    if method == "morris":
        r = morris_analyze.analyze(problem, x, y, num_levels=study.morris_levels, **kw)
        keys = ("mu", "mu_star", "mu_star_conf", "sigma")
    else:
        r = sobol_analyze.analyze(problem, y, calc_second_order=False, **kw)
        keys = ("S1", "S1_conf", "ST", "ST_conf")
    return {k: np.asarray(r[k], dtype=float) for k in keys}


INDEX_COLUMNS = ["method", "outcome", "factor", "mu", "mu_star", "mu_star_conf", "sigma"]
INDEX_COLUMNS += ["S1", "S1_conf", "ST", "ST_conf"]


def indices_table(
    per_method: dict[str, Study], samples: pd.DataFrame, x: dict[str, np.ndarray], seed: int
) -> pd.DataFrame:
    """Every method's indices of every outcome, one row per (method, outcome, factor);
    ``per_method`` holds each method's study (Sobol may vary fewer factors). Outcomes with
    missing values at some point (a claim that could not be judged there) are left out."""
    frames = []
    for method, xm in x.items():
        if method == "discovery":
            continue
        study = per_method[method]
        sub = samples[samples["method"] == method]
        for outcome in study.outcomes:
            y = sub[outcome.name].to_numpy(float)
            if not np.isfinite(y).all():
                continue
            r = analyse(study, method, xm, y, seed)
            frames.append(
                pd.DataFrame(
                    {"method": method, "outcome": outcome.name, "factor": study.names, **r}
                )
            )
    if not frames:
        return pd.DataFrame(columns=INDEX_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=INDEX_COLUMNS)


def screened(study: Study, morris: pd.DataFrame) -> Study:
    """The study Sobol runs after Morris screening: the ``sobol_top`` factors with the largest
    μ* relative to the outcome's largest, taking each factor's best outcome (the usual
    two-stage design: screen many cheaply, decompose the variance of the few)."""
    if not study.sobol_top or study.sobol_top >= len(study.factors):
        return study
    relative = morris["mu_star"] / morris.groupby("outcome")["mu_star"].transform("max")
    score = relative.fillna(0).groupby(morris["factor"]).max()
    top = set(score.sort_values(ascending=False, kind="stable").index[: study.sobol_top])
    return replace(study, factors=tuple(f for f in study.factors if f.key in top))


# --- scenario discovery ------------------------------------------------------------------------


def claims_table(samples: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The scenario-discovery table: factors, outcomes, and a boolean per claim (empty where
    it could not be judged). From the ``discovery`` (Latin hypercube) points when there are
    any: Morris trajectories and Sobol blocks move one factor at a time, so their rows are
    not independent points and give spurious boxes; from every point otherwise."""
    if (samples["method"] == "discovery").any():
        samples = samples[samples["method"] == "discovery"]
    table = samples[[*study.names, *(o.name for o in study.outcomes)]].reset_index(drop=True)
    for claim in study.claims:
        table[claim.name] = pd.array(
            [claim.holds(row) for _, row in table.iterrows()], dtype="boolean"
        )
    return table


def prim_box(
    table: pd.DataFrame,
    factors: list[str],
    claim: str,
    peel: float = PEEL,
    min_support: float = MIN_SUPPORT,
    threshold: float = PRIM_THRESHOLD,
    tolerance: float = PRUNE_TOLERANCE,
) -> pd.DataFrame:
    """Where a claim fails, by PRIM (Friedman & Fisher 1999, as the EMA workbench runs it):
    starting from the whole space, repeatedly peel off the ``peel`` share of the points at
    the low or high end of one factor — whichever leaves the highest share of failures
    inside — until fewer than ``min_support`` of the points are left. Of the boxes on the
    way, the one with the most failures (coverage) among those at least ``threshold`` dense,
    else the densest. Then restrictions the box does not need are dropped, one at a time,
    while its density stays at ``threshold`` (or, for a box below it, within ``tolerance`` of
    its own): peeling trims every factor a little on a small sample (Friedman & Fisher's
    pruning; the EMA workbench's ``drop_restriction``).
    One row per factor the box restricts, the one it needs most first (``density_without``:
    the failure density without that restriction); none when the claim never fails (points
    where it could not be judged are left out)."""
    judged = table[claim].notna().to_numpy()
    x = table.loc[judged, factors].to_numpy(float)
    fail = ~table.loc[judged, claim].to_numpy(bool)
    n, n_fail = len(fail), int(fail.sum())
    if n_fail == 0:
        return pd.DataFrame(columns=BOX_COLUMNS)
    lo, hi = x.min(axis=0), x.max(axis=0)
    inside = np.ones(n, bool)
    path = [(lo.copy(), hi.copy(), inside.copy())]
    while inside.sum() > max(min_support * n, 1):
        best = None
        for j in range(x.shape[1]):
            v = x[inside, j]
            for side, cut in (("low", np.quantile(v, peel)), ("high", np.quantile(v, 1 - peel))):
                keep = inside & ((x[:, j] >= cut) if side == "low" else (x[:, j] <= cut))
                if keep.sum() == inside.sum() or keep.sum() < max(min_support * n, 1):
                    continue
                density = fail[keep].mean()
                if best is None or (density, keep.sum()) > best[0]:
                    best = ((density, keep.sum()), j, side, cut, keep)
        if best is None:
            break
        _, j, side, cut, inside = best
        if side == "low":
            lo[j] = cut
        else:
            hi[j] = cut
        path.append((lo.copy(), hi.copy(), inside.copy()))
    stats = [(fail[m].mean(), fail[m].sum() / n_fail, i) for i, (_, _, m) in enumerate(path)]
    dense = [s for s in stats if s[0] >= threshold]
    _, _, pick = max(dense, key=lambda s: (s[1], s[0])) if dense else max(stats)
    blo, bhi, mask = path[pick]
    full_lo, full_hi = x.min(axis=0), x.max(axis=0)
    density = fail[mask].mean()
    floor = threshold if density >= threshold else density - tolerance
    blo, bhi, mask = _pruned(x, fail, blo, bhi, full_lo, full_hi, floor)
    restricted = np.flatnonzero((blo > full_lo) | (bhi < full_hi))
    rows = []
    for j in restricted:
        wider_lo, wider_hi = blo.copy(), bhi.copy()
        wider_lo[j], wider_hi[j] = full_lo[j], full_hi[j]
        rows.append(
            {
                "claim": claim,
                "factor": factors[j],
                "low": float(blo[j]) if blo[j] > full_lo[j] else None,
                "high": float(bhi[j]) if bhi[j] < full_hi[j] else None,
                "samples": int(mask.sum()),
                "support": float(mask.mean()),
                "failure_density": float(fail[mask].mean()),
                "coverage": float(fail[mask].sum() / n_fail),
                "failure_share_overall": float(fail.mean()),
                "density_without": float(fail[_inside(x, wider_lo, wider_hi)].mean()),
            }
        )
    rows.sort(key=lambda r: r["density_without"])  # the restriction that matters most first
    if not rows:  # peeling found nothing denser than the whole space
        rows = [
            {
                "claim": claim,
                "factor": "",
                "low": None,
                "high": None,
                "samples": n,
                "support": 1.0,
                "failure_density": float(fail.mean()),
                "coverage": 1.0,
                "failure_share_overall": float(fail.mean()),
                "density_without": float(fail.mean()),
            }
        ]
    return pd.DataFrame(rows, columns=BOX_COLUMNS)


def _inside(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return ((x >= lo) & (x <= hi)).all(axis=1)


def _pruned(x, fail, lo, hi, full_lo, full_hi, floor):
    """The box without the restrictions it does not need to keep its failure density at
    ``floor`` or above, the least useful dropped first."""
    lo, hi = lo.copy(), hi.copy()
    while True:
        options = []
        for j in np.flatnonzero((lo > full_lo) | (hi < full_hi)):
            wider_lo, wider_hi = lo.copy(), hi.copy()
            wider_lo[j], wider_hi[j] = full_lo[j], full_hi[j]
            m = _inside(x, wider_lo, wider_hi)
            if fail[m].mean() >= floor:
                options.append((fail[m].mean(), m.sum(), j, wider_lo, wider_hi))
        if not options:
            return lo, hi, _inside(x, lo, hi)
        _, _, _, lo, hi = max(options, key=lambda o: (o[0], o[1]))


def failure_boxes(
    table: pd.DataFrame,
    factors: list[str],
    claim: str,
    min_support: float = MIN_SUPPORT,
    quantiles: int = 19,
) -> pd.DataFrame:
    """Where a claim fails, as rules: the best one-condition rule (one factor below or above
    a cut) and the best two-condition rule, by the share of failures they hold (density),
    among rules holding at least ``min_support`` of the points; cuts are the 5%, 10%, ...,
    95% quantiles of each factor (a depth-two decision tree's kind of rule).
    ``coverage`` is the share of all failures the rule holds."""
    judged = table[claim].notna()
    table = table[judged]
    fail = ~table[claim].to_numpy(bool)
    n, n_fail = len(fail), int(fail.sum())
    if n_fail == 0:  # the claim holds everywhere: no rule to find
        return pd.DataFrame(columns=RULE_COLUMNS)
    qs = np.linspace(0, 1, quantiles + 2)[1:-1]
    conditions = []  # (factor, text, mask)
    for p in factors:
        v = table[p].to_numpy(float)
        for cut in np.unique(np.quantile(v, qs)):
            conditions.append((p, f"{p} <= {cut:.4g}", v <= cut))
            conditions.append((p, f"{p} > {cut:.4g}", v > cut))

    def score(mask):
        k = int(mask.sum())
        if k < max(1, min_support * n):
            return None
        return fail[mask].mean(), k

    rows = []
    scored = [(score(m), p, t, m) for p, t, m in conditions]
    scored = [s for s in scored if s[0] is not None]
    if scored:
        best = max(scored, key=lambda s: s[0])
        rows.append(("1 condition", best[2], best[3]))
        pairs = []
        for _, p1, t1, m1 in sorted(scored, key=lambda s: s[0], reverse=True)[:40]:
            for p2, t2, m2 in conditions:
                s = score(m1 & m2) if p2 != p1 else None
                if s:
                    pairs.append((s, f"{t1} and {t2}", m1 & m2))
        if pairs:
            two = max(pairs, key=lambda s: s[0])
            rows.append(("2 conditions", two[1], two[2]))
    out = [
        {
            "claim": claim,
            "box": kind,
            "region": text,
            "samples": int(mask.sum()),
            "support": float(mask.mean()),
            "failure_density": float(fail[mask].mean()),
            "coverage": float(fail[mask].sum() / n_fail),
            "failure_share_overall": float(fail.mean()),
        }
        for kind, text, mask in rows
    ]
    return pd.DataFrame(out, columns=RULE_COLUMNS)


# --- the study ---------------------------------------------------------------------------------


def run_points(
    study: Study,
    x: np.ndarray,
    overrides,
    seeds,
    n_jobs: int,
    progress: bool,
    composer: Composer,
) -> pd.DataFrame:
    """Each row of ``x`` as a point (every factor's value), evaluated; one row per point with
    the factors, each outcome's mean over the replications and each programme's mean net
    value."""
    points = [{f.key: f.value(v) for f, v in zip(study.factors, row, strict=True)} for row in x]
    per = claims_module.evaluate(
        points,
        study.outcomes,
        seeds,
        base=overrides,
        custom=study.programmes,
        n_jobs=n_jobs,
        progress=progress,
        composer=composer,
    )
    values = claims_module.means(per).reset_index(drop=True)
    return pd.concat([pd.DataFrame(points), values], axis=1)


def memory_estimate(cfg: DictConfig, study: Study) -> dict[str, float]:
    """What the study needs in memory, by config key (``sim.resources.sensitivity_estimate``):
    each method's points, by the setting that sets their number, and its Sobol analysis."""
    k = len(study.factors)
    top = study.sobol_top if 0 < study.sobol_top < k else k
    sizes = {
        "morris": ("morris_trajectories", study.morris_trajectories * (k + 1)),
        "sobol": ("sobol_n", study.sobol_n * (top + 2)),
        "discovery": ("discovery_n", study.discovery_n),
    }
    points = {f"experiment.params.{sizes[m][0]}": sizes[m][1] for m in study.methods}
    programmes = len(study.programme_names())
    columns = k + len(study.outcomes) + len(study.claims) + programmes + 2
    sobol = "sobol" in study.methods
    return sensitivity_estimate(
        cfg,
        points,
        max(programmes, 1),
        columns,
        sobol_n=study.sobol_n if sobol else 0,
        resamples=study.resamples if sobol else 0,
    )


def main(cfg: DictConfig, overrides: list[str]) -> Path:
    """Run the sensitivity study ``cfg`` describes and write its folder; returns the path.
    Bad input is refused (``InputError``, every problem listed) before the first run."""
    started = time.perf_counter()
    experiment = cfg.experiment
    composer = Composer()
    errors = experiment_problems(experiment)
    try:
        study = Study.from_config(experiment.params, overrides, composer)
    except InputError as e:
        errors.append(str(e))
    if errors:
        raise InputError("\n".join(errors))
    problems = memory_problems(cfg, memory_estimate(cfg, study))
    if problems:
        raise InputError("\n".join(problems))
    check_output_dir(experiment.dir, key="experiment.dir")
    seeds = replication_seeds(cfg.seed, experiment.replications)
    progress = bool(cfg.output.progress) and sys.stderr.isatty()

    xs, frames, seconds, per_method = {}, [], {}, {}
    t0 = time.perf_counter()
    for k, method in enumerate(study.methods):
        t = time.perf_counter()
        chosen = study
        if method == "sobol" and "morris" in xs:
            so_far = pd.concat(frames, ignore_index=True)
            morris = indices_table(per_method, so_far, {"morris": xs["morris"]}, int(cfg.seed))
            chosen = screened(study, morris)
        per_method[method] = chosen
        x = sample(chosen, method, int(cfg.seed) + k)
        xs[method] = x
        if progress:
            print(f"{method}: {len(x)} points", file=sys.stderr, flush=True)
        out = run_points(chosen, x, overrides, seeds, int(experiment.jobs), progress, composer)
        out = out.assign(**{f.key: f.default for f in study.factors if f.key not in out})
        head = pd.DataFrame({"method": method, "sample": range(len(x))})
        frames.append(pd.concat([head, out[[*study.names]], out.drop(columns=study.names)], axis=1))
        seconds[method] = round(time.perf_counter() - t, 2)
    simulated = time.perf_counter() - t0
    samples = pd.concat(frames, ignore_index=True)
    indices = indices_table(per_method, samples, xs, int(cfg.seed))
    table = claims_table(samples, study)
    boxes = [prim_box(table, study.names, c.name) for c in study.claims]
    rules = [failure_boxes(table, study.names, c.name) for c in study.claims]
    boxes = pd.concat(boxes, ignore_index=True) if boxes else pd.DataFrame(columns=BOX_COLUMNS)
    rules = pd.concat(rules, ignore_index=True) if rules else pd.DataFrame(columns=RULE_COLUMNS)
    programmes = {n: programme(n, study.programmes) for n in study.programme_names()}
    configs = {n: composer([*overrides, *p.overrides]) for n, p in programmes.items()}
    record = {
        **provenance(int(cfg.seed), list(overrides)),
        "experiment": "sensitivity",
        "programmes": {n: list(p.overrides) for n, p in programmes.items()},
        "replications": len(seeds),
        "replication_seeds": seeds,
        "samples": {m: len(x) for m, x in xs.items()},
        "varied": {m: s.names for m, s in per_method.items()},
        "runs": int(len(samples) * len(seeds) * len(programmes)),
        "jobs": int(experiment.jobs),
        "agents": int(cfg.org.get("size", 0) or 0),
        "weeks": int(cfg.weeks),
        "seconds": {"simulation": round(simulated, 2), **seconds},
    }

    def build(tmp: Path) -> None:
        from experiments import sensitivity_report

        samples.to_parquet(tmp / "samples.parquet", index=False)
        samples.to_csv(tmp / "samples.csv", index=False)
        if len(indices):
            indices.to_csv(tmp / "indices.csv", index=False)
        table.to_csv(tmp / "experiments.csv", index=False)
        boxes.to_csv(tmp / "boxes.csv", index=False)
        rules.to_csv(tmp / "rules.csv", index=False)
        for method in dict.fromkeys(indices["method"]):
            units = {o.name: o.unit for o in study.outcomes}
            plot_indices(indices, method, tmp / f"sensitivity_{method}", units)
        (tmp / "problem.json").write_text(json.dumps(problem_record(study), indent=2) + "\n")
        write_study_inputs(tmp, cfg, configs, seeds)
        record["seconds"]["total"] = round(time.perf_counter() - started, 2)
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")
        sensitivity_report.write_report(tmp)

    folder = write_atomically(new_run_folder(experiment.dir), build, key="experiment.dir")
    print(
        f"sensitivity: {len(samples)} points × {len(programmes)} programmes × {len(seeds)} "
        f"replications in {time.perf_counter() - started:.1f} s; report: {folder / 'report.md'}",
        file=sys.stdout,
    )
    return folder


def problem_record(study: Study) -> dict:
    """``problem.json``: the SALib problem, which columns of experiments.csv are factors,
    outcomes and claims, and what each is."""
    return {
        **study.problem(),
        "factor_columns": study.names,
        "outcome_columns": [o.name for o in study.outcomes],
        "claim_columns": [c.name for c in study.claims],
        "factors": {
            f.key: {
                "low": f.low,
                "high": f.high,
                "integer": f.integer,
                "unit": f.unit,
                "source": f.source,
            }
            for f in study.factors
        },
        "outcomes": {
            o.name: {"unit": o.unit, "description": o.description, "programmes": o.programmes}
            for o in study.outcomes
        },
        "claims": {
            c.name: {"essay": c.essay, "holds_when": c.holds_when, "reasoning": c.reasoning}
            for c in study.claims
        },
        "programmes": {
            n: list(programme(n, study.programmes).overrides) for n in study.programme_names()
        },
        "settings": {
            "methods": list(study.methods),
            "morris_trajectories": study.morris_trajectories,
            "morris_levels": study.morris_levels,
            "sobol_n": study.sobol_n,
            "sobol_top": study.sobol_top,
            "discovery_n": study.discovery_n,
            "resamples": study.resamples,
            "conf_level": study.conf_level,
        },
    }


def plot_indices(
    indices: pd.DataFrame, method: str, stem: Path, units: dict[str, str]
) -> list[Path]:
    """Bar charts of one method's indices, one panel per outcome (``units``: each outcome's
    unit), the 12 factors with the largest main index (Morris: μ* with its CI and σ; Sobol:
    S1 and ST with their CIs)."""
    import matplotlib.pyplot as plt

    from sim.plots import save_figure

    sub = indices[indices["method"] == method]
    outcomes = list(dict.fromkeys(sub["outcome"]))
    cols = min(len(outcomes), 3)
    rows = -(-len(outcomes) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.5 * cols, 4.5 * rows), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel()[len(outcomes) :]:
        ax.axis("off")
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        d = sub[sub["outcome"] == outcome]
        d = d.sort_values("mu_star" if method == "morris" else "ST").tail(12)
        y = np.arange(len(d))
        if method == "morris":
            ax.barh(y + 0.2, d["mu_star"], 0.4, xerr=d["mu_star_conf"], label="μ*", color="#2171b5")
            ax.barh(y - 0.2, d["sigma"], 0.4, label="σ", color="#bdbdbd")
            ax.set_xlabel(f"elementary effect ({units.get(outcome) or 'outcome units'})")
        else:
            ax.barh(y + 0.2, d["ST"], 0.4, xerr=d["ST_conf"], label="total (ST)", color="#2171b5")
            ax.barh(y - 0.2, d["S1"], 0.4, xerr=d["S1_conf"], label="first (S1)", color="#9ecae1")
            ax.axvline(0, color="black", lw=0.5)
            ax.set_xlabel("share of the outcome's variance")
        ax.set_yticks(y, [f.removeprefix("population.") for f in d["factor"]], fontsize=8)
        ax.set_title(outcome, fontsize=9)
        ax.legend(loc="lower right", fontsize=7)
    title = "Morris screening" if method == "morris" else "Sobol indices (with their intervals)"
    fig.suptitle(title)
    return save_figure(fig, stem)


__all__ = [
    "Factor",
    "Study",
    "claims_table",
    "failure_boxes",
    "main",
    "prim_box",
    "sample",
]
