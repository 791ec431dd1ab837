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
them together to one ``run_batch`` call, so that many particles are simulated in one
vectorised ensemble (``sim.replicate.run_jobs``) or one pool of worker processes.

Each particle's seed is a function of the root seed and its parameter values
(``particle_seed``), so a particle's simulation can be repeated exactly: the posterior
predictive check and the forecast continue the very trajectories that were accepted.
"""

import argparse
import dataclasses
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyabc
from joblib import Parallel, delayed
from omegaconf import OmegaConf
from scipy.stats import spearmanr
from tqdm import tqdm

from experiments import patterns
from experiments.patterns import Target
from experiments.sensitivity import PARAMETERS as SENSITIVITY_RANGES
from models.params import Behaviour
from sim.api import compose
from sim.posterior import Posterior
from sim.replicate import Spec

ROOT = Path(__file__).resolve().parent.parent
PRESET = ROOT / "conf" / "experiment" / "calibrate.yaml"


def preset_params() -> dict:
    """``experiment.params`` as the preset (conf/experiment/calibrate.yaml) sets them."""
    return OmegaConf.to_container(OmegaConf.load(PRESET).params)


# --- priors ------------------------------------------------------------------------------------


class Parameter(NamedTuple):
    """The shape of ``models.registry.Parameter`` (the fields the calibration reads)."""

    name: str
    default: float
    low: float
    high: float
    unit: str
    source: str
    uncertain: bool
    group: str


def registry() -> dict[str, Parameter]:
    """ADAPTER — delete when ``models.registry`` lands in main, and import its ``PARAMETERS``
    instead. A stand-in with the registry's shape: the sensitivity analysis's ranges for its
    fifteen parameters, and ±50% of the default for four more that shape the field patterns
    (``posting_connect`` wider, down to 0.01, because docs/VALIDATION.md §4 shows the observer
    share needs it low)."""
    defaults = Behaviour()
    ranges = dict(SENSITIVITY_RANGES)
    for name in ("abandon_rate", "complex_prob", "threshold_mean"):
        value = getattr(defaults, name)
        ranges[name] = (0.5 * value, 1.5 * value)
    ranges["posting_connect"] = (0.01, 0.2)
    return {
        name: Parameter(name, getattr(defaults, name), lo, hi, "", "stand-in", True, "")
        for name, (lo, hi) in ranges.items()
    }


def priors(names: Sequence[str] = ()) -> dict[str, tuple[float, float]]:
    """Name → (low, high) of the uniform prior of each fitted parameter: ``names``, or every
    parameter the registry marks uncertain when ``names`` is empty."""
    table = registry()
    unknown = sorted(set(names) - set(table))
    if unknown:
        from models.errors import InputError

        raise InputError(
            f"experiment.params.parameters: {unknown} are not parameters of the registry; "
            f"choose among {', '.join(sorted(table))}"
        )
    chosen = names or [n for n, p in table.items() if p.uncertain]
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


def _run_with_year_split(spec: Spec, replication: int, seed: int) -> tuple[pd.DataFrame, dict]:
    model = spec.model(seed)
    model.run(max(spec.weeks - patterns.YEAR, 0))
    before = model.state.total_posts.copy()
    model.run(spec.weeks - model.steps)
    s = model.state
    ids = {"scenario": spec.scenario, "replication": replication, "seed": seed}
    weekly = model.weekly()
    for i, (key, value) in enumerate(ids.items()):
        weekly.insert(i, key, value)
    split = patterns.year_split(s.total_posts - before, s.ever & (s.idle < patterns.YEAR))
    return weekly, {**ids, **model.summary(), **split}


def run_batch(jobs: list[tuple[Spec, int, int]], n_jobs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ADAPTER — becomes ``sim.replicate.run_jobs(jobs, n_jobs=n_jobs)`` once the run summary
    holds the last-year participation split (``observers_last_year``,
    ``gini_posts_last_year``: ``patterns.year_split`` of the posts of the last 52 weeks among
    people active in them). Same tables, same order as ``run_jobs``."""
    done = Parallel(n_jobs=n_jobs)(delayed(_run_with_year_split)(*job) for job in jobs)
    return pd.concat([w for w, _ in done], ignore_index=True), pd.DataFrame([s for _, s in done])


