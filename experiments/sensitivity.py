"""Sensitivity analysis of the essays' claims: Morris screening and Sobol indices (SALib),
plus an export for scenario discovery (PRIM, decision trees).

    python -m sim experiment=sensitivity
    python -m sim experiment=sensitivity experiment.replications=3 org.size=500 weeks=260

What varies. The behavioural parameters in ``PARAMETERS`` (fields of
``models.params.Behaviour``), each uniformly over a range around its default and inside
``models.params.BOUNDS`` (the comment beside each range says why). Every other parameter
keeps the value of the composed config.

What is measured. Each outcome in ``OUTCOMES`` is the difference of the long-run value
(``long_run_value``: net hours summed over the horizon) of two programmes, averaged over
``experiment.replications`` seeds: by default ``sense_making − mandate`` and
``incentives − baseline``. Common random numbers: every sample runs every programme it needs
with the same seeds (spawned from ``seed`` as in ``sim.replicate``), so a difference reflects
the programmes and the parameters, not the draw, and the same sample always gives the same
outcome. Each claim in ``CLAIMS`` says when an outcome supports an essay's claim.

How. Each programme is composed once (``<the command's overrides> scenario=<name>``); a sample
then replaces the varied fields of the programme's ``Behaviour`` and runs the models directly
(``sim.replicate.Spec``), so one sample costs (programmes × replications) model runs and no
Hydra compose. Samples are joblib jobs (``experiment.jobs`` workers) with a tqdm bar; the
tables do not depend on the number of workers.

Method settings are ``experiment.params.*`` on the command line (the preset
``conf/experiment/sensitivity.yaml`` lists them; e.g. ``experiment.params.sobol_n=512``), or a
``Settings`` from Python (``main(cfg, overrides, Settings(methods=("morris",)))``). Their
defaults are the module-level constants:

- ``METHODS`` — ``("morris", "sobol", "discovery")``: all three, in that order;
- ``MORRIS_TRAJECTORIES`` = 10 and ``MORRIS_LEVELS`` = 4: r·(k+1) = 160 samples for k = 15;
- ``SOBOL_TOP`` = 6: Sobol varies the 6 parameters Morris ranks highest (μ* relative to the
  outcome's largest, each parameter's best outcome), the others stay at their values — the
  usual two-stage design; 0 varies all 15;
- ``SOBOL_N`` = 256 (a power of two): N·(k+2) = 2,048 samples for k = 6 (Saltelli, first and
  total order only);
- ``DISCOVERY_N`` = 128: a Latin hypercube of independent points for scenario discovery
  (method ``discovery``);
- ``RESAMPLES`` = 1000 bootstrap resamples for the 95% confidence intervals.

The preset runs 2 replications per sample on 300 people for 156 weeks (``weeks=260`` for the
five years): 2,336 samples × 4 programmes × 2 replications = 18,688 model runs, about
15 minutes on 2 cores.

Writes ``<experiment.dir>/<timestamp>/`` atomically:

- ``samples.parquet``/``.csv``: method, sample, every varied parameter, each programme's mean
  long-run value and each outcome;
- ``indices.csv``: method, outcome, parameter, Morris ``mu``, ``mu_star``, ``mu_star_conf``,
  ``sigma``; Sobol ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (empty where not computed);
- ``experiments.csv``: scenario discovery — one row per ``discovery`` sample (per sample of
  the other methods if it was not run), the varied
  parameters, the outcomes and one boolean column per claim (``True``: the claim holds);
  read by ``ema_workbench.analysis.prim.Prim(x, y)`` with ``x`` the parameter columns and ``y``
  ``~claim`` (the failures), or by any decision tree;
- ``discovery.csv``: for each claim, the best one- and two-split boxes where it fails
  (``failure_boxes``: a NumPy search, no scikit-learn);
- ``sensitivity_morris.png``/``.svg``, ``sensitivity_sobol.png``/``.svg``: bar charts;
- ``problem.json`` (the SALib problem, ranges, defaults, settings), ``config.yaml``,
  ``scenarios.yaml``, ``seeds.csv``, ``provenance.json``.
"""

import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from experiments.compare import available_scenarios, compose
from models.errors import InputError
from models.params import BOUNDS, Behaviour
from sim.provenance import provenance
from sim.replicate import Spec, experiment_problems, replication_seeds, write_study_inputs
from sim.run import check, check_output_dir, new_run_folder, write_atomically

