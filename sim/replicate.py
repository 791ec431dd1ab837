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

Running. A job is one (scenario, replication, seed). The parent composes each scenario's
config once and sends the workers small picklable ``Spec`` s and seeds. Jobs of one
organisation size and horizon are grouped into ensembles (``models.ensemble``: many runs in
one vectorised step, up to ``BATCH_ROWS`` agent rows each), and the ensembles are spread over
joblib worker processes (``n_jobs``); a worker returns each ensemble's weekly records,
summaries and per-department outcomes as whole tables (``run_tables``; ``run_batch`` gives
them run by run) — never the models. Workers keep nothing between batches, each run draws
from its own streams, and results are put back in job order, so the tables are identical
whatever the number of workers and however the runs are batched. Each replication can be
re-run alone: ``python -m sim scenario=<name> seed=<its seed>`` (with the same overrides).
"""

import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from models.interventions import Intervention
from models.params import Behaviour
from sim.workers import freeze_loaded, prefetch, start_worker, worker_count

if TYPE_CHECKING:  # (OmegaConf and tqdm: the parent's only, imported where used)
    from omegaconf import DictConfig

    from models.model import AdoptionModel
    from sim.resume import RunCache

#: Columns that say which run a row comes from, in every table of a comparison.
ID_COLUMNS = ("scenario", "replication", "seed")


def experiment_problems(experiment: "DictConfig") -> list[str]:
    """Messages for bad replication settings shared by every study (replications, jobs,
    batch_rows)."""
    errors = []
    rows = experiment.get("batch_rows", BATCH_ROWS)
    if not (isinstance(rows, int) and rows >= 1):
        errors.append(
            f"experiment.batch_rows={rows!r} is not allowed: it must be a whole number of agent "
            "rows, at least 1 (the largest ensemble of runs stepped together)"
        )
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
    def from_config(cls, cfg: "DictConfig", name: str | None = None) -> "Spec":
        """The spec of a composed run config, checked as ``python -m sim`` checks it; ``name``
        (default: ``scenario.name``) is what the scenario is called in the tables."""
        from omegaconf import OmegaConf

        from sim.run import behaviour_of, check, scenario_interventions  # the parent's only

        check(cfg)
        return cls(
            scenario=str(cfg.scenario.name if name is None else name),
            org=OmegaConf.to_container(cfg.org, resolve=True),
            behaviour=behaviour_of(cfg),
            champion_share=cfg.champions.share,
            champion_rule=str(cfg.champions.rule),
            discount_rate=float(cfg.discount_rate),
            interventions=tuple(scenario_interventions(cfg)),
            weeks=int(cfg.weeks),
        )

    def model(self, seed: int) -> "AdoptionModel":
        """The model of this scenario with ``seed`` as its rng (built, not yet run)."""
        from models.model import AdoptionModel  # not at the top: ensembles need no Mesa

        return AdoptionModel(
            org=self.org,
            behaviour=self.behaviour,
            champion_share=self.champion_share,
            champion_rule=self.champion_rule,
            discount_rate=self.discount_rate,
            interventions=list(self.interventions),
            rng=int(seed),
        )


def _ids(spec: Spec, replication: int, seed: int) -> dict:
    return {"scenario": spec.scenario, "replication": replication, "seed": seed}


def _with_ids(table: pd.DataFrame, ids: dict) -> pd.DataFrame:
    for i, (key, value) in enumerate(ids.items()):
        table.insert(i, key, value)
    return table


def run_one(spec: Spec, replication: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """One run alone: the weekly records and the summary's scalars, with the run's id columns.

    A pure function of its arguments: nothing is kept between calls. (Studies run many runs
    together, ``run_batch``; a run gives the same results either way.)
    """
    model = spec.model(seed)
    model.run(spec.weeks)
    ids = _ids(spec, replication, seed)
    return _with_ids(model.weekly(), ids), {**ids, **model.summary()}


@dataclass
class RunOutput:
    """What one run of a batch gives back: its weekly records and summary with the run's id
    columns, and, if asked for, its per-department outcomes (with the ids) and its per-group
    weekly records (as a run folder's ``groups.parquet``)."""

    weekly: pd.DataFrame
    summary: dict
    departments: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None


def run_batch(
    jobs: Sequence[tuple[Spec, int, int]], departments: bool = False, groups: bool = False
) -> list[RunOutput]:
    """Runs of one size and horizon, stepped together as one ensemble (``models.ensemble``),
    each run's results apart. The results are those of each run alone."""
    ensemble = _ran(jobs)
    by_department = ensemble.department_outcomes() if departments else [None] * len(jobs)
    out = []
    for r, (spec, replication, seed) in enumerate(jobs):
        ids = _ids(spec, replication, seed)
        out.append(
            RunOutput(
                weekly=ensemble.weekly(r, ids),
                summary={**ids, **ensemble.summary(r)},
                departments=_with_ids(by_department[r], ids) if departments else None,
                groups=ensemble.groups(r) if groups else None,
            )
        )
    return out


@dataclass
class Tables:
    """Runs' results as a study collects them (``run_jobs``): the weekly records of each run
    in turn, with the id columns; each run's summary, with the ids; and, if asked for, each
    run's per-department outcomes in turn, ``department_rows`` rows a run. The same rows as
    ``run_batch`` gives run by run, built as whole tables (a table a run, joined afterwards,
    costs more than the tables' contents; so does saving and sending them one by one)."""

    jobs: list[int]  # where the runs are in the study's list of jobs
    weekly: pd.DataFrame
    summaries: list[dict]
    departments: pd.DataFrame | None = None
    department_rows: list[int] | None = None


def run_tables(jobs: Sequence[tuple[Spec, int, int]], departments: bool = False) -> Tables:
    """``run_batch`` as tables (``Tables``, its jobs numbered from 0)."""
    ensemble = _ran(jobs)
    ids = [_ids(*job) for job in jobs]
    columns = {key: [i[key] for i in ids] for key in ID_COLUMNS}
    weekly = ensemble.records.table(columns)
    summaries = [{**i, **ensemble.summary(r)} for r, i in enumerate(ids)]
    if not departments:
        return Tables(list(range(len(jobs))), weekly, summaries)
    table, rows = ensemble.department_table()
    for k, key in enumerate(ID_COLUMNS):
        table.insert(k, key, np.repeat(np.asarray(columns[key]), rows))
    return Tables(list(range(len(jobs))), weekly, summaries, table, rows)


def _ran(jobs: Sequence[tuple[Spec, int, int]]):
    """The ensemble of ``jobs`` (one size and horizon), built and run."""
    from models.ensemble import Ensemble, build_run  # not at the top: the parent needs neither

    setups = [
        build_run(
            spec.org,
            spec.behaviour,
            spec.champion_share,
            spec.champion_rule,
            spec.interventions,
            np.random.default_rng(int(seed)),
            spec.discount_rate,
        )
        for spec, _, seed in jobs
    ]
    ensemble = Ensemble(setups)
    ensemble.run(jobs[0][0].weeks)
    return ensemble


#: What a fresh worker steps to load the step's compiled passes (``ready``): a week of two runs
#: of a small hierarchy.
_WARM_UP = Spec(
    "warm-up", {"generator": "hierarchy", "size": 50}, Behaviour(), 0.025, "random", 0.0, (), 1
)


def ready() -> None:
    """What a fresh worker does before a study's first runs (``sim.workers.warm_up``): import
    the model and load the step's compiled passes (Numba loads them from its cache on their
    first call) by stepping a small ensemble one week; then set what it has loaded, which
    lives as long as the worker, apart from the garbage collector's work
    (``sim.workers.freeze_loaded``)."""
    run_batch([(_WARM_UP, 0, 0), (_WARM_UP, 1, 1)])
    freeze_loaded()


def _batch_job(indices: list[int], jobs, departments: bool, groups: bool):
    start_worker()  # a worker ends when the study's process dies, even by SIGKILL
    return indices, run_batch(jobs, departments, groups)


def _tables_job(indices: list[int], jobs, departments: bool, cache, keys, afterwards) -> Tables:
    start_worker()
    tables = run_tables(jobs, departments)
    tables.jobs = list(indices)
    if cache is not None:  # saved here, in the workers, at the same time
        cache.save(keys, tables)
    if afterwards:  # one of the last batches: what the study needs next, loaded meanwhile
        prefetch(afterwards)
    return tables


def simulate_jobs(
    jobs: Sequence[tuple[Spec, int, int]],
    n_jobs: int = 1,
    progress: bool = False,
    desc: str = "simulating",
    departments: bool = False,
    groups: bool = False,
    batch_rows: int | None = None,
) -> list[RunOutput]:
    """Every run of ``jobs`` (each ``(spec, replication, seed)``), stepped together in
    ensembles of one size and horizon of up to ``batch_rows`` agent rows (default: the study's
    setting, ``batching``, else ``BATCH_ROWS``), the ensembles spread over ``n_jobs`` worker
    processes; each run's outputs apart, in the order of ``jobs``, whatever the batching and
    workers."""
    out: list = [None] * len(jobs)
    n_jobs = worker_count(n_jobs, "experiment.jobs")  # lowered already by python -m sim
    tasks = [
        delayed(_batch_job)(c, [jobs[i] for i in c], departments, groups)
        for c in batches(jobs, _rows(batch_rows), n_jobs)
    ]
    done = _finished(tasks, n_jobs, len(jobs), progress, desc, lambda result: len(result[0]))
    for indices, results in done:
        for index, result in zip(indices, results, strict=True):
            out[index] = result
    return out


def _rows(batch_rows: int | None) -> int:
    return _batch_rows[-1] if batch_rows is None else batch_rows


def _finished(tasks: list, n_jobs: int, total: int, progress: bool, desc: str, runs: Callable):
    """The results of ``tasks`` (batches of ``total`` runs in all; ``runs(result)``: how many
    a result holds) as they finish, run by ``n_jobs`` worker processes (here, with one), with
    a progress bar if asked for."""
    if not tasks:
        return
    from tqdm import tqdm

    outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks)
    with tqdm(
        total=total, desc=desc, unit="run", file=sys.stderr, disable=not progress, mininterval=0.5
    ) as bar:
        for result in outputs:
            yield result
            bar.update(runs(result))


