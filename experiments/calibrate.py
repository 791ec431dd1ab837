"""Calibration: ABC-SMC (pyabc) of the uncertain behavioural parameters against field patterns,
or against an organisation's own usage export (docs/CALIBRATION.md).

    python -m sim experiment=calibrate                       # the field patterns
    python -m sim experiment=calibrate data.path=usage.csv org=orgchart org.path=hr.csv
    python -m experiments.calibrate --prior-check 120        # how the priors cover the targets

What is fitted. The parameters the registry marks uncertain (``experiment.params.parameters``
narrows them), each with the registry's plausible range as a uniform prior.

To what. Without data: the field patterns of ``experiments.patterns`` at the default
organisation (each particle is one five-year baseline run plus small lattice and rewired runs
for the clustering effect). With ``data.path``: the organisation's weekly usage
(``experiments.usage_data``), simulated on its own organisation (``org=...``).

How. pyabc's ABC-SMC, the distance being the largest deviation from a target in tolerances
(``experiments.patterns.distance``). pyabc evaluates one particle per call; a thread pool of
``experiment.params.batch`` threads makes those calls concurrently and a ``Batcher`` hands
them together to one ``simulate`` call, so that many particles are simulated in one
vectorised ensemble (``sim.replicate.simulate_jobs``) or one pool of worker processes.

Each particle's seed is a function of the root seed and its parameter values
(``particle_seed``), so a particle's simulation can be repeated exactly: the posterior
predictive check and the forecast continue the very trajectories that were accepted.
"""

import argparse
import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from scipy.stats import spearmanr
from tqdm import tqdm

from experiments import calibrate_figures as figures
from experiments import forecast, patterns, usage_data
from experiments.compare import available_scenarios, common_overrides, compose
from experiments.docs_blocks import replace_block
from experiments.patterns import Target
from models import calibrated
from models.errors import InputError
from models.params import Behaviour
from models.registry import PARAMETERS
from sim.paths import conf_dir
from sim.posterior import CALIBRATION_DIR, Posterior, load
from sim.provenance import provenance
from sim.replicate import Spec, experiment_problems, simulate_jobs
from sim.resume import PARTIAL, code_fingerprint
from sim.run import check_output_dir, config_problems, new_run_folder, write_atomically
from sim.workers import worker_count

if TYPE_CHECKING:  # pyabc takes seconds to import: only when a fit runs (not to refuse input)
    import pyabc

ROOT = Path(__file__).resolve().parent.parent
PRESET = conf_dir() / "experiment" / "calibrate.yaml"
#: The field patterns need the first three years (the fall of weekly use) and a last year.
MIN_WEEKS = 156


def preset_params() -> dict:
    """``experiment.params`` as the preset (conf/experiment/calibrate.yaml) sets them."""
    return OmegaConf.to_container(OmegaConf.load(PRESET).params)


# --- priors ------------------------------------------------------------------------------------


def priors(
    names: Sequence[str] = (), key: str = "experiment.params.parameters"
) -> dict[str, tuple[float, float]]:
    """Name → (low, high) of the uniform prior of each fitted parameter: ``names``, or every
    real-valued parameter the registry marks uncertain when ``names`` is empty (whole-number
    parameters such as ``idle_weeks`` are not fitted: a continuous sampler cannot move them).
    ``key`` is the setting ``names`` came from (for the message if one is wrong)."""
    table = PARAMETERS
    real = {f.name for f in fields(Behaviour) if f.type is float}
    wrong = sorted(set(names) - (set(table) & real))
    if wrong:
        raise InputError(
            f"{key}: {wrong} are not real-valued parameters of the "
            f"registry; choose among {', '.join(sorted(set(table) & real))}"
        )
    chosen = names or [n for n, p in table.items() if p.uncertain and n in real]
    return {n: (float(table[n].low), float(table[n].high)) for n in chosen}


def draw_prior(ranges: dict[str, tuple[float, float]], n: int, seed: int) -> list[dict]:
    """``n`` independent draws from the uniform priors (seeded)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    columns = {k: rng.uniform(lo, hi, n) for k, (lo, hi) in ranges.items()}
    return [{k: float(v[i]) for k, v in columns.items()} for i in range(n)]


# --- simulating particles ----------------------------------------------------------------------


def particle_seed(root: int, params: dict[str, float]) -> int:
    """The seed of a particle: a function of the root seed and the parameter values (in name
    order), so that the same particle always gets the same simulation."""
    values = np.array([params[k] for k in sorted(params)], dtype=np.float64)
    entropy = [int(root), *values.view(np.uint32).tolist()]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def with_behaviour(spec: Spec, params: dict[str, float]) -> Spec:
    """``spec`` with some behavioural parameters replaced."""
    return dataclasses.replace(spec, behaviour=dataclasses.replace(spec.behaviour, **params))


def seeding(seeds: int, size: int) -> list[str]:
    """Overrides that seed a clustering run as Centola (2010) seeded his networks: a launch in
    week 1 that brings ``seeds`` people chosen at random to try the network (a one-week
    campaign at full awareness reaching that share, gone the week after, costing nothing) —
    through the trial lever, never by writing adoption."""
    key = "scenario.interventions.seed"
    return [
        "+intervention@scenario.interventions.seed=campaign",
        f"{key}.start=1", f"{key}.end=1", f"{key}.intensity=1.0", f"{key}.decay=1.0",
        f"{key}.share={seeds / size}", f"{key}.cost_fixed=0", f"{key}.cost_per_person=0",
        f"{key}.sense_gain=0",
    ]


@dataclasses.dataclass
class FieldProblem:
    """A particle of the default calibration: one baseline run at the default organisation
    and ``replications`` runs each on a ring lattice and on the same lattice rewired (common
    random numbers), all with the particle's parameters — the lattices' in the setting of
    Centola's experiment (``setting``: behavioural values that describe his volunteers, not
    the organisation's staff)."""

    default: Spec
    lattice: Spec
    rewired: Spec
    replications: int
    setting: dict[str, float]
    goals: list[Target]

    @classmethod
    def build(cls, common: list[str], params: dict) -> "FieldProblem":
        """The problem for the run overrides ``common`` (the default organisation when there
        are none) and ``experiment.params``."""
        c = params["centola"]
        lattice = ["org=small_world", f"org.size={c['size']}", f"org.k={c['k']}"]
        lattice += [f"weeks={c['weeks']}", *seeding(c["seeds"], c["size"])]
        default = Spec.from_config(compose(common), "default")
        if default.weeks < MIN_WEEKS:
            raise InputError(
                f"weeks={default.weeks} is too short for the field patterns: they are measured "
                f"over the first {MIN_WEEKS} weeks and the last year; use weeks >= {MIN_WEEKS}"
            )
        return cls(
            default=default,
            lattice=Spec.from_config(compose([*common, *lattice, "org.rewire=0"]), "lattice"),
            rewired=Spec.from_config(compose([*common, *lattice, "org.rewire=1"]), "rewired"),
            replications=int(c["replications"]),
            setting={k: float(v) for k, v in c["setting"].items()},
            goals=patterns.targets(params["targets"]),
        )

    def jobs(self, params: dict, seed: int) -> list[tuple[Spec, int, int]]:
        seeds = np.random.SeedSequence(seed).generate_state(self.replications).tolist()
        out = [(with_behaviour(self.default, params), 0, seed)]
        for spec in (self.lattice, self.rewired):
            spec = with_behaviour(spec, {**params, **self.setting})
            out += [(spec, r, int(s)) for r, s in enumerate(seeds)]
        return out

    def statistics(self, weekly: list[pd.DataFrame], runs: list[dict]) -> dict[str, float]:
        r = self.replications
        clustered = np.mean([w["adopted_share"].iloc[-1] for w in weekly[1 : 1 + r]])
        rewired = np.mean([w["adopted_share"].iloc[-1] for w in weekly[1 + r :]])
        return patterns.field_statistics(weekly[0], runs[0], clustered, rewired)

    def distance(self, stats: dict) -> float:
        return patterns.distance(stats, self.goals)

    def observed_statistics(self) -> dict[str, float]:
        return {t.name: t.value for t in self.goals}