#: Varied parameters: (low, high), uniform. Defaults (models.params) in the comments.
PARAMETERS: dict[str, tuple[float, float]] = {
    "value_weight": (1.5, 4.5),  # 3.0: ±50%, weight of perceived net value (TAM usefulness)
    "sense_weight": (0.0, 2.0),  # 1.0: from no effect of sense-making on use to double
    "social_weight": (0.0, 1.5),  # 0.5: from no social influence to three times the default
    "habit_weight": (0.5, 2.5),  # 1.5: ±1 log-odds of week-to-week persistence
    "pressure_weight": (1.0, 5.0),  # 3.0: a mandate from weak to strong
    "extrinsic_weight": (0.5, 3.5),  # 2.0: rewards from weak to strong
    "reactance_gain": (0.05, 0.4),  # 0.2: a quarter to double
    "reactance_erosion": (0.0, 0.05),  # 0.02: from no erosion to 2.5 times
    "crowding_d_engagement": (0.1, 0.7),  # 0.40: around Deci et al.'s d, beyond its CI
    "relevance_mean": (0.1, 0.5),  # 0.25: jobs the network fits little to half the time
    "initial_expectation": (0.3, 1.0),  # 0.6 h: expectations below to well above the cost
    "innovation_p": (0.05, 0.5),  # 0.25/year: near Sultan et al.'s 0.03 to double
    "imitation_q": (0.2, 1.2),  # 0.6/year: near Sultan et al.'s 0.38 to double
    "leading_learning": (0.01, 0.1),  # 0.05/week: a fifth to double
    "use_learning": (0.005, 0.05),  # 0.025/week: a fifth to double
}

#: Outcomes: name -> (programme, reference); the outcome is the difference of their mean
#: long-run values (hours) over the replications, under common random numbers.
OUTCOMES: dict[str, tuple[str, str]] = {
    "sense_making_minus_mandate": ("sense_making", "mandate"),
    "incentives_minus_baseline": ("incentives", "baseline"),
}

#: Claims: column in experiments.csv -> (outcome, sign, wording). sign +1: the claim holds
#: when the outcome is > 0; -1: when it is <= 0.
CLAIMS: dict[str, tuple[str, int, str]] = {
    "sense_making_beats_mandate": (
        "sense_making_minus_mandate",
        +1,
        "managers leading sense-making creates more long-run value than a two-year mandate",
    ),
    "incentives_add_no_value": (
        "incentives_minus_baseline",
        -1,
        "a year of points adds no long-run value over doing nothing",
    ),
}

METHODS = ("morris", "sobol", "discovery")
MORRIS_TRAJECTORIES = 10
MORRIS_LEVELS = 4
SOBOL_N = 256
SOBOL_TOP = 6
DISCOVERY_N = 128
RESAMPLES = 1000
CONF_LEVEL = 0.95
#: Smallest share of the samples a scenario-discovery box must hold.
MIN_SUPPORT = 0.05
BOX_COLUMNS = [
    "claim",
    "box",
    "region",
    "samples",
    "support",
    "failure_density",
    "coverage",
    "failure_share_overall",
]