def _size(spec: Spec) -> tuple:
    """What runs must share to be stepped together: the organisation's kind and size (a file's
    path), the horizon, and whether value dynamics run."""
    org = spec.org if isinstance(spec.org, dict) else {}
    where = org.get("size", org.get("path"))
    return (org.get("generator"), where, spec.weeks, spec.behaviour.value_dynamics)


#: Largest ensemble studies step together, in agent rows (runs × people): 20 runs of 1,000
#: people, 2 of 10,000, one run of any larger organisation. Small enough that a step's
#: vectors stay in the processor's caches (a few MiB of state for 20,000 rows; one passes
#: over each vector many times a step) and that two workers' ensembles do not crowd each
#: other out of the shared cache: measured with two workers on this project's 2-core
#: machine, 1,000-person runs take 17% less CPU time in ensembles of 20 runs than of 200,
#: and 5% less than of 10, where a step's fixed cost (a few hundred array operations)
#: begins to count. Large enough for that fixed cost to be spread over the runs.
BATCH_ROWS = 20_000
_batch_rows = [BATCH_ROWS]  # the study's setting (``batching``), in the parent process only


@contextmanager
def batching(rows: int):
    """Within the block, ``run_jobs`` batches at most ``rows`` agent rows per ensemble unless
    told otherwise: how ``python -m sim`` applies a study's ``experiment.batch_rows`` once to
    every ``run_jobs`` call the study makes."""
    _batch_rows.append(int(rows))
    try:
        yield
    finally:
        _batch_rows.pop()