def simulate(
    problem, parameter_sets: Sequence[dict], root: int, n_jobs: int, same_seed: bool = False
) -> list[dict[str, float]]:
    """The statistics of each parameter set (one particle each), simulated in one batch; each
    particle's seed is ``particle_seed(root, params)``, or ``root`` itself with
    ``same_seed``."""
    jobs, sizes = [], []
    for params in parameter_sets:
        mine = problem.jobs(params, root if same_seed else particle_seed(root, params))
        jobs += mine
        sizes.append(len(mine))
    outputs = simulate_jobs(jobs, n_jobs=n_jobs)  # each run's own table: none joined and cut
    frames = [output.weekly for output in outputs]
    records = [output.summary for output in outputs]
    out, at = [], 0
    for size in sizes:
        out.append(problem.statistics(frames[at : at + size], records[at : at + size]))
        at += size
    return out


def simulate_in_batches(
    problem, parameter_sets: Sequence[dict], root: int, n_jobs: int, batch: int, desc: str
) -> list[dict[str, float]]:
    """``simulate`` in batches of ``batch`` parameter sets, with a progress bar."""
    out: list = []
    with tqdm(total=len(parameter_sets), desc=desc, unit="particle", file=sys.stderr) as bar:
        for i in range(0, len(parameter_sets), batch):
            chunk = parameter_sets[i : i + batch]
            out += simulate(problem, chunk, root, n_jobs)
            bar.update(len(chunk))
    return out


def inert(problem, ranges: dict[str, tuple[float, float]], seed: int, n_jobs: int) -> list[str]:
    """The parameters the problem's statistics do not depend on at all: with one seed, setting
    each to the low and to the high end of its range (the others at their midpoints) gives
    bit-identical statistics. The baseline never reads, for example, the weight of mandate
    pressure. Their posterior is their prior, so they are left out of ABC (each fitted
    dimension costs importance-weight variance) and drawn from the prior afterwards."""
    middle = {k: (lo + hi) / 2 for k, (lo, hi) in ranges.items()}
    sets = [middle | {k: end} for k, bounds in ranges.items() for end in bounds]
    stats = simulate(problem, sets, seed, n_jobs, same_seed=True)
    same = [
        all(np.array_equal(stats[2 * i][key], stats[2 * i + 1][key]) for key in stats[2 * i])
        for i in range(len(ranges))
    ]
    return [k for k, flat in zip(ranges, same, strict=True) if flat]