@dataclass(frozen=True)
class Settings:
    """The method settings (defaults: the module-level constants above)."""

    methods: tuple[str, ...] = METHODS
    parameters: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(PARAMETERS))
    outcomes: dict[str, tuple[str, str]] = field(default_factory=lambda: dict(OUTCOMES))
    claims: dict[str, tuple[str, int, str]] = field(default_factory=lambda: dict(CLAIMS))
    morris_trajectories: int = MORRIS_TRAJECTORIES
    morris_levels: int = MORRIS_LEVELS
    sobol_n: int = SOBOL_N
    sobol_top: int = SOBOL_TOP
    discovery_n: int = DISCOVERY_N
    resamples: int = RESAMPLES
    conf_level: float = CONF_LEVEL

    @classmethod
    def from_params(cls, params) -> "Settings":
        """The settings ``experiment.params`` gives (conf/experiment/sensitivity.yaml lists
        every key; Hydra refuses others). Types are checked here, ranges by ``problems``."""
        values = dict(params or {})
        if "methods" in values:
            values["methods"] = tuple(values["methods"])
        for name, value in values.items():
            if name == "methods":  # checked by ``problems``
                continue
            # conf_level is a share (an integer is a number too); the rest are counts
            allowed = (int, float) if name == "conf_level" else int
            if isinstance(value, bool) or not isinstance(value, allowed):
                what = "a number" if name == "conf_level" else "an integer"
                raise InputError(
                    f"experiment.params.{name}={value!r} is not allowed: it must be {what}"
                )
        return cls(**values)

    def problem(self) -> dict:
        """The SALib problem: names and bounds of the varied parameters."""
        names = list(self.parameters)
        return {
            "num_vars": len(names),
            "names": names,
            "bounds": [list(self.parameters[n]) for n in names],
        }

    def scenarios(self) -> list[str]:
        """The programmes the outcomes need, in first-use order."""
        return list(dict.fromkeys(s for pair in self.outcomes.values() for s in pair))

    def problems(self) -> list[str]:
        """Messages for every bad setting (empty when all are valid)."""
        out = []
        known = {f for f in Behaviour.__dataclass_fields__}
        for name, (lo, hi) in self.parameters.items():
            if name not in known or name == "value_dynamics":
                out.append(f"parameter {name!r} is not a behavioural parameter (models.params)")
                continue
            blo, bhi = BOUNDS.get(name, (0.0, float("inf")))
            if not blo <= lo < hi <= bhi:
                out.append(
                    f"parameter {name}: range ({lo:g}, {hi:g}) must be increasing and inside "
                    f"its allowed range ({blo:g}, {bhi:g})"
                )
        unknown = [m for m in self.methods if m not in ("morris", "sobol", "discovery")]
        if unknown or not self.methods:
            out.append(f"methods {list(self.methods)}: choose from morris, sobol, discovery")
        available = set(available_scenarios())
        for s in self.scenarios():
            if s not in available:
                out.append(f"outcome programme {s!r} is not in conf/scenario/")
        for claim, (outcome, sign, _) in self.claims.items():
            if outcome not in self.outcomes or sign not in (1, -1):
                out.append(f"claim {claim!r}: unknown outcome {outcome!r} or sign {sign}")
        if self.morris_trajectories < 2 or self.morris_levels < 2:
            out.append("Morris needs at least 2 trajectories and 2 levels")
        if self.sobol_n < 2 or self.sobol_n & (self.sobol_n - 1):
            out.append(f"sobol_n={self.sobol_n}: it must be a power of two, at least 2")
        if not 0 <= self.sobol_top <= len(self.parameters) or self.sobol_top == 1:
            out.append(
                f"sobol_top={self.sobol_top}: give 0 (every parameter) or 2..{len(self.parameters)}"
            )
        if self.resamples < 10 or not 0 < self.conf_level < 1:
            out.append("resamples must be at least 10 and conf_level in (0, 1)")
        if self.discovery_n < 2:
            out.append(f"discovery_n={self.discovery_n}: it must be at least 2")
        return out


def sample(settings: Settings, method: str, seed: int) -> np.ndarray:
    """The parameter samples of a method (rows: samples; columns: ``settings.parameters``)."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    problem = settings.problem()
    if method == "morris":
        return morris_sample.sample(
            problem, settings.morris_trajectories, num_levels=settings.morris_levels, seed=seed
        )
    if method == "discovery":  # a Latin hypercube: independent, space-filling points
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=problem["num_vars"], seed=seed).random(settings.discovery_n)
        lo, hi = np.array(problem["bounds"]).T
        return qmc.scale(unit, lo, hi)
    return sobol_sample.sample(problem, settings.sobol_n, calc_second_order=False, seed=seed)


def analyse(settings: Settings, method: str, x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """SALib's indices of one outcome: a dict of arrays, one value per parameter."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    problem = settings.problem()
    kw = {"num_resamples": settings.resamples, "conf_level": settings.conf_level, "seed": seed}
    if method == "morris":
        r = morris_analyze.analyze(problem, x, y, num_levels=settings.morris_levels, **kw)
        keys = ("mu", "mu_star", "mu_star_conf", "sigma")
    else:
        r = sobol_analyze.analyze(problem, y, calc_second_order=False, **kw)
        keys = ("S1", "S1_conf", "ST", "ST_conf")
    return {k: np.asarray(r[k], dtype=float) for k in keys}


def evaluate(
    specs: dict[str, Spec], params: dict[str, float], seeds: list[int], settings: Settings
) -> dict[str, float]:
    """One sample: every programme × every seed (common random numbers) with the varied
    parameters replaced; each programme's mean long-run value and each outcome."""
    means = {}
    for name, spec in specs.items():
        behaviour = replace(spec.behaviour, **params)
        s = replace(spec, behaviour=behaviour)
        values = []
        for seed in seeds:
            model = s.model(seed)
            model.run(s.weeks)
            values.append(model.summary()["long_run_value"])
        means[f"value_{name}"] = float(np.mean(values))
    out = dict(means)
    for outcome, (a, b) in settings.outcomes.items():
        out[outcome] = means[f"value_{a}"] - means[f"value_{b}"]
    return out


