"""Seeded replications: independent random streams, common random numbers, parallel runs.

Seeds. One root seed (``cfg.seed``) is split with ``numpy.random.SeedSequence(root).spawn(R)``
into R independent children; replication i's seed is the integer
``child_i.generate_state(1)[0]`` and is the model's ``rng``. The seeds are a prefix-stable
sequence: asking for more replications keeps the first ones as they were.

Common random numbers. Replication i of *every* scenario uses the same seed. The model splits
its rng into separate streams for the organisation, the roles, the initial state and the
weekly draws (``models.model``), so replication i of every scenario runs on the same network,
with the same starting state and the same weekly uniforms; what differs is the programme.
(A scenario that chooses its champions differently — ``champions.*`` in its file — gets the
same network with other people as champions.)

Running. A job is one (scenario, replication). The parent composes each scenario's config
once and sends each worker a small picklable ``Spec`` and a seed; the worker builds the model,
runs it, and returns the weekly records and the summary's scalars — never the model. Workers
are joblib processes (``n_jobs``) and keep nothing between jobs, and results are put back in
job order, so the tables are identical whatever the number of workers. Each replication can
be re-run alone: ``python -m sim scenario=<name> seed=<its seed>`` (with the same overrides).
"""

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from models.interventions import Intervention
from models.model import AdoptionModel
from models.params import Behaviour
from sim.run import check, scenario_interventions
from sim.workers import watch_parent

if TYPE_CHECKING:
    from sim.resume import RunCache

#: Columns that say which run a row comes from, in every table of a comparison.
ID_COLUMNS = ("scenario", "replication", "seed")


def experiment_problems(experiment: DictConfig) -> list[str]:
    """Messages for bad replication settings shared by every study (replications, jobs)."""
    errors = []
    if experiment.replications < 1:
        errors.append(
            f"experiment.replications={experiment.replications} is not allowed: "
            "it must be at least 1"
        )
    if experiment.jobs == 0 or experiment.jobs < -1:
        errors.append(
            f"experiment.jobs={experiment.jobs} is not allowed: give the number of worker "
            "processes, at least 1 (or -1 for one per CPU)"
        )
    return errors


def replication_seeds(root: int, replications: int) -> list[int]:
    """The seed of each replication: one integer from each child of ``SeedSequence(root)``."""
    children = np.random.SeedSequence(int(root)).spawn(int(replications))
    return [int(child.generate_state(1)[0]) for child in children]


@dataclass(frozen=True)
class Spec:
    """Everything a worker needs to build one scenario's model, except the seed: small and
    picklable (no config objects, no organisation)."""

    scenario: str
    org: dict
    behaviour: Behaviour
    champion_share: float | None
    champion_rule: str
    discount_rate: float
    interventions: tuple[Intervention, ...]
    weeks: int

    @classmethod
    def from_config(cls, cfg: DictConfig, name: str | None = None) -> "Spec":
        """The spec of a composed run config, checked as ``python -m sim`` checks it; ``name``
        (default: ``scenario.name``) is what the scenario is called in the tables."""
        check(cfg)
        return cls(
            scenario=str(cfg.scenario.name if name is None else name),
            org=OmegaConf.to_container(cfg.org, resolve=True),
            behaviour=Behaviour.from_mapping(cfg.population),
            champion_share=cfg.champions.share,
            champion_rule=str(cfg.champions.rule),
            discount_rate=float(cfg.discount_rate),
            interventions=tuple(scenario_interventions(cfg)),
            weeks=int(cfg.weeks),
        )

    def model(self, seed: int) -> AdoptionModel:
        """The model of this scenario with ``seed`` as its rng (built, not yet run)."""
        return AdoptionModel(
            org=self.org,
            behaviour=self.behaviour,
            champion_share=self.champion_share,
            champion_rule=self.champion_rule,
            discount_rate=self.discount_rate,
            interventions=list(self.interventions),
            rng=int(seed),
        )