class Batcher:
    """Collects concurrent single-particle calls (pyabc's sampler threads) and simulates them
    together: the call that fills a batch of ``size``, or that has waited ``wait`` seconds
    without the batch filling, runs every pending particle in one ``run`` call and hands each
    caller its own result. ``size=1`` runs each call at once."""

    def __init__(self, run: Callable[[list], list], size: int, wait: float = 0.25, tick=None):
        self.run, self.size, self.wait, self.tick = run, int(size), float(wait), tick
        self._lock = threading.Lock()
        self._pending: list[_Slot] = []
        self._last = time.monotonic()
        self._closed = False

    def __call__(self, item):
        slot = _Slot(item)
        with self._lock:
            if self._closed:
                return None
            self._pending.append(slot)
            self._last = time.monotonic()
            batch = self._take() if len(self._pending) >= self.size else None
        if batch:
            self._simulate(batch)
        while not slot.done.wait(self.wait):
            with self._lock:
                stale = time.monotonic() - self._last >= self.wait
                batch = self._take() if stale and slot in self._pending else None
            if batch:
                self._simulate(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result

    def close(self) -> None:
        """Release the calls still waiting (particles pyabc no longer needs once a generation
        is complete) without simulating them; later calls return None at once."""
        with self._lock:
            self._closed = True
            for slot in self._take():
                slot.done.set()

    def _take(self) -> list["_Slot"]:
        batch, self._pending = self._pending, []
        return batch

    def _simulate(self, batch: list["_Slot"]) -> None:
        try:
            results = self.run([s.item for s in batch])
        except BaseException as e:  # every caller of the batch sees the error
            for s in batch:
                s.error = e
                s.done.set()
            return
        for s, r in zip(batch, results, strict=True):
            s.result = r
            s.done.set()
        if self.tick is not None:
            self.tick(len(batch))


class _Slot:
    __slots__ = ("item", "result", "error", "done")

    def __init__(self, item):
        self.item, self.result, self.error = item, None, None
        self.done = threading.Event()


@dataclasses.dataclass
class UsageProblem:
    """A particle of a fit to an organisation's usage: one baseline run on its organisation up
    to the last observed week, compared week by week with the observed shares (counts ÷
    people). The distance is the largest, over the observed series, of the root-mean-square
    gap divided by ``tolerance``."""

    spec: Spec  # run to the last observed week
    observed: dict[str, np.ndarray]  # series name → observed share per observed week
    first_week: int  # the first observed week (weeks count from 1, as in the weekly records)
    tolerance: float

    @classmethod
    def from_usage(cls, spec: Spec, usage, people: int, tolerance: float) -> "UsageProblem":
        weeks = int(usage.week[-1])
        observed = {k: v / people for k, v in usage.counts.items()}
        spec = dataclasses.replace(spec, weeks=weeks)
        return cls(spec, observed, int(usage.week[0]), tolerance)

    def jobs(self, params: dict, seed: int) -> list[tuple[Spec, int, int]]:
        return [(with_behaviour(self.spec, params), 0, seed)]

    def statistics(self, weekly: list[pd.DataFrame], runs: list[dict]) -> dict[str, np.ndarray]:
        simulated = series(weekly[0])
        return {k: simulated[k][self.first_week - 1 :] for k in self.observed}

    def observed_statistics(self) -> dict[str, np.ndarray]:
        return self.observed

    def distance(self, stats: dict) -> float:
        return max(
            float(np.sqrt(np.mean((stats[k] - v) ** 2))) / self.tolerance
            for k, v in self.observed.items()
        )


def series(weekly: pd.DataFrame) -> dict[str, np.ndarray]:
    """A run's weekly shares under the names of the usage counts: active users, posters
    (active people who posted), people who ever used it."""
    active = weekly["active_share"].to_numpy()
    return {
        "active_users": active,
        "posters": active * (1 - weekly["observer_share"].to_numpy()),
        "adopted": weekly["adopted_share"].to_numpy(),
    }


# --- prior check (diagnosis: can the priors reach the targets at all?) -------------------------


def prior_check(
    n: int, seed: int = 0, n_jobs: int = 2, batch: int = 20
) -> tuple[pd.DataFrame, str]:
    """Draw ``n`` parameter sets from the priors, simulate each as a calibration particle, and
    report how the statistics are distributed and how often each target, and all of them at
    once, is met within tolerance. Returns the table (parameters, statistics, deviations) and
    the report (markdown)."""
    params = preset_params()
    problem = FieldProblem.build([f"seed={seed}"], params)
    ranges = priors(params["parameters"])
    draws = draw_prior(ranges, n, seed)
    t0 = time.process_time()
    stats = simulate_in_batches(problem, draws, seed, n_jobs, batch, "prior check")
    cpu = time.process_time() - t0
    table = pd.concat([pd.DataFrame(draws), pd.DataFrame(stats)], axis=1)
    for t in problem.goals:
        table[f"dev_{t.name}"] = [t.deviation(s[t.name]) for s in stats]
    return table, prior_report(table, problem.goals, ranges, cpu)


def prior_report(
    table: pd.DataFrame, goals: list[Target], ranges: dict, cpu: float | None = None
) -> str:
    """The prior check's numbers as markdown (see ``prior_check``)."""
    n = len(table)
    ok = pd.DataFrame({t.name: table[f"dev_{t.name}"] <= 1 for t in goals})
    lines = [
        f"{n} draws from the priors of {len(ranges)} parameters "
        f"({', '.join(ranges)}); baseline, default organisation (1,000 people, 260 weeks).",
        "",
        "| target | value ± tol | 5% | 25% | median | 75% | 95% | draws within tolerance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in goals:
        q = table[t.name].quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_numpy()
        value = f"≥ {t.value:g}" if t.kind == "at_least" else f"{t.value:g} ± {t.tolerance:g}"
        cells = " | ".join(f"{x:.3f}" for x in q)
        lines.append(f"| {t.name} | {value} | {cells} | {int(ok[t.name].sum())} |")
    joint = int(ok.all(axis=1).sum())
    lines += ["", f"All targets at once: **{joint} of {n}** draws.", ""]
    lines += ["Pairs met together (draws within tolerance of both):", ""]
    names = [t.name for t in goals]
    lines += ["| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for a in names:
        row = [str(int((ok[a] & ok[b]).sum())) for b in names]
        lines.append(f"| {a} | " + " | ".join(row) + " |")
    lines += ["", "Draws meeting all targets but one (which one is missed):", ""]
    missed = ok.sum(axis=1) == len(names) - 1
    counts = (~ok[missed]).sum().astype(int)
    lines.append(", ".join(f"{k}: {v}" for k, v in counts.items() if v) or "none")
    lines += ["", "Which parameters move each statistic (Spearman ρ, the three largest |ρ|):", ""]
    for t in goals:
        rho = {p: spearmanr(table[p], table[t.name]).statistic for p in ranges}
        rho = {p: r for p, r in rho.items() if np.isfinite(r)}
        top = sorted(rho, key=lambda p: -abs(rho[p]))[:3]
        lines.append(f"- {t.name}: " + ", ".join(f"{p} {rho[p]:+.2f}" for p in top))
    if cpu is not None:
        lines += ["", f"CPU time of this process: {cpu:.0f} s (workers' time not included)."]
    return "\n".join(lines)


def search(n: int, seed: int = 0, n_jobs: int = 2, batch: int = 32, checks: int = 16) -> str:
    """Can *one* parameter set meet every target at once? An optimiser (Optuna's multivariate
    TPE) looks for the parameter set with the smallest distance over ``n`` evaluations, each
    the mean distance of two simulations (seeds ``seed`` and ``seed + 1``, so that one lucky
    run is not enough). The best set is then simulated again with ``checks`` fresh seeds: if
    even the best set found does not meet the targets in most of those runs, no posterior can,
    and the structure, not the sampler, is what is missing (issue 14, item 7). Returns the
    report (markdown)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    params = preset_params()
    problem = FieldProblem.build([f"seed={seed}"], params)
    ranges = priors(params["parameters"])
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    study = optuna.create_study(sampler=sampler)
    with tqdm(total=n, desc="search", unit="set", file=sys.stderr) as bar:
        for _ in range(0, n, batch):
            trials = [study.ask() for _ in range(min(batch, n - len(study.trials)))]
            sets = [{k: t.suggest_float(k, *ranges[k]) for k in ranges} for t in trials]
            runs = [simulate(problem, sets, seed + r, n_jobs, same_seed=True) for r in (0, 1)]
            for t, *stats in zip(trials, *runs, strict=True):
                study.tell(t, float(np.mean([problem.distance(x) for x in stats])))
            bar.update(len(trials))
    best = study.best_trial
    again = pd.DataFrame(
        [simulate(problem, [best.params], seed + 2 + r, n_jobs)[0] for r in range(checks)]
    )
    lines = [
        f"Optuna (multivariate TPE, seed {seed}) over the priors of {len(ranges)} parameters, "
        f"{n} parameter sets, each scored by its mean distance over two runs: the best scored "
        f"ε = {best.value:.2f}. That set simulated again with {checks} new seeds:",
        "",
        *targets_met(again, problem.goals),
        "",
        "The set: " + ", ".join(f"`{k}` {v:.3g}" for k, v in best.params.items()) + ".",
    ]
    return "\n".join(lines)


# --- ABC-SMC ------------------------------------------------------------------------------------

#: Settings of ``experiment.params`` and the least each may be.
_AT_LEAST = {
    "population": 2,
    "usage_population": 2,
    "generations": 1,
    "max_simulations": 1,
    "batch": 1,
    "draws": 1,
    "horizon": 1,
}


def fitted_setting(params: dict, data: bool) -> tuple[list[str], str]:
    """What a calibration fits, and the setting that says so: ``usage_parameters`` for a fit
    to an organisation's usage (a year of weekly counts speaks to few parameters: the others
    would only spread the importance weights, docs/CALIBRATION.md §3 and §8), else
    ``parameters``."""
    key = "usage_parameters" if data else "parameters"
    return list(params[key]), f"experiment.params.{key}"


def fit_key(name: str, data: bool) -> str:
    """The setting ``name`` of a fit to an organisation's usage (``usage_<name>``) or to the
    field patterns (``<name>``): see ``for_fit``."""
    return "usage_" + name if data else name


def for_fit(params: dict, name: str, data: bool):
    """A setting the two kinds of fit set apart: ``usage_<name>`` for a fit to an
    organisation's usage, else ``<name>`` — the perturbation kernel (``kernel_scale``), the
    particles a generation (``population``) and the time budget (``minutes``). A fit of five
    usage parameters keeps pyabc's default kernel and 500 particles a generation, with which
    its weights stay spread, and has a budget of its own: its tolerance creeps towards the
    noise of the organisation's weekly counts and may never reach ``min_epsilon``
    (docs/CALIBRATION.md §9). The field patterns' fourteen parameters need the wider kernel,
    and fewer particles a generation buy them more generations within their budget (§3)."""
    return params[fit_key(name, data)]


def settings_problems(params: dict) -> list[str]:
    """One message per bad ``experiment.params`` setting (empty when all are valid)."""
    errors = []
    for key, least in _AT_LEAST.items():
        value = params.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            errors.append(
                f"experiment.params.{key}={value!r} is not allowed: it must be a whole number "
                f"of at least {least}"
            )
    fields_ = {f.name for f in fields(Behaviour)}
    for key, value in (params.get("centola", {}).get("setting") or {}).items():
        if key not in fields_:
            errors.append(
                f"experiment.params.centola.setting.{key} is not allowed: the setting holds "
                "behavioural parameters (docs/MODEL.md §8), e.g. innovation_p, need_mean"
            )
        elif not isinstance(value, int | float) or isinstance(value, bool):
            errors.append(f"experiment.params.centola.setting.{key}={value!r} is not a number")
    install = params.get("install")
    if install is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", str(install)):
        errors.append(
            f"experiment.params.install={install!r} is not allowed: give a name of letters, "
            "digits, - and _ (it becomes conf/calibration/<name>.yaml)"
        )
    for key in ("kernel_scale", "usage_kernel_scale", "minutes", "usage_minutes"):
        value = params.get(key)
        if value is not None and (
            not isinstance(value, int | float) or isinstance(value, bool) or not value > 0
        ):
            errors.append(
                f"experiment.params.{key}={value!r} is not allowed: it must be a number above 0 "
                "or null (" + ("no limit" if "minutes" in key else "pyabc's default kernel")
                + ")"
            )
    point = params.get("point") or {}
    for key in ("candidates", "seeds", "finalists", "final_seeds"):
        value = point.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                f"experiment.params.point.{key}={value!r} is not allowed: it must be a whole "
                "number of at least 1"
            )
    if all(isinstance(point.get(k), int) for k in ("candidates", "finalists")) and (
        point["finalists"] > point["candidates"]
    ):
        errors.append(
            f"experiment.params.point.finalists={point['finalists']} is not allowed: it must be "
            f"at most point.candidates={point['candidates']}"
        )
    for key in ("min_epsilon", "data_tolerance"):
        value = params.get(key)
        if not isinstance(value, int | float) or not value >= (0 if key == "min_epsilon" else 1e-9):
            errors.append(
                f"experiment.params.{key}={value!r} is not allowed: it must be a "
                + ("non-negative number" if key == "min_epsilon" else "number above 0")
            )
    return errors


def fit(
    problem,
    ranges: dict[str, tuple[float, float]],
    params: dict,
    db: Path,
    seed: int,
    n_jobs: int,
    progress: bool,
    deadline: float | None = None,
) -> tuple["pyabc.History", str | None]:
    """Run (or, if ``db`` holds an unfinished run, continue) ABC-SMC; return its history, and
    why it stopped before its tolerance or its generations (None when it reached either): a
    budget of simulations, of time (``deadline``, a ``time.monotonic`` time: see
    ``_run_generations``) or weights that underflowed.

    With many fitted parameters the importance weights of a generation can underflow to zero
    (pyabc refuses the generation: "total weight nan is not normalized"). The fit then ends
    with the last generation it could weight, and says so, rather than losing the run.

    Each generation's particles are simulated in batches of ``params["batch"]``: pyabc's
    ``ConcurrentFutureSampler`` keeps that many particle calls open on a thread pool, and the
    ``Batcher`` simulates them together (``simulate``). With ``batch=1`` pyabc's single-core
    sampler is used, seeded with ``seed``, and the run is reproducible bit for bit; with
    batches, which particles are kept depends on the order they finish in (the posterior is
    the same up to Monte Carlo error)."""
    import pyabc

    from experiments import abc_kernel

    usage = isinstance(problem, UsageProblem)
    size = int(params["batch"])
    logging.getLogger("ABC").setLevel(logging.WARNING)  # the progress bar says how it goes
    bar = tqdm(  # no total: the run stops on ε, generations or budget, whichever comes first
        desc="calibrating",
        unit="particle",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5,
    )
    batcher = Batcher(lambda items: simulate(problem, items, seed, n_jobs), size, tick=bar.update)
    prior = pyabc.Distribution(
        **{k: pyabc.RV("uniform", lo, hi - lo) for k, (lo, hi) in ranges.items()}
    )
    if size == 1:
        np.random.seed(seed % 2**32)  # noqa: NPY002 (pyabc draws from NumPy's global one)
        sampler = pyabc.sampler.SingleCoreSampler()
    else:
        executor = ThreadPoolExecutor(max_workers=size)
        sampler = pyabc.sampler.ConcurrentFutureSampler(
            executor, client_max_jobs=size, default_pickle=False
        )
    abc = pyabc.ABCSMC(
        lambda parameter: batcher(dict(parameter)),
        prior,
        lambda x, x0: problem.distance(x),
        population_size=int(for_fit(params, "population", usage)),
        sampler=sampler,
        transitions=abc_kernel.transition(for_fit(params, "kernel_scale", usage), ranges),
    )
    url = f"sqlite:///{db}"
    if db.exists():
        history = abc.load(url, 1)
        done = history.n_populations
        bar.update(history.total_nr_simulations)
        print(f"resuming: {done} generation(s) already in {db}", file=sys.stderr, flush=True)
    else:
        db.parent.mkdir(parents=True, exist_ok=True)
        history, done = abc.new(url, problem.observed_statistics()), 0
    remaining = int(params["generations"]) - done
    stopped = None
    try:
        if remaining > 0 and not _converged(history, params):
            budget = fit_key("minutes", usage)
            history, stopped = _run_generations(abc, params, remaining, deadline, budget)
            if stopped:
                print(f"stopped: {stopped}", file=sys.stderr, flush=True)
    except AssertionError as error:
        if "not normalized" not in str(error):
            raise
        history = abc.history
        stopped = (
            f"generation {history.max_t + 2} could not be weighted (its importance weights "
            f"underflowed to zero: {error}); the fit ends with generation {history.max_t + 1}. "
            "Fit fewer parameters (`experiment.params.parameters`) or raise "
            f"`experiment.params.{fit_key('population', usage)}`."
        )
        print(f"warning: {stopped}", file=sys.stderr, flush=True)
    finally:
        batcher.close()
        bar.close()
        if size > 1:
            executor.shutdown(wait=True, cancel_futures=True)
    return history, stopped


def next_generation_seconds(simulated: Sequence[int], seconds: float) -> float:
    """The predicted wall time of the next generation, from the particles the generations so
    far simulated (``simulated``, in order) and the last one's wall time: as the tolerance
    shrinks, each generation needs more simulations than the one before, by a factor that
    varies (0.7 to 1.9 in the fits of 2026-11-30); the larger of the last two factors, at least 1,
    is taken, at the last generation's speed."""
    ratios = [b / a for a, b in zip(simulated[:-1], simulated[1:], strict=False) if a > 0]
    return seconds * max([1.0, *ratios[-2:]])


def _run_generations(abc, params: dict, remaining: int, deadline: float | None, budget: str):
    """pyabc's ``ABCSMC.run`` loop (its own calls, generation by generation), with one more
    stopping rule: a generation is not begun that would end after ``deadline`` (a
    ``time.monotonic`` time; ``budget`` is the setting it comes from, for the message), its
    wall time predicted by ``next_generation_seconds``.
    pyabc's own ``max_walltime`` is checked only after a generation ends, and the last
    generation of the default fit takes a quarter of its time. Returns the history and why the
    run stopped."""
    t = abc.initialize_components_before_run(
        minimum_epsilon=float(params["min_epsilon"]),
        max_nr_populations=remaining,
        min_acceptance_rate=0.0,
        max_total_nr_simulations=int(params["max_simulations"]),
        max_walltime=None,
        min_eps_diff=0.0,
    )
    simulated: list[int] = []
    while True:
        begun = time.monotonic()
        done = abc.run_generation(t=t)
        if not done["successful"]:
            return abc.history, f"generation {t + 1} could not be sampled."
        simulated.append(abc.history.get_all_populations()["samples"].iloc[-1])
        if abc.check_terminate(t=t, acceptance_rate=done["acceptance_rate"]):
            # on its tolerance, its last generation or else its simulation budget
            ended = t >= abc.max_t or _reached_tolerance(abc.history, params)
            return abc.history, None if ended else (
                f"the simulation budget (experiment.params.max_simulations="
                f"{params['max_simulations']})."
            )
        ahead = next_generation_seconds(simulated, time.monotonic() - begun)
        if deadline is not None and time.monotonic() + ahead > deadline:
            return abc.history, (
                f"the time budget (experiment.params.{budget}={params[budget]}): the next "
                f"generation would have taken about {ahead / 60:.0f} minutes more."
            )
        t += 1


def _reached_tolerance(history, params: dict) -> bool:
    """The last generation's ε is at or below ``min_epsilon``."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return len(pops) > 0 and pops["epsilon"].iloc[-1] <= float(params["min_epsilon"])


def _converged(history, params: dict) -> bool:
    """The run already reached its tolerance or spent its simulation budget."""
    return _reached_tolerance(history, params) or history.total_nr_simulations >= int(
        params["max_simulations"]
    )


def posterior_of(history, ranges: dict, info: dict) -> Posterior:
    """The last generation's particles and weights as a ``Posterior``."""
    table, weights = history.get_distribution(m=0, t=history.max_t)
    table = table[list(ranges)].reset_index(drop=True)
    return Posterior(table, np.asarray(weights, float) / np.sum(weights), info)


def with_prior(posterior: Posterior, ranges: dict, seed: int) -> Posterior:
    """``posterior`` with a column per parameter of ``ranges`` drawn independently from its
    uniform prior: the posterior of parameters the fitted statistics do not depend on."""
    draws = pd.DataFrame(draw_prior(ranges, len(posterior), seed), index=posterior.table.index)
    table = pd.concat([posterior.table, draws], axis=1)
    return Posterior(table, posterior.weights, posterior.info)


def diagnostics(history) -> pd.DataFrame:
    """Per generation: tolerance (epsilon), particles simulated and accepted, acceptance rate
    and effective sample size of the weights."""
    from pyabc.weighted_statistics import effective_sample_size

    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    ess = [effective_sample_size(history.get_distribution(m=0, t=int(t))[1]) for t in pops["t"]]
    return pd.DataFrame(
        {
            "generation": pops["t"].astype(int),
            "epsilon": pops["epsilon"].astype(float),
            "simulated": pops["samples"].astype(int),
            "accepted": pops["particles"].astype(int),
            "acceptance_rate": pops["particles"] / pops["samples"],
            "ess": np.round(ess, 1),
        }
    )


# --- the study: python -m sim experiment=calibrate -----------------------------------------------


def problem_of(cfg, common: list[str], params: dict):
    """The problem a composed config asks for, with a description for the record: the field
    patterns, or the usage export ``data.path`` on the organisation ``org``. ``common`` are
    the run overrides. Returns ``(problem, what, usage, people)``; ``usage`` and ``people``
    are None without data."""
    if cfg.data.path in (None, ""):
        return FieldProblem.build(common, params), "field patterns", None, None
    d = cfg.data
    usage = usage_data.read(d.path, d.format, d.launch, d.visit_days, d.post_days)
    spec = Spec.from_config(compose(common), "baseline")
    people = spec.model(cfg.seed).org.n
    usage.check_size(people)
    problem = UsageProblem.from_usage(spec, usage, people, float(params["data_tolerance"]))
    return problem, f"usage export {usage.path} ({usage.format})", usage, people


def _resume_key(cfg, params: dict, ranges: dict) -> str:
    """What the ABC run depends on: the config (without where results go), the priors, the
    data file's contents and the model's code."""
    config = OmegaConf.to_container(cfg, resolve=True)
    config.pop("output", None)
    for key in ("dir", "jobs", "programmes"):  # where and how fast, not what is fitted
        config["experiment"].pop(key, None)
    for key in ("install", "batch", "draws", "horizon"):
        config["experiment"]["params"].pop(key, None)
    blob = json.dumps([config, ranges, code_fingerprint()], sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode())
    if cfg.data.path:
        digest.update(Path(cfg.data.path).expanduser().read_bytes())
    return digest.hexdigest()[:16]


def main(cfg, overrides: list[str]) -> Path:
    """``python -m sim experiment=calibrate``: fit, then write the results folder (and, with
    ``experiment.params.install=<name>``, the calibration ``conf/calibration/<name>``)."""
    started, begun = time.process_time(), time.monotonic()
    experiment = cfg.experiment
    params = OmegaConf.to_container(experiment.params, resolve=True)
    errors = settings_problems(params) + experiment_problems(experiment)
    errors += config_problems(cfg)
    try:
        check_output_dir(experiment.dir, key="experiment.dir")
        ranges = priors(*fitted_setting(params, bool(cfg.data.path)))
        if not cfg.data.path:
            patterns.targets(params["targets"])
    except InputError as e:
        errors.append(str(e))
    programmes = list(experiment.scenarios)
    unknown = sorted(set(programmes) - set(available_scenarios()))
    if unknown:
        errors.append(
            f"experiment.scenarios: {unknown} are not programmes; choose among "
            f"{', '.join(available_scenarios())}"
        )
    if any(o.lstrip("+~").split("=", 1)[0] == "scenario" for o in overrides):
        errors.append(
            "scenario=: a calibration simulates the observed period without a programme; "
            "choose the programmes to forecast with 'experiment.scenarios=[...]'"
        )
    if errors:
        raise InputError("\n".join(errors))
    common = common_overrides(list(overrides))
    problem, what, usage, people = problem_of(cfg, common, params)
    if usage is not None:
        forecast_specs = {
            name: Spec.from_config(compose([*common, f"scenario={name}"]), name)
            for name in dict.fromkeys(["baseline", *programmes])
        }
    frozen = inert(problem, ranges, int(cfg.seed), int(experiment.jobs))
    fitted = {k: v for k, v in ranges.items() if k not in frozen}
    if not fitted:
        raise InputError(
            f"experiment.params.parameters: none of {list(ranges)} changes what is fitted "
            f"({what}); choose parameters the simulation depends on"
        )
    db = Path(experiment.dir) / PARTIAL / f"calibrate-{_resume_key(cfg, params, ranges)}.db"
    progress = bool(cfg.output.progress)
    minutes = for_fit(params, "minutes", bool(cfg.data.path))
    deadline = None if minutes is None else begun + 60 * float(minutes)
    history, stopped = fit(
        problem, fitted, params, db, int(cfg.seed), int(experiment.jobs), progress, deadline
    )
    info = {
        "name": params.get("install") or "calibration",
        "fitted_to": what,
        "fitted": list(fitted),
        "prior_only": frozen,
        "created": datetime.now().isoformat(timespec="seconds"),
        "seed": int(cfg.seed),
        "git": provenance(cfg.seed, overrides)["git"],
        "stopped_early": stopped,
    }
    posterior = posterior_of(history, fitted, info)
    posterior = with_prior(posterior, {k: ranges[k] for k in frozen}, int(cfg.seed))
    table = diagnostics(history)
    draws = posterior.draw(int(params["draws"]), int(cfg.seed))
    # posterior predictive: the drawn parameter sets with fresh seeds (root seed + 1)
    predicted = simulate_in_batches(
        problem, draws, int(cfg.seed) + 1, int(experiment.jobs), int(params["batch"]), "checking"
    )
    point_text = ""
    if usage is None:  # a field fit: its point calibration, which an install makes the defaults
        point, point_text = choose_point(
            problem, posterior, fitted, params, int(cfg.seed), int(experiment.jobs)
        )
        posterior.info["point"] = point

    record: dict = {}

    def build(tmp: Path) -> None:
        posterior.save(tmp / "posterior.parquet")
        shutil.copy(db, tmp / "abc.db")
        table.to_csv(tmp / "diagnostics.csv", index=False)
        figures.plot_diagnostics(table, tmp / "calibration_diagnostics.png")
        figures.plot_marginals(posterior, ranges, tmp / "calibration_marginals.png")
        figures.plot_pairs(posterior, ranges, tmp / "calibration_pairs.png")
        if usage is None:
            check = pd.DataFrame(predicted)
            check.to_csv(tmp / "predictive.csv", index=False)
            figures.plot_predictive(check, problem.goals, tmp / "calibration_predictive.png")
        else:
            figures.plot_fit(predicted, problem, tmp / "calibration_predictive.png")
            write_forecast(tmp, problem, posterior, forecast_specs, params, cfg, people)
        text = report(what, ranges, posterior, table, problem, predicted, usage)
        if point_text:
            text += "\n\n## The point calibration\n\n" + point_text + "\n"
        record["docs"] = report(what, ranges, posterior, table, problem, predicted, usage, "img/")
        (tmp / "CALIBRATION.md").write_text(text, encoding="utf-8")
        (tmp / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
        (tmp / "overrides.yaml").write_text(OmegaConf.to_yaml(list(overrides)), encoding="utf-8")
        made = provenance(cfg.seed, overrides) | {"cpu_seconds": time.process_time() - started}
        (tmp / "provenance.json").write_text(json.dumps(made, indent=2) + "\n")

    folder = write_atomically(new_run_folder(experiment.dir), build, "experiment.dir")
    db.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # .partial/ goes when nothing else is left in it
        db.parent.rmdir()
    if params.get("install"):
        install(folder, str(params["install"]), what, record["docs"], point_text)
    return folder


def fitted_seeds(posterior: Posterior, particles: list[dict], root: int) -> list[int]:
    """The seed each particle's simulation had in the fit (made from the fitted parameters
    alone, not the ones drawn from their priors afterwards), so that a forecast repeats the
    accepted trajectory over the observed weeks."""
    fitted = posterior.info["fitted"]
    return [particle_seed(root, {name: p[name] for name in fitted}) for p in particles]


def write_forecast(folder, problem, posterior, specs, params, cfg, people) -> None:
    """forecast.csv (bands), forecast_outcomes.csv, forecast.png and forecast.md."""
    k, root = int(params["draws"]), int(cfg.seed)
    particles = posterior.draw(k, root)
    seeds = fitted_seeds(posterior, particles, root)
    weeks = problem.spec.weeks
    horizon = int(params["horizon"])
    weekly = forecast.simulate(specs, particles, seeds, weeks, horizon, int(cfg.experiment.jobs))
    gap = forecast.observed_gap(weekly, weeks)
    band = forecast.bands(weekly)
    results = forecast.outcomes(weekly, weeks)
    band.to_csv(folder / "forecast.csv", index=False)
    results.to_csv(folder / "forecast_outcomes.csv", index=False)
    observed = pd.DataFrame(
        {
            "week": np.arange(problem.first_week, weeks + 1),
            "active_share": problem.observed["active_users"],
        }
    )
    forecast.plot(band, results, observed, weeks, folder / "forecast.png")
    table = forecast.summary(results)
    table.to_csv(folder / "forecast_summary.csv", index=False)
    text = forecast.markdown(table, weeks, horizon, people, k, gap)
    (folder / "forecast.md").write_text(text, encoding="utf-8")


def report(what, ranges, posterior, table, problem, predicted, usage, img: str = "") -> str:
    """The calibration's record (markdown): what was fitted to what, how, the result, and
    what does not fit. ``img`` prefixes the figures' file names."""
    last = table.iloc[-1]
    lines = [
        f"Fitted: {len(ranges)} parameters, uniform priors over the registry's ranges. "
        f"To: {what}. How: ABC-SMC (pyabc {version('pyabc')}), "
        f"{int(table['accepted'].iloc[0])} particles a generation, {len(table)} generations, "
        f"{int(table['simulated'].sum()):,} particles simulated; final tolerance "
        f"ε = {last['epsilon']:.3g} (distance in tolerances: ε ≤ 1 means every target within "
        f"its tolerance), acceptance rate {last['acceptance_rate']:.3f}, effective sample "
        f"size {last['ess']:.0f}.",
        *_warnings(last, posterior, usage is not None),
        "",
        "| generation | ε | simulated | accepted | acceptance rate | ESS |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.generation} | {r.epsilon:.3g} | {r.simulated:,} | {r.accepted} | "
            f"{r.acceptance_rate:.3f} | {r.ess:.0f} |"
        )
    lines += [
        "",
        f"![Diagnostics]({img}calibration_diagnostics.png)",
        "",
        "Posterior (weighted median, 90% credible interval) against the prior; *narrowing* is "
        "the posterior's standard deviation over the prior's (1: nothing learnt).",
        "",
        "| parameter | prior | median | 90% interval | narrowing |",
        "|---|---|---|---|---|",
    ]
    narrowing = figures.contraction(posterior, ranges)
    intervals = credible_intervals(posterior)
    median = posterior.median()
    for name in narrowing.index:
        lo, hi = ranges[name]
        a, b = intervals[name]
        lines.append(
            f"| `{name}` | {lo:g}–{hi:g} | {median[name]:.3g} | {a:.3g}–{b:.3g} | "
            f"{narrowing[name]:.2f} |"
        )
    lines += [
        "",
        f"![Marginals]({img}calibration_marginals.png)",
        "",
        f"![Pairs of the most narrowed parameters]({img}calibration_pairs.png)",
        "",
    ]
    if usage is None:
        lines += predictive_table(pd.DataFrame(predicted), problem.goals, len(predicted))
    else:
        lines += [f"Data: {len(usage)} weeks from {usage.path}.", *(f"- {n}" for n in usage.notes)]
        lines.append("")
        for key in problem.observed:
            gaps = [np.sqrt(np.mean((p[key] - problem.observed[key]) ** 2)) for p in predicted]
            lines.append(
                f"- {key}: RMS gap of the posterior predictive runs {np.median(gaps):.3f} "
                f"(median; tolerance {problem.tolerance:g})"
            )
    lines += ["", f"![Posterior predictive check]({img}calibration_predictive.png)"]
    return "\n".join(lines) + "\n"


def _warnings(last, posterior: Posterior, data: bool) -> list[str]:
    """What a reader of the record must know before trusting the posterior."""
    out = []
    if posterior.info.get("stopped_early"):
        out += ["", f"**The fit stopped early**: {posterior.info['stopped_early']}"]
    frozen = posterior.info.get("prior_only") or []
    if frozen:
        out += [
            "",
            f"Not fitted (the statistics do not depend on them; drawn from their priors): "
            f"{', '.join(f'`{k}`' for k in frozen)}.",
        ]
    if last["ess"] < 0.1 * last["accepted"]:
        out += [
            "",
            f"**Warning**: the last generation's effective sample size is {last['ess']:.0f} of "
            f"{int(last['accepted'])} particles: the posterior rests on a few parameter sets "
            "(importance weights degenerate as the number of fitted parameters grows). Raise "
            f"`experiment.params.{fit_key('population', data)}` or fit fewer parameters.",
        ]
    return out


def predictive_table(check: pd.DataFrame, goals: list[Target], k: int) -> list[str]:
    """Each target against the posterior predictive simulations, and what does not fit."""
    return [
        f"Posterior predictive check: {k} parameter sets drawn by weight, each simulated "
        "again with a new seed.",
        "",
        *targets_met(check, goals),
    ]


def point_check(runs: int, seed: int = 0, n_jobs: int = 2) -> str:
    """The point calibration — the registry's defaults, which for the fitted parameters are
    the shipped posterior's chosen set (``models.calibrated``) — simulated as a particle with
    ``runs`` seeds, each target against those runs (markdown): one parameter set need not meet
    what the posterior's runs meet together, and this says how far the defaults are from it."""
    params = preset_params()
    problem = FieldProblem.build([f"seed={seed}"], params)
    runs_ = [simulate(problem, [{}], seed + r, n_jobs, same_seed=True)[0] for r in range(runs)]
    return "\n".join(
        [
            "The point calibration — the registry's defaults, the posterior's set chosen above "
            f"(`models.calibrated`) — simulated with seeds {seed} to {seed + runs - 1}:",
            "",
            *targets_met(pd.DataFrame(runs_), problem.goals),
        ]
    )


def choose_point(
    problem, posterior: Posterior, ranges: dict, settings: dict, root: int, n_jobs: int
) -> tuple[dict[str, float], str]:
    """The point calibration (the registry's defaults): the posterior's set most likely to
    meet every target at once, and its record (markdown).

    With uniform priors, the ABC posterior at tolerance 1 has a density at a parameter set
    proportional to the chance that the set's runs meet every target within tolerance; the
    point is that chance's largest value among the posterior's ``candidates`` most central
    sets (``Posterior.central``), so a set the fit accepted and typical of it, not an outlier
    that met the targets once. Each candidate runs with ``seeds`` new seeds, the same for all
    (common random numbers); the ``finalists`` best run with ``final_seeds`` more, so that the
    choice does not rest on a lucky draw. Ranked by the share of runs meeting every target,
    then by the median distance, then by centrality. The medoid alone is not enough: at the
    calibration of 2026-11-30 16:37 it met all six targets in none of ten runs, and the
    centrality of the 24 most central sets differed by less than a tenth while their share
    of runs meeting every target ranged from none to eight in ten (docs/CALIBRATION.md §6)."""
    c = settings["point"]
    first, more = int(c["seeds"]), int(c["final_seeds"])
    seeds = np.random.SeedSequence([int(root), 2]).generate_state(first + more).tolist()
    candidates = posterior.central(ranges, int(c["candidates"]))

    def distances(sets: list[dict], chosen: list[int]) -> np.ndarray:
        """sets × seeds: each set's distance from the targets in a run with each seed."""
        columns = [
            [problem.distance(stats) for stats in simulate(problem, sets, s, n_jobs, True)]
            for s in tqdm(chosen, desc="choosing the point", unit="seed", file=sys.stderr)
        ]
        return np.array(columns).T

    def order(d: np.ndarray) -> np.ndarray:
        met, median = (d <= 1).mean(axis=1), np.median(d, axis=1)
        return np.lexsort((np.arange(len(d)), median, -met))

    d = distances(candidates, seeds[:first])
    finalists = order(d)[: int(c["finalists"])]
    again = distances([candidates[i] for i in finalists], seeds[first:])
    d_final = np.hstack([d[finalists], again])
    ranked = finalists[order(d_final)]
    best = int(ranked[0])
    rows = {int(i): k for k, i in enumerate(finalists)}
    lines = [
        f"The point calibration is the set, among the posterior's {len(candidates)} most "
        f"central, whose runs met every target at once most often: each ran with {first} new "
        f"seeds, the {len(finalists)} best with {more} more.",
        "",
        f"| set (1: the medoid) | all targets at once, {first} runs | "
        f"all targets at once, {first + more} runs | median distance |",
        "|---|---|---|---|",
    ]
    for i in ranked:
        row = d_final[rows[int(i)]]
        mark = " (chosen)" if i == best else ""
        lines.append(
            f"| {int(i) + 1}{mark} | {(d[i] <= 1).mean():.0%} | {(row <= 1).mean():.0%} | "
            f"{np.median(row):.2f} |"
        )
    others = (d[np.setdiff1d(np.arange(len(candidates)), finalists)] <= 1).mean(axis=1)
    if others.size:
        lines += [
            "",
            f"The other {others.size} met every target at once in "
            f"{others.min():.0%}–{others.max():.0%} of their {first} runs.",
        ]
    return candidates[best], "\n".join(lines)


def targets_met(check: pd.DataFrame, goals: list[Target]) -> list[str]:
    """Each target against the runs of ``check`` (one row of statistics each): the runs'
    median and 90% range, the share within tolerance, all at once, and what does not fit."""
    lines = [
        "| target | value ± tolerance | model median | model 90% range | within tolerance |",
        "|---|---|---|---|---|",
    ]
    misfits = []
    for t in goals:
        x = check[t.name]
        lo, mid, hi = x.quantile([0.05, 0.5, 0.95])
        within = float(np.mean([t.deviation(v) <= 1 for v in x]))
        value = f"≥ {t.value:g}" if t.kind == "at_least" else f"{t.value:g} ± {t.tolerance:g}"
        lines.append(f"| {t.name} | {value} | {mid:.3f} | {lo:.3f}–{hi:.3f} | {within:.0%} |")
        if within < 0.5:
            misfits.append(f"{t.name} ({within:.0%} of the runs within tolerance)")
    joint = float(np.mean([patterns.distance(r, goals) <= 1 for r in check.to_dict("records")]))
    lines += [
        "",
        f"All targets at once: {joint:.0%} of the runs.",
        "",
        "Does not fit (fewer than half the runs within tolerance): "
        + ("; ".join(misfits) if misfits else "none")
        + ".",
    ]
    return lines


def credible_intervals(posterior: Posterior, level: float = 0.9) -> dict[str, tuple]:
    """Equal-tailed weighted credible interval of each parameter."""
    out = {}
    tail = (1 - level) / 2
    for name in posterior.parameters:
        x = posterior.table[name].to_numpy(float)
        order = np.argsort(x, kind="stable")
        cum = np.cumsum(posterior.weights[order])
        lo = x[order][np.searchsorted(cum, tail)]
        hi = x[order][min(np.searchsorted(cum, 1 - tail), len(x) - 1)]
        out[name] = (float(lo), float(hi))
    return out


DOCS = ROOT / "docs" / "CALIBRATION.md"
BEGIN = (
    "<!-- calibration:result:begin "
    "(python -m sim experiment=calibrate experiment.params.install=default) -->"
)
END = "<!-- calibration:result:end -->"


def install(folder: Path, name: str, what: str, docs_text: str, point_text: str = "") -> Path:
    """Make a calibration selectable as ``calibration=<name>``: its posterior as
    ``conf/calibration/<name>.parquet`` with ``<name>.yaml``; for ``default``, also its record
    in docs/CALIBRATION.md (between the markers; ``point_text``, how its point calibration was
    chosen, in its own block), its figures in docs/img/ and the registry's defaults
    (``models.calibrated``)."""
    target = CALIBRATION_DIR / f"{name}.parquet"
    shutil.copy(folder / "posterior.parquet", target)
    (CALIBRATION_DIR / f"{name}.yaml").write_text(
        f"# Posterior ensemble written by {folder} (docs/CALIBRATION.md).\n"
        f"name: {name}\npath: {name}.parquet\n"
        f"description: ABC-SMC posterior fitted to {what}\n",
        encoding="utf-8",
    )
    if name == "default":
        img = ROOT / "docs" / "img"
        for png in folder.glob("calibration_*.png"):
            shutil.copy(png, img / png.name)
        replace_block(DOCS, BEGIN, END, docs_text)
        if point_text:
            replace_block(DOCS, *markers("point-choice"), point_text)
        POINT.write_text(point_calibration(load(target), folder.name), encoding="utf-8")
    return target


#: The registry's point defaults (``models.calibrated``), rewritten when a default is installed.
POINT = ROOT / "models" / "calibrated.py"


def point_calibration(posterior: Posterior, run: str) -> str:
    """The source of ``models.calibrated`` for ``posterior``: its point calibration over the
    parameters it fitted (four significant digits), which becomes the registry's defaults —
    the set ``choose_point`` chose (``info["point"]``), or for a posterior without one (made
    by hand) its medoid (``Posterior.medoid``, in the prior ranges). Not a coordinate-wise
    median: a many-dimensional posterior's medians are not a set it holds, since parameters
    the fit trades against each other can each take a median from different sets (at an
    earlier calibration the medians met the weekly-active level in 1 of 10 runs, the medoid
    in 10 of 10: docs/CALIBRATION.md §6). Parameters it left at their priors (``prior_only``:
    the statistics do not depend on them) keep the registry's own defaults: a prior says
    nothing about them."""
    fitted = posterior.info.get("fitted", posterior.parameters)
    point = posterior.info.get("point") or posterior.medoid(priors(fitted))
    lines = [f'    "{name}": {float(f"{point[name]:.4g}")!r},' for name in fitted]
    head, _, _ = POINT.read_text(encoding="utf-8").partition("#: Where the point")
    return (
        f"{head}#: Where the point calibration comes from (quoted in each fitted parameter's "
        f"source).\nSOURCE = \"calibration=default of {run}\"\n"
        f"\n#: The point calibration (``choose_point``): its values of the fitted parameters.\n"
        f"POINT: dict[str, float] = {{\n" + "\n".join(lines) + "\n}\n"
    )


def rechoose_point(seed: int, n_jobs: int) -> str:
    """``choose_point`` for the installed default calibration, with the preset's settings:
    stored in its posterior (``info["point"]``) and written as the registry's defaults
    (``models.calibrated``); returns the record. For a change of the point settings, or a
    calibration installed before the point was chosen this way, without refitting."""
    target = CALIBRATION_DIR / "default.parquet"
    posterior = load(target)
    params = preset_params()
    fitted = posterior.info.get("fitted", posterior.parameters)
    problem = FieldProblem.build([], params)
    root = int(posterior.info.get("seed", seed))
    point, text = choose_point(problem, posterior, priors(fitted), params, root, n_jobs)
    posterior.info["point"] = point
    posterior.save(target)
    run = calibrated.SOURCE.rpartition(" of ")[2]
    POINT.write_text(point_calibration(posterior, run), encoding="utf-8")
    return text


# --- recovery: fitting data simulated from known parameters ------------------------------------


def synthetic_usage(spec: Spec, params: dict, seed: int, people: int) -> pd.DataFrame:
    """A weekly usage export (the ``weekly`` format) of one simulated run of ``spec`` with
    ``params``: what an organisation with those parameters would have observed."""
    weekly = simulate_jobs([(with_behaviour(spec, params), 0, seed)])[0].weekly
    shares = series(weekly)
    counts = {k: np.round(v * people).astype(int) for k, v in shares.items()}
    return pd.DataFrame({"week": weekly["week"], **counts})


def recover(
    truth: dict[str, float],
    ranges: dict[str, tuple[float, float]],
    common: list[str],
    params: dict,
    folder: Path,
    seed: int,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Simulate usage data from ``truth`` (seed ``seed``), write it as a CSV in ``folder``,
    read it back as a user's export would be, fit ``ranges`` to it, and return per parameter:
    the true value, the posterior median, the 90% credible interval, whether it holds the
    truth, and how much the fit narrowed the prior."""
    spec = Spec.from_config(compose(common), "baseline")
    people = spec.model(seed).org.n
    data = synthetic_usage(spec, truth, seed, people)
    path = folder / f"recovery-{seed}.csv"
    data.to_csv(path, index=False)
    usage = usage_data.read(path)
    problem = UsageProblem.from_usage(spec, usage, people, float(params["data_tolerance"]))
    db = folder / f"recovery-{seed}.db"
    db.unlink(missing_ok=True)
    history, _ = fit(problem, ranges, params, db, seed + 1, n_jobs, progress=False)
    posterior = posterior_of(history, ranges, {"name": "recovery"})
    intervals = credible_intervals(posterior)
    median = posterior.median()
    narrowing = figures.contraction(posterior, ranges)
    return pd.DataFrame(
        [
            {
                "parameter": k,
                "true": truth[k],
                "median": median[k],
                "low90": intervals[k][0],
                "high90": intervals[k][1],
                "inside": intervals[k][0] <= truth[k] <= intervals[k][1],
                "narrowing": narrowing[k],
            }
            for k in ranges
        ]
    )


def recovery_study(sets: int, seed: int, n_jobs: int, folder: Path) -> tuple[pd.DataFrame, str]:
    """``sets`` parameter sets drawn from the middle 80% of the priors of the preset's
    ``usage_parameters`` (what a fit to usage data fits by default; the others at their
    defaults), each fitted to 52 weeks of its own simulated usage at 1,000 people; the table
    and a markdown summary."""
    params = preset_params() | {"usage_population": 150, "generations": 5, "max_simulations": 3000}
    ranges = priors(*fitted_setting(params, data=True))
    inner = {k: (lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)) for k, (lo, hi) in ranges.items()}
    truths = draw_prior(inner, sets, seed)
    common = ["weeks=52", f"seed={seed}"]
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i, truth in enumerate(tqdm(truths, desc="recovery", unit="set", file=sys.stderr)):
        frame = recover(truth, ranges, common, params, folder, seed + 1000 * i, n_jobs)
        frames.append(frame.assign(set=i))
    table = pd.concat(frames, ignore_index=True)
    lines = [
        f"{sets} parameter sets, each fitted to 52 weeks of its own simulated weekly usage "
        "(1,000 people; active users, posters, adopted) with "
        f"{params['usage_population']} particles a generation and at most "
        f"{params['generations']} generations.",
        "",
        "| parameter | true values inside the 90% interval | median narrowing |",
        "|---|---|---|",
    ]
    for name, part in table.groupby("parameter", sort=False):
        lines.append(
            f"| `{name}` | {int(part['inside'].sum())} of {len(part)} | "
            f"{part['narrowing'].median():.2f} |"
        )
    lines += ["", "| set | parameter | true | median | 90% interval | inside |"]
    lines.append("|---|---|---|---|---|---|")
    for r in table.itertuples():
        lines.append(
            f"| {r.set} | `{r.parameter}` | {r.true:.3g} | {r.median:.3g} | "
            f"{r.low90:.3g}–{r.high90:.3g} | {'yes' if r.inside else 'no'} |"
        )
    return table, "\n".join(lines)


def targets_table(goals: list[Target]) -> str:
    """The targets as a markdown table (docs/CALIBRATION.md §2), with the noise envelope the
    fall of weekly use is judged against."""
    lines = [
        "| target | statistic | value | tolerance | source |",
        "|---|---|---|---|---|",
    ]
    for t in goals:
        value = f"≥ {t.value:g}" if t.kind == "at_least" else f"{t.value:g}"
        lines.append(
            f"| `{t.name}` | {patterns.STATISTICS[t.name]} | {value} | {t.tolerance:g} | "
            f"{t.source} |"
        )
    envelope = patterns.noise_envelope(0.2, 1000)
    fall = next(t for t in goals if t.name == "active_fall")
    lines += [
        "",
        f"Noise envelope of the fall: a flat series of 1,000 people at 20% weekly-active "
        f"(binomial noise only) shows a fall of up to {envelope:.1%} in 95% of cases "
        "(`experiments.patterns.noise_envelope`); the target is met from a fall of "
        f"{fall.band[0]:.0%} (its value less one tolerance).",
    ]
    return "\n".join(lines)


#: The generated blocks of docs/CALIBRATION.md, by command-line option.
BLOCKS = {
    "targets": "python -m experiments.calibrate --targets --docs",
    "prior-check": "python -m experiments.calibrate --prior-check 120 --docs",
    "search": "python -m experiments.calibrate --search 1600 --docs",
    "point": "python -m experiments.calibrate --point 10 --docs",
    "point-choice": "python -m sim experiment=calibrate experiment.params.install=default, or "
    "python -m experiments.calibrate --choose-point --docs",
    "recovery": "python -m experiments.calibrate --recovery 4 --docs",
}


def markers(block: str) -> tuple[str, str]:
    """The begin and end markers of a generated block of docs/CALIBRATION.md."""
    return (
        f"<!-- calibration:{block}:begin ({BLOCKS[block]}) -->",
        f"<!-- calibration:{block}:end -->",
    )


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.calibrate", description=__doc__)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--prior-check", type=int, metavar="N", help="N draws from the priors")
    what.add_argument("--recovery", type=int, metavar="K", help="fit K known parameter sets")
    what.add_argument("--targets", action="store_true", help="the targets table")
    what.add_argument(
        "--search", type=int, metavar="N", help="the best single parameter set of N (Optuna)"
    )
    what.add_argument("--point", type=int, metavar="N", help="the defaults, simulated N times")
    what.add_argument(
        "--choose-point",
        action="store_true",
        help="choose the installed default calibration's point again (writes the defaults)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    parser.add_argument("--docs", action="store_true", help="write it in docs/CALIBRATION.md")
    args = parser.parse_args(argv)
    args.jobs = worker_count(args.jobs, "--jobs")
    table = None
    if args.targets:
        block, text = "targets", targets_table(patterns.targets(preset_params()["targets"]))
    elif args.prior_check:
        block = "prior-check"
        table, text = prior_check(args.prior_check, args.seed, args.jobs)
    elif args.search:
        block, text = "search", search(args.search, args.seed, args.jobs)
    elif args.point:
        block, text = "point", point_check(args.point, args.seed, args.jobs)
    elif args.choose_point:
        block, text = "point-choice", rechoose_point(args.seed, args.jobs)
    else:
        block = "recovery"
        work = Path(tempfile.mkdtemp(prefix="recovery-"))
        table, text = recovery_study(args.recovery, args.seed, args.jobs, work)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        if table is not None:
            table.to_csv(args.out.with_suffix(".csv"), index=False)
    if args.docs:
        print(f"wrote {replace_block(DOCS, *markers(block), text)}")


if __name__ == "__main__":
    cli()