def _job(i: int, specs, params, seeds, settings) -> tuple[int, dict]:
    return i, evaluate(specs, params, seeds, settings)


def run_samples(
    specs: dict[str, Spec],
    x: np.ndarray,
    seeds: list[int],
    settings: Settings,
    n_jobs: int = 1,
    progress: bool = False,
    label: str = "samples",
) -> pd.DataFrame:
    """Evaluate every row of ``x`` (in ``n_jobs`` processes); one row per sample, in order."""
    names = list(settings.parameters)
    rows: list = [None] * len(x)
    tasks = (
        delayed(_job)(i, specs, dict(zip(names, map(float, row), strict=True)), seeds, settings)
        for i, row in enumerate(x)
    )
    outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks)
    with tqdm(
        outputs,
        total=len(x),
        desc=label,
        unit="sample",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5,
    ) as bar:
        for i, result in bar:
            rows[i] = result
    return pd.DataFrame(rows)


def claims_table(samples: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The scenario-discovery table: parameters, outcomes, and a boolean per claim. From the
    ``discovery`` (Latin hypercube) samples when there are any: Morris trajectories and Sobol
    blocks move one parameter at a time, so their rows are not independent points and give
    spurious boxes; from all samples otherwise."""
    if "method" in samples and (samples["method"] == "discovery").any():
        samples = samples[samples["method"] == "discovery"]
    table = samples[[*settings.parameters, *settings.outcomes]].copy()
    for claim, (outcome, sign, _) in settings.claims.items():
        table[claim] = (table[outcome] > 0) if sign > 0 else (table[outcome] <= 0)
    return table


def failure_boxes(
    table: pd.DataFrame,
    parameters: list[str],
    claim: str,
    min_support: float = MIN_SUPPORT,
    quantiles: int = 19,
) -> pd.DataFrame:
    """Where a claim fails: the best one-split box (one parameter below or above a cut) and
    the best two-split box (two such conditions), by the share of failures inside (density),
    among boxes holding at least ``min_support`` of the samples. Cuts are the 5%, 10%, ...,
    95% quantiles of each parameter. A tiny PRIM for when scikit-learn or EMA workbench is
    not at hand; ``coverage`` is the share of all failures the box holds."""
    fail = ~table[claim].to_numpy(bool)
    n, n_fail = len(fail), int(fail.sum())
    qs = np.linspace(0, 1, quantiles + 2)[1:-1]
    conditions = []  # (text, mask)
    for p in parameters:
        v = table[p].to_numpy(float)
        for cut in np.unique(np.quantile(v, qs)):
            conditions.append((f"{p} <= {cut:.4g}", v <= cut))
            conditions.append((f"{p} > {cut:.4g}", v > cut))

    def score(mask):
        k = int(mask.sum())
        if k < max(1, min_support * n):
            return None
        return fail[mask].mean(), k

    rows = []
    if n_fail == 0:  # the claim holds everywhere: no box to find
        return pd.DataFrame(columns=BOX_COLUMNS)
    best = None
    for text, mask in conditions:
        s = score(mask)
        if s and (best is None or s > best[0]):
            best = (s, text, mask)
    if best:
        rows.append(("1 split", best[1], best[2]))
        best2 = None
        top = sorted(
            ((score(m) or (-1, 0), t, m) for t, m in conditions), key=lambda r: r[0], reverse=True
        )[:40]
        for _, t1, m1 in top:
            for t2, m2 in conditions:
                if t2.split()[0] == t1.split()[0]:
                    continue
                s = score(m1 & m2)
                if s and (best2 is None or s > best2[0]):
                    best2 = (s, f"{t1} and {t2}", m1 & m2)
        if best2:
            rows.append(("2 splits", best2[1], best2[2]))
    out = [
        {
            "claim": claim,
            "box": kind,
            "region": text,
            "samples": int(mask.sum()),
            "support": float(mask.mean()),
            "failure_density": float(fail[mask].mean()),
            "coverage": float(fail[mask].sum() / n_fail) if n_fail else 0.0,
            "failure_share_overall": float(fail.mean()),
        }
        for kind, text, mask in rows
    ]
    return pd.DataFrame(out, columns=BOX_COLUMNS)


def screened(settings: Settings, morris: pd.DataFrame) -> Settings:
    """The settings for Sobol after Morris screening: the ``sobol_top`` parameters with the
    largest μ* relative to the outcome's largest, taking each parameter's best outcome (the
    usual two-stage design: screen many cheaply, decompose the variance of the few)."""
    if not settings.sobol_top or settings.sobol_top >= len(settings.parameters):
        return settings
    relative = morris["mu_star"] / morris.groupby("outcome")["mu_star"].transform("max")
    score = relative.fillna(0).groupby(morris["parameter"]).max()
    top = set(score.sort_values(ascending=False, kind="stable").index[: settings.sobol_top])
    return replace(settings, parameters={n: r for n, r in settings.parameters.items() if n in top})


def indices_table(
    per_method: dict[str, Settings], samples: pd.DataFrame, x: dict[str, np.ndarray], seed: int
) -> pd.DataFrame:
    """Every method's indices of every outcome, one row per (method, outcome, parameter);
    ``per_method`` holds each method's settings (Sobol may vary fewer parameters)."""
    frames = []
    for method, xm in x.items():
        if method == "discovery":
            continue
        settings = per_method[method]
        names = list(settings.parameters)
        sub = samples[samples["method"] == method]
        for outcome in settings.outcomes:
            r = analyse(settings, method, xm, sub[outcome].to_numpy(float), seed)
            frames.append(
                pd.DataFrame({"method": method, "outcome": outcome, "parameter": names, **r})
            )
    columns = ["method", "outcome", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]
    columns += ["S1", "S1_conf", "ST", "ST_conf"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True).reindex(columns=columns)


def plot_indices(indices: pd.DataFrame, method: str, stem: Path) -> list[Path]:
    """Bar charts of one method's indices, one panel per outcome, parameters sorted by the
    main index (Morris: mu* with its CI and sigma; Sobol: S1 and ST with their CIs)."""
    import matplotlib.pyplot as plt

    from sim.plots import save_figure

    sub = indices[indices["method"] == method]
    outcomes = list(dict.fromkeys(sub["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(6 * len(outcomes), 6), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        d = sub[sub["outcome"] == outcome]
        d = d.sort_values("mu_star" if method == "morris" else "ST")
        y = np.arange(len(d))
        if method == "morris":
            ax.barh(y + 0.2, d["mu_star"], 0.4, xerr=d["mu_star_conf"], label="μ*", color="#2171b5")
            ax.barh(y - 0.2, d["sigma"], 0.4, label="σ", color="#bdbdbd")
            ax.set_xlabel("elementary effect on the outcome, hours")
        else:
            ax.barh(y + 0.2, d["ST"], 0.4, xerr=d["ST_conf"], label="total (ST)", color="#2171b5")
            ax.barh(y - 0.2, d["S1"], 0.4, xerr=d["S1_conf"], label="first (S1)", color="#9ecae1")
            ax.axvline(0, color="black", lw=0.5)
            ax.set_xlabel("share of the outcome's variance")
        ax.set_yticks(y, d["parameter"])
        ax.set_title(outcome.replace("_minus_", " − ").replace("_", " "))
        ax.legend(loc="lower right", fontsize=8)
    title = "Morris screening" if method == "morris" else "Sobol indices (95% CI)"
    fig.suptitle(f"{title} of long-run value differences")
    fig.tight_layout()
    return save_figure(fig, stem)


def main(cfg: DictConfig, overrides: list[str], settings: Settings | None = None) -> Path:
    """Run the sensitivity analysis ``cfg`` and ``settings`` describe and write its folder;
    returns the path. Bad input is refused (``InputError``) before the first run."""
    started = time.perf_counter()
    experiment = cfg.experiment
    settings = settings or Settings.from_params(OmegaConf.to_container(experiment.params))
    errors = settings.problems() + experiment_problems(experiment)
    if any(o.lstrip("+~").split("=", 1)[0] == "scenario" for o in overrides):
        errors.append(
            "scenario=: experiment=sensitivity runs the programmes its outcomes need "
            f"({', '.join(settings.scenarios())}); do not choose one"
        )
    varied_overridden = [
        o
        for o in overrides
        if o.split("=", 1)[0].removeprefix("population.") in settings.parameters
    ]
    if varied_overridden:
        errors.append(
            f"{', '.join(varied_overridden)}: these parameters are varied by the analysis; "
            "change their ranges in experiments.sensitivity.PARAMETERS instead"
        )
    if errors:
        raise InputError("\n".join(errors))
    check_output_dir(experiment.dir, key="experiment.dir")
    check(cfg)
    configs, specs = {}, {}
    for name in settings.scenarios():
        try:
            configs[name] = compose([*overrides, f"scenario={name}"])
            specs[name] = Spec.from_config(configs[name], name)
        except InputError as e:
            raise InputError(f"scenario={name}: {e}") from e
    seeds = replication_seeds(cfg.seed, experiment.replications)
    progress = bool(cfg.output.progress)

    t0 = time.perf_counter()
    xs, frames, seconds, per_method = {}, [], {}, {}
    fixed = {n: float(cfg.population[n]) for n in settings.parameters}
    for k, method in enumerate(settings.methods):
        t = time.perf_counter()
        chosen = settings
        if method == "sobol" and "morris" in xs:
            so_far = pd.concat(frames, ignore_index=True)
            morris = indices_table(per_method, so_far, {"morris": xs["morris"]}, int(cfg.seed))
            chosen = screened(settings, morris)
        per_method[method] = chosen
        x = sample(chosen, method, int(cfg.seed) + k)
        xs[method] = x
        out = run_samples(
            specs, x, seeds, chosen, int(experiment.jobs), progress, f"{method}: samples"
        )
        params = pd.DataFrame(x, columns=list(chosen.parameters))
        params = params.assign(**{n: v for n, v in fixed.items() if n not in params})
        params = params[list(settings.parameters)]
        frames.append(
            pd.concat(
                [pd.DataFrame({"method": method, "sample": range(len(x))}), params, out], axis=1
            )
        )
        seconds[method] = round(time.perf_counter() - t, 2)
    simulated = time.perf_counter() - t0
    samples = pd.concat(frames, ignore_index=True)
    indices = indices_table(per_method, samples, xs, int(cfg.seed))
    table = claims_table(samples, settings)
    discovery = pd.concat(
        [failure_boxes(table, list(settings.parameters), c) for c in settings.claims],
        ignore_index=True,
    )
    record = {
        **provenance(int(cfg.seed), list(overrides)),
        "experiment": "sensitivity",
        "settings": asdict(settings),
        "scenarios": settings.scenarios(),
        "replications": len(seeds),
        "replication_seeds": seeds,
        "samples": {m: len(x) for m, x in xs.items()},
        "varied": {m: list(s.parameters) for m, s in per_method.items()},
        "runs": int(len(samples) * len(seeds) * len(specs)),
        "jobs": int(experiment.jobs),
        "agents": int(cfg.org.get("size", 0) or 0),
        "weeks": int(cfg.weeks),
        "seconds": {"simulation": round(simulated, 2), **seconds},
    }

    def build(tmp: Path) -> None:
        samples.to_parquet(tmp / "samples.parquet", index=False)
        samples.to_csv(tmp / "samples.csv", index=False)
        indices.to_csv(tmp / "indices.csv", index=False)
        table.to_csv(tmp / "experiments.csv", index=False)
        discovery.to_csv(tmp / "discovery.csv", index=False)
        for method in (m for m in xs if m != "discovery"):
            plot_indices(indices, method, tmp / f"sensitivity_{method}")
        problem = {
            **settings.problem(),
            "defaults": {n: getattr(Behaviour(), n) for n in settings.parameters},
            "outcomes": {k: list(v) for k, v in settings.outcomes.items()},
            "claims": {
                k: {"outcome": o, "holds_when": ">0" if s > 0 else "<=0", "claim": w}
                for k, (o, s, w) in settings.claims.items()
            },
        }
        (tmp / "problem.json").write_text(json.dumps(problem, indent=2) + "\n")
        write_study_inputs(tmp, cfg, configs, seeds)
        record["seconds"]["total"] = round(time.perf_counter() - started, 2)
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")

    folder = write_atomically(new_run_folder(experiment.dir), build, key="experiment.dir")
    print(
        f"sensitivity: {len(samples)} samples × {len(specs)} programmes × {len(seeds)} "
        f"replications in {time.perf_counter() - started:.1f} s; indices: {folder / 'indices.csv'}",
        file=sys.stdout,
    )
    return folder


__all__ = [
    "CLAIMS",
    "OUTCOMES",
    "PARAMETERS",
    "Settings",
    "claims_table",
    "evaluate",
    "failure_boxes",
    "main",
]