@dataclasses.dataclass
class FieldProblem:
    """A particle of the default calibration: one baseline run at the default organisation
    and ``replications`` runs each on a ring lattice and on the same lattice rewired (common
    random numbers), all with the particle's parameters."""

    default: Spec
    lattice: Spec
    rewired: Spec
    replications: int
    goals: list[Target]

    @classmethod
    def from_config(cls, cfg, params: dict) -> "FieldProblem":
        """The problem of a composed ``experiment=calibrate`` config (no data)."""
        c = params["centola"]
        common = [f"seed={cfg.seed}"]
        lattice = ["org=small_world", f"org.size={c['size']}", f"org.k={c['k']}"]
        lattice += [f"weeks={c['weeks']}"]
        return cls(
            default=Spec.from_config(compose(common), "default"),
            lattice=Spec.from_config(compose([*common, *lattice, "org.rewire=0"]), "lattice"),
            rewired=Spec.from_config(compose([*common, *lattice, "org.rewire=1"]), "rewired"),
            replications=int(c["replications"]),
            goals=patterns.targets(params["targets"]),
        )

    def jobs(self, params: dict, seed: int) -> list[tuple[Spec, int, int]]:
        seeds = np.random.SeedSequence(seed).generate_state(self.replications).tolist()
        out = [(with_behaviour(self.default, params), 0, seed)]
        for spec in (self.lattice, self.rewired):
            spec = with_behaviour(spec, params)
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
    problem, parameter_sets: Sequence[dict], root: int, n_jobs: int
) -> list[dict[str, float]]:
    """The statistics of each parameter set (one particle each), simulated in one batch."""
    jobs, sizes = [], []
    for params in parameter_sets:
        mine = problem.jobs(params, particle_seed(root, params))
        jobs += mine
        sizes.append(len(mine))
    weekly, runs = run_batch(jobs, n_jobs)
    lengths = np.array([spec.weeks for spec, _, _ in jobs])
    starts = np.r_[0, np.cumsum(lengths)]
    frames = [
        weekly.iloc[starts[i] : starts[i + 1]].reset_index(drop=True) for i in range(len(jobs))
    ]
    records = runs.to_dict("records")
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

    spec: Spec
    observed: dict[str, np.ndarray]  # series name → observed share per observed week
    first_week: int
    tolerance: float

    @classmethod
    def from_usage(cls, spec: Spec, usage, people: int, tolerance: float) -> "UsageProblem":
        weeks = int(usage.week[-1]) + 1
        observed = {k: v / people for k, v in usage.counts.items()}
        return cls(dataclasses.replace(spec, weeks=weeks), observed, int(usage.week[0]), tolerance)

    def jobs(self, params: dict, seed: int) -> list[tuple[Spec, int, int]]:
        return [(with_behaviour(self.spec, params), 0, seed)]

    def statistics(self, weekly: list[pd.DataFrame], runs: list[dict]) -> dict[str, np.ndarray]:
        simulated = series(weekly[0])
        return {k: simulated[k][self.first_week :] for k in self.observed}

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
    cfg = compose(["experiment=calibrate", f"seed={seed}"])
    problem = FieldProblem.from_config(cfg, params)
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


# --- ABC-SMC ------------------------------------------------------------------------------------

#: Settings of ``experiment.params`` and the least each may be.
_AT_LEAST = {
    "population": 2,
    "generations": 1,
    "max_simulations": 1,
    "batch": 1,
    "draws": 1,
    "horizon": 1,
}


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
) -> pyabc.History:
    """Run (or, if ``db`` holds an unfinished run, continue) ABC-SMC and return its history.

    Each generation's particles are simulated in batches of ``params["batch"]``: pyabc's
    ``ConcurrentFutureSampler`` keeps that many particle calls open on a thread pool, and the
    ``Batcher`` simulates them together (``simulate``). With ``batch=1`` pyabc's single-core
    sampler is used, seeded with ``seed``, and the run is reproducible bit for bit; with
    batches, which particles are kept depends on the order they finish in (the posterior is
    the same up to Monte Carlo error)."""
    size = int(params["batch"])
    bar = tqdm(
        total=int(params["max_simulations"]),
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
        population_size=int(params["population"]),
        sampler=sampler,
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
    try:
        if remaining > 0 and not _converged(history, params):
            history = abc.run(
                minimum_epsilon=float(params["min_epsilon"]),
                max_nr_populations=remaining,
                max_total_nr_simulations=int(params["max_simulations"]),
            )
    finally:
        batcher.close()
        bar.close()
        if size > 1:
            executor.shutdown(wait=True, cancel_futures=True)
    return history


def _converged(history, params: dict) -> bool:
    """An earlier run already stopped on its tolerance or its simulation budget."""
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return len(pops) > 0 and (
        pops["epsilon"].iloc[-1] <= float(params["min_epsilon"])
        or history.total_nr_simulations >= int(params["max_simulations"])
    )


def posterior_of(history, ranges: dict, info: dict) -> Posterior:
    """The last generation's particles and weights as a ``Posterior``."""
    table, weights = history.get_distribution(m=0, t=history.max_t)
    table = table[list(ranges)].reset_index(drop=True)
    return Posterior(table, np.asarray(weights, float) / np.sum(weights), info)


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


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.calibrate", description=__doc__)
    parser.add_argument("--prior-check", type=int, metavar="N", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    table, text = prior_check(args.prior_check, args.seed, args.jobs)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        table.to_csv(args.out.with_suffix(".csv"), index=False)


if __name__ == "__main__":
    cli()