def batches(
    jobs: Sequence[tuple[Spec, int, int]], batch_rows: int = BATCH_ROWS, n_jobs: int = 1
) -> list[list[int]]:
    """Job indices grouped into ensembles: runs of one size and horizon together, at most
    ``batch_rows`` agent rows each, and split so that each of ``n_jobs`` workers gets work.

    A size's runs are split into ensembles of equal size (give or take a run), as many as a
    multiple of ``n_jobs`` where there are enough runs: 300 runs of 1,000 people at 20,000
    rows over two workers are 16 ensembles of 18–19 runs, not 15 of 20, the last of which
    would run while the other worker idles."""
    groups: dict[tuple, list[int]] = {}
    for i, (spec, _, _) in enumerate(jobs):
        groups.setdefault(_size(spec), []).append(i)
    out = []
    workers = max(n_jobs, 1)
    for key, members in groups.items():
        people = key[1] if isinstance(key[1], int) else 1000
        per_batch = max(1, min(batch_rows // max(people, 1), -(-len(members) // workers)))
        ensembles = -(-len(members) // per_batch)
        count = min(len(members), -(-ensembles // workers) * workers)
        out += _split(members, count)
    return out


def _split(items: list, count: int) -> list[list]:
    """``items`` in ``count`` consecutive parts whose sizes differ by at most one."""
    size, extra = divmod(len(items), count)
    parts, start = [], 0
    for k in range(count):
        end = start + size + (k < extra)
        parts.append(items[start:end])
        start = end
    return parts


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
    departments: bool = False,
    batch_rows: int | None = None,
    afterwards: Sequence[str] = (),
) -> tuple[pd.DataFrame, ...]:
    """Any list of runs, each ``(spec, replication, seed)``: the one way every study runs
    many simulations. Runs of one size and horizon are stepped together in ensembles of up to
    ``batch_rows`` agent rows (``run_batch``), ensembles spread over ``n_jobs`` worker
    processes; the results are those of each run alone, whatever the batching and workers.

    ``batch_rows`` defaults to the study's setting (``batching``), else ``BATCH_ROWS``.
    ``afterwards``: modules the study's next tasks for the workers need. The workers that run
    the last ``n_jobs`` ensembles import them, in the background, as they end them: the one
    that ends first, which would wait for the others, gets ready meanwhile.

    Returns the weekly table and the runs table in the order of ``jobs`` (and, with
    ``departments=True``, a third table: each run's outcomes per department, with the id
    columns); see ``run_replications`` for the tables and the ``cache``.
    """
    keys = []
    pieces: list[Tables] = []
    if cache is not None:
        from sim.resume import run_key

        keys = [run_key(*job) for job in jobs]
        pieces = cache.load(keys, [spec.weeks for spec, _, _ in jobs], departments)
    found = {i for piece in pieces for i in piece.jobs}
    todo = [i for i in range(len(jobs)) if i not in found]
    if found:
        print(
            f"resuming: {len(found)} of {len(jobs)} runs were already complete in {cache.folder}",
            file=sys.stderr,
            flush=True,
        )
    n_jobs = worker_count(n_jobs, "experiment.jobs")  # lowered already by python -m sim
    tasks = []
    ensembles = batches([jobs[i] for i in todo], _rows(batch_rows), n_jobs)
    for e, c in enumerate(ensembles):
        saved = [keys[todo[k]] for k in c] if cache is not None else ()
        if saved:
            cache.expect(saved)
        last = n_jobs > 1 and e >= len(ensembles) - n_jobs
        tasks.append(
            delayed(_tables_job)(
                [todo[k] for k in c],
                [jobs[todo[k]] for k in c],
                departments,
                cache,
                saved,
                tuple(afterwards) if last else (),
            )
        )
    pieces += _finished(tasks, n_jobs, len(todo), progress, desc, lambda tables: len(tables.jobs))
    return _joined(pieces, jobs, departments)


def _joined(pieces: list[Tables], jobs: Sequence, departments: bool) -> tuple[pd.DataFrame, ...]:
    """The study's tables from its runs' ``pieces`` (simulated in batches or loaded), in the
    order of ``jobs``."""
    pieces = sorted(pieces, key=lambda piece: piece.jobs[0])
    order = [i for piece in pieces for i in piece.jobs]
    weekly = _in_order(
        pd.concat([piece.weekly for piece in pieces], ignore_index=True),
        order,
        {i: spec.weeks for i, (spec, _, _) in enumerate(jobs)},
    )
    summaries: list = [None] * len(jobs)
    for piece in pieces:
        for i, summary in zip(piece.jobs, piece.summaries, strict=True):
            summaries[i] = summary
    runs = pd.DataFrame(summaries)
    for column in runs.columns.drop("scenario"):  # None (no value after the window, no cost)
        if runs[column].dtype == object:
            runs[column] = runs[column].astype(float)
    if not departments:
        return weekly, runs
    rows = {
        i: n for piece in pieces for i, n in zip(piece.jobs, piece.department_rows, strict=True)
    }
    table = pd.concat([piece.departments for piece in pieces], ignore_index=True)
    return weekly, runs, _in_order(table, order, rows)


def _in_order(table: pd.DataFrame, order: list[int], rows: dict[int, int]) -> pd.DataFrame:
    """``table``, which holds the rows of runs ``order`` one run after another (``rows[i]`` rows
    for run i), with its runs in the order of their numbers."""
    places = sorted(range(len(order)), key=order.__getitem__)
    return rows_of_runs(table, [rows[i] for i in order], places)


def rows_of_runs(table: pd.DataFrame, rows: Sequence[int], runs: Sequence[int]) -> pd.DataFrame:
    """The rows of the runs at places ``runs`` (in that order) of a table that holds runs of
    ``rows[k]`` rows one after another (the table itself if that is all of them in turn)."""
    if list(runs) == list(range(len(rows))):
        return table
    starts = np.concatenate([[0], np.cumsum(rows)])
    taken = np.concatenate([np.arange(starts[k], starts[k] + rows[k]) for k in runs])
    return table.take(taken).reset_index(drop=True)


def write_study_inputs(
    folder: Path, cfg: "DictConfig", configs: dict[str, "DictConfig"], seeds: Sequence[int]
) -> None:
    """What a study ran, so any replication can be re-run: ``config.yaml`` (the study's
    resolved config), ``scenarios.yaml`` (each programme's composed config) and ``seeds.csv``
    (replication i's seed)."""
    from omegaconf import OmegaConf

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