def run_one(spec: Spec, replication: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """One job: the weekly records and the summary's scalars, with the run's id columns.

    A pure function of its arguments: nothing is kept between calls.
    """
    model = spec.model(seed)
    model.run(spec.weeks)
    ids = {"scenario": spec.scenario, "replication": replication, "seed": seed}
    weekly = model.weekly()
    for i, (key, value) in enumerate(ids.items()):
        weekly.insert(i, key, value)
    return weekly, {**ids, **model.summary()}


def _job(index: int, spec: Spec, replication: int, seed: int) -> tuple[int, pd.DataFrame, dict]:
    watch_parent()  # a worker ends when the study's process dies, even by SIGKILL
    return (index, *run_one(spec, replication, seed))


def run_replications(
    specs: Sequence[Spec],
    seeds: Sequence[int],
    n_jobs: int = 1,
    progress: bool = False,
    cache: "RunCache | None" = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every scenario × every replication (common random numbers: replication i of each
    scenario uses ``seeds[i]``), in ``n_jobs`` worker processes.

    Returns the tidy weekly table (scenario, replication, seed, week, every weekly metric)
    and the runs table (one row per scenario × replication with the summary's scalars),
    both in scenario order then replication order, whatever the order the jobs finished in.

    With a ``cache`` (``sim.resume.RunCache``), each run is saved there as soon as it
    completes, and runs already saved (by an earlier, interrupted call with the same specs
    and seeds) are loaded instead of simulated; the tables are the same either way.
    """
    jobs = [(spec, r, seed) for spec in specs for r, seed in enumerate(seeds)]
    desc = f"{len(specs)} scenarios × {len(seeds)} replications"
    return run_jobs(jobs, n_jobs=n_jobs, progress=progress, cache=cache, desc=desc)


def run_jobs(
    jobs: Sequence[tuple[Spec, int, int]],
    n_jobs: int = 1,
    progress: bool = False,
    cache: "RunCache | None" = None,
    desc: str = "simulating",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Any list of runs, each ``(spec, replication, seed)``: the one way every study runs
    many simulations (so that how they are run — processes, batching — is decided here).

    Returns the weekly table and the runs table in the order of ``jobs``, whatever the order
    they finished in; see ``run_replications`` for the tables and the ``cache``.
    """
    results: list = [None] * len(jobs)
    keys: list[str | None] = [None] * len(jobs)
    if cache is not None:
        from sim.resume import run_key

        for i, (spec, r, seed) in enumerate(jobs):
            keys[i] = run_key(spec, r, seed)
            results[i] = cache.load(keys[i], spec.weeks)
    todo = [i for i, done in enumerate(results) if done is None]
    reused = len(jobs) - len(todo)
    if reused:
        print(
            f"resuming: {reused} of {len(jobs)} runs were already complete in {cache.folder}",
            file=sys.stderr,
            flush=True,
        )
    tasks = (delayed(_job)(i, *jobs[i]) for i in todo)
    outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks) if todo else ()
    with tqdm(
        outputs,
        total=len(todo),
        desc=desc,
        unit="run",
        file=sys.stderr,
        disable=not progress,
        mininterval=0.5,
    ) as bar:
        for index, weekly, summary in bar:
            results[index] = (weekly, summary)
            if cache is not None:
                cache.save(keys[index], weekly, summary)
    weekly = pd.concat([w for w, _ in results], ignore_index=True)
    runs = pd.DataFrame([s for _, s in results])
    for column in runs.columns.drop("scenario"):  # None (no value after the window, no cost)
        if runs[column].dtype == object:
            runs[column] = runs[column].astype(float)
    return weekly, runs


def write_study_inputs(
    folder: Path, cfg: DictConfig, configs: dict[str, DictConfig], seeds: Sequence[int]
) -> None:
    """What a study ran, so any replication can be re-run: ``config.yaml`` (the study's
    resolved config), ``scenarios.yaml`` (each programme's composed config) and ``seeds.csv``
    (replication i's seed)."""
    pd.DataFrame({"replication": range(len(seeds)), "seed": list(seeds)}).to_csv(
        folder / "seeds.csv", index=False
    )
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
    scenarios = {}
    for name, scenario_cfg in configs.items():
        container = OmegaConf.to_container(scenario_cfg, resolve=True)
        container.pop("experiment", None)
        scenarios[name] = container
    (folder / "scenarios.yaml").write_text(
        OmegaConf.to_yaml(OmegaConf.create(scenarios)), encoding="utf-8"
    )
