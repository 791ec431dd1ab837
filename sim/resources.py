"""Memory: what a run or a comparison will need, against what this process may use, checked
with the rest of the config before any work (``sim.run.config_problems``).

Every size that grows memory — people and ties, weeks, agent snapshots, replications,
bootstrap resamples, worker processes — is priced from measured per-unit costs, and a config
whose estimate exceeds the memory available is refused with one message naming the key that
costs most, the estimate and the limit. A size typed one zero too long is then a message, not
a machine that swaps for minutes and ends in a ``MemoryError``.

The memory available is the least of: what the kernel says can be allocated without swapping
(``MemAvailable`` in ``/proc/meminfo``); the room left under the memory limit of this
process's cgroup and each cgroup above it (a container's or a SLURM job's limit); the room
left under ``ulimit -v``. Where none of these can be read (not Linux), nothing is refused.

The per-unit costs are the rise of the peak resident memory (``VmHWM``) while a model is built
and run, or a comparison made, measured by :func:`measure` (which returns the estimate beside
the measurement) at 100,000-200,000 people, 5,000 weeks and 2,000-80,000 weekly rows of a
comparison; ``tests/test_reliability.py`` checks that the estimate stays within a factor of 2
of the measurement for every generator and for a comparison.
"""

import os
import resource
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sim.replicate import BATCH_ROWS
from sim.workers import available_cpus

MIB = 2**20
GIB = 2**30

#: Bytes per person of one run (the agents, their state and the network's per-person arrays),
#: by generator; files are priced by their size instead (``FILE_BYTES``).
PERSON_BYTES = {
    "hierarchy": 1_030,
    "small_world": 1_120,
    "scale_free": 1_120,
    "random": 1_120,
    "complete": 1_100,
}
#: Bytes per tie of one run: the sparse matrices of the model, and for the research graphs the
#: networkx graph they are generated as, which dominates. A complete organisation's ties are
#: never stored (everyone is everyone's neighbour).
TIE_BYTES = {
    "hierarchy": 118,
    "small_world": 245,
    "scale_free": 174,
    "random": 250,
    "complete": 0,
}
#: Bytes per byte of a network or org-chart file (ids parsed, ties, the model on top).
FILE_BYTES = 32
#: Bytes per week of the weekly records, and per group (role or department) and week of the
#: per-group records, with the tables made of them at the end of a run. Fitted to ``measure``
#: of single runs of 500 and 4,000 weeks (the slope in weeks): a complete organisation of
#: 5,000 (4 groups) 2.9 kB a week, estimated 4.7 kB; the default hierarchy of 1,000 (12 groups)
#: 11.3 kB a week, estimated 11.1 kB.
WEEK_BYTES = 1_500
GROUP_WEEK_BYTES = 800
#: Bytes per row (one person at one snapshot) of agent-level snapshots.
SNAPSHOT_BYTES = 172
#: Bytes per row (one programme × replication × week) of a comparison's weekly table, with
#: the copies made to put it together and write it.
STUDY_ROW_BYTES = 2_000
#: Bytes per bootstrap resample and replication, and per resample and week (the resampling
#: weights, then the resampled weekly means and their sorted copy).
RESAMPLE_REPLICATION_BYTES = 16
RESAMPLE_WEEK_BYTES = 16
#: Private memory of one worker process before its run (interpreter, NumPy, pandas, Mesa, and
#: Numba's compiler with the step's compiled passes): 283 MiB measured (2026-11-30, USS after
#: a week of 50 people; 146 MiB before the step was compiled with Numba).
WORKER_BYTES = 280 * MIB
#: Bytes per run of the runs table a study keeps for every run (one summary row: about 70
#: numbers and labels), with the frames concatenated into it. The budget search keeps one per
#: run of every trial. Checked with ``measure`` of a search of 20 trials × 30 replications at
#: 1,000 people × 260 weeks: 137 MiB measured, 133 MiB estimated (0.97×), with
#: ``TRIAL_BYTES``; 8 trials × 3 × 200 people × 104 weeks: 7.4 MiB measured, 4.7 estimated.
RUN_ROW_BYTES = 2_200
#: Bytes per trial the budget search's Optuna study keeps in memory (its journal's cache of the
#: trial: parameters, distributions, values, attributes): an allowance, not measured apart
#: (within the search measured above, where the ensembles and weekly rows dominate).
TRIAL_BYTES = 10_000
#: Bytes per cell (a factor, outcome, claim or net value of one point and replication) of the
#: sensitivity study's rows: a Python dict per row (a float object and its slot, ~100 bytes)
#: until the last chunk, then a DataFrame, the means per point, experiments.csv and the PRIM
#: boxes' copies; an upper bound from those objects' sizes, checked only within the total of
#: the measured study below (``CLAIMS_ROW_BYTES``).
POINT_CELL_BYTES = 200
#: Runs the sensitivity study (``experiments.claims.evaluate``) simulates at a time, whose
#: weekly records it holds together: ``chunk_runs``.
CLAIMS_CHUNK_RUNS = 512
#: Bytes per weekly row of a sensitivity chunk's runs (fewer copies than a comparison's
#: table, which is written): fitted to ``measure`` of a Morris (4 trajectories, 95 factors)
#: and discovery (64 points) study at 100 people × 160 weeks × 8 programmes × 2 replications,
#: 101 MiB measured, on which the estimate with 2,000 bytes a row was 262 MiB (2.6×) and with
#: 600 is 151 MiB (1.5×); the chunk's weekly rows and its ensembles were not measured apart.
CLAIMS_ROW_BYTES = 600
#: Bytes per bootstrap resample and Sobol base sample (N) of SALib's Sobol analysis of one
#: factor and outcome: its resampling indices (int64) and the resampled A, B and AB values
#: (float64) and their products, 6 arrays of N × resamples.
SOBOL_RESAMPLE_BYTES = 48
#: Bytes per particle the calibration holds in pyabc: the particle, its 26 parameters, its
#: summary statistics and distance, for the generation being sampled and the one before it
#: (the transition kernel's fit); summary statistics that are weekly series (a fit to usage
#: data) add 3 series × 8 bytes per week, twice (``PARTICLE_WEEK_BYTES``). Not measured: an
#: allowance from those objects' sizes (a calibration takes hours; its runs, priced as a
#: comparison's, dominate at the shipped settings).
PARTICLE_BYTES = 8_000
PARTICLE_WEEK_BYTES = 2 * 3 * 8
#: People of the default organisation (``generators.hierarchy``) and of every validation
#: pattern that runs it (baseline, crowding).
DEFAULT_PEOPLE = 1_000
#: The default organisation's shape (``generators.hierarchy``'s defaults), for its ties.
DEFAULT_HIERARCHY = {"size": DEFAULT_PEOPLE, "span": 8, "team_density": 0.8, "informal_degree": 4}
ROLES = 3  # manager, champion, employee

#: Where the kernel reports memory (module constants so that tests can point them elsewhere).
PROC = Path("/proc")
CGROUP_ROOT = Path("/sys/fs/cgroup")

HINTS = {
    "org.size": "use a smaller organisation",
    "org.path": "use a smaller network file, or a machine with more memory",
    "weeks": "use a shorter horizon",
    "output.snapshots": "keep snapshots less often (a larger output.snapshots) or not at all (0)",
    "experiment.jobs": "use fewer worker processes",
    "experiment.replications": "use fewer replications, or fewer programmes",
    "experiment.bootstrap": "use fewer bootstrap resamples",
    "experiment.batch_rows": (
        "step fewer runs together (a smaller experiment.batch_rows), or use fewer worker "
        "processes (experiment.jobs): each holds one ensemble of runs"
    ),
    "experiment.trials": "try fewer programmes",
    "experiment.draws": "draw fewer parameter sets",
    "experiment.params.morris_trajectories": "use fewer Morris trajectories",
    "experiment.params.sobol_n": "use a smaller Sobol N (or Sobol on fewer factors, sobol_top)",
    "experiment.params.discovery_n": "use fewer scenario-discovery points",
    "experiment.params.resamples": "use fewer bootstrap resamples",
    "experiment.params.population": "use fewer particles per generation",
    "experiment.params.usage_population": "use fewer particles per generation",
    "experiment.params.batch": "simulate fewer particles together",
    "experiment.params.draws": "draw fewer particles for the predictive check and forecast",
    "experiment.params.horizon": "forecast fewer weeks",
    "data.path": "use a shorter usage export",
    "experiment.params.bass.size": "use a smaller Bass population",
    "experiment.params.bass.weeks": "use a shorter Bass horizon",
    "experiment.params.watts.size": "use smaller Watts graphs",
    "experiment.params.watts.trials": "use fewer Watts trials",
    "experiment.params.centola.size": "use smaller Centola networks",
    "experiment.params.centola.weeks": "use a shorter Centola horizon",
    "experiment.params.baseline.weeks": "use a shorter baseline horizon",
    "experiment.params.crowding.field_start": "start the field rewards earlier",
}

#: How each study is named in messages.
WHAT = {
    "compare": "the comparison",
    "sensitivity": "the sensitivity study",
    "validate": "the validation",
    "calibrate": "the calibration",
    "optimise": "the budget search",
}


def expected_ties(org: dict) -> float:
    """The number of ties a generated organisation is expected to have (0 for files)."""
    kind, n = org.get("generator"), float(org.get("size") or 0)
    if kind == "hierarchy":
        span = max(int(org["span"]), 1)
        full, last = divmod(n - 1, span)
        peers = full * span * (span - 1) / 2 + last * (last - 1) / 2
        return (n - 1) + peers * org["team_density"] + n * org["informal_degree"] / 2
    if kind == "small_world":
        return n * org["k"] / 2
    if kind == "scale_free":
        return max(n - org["m"], 0) * org["m"]
    if kind == "random":
        return n * org["mean_degree"] / 2
    if kind == "complete":
        return n * (n - 1) / 2
    return 0.0


def _groups(org: dict) -> int:
    """Roles plus departments: the rows of the per-group records each week."""
    kind = org.get("generator")
    if kind == "hierarchy":
        return ROLES + min(int(org["span"]), int(org["size"]) - 1) + 1
    if kind in PERSON_BYTES:
        return ROLES + 1  # the research graphs have one department, "all"
    return ROLES + 10  # a file's departments are not known before it is read


def run_estimate(cfg: DictConfig) -> dict[str, float]:
    """Bytes one run of ``cfg`` needs, by the config key that sets each part."""
    org = OmegaConf.to_container(cfg.org, resolve=True)
    kind = org.get("generator")
    parts: dict[str, float] = {}
    if kind in PERSON_BYTES:
        parts["org.size"] = PERSON_BYTES[kind] * float(org["size"]) + TIE_BYTES[
            kind
        ] * expected_ties(org)
    else:  # a file: priced by its size (and that of a nodes or ties file beside it)
        files = [org.get(key) for key in ("path", "nodes_path", "ties_path")]
        parts["org.path"] = FILE_BYTES * sum(os.path.getsize(f) for f in files if f)
    weeks = float(cfg.weeks)
    parts["weeks"] = weeks * (WEEK_BYTES + GROUP_WEEK_BYTES * _groups(org))
    every = int(OmegaConf.select(cfg, "output.snapshots", default=0) or 0)
    if every > 0:
        people = float(org["size"]) if "size" in org else parts["org.path"] / PERSON_BYTES["random"]
        parts["output.snapshots"] = SNAPSHOT_BYTES * people * (weeks // every)
    return parts


def _scenario_count(experiment: DictConfig) -> int:
    """Programmes a comparison runs: those listed (and the baseline), or every file."""
    if experiment.scenarios:
        return len({*experiment.scenarios, "baseline"})
    conf = Path(__file__).resolve().parent.parent / "conf" / "scenario"
    return len(list(conf.glob("*.yaml")))


def estimate(cfg: DictConfig) -> dict[str, float]:
    """Bytes what ``cfg`` asks for needs, by the config key that sets each part: one run, a
    comparison (``study_estimate``), a validation, a calibration or a budget search. (The
    sensitivity study's depends on its factors: ``sensitivity_estimate``.)"""
    run = run_estimate(cfg)
    name = cfg.experiment.name
    if name == "compare":
        return study_estimate(cfg, run)
    if name == "validate":
        return validate_estimate(cfg)
    if name == "calibrate":
        return calibrate_estimate(cfg, run)
    if name == "optimise":
        return optimise_estimate(cfg, run)
    return run


def _workers(experiment: DictConfig) -> int:
    jobs = int(experiment.jobs)
    return available_cpus() if jobs == -1 else max(1, min(jobs, available_cpus()))


def _ensembles(workers: int, runs: float, people: float, org_bytes: float, rows: int) -> float:
    """Bytes of the ensembles stepped at once: one per worker (no more workers than ensembles),
    each of as many runs as fit in ``rows`` agent rows (at least one), each run ``org_bytes``.
    No runs (a setting refused elsewhere, such as ``experiment.trials=0``) hold nothing."""
    if runs <= 0:
        return 0.0
    per = min(runs, max(1.0, rows // max(people, 1.0)))
    return min(float(workers), max(1.0, runs / per)) * per * org_bytes


def _kept(parts: dict[str, float]) -> dict[str, float]:
    return {key: value for key, value in parts.items() if value}


def _org_part(run: dict[str, float]) -> tuple[str, float]:
    key = "org.size" if "org.size" in run else "org.path"
    return key, run[key]


def sensitivity_estimate(
    cfg: DictConfig,
    points: dict[str, int],
    programmes: int,
    columns: int,
    sobol_n: int = 0,
    resamples: int = 0,
) -> dict[str, float]:
    """Bytes the sensitivity study needs, by config key: ``points`` is each method's number of
    points by the key that sets it (``experiment.params.sobol_n``: N·(k+2), …), each run for
    ``programmes`` programmes × ``experiment.replications`` seeds and reduced to ``columns``
    numbers per point and replication, all kept to the end (the samples, experiments.csv, the
    PRIM boxes); the runs of one chunk (``CLAIMS_CHUNK_RUNS``, or one point's if more) are
    simulated together and their weekly records held, in ensembles, one per worker; SALib's
    Sobol analysis resamples N × ``resamples`` values per factor and outcome."""
    run = run_estimate(cfg)
    experiment = cfg.experiment
    replications, weeks = float(experiment.replications), float(cfg.weeks)
    per_point = programmes * replications
    chunk = max(1.0, CLAIMS_CHUNK_RUNS // per_point) * per_point
    workers = _workers(experiment)
    org_key, org_bytes = _org_part(run)
    people = float(cfg.org.get("size") or 1)
    rows = int(experiment.get("batch_rows", BATCH_ROWS))
    parts = dict(run)
    for key, n in points.items():  # named by the larger of the two numbers it multiplies
        key = "experiment.replications" if replications > n else key
        parts[key] = parts.get(key, 0.0) + POINT_CELL_BYTES * n * replications * columns
    held_weeks = CLAIMS_ROW_BYTES * chunk * weeks
    if per_point > CLAIMS_CHUNK_RUNS:
        parts["experiment.replications"] = held_weeks
    else:
        parts["weeks"] += held_weeks
    parts["experiment.batch_rows"] = _ensembles(workers, chunk, people, org_bytes, rows) - org_bytes
    parts["experiment.jobs"] = workers * WORKER_BYTES if workers > 1 else 0.0
    if sobol_n and resamples:
        parts["experiment.params.resamples"] = SOBOL_RESAMPLE_BYTES * float(sobol_n) * resamples
    return _kept(parts)


def validate_estimate(cfg: DictConfig) -> dict[str, float]:
    """Bytes the validation needs, by config key. Its patterns run one after another, each
    stepping its runs in ensembles (one per worker, of at most ``experiment.batch_rows`` agent
    rows, at least one run); what each keeps of its runs (curves, weekly tables) is kept to the
    end. So: what every pattern keeps, plus the ensembles of the pattern that needs most."""
    experiment = cfg.experiment
    params = OmegaConf.to_container(experiment.params, resolve=True)
    chosen = list(experiment.patterns) or ["bass", "watts", "centola", "baseline", "crowding"]
    reps, workers = float(experiment.replications), _workers(experiment)
    rows = int(experiment.get("batch_rows", BATCH_ROWS))
    week = WEEK_BYTES + GROUP_WEEK_BYTES * (ROLES + 1)
    default_week = WEEK_BYTES + GROUP_WEEK_BYTES * (ROLES + 9)  # a hierarchy's departments
    hierarchy = {"generator": "hierarchy", **DEFAULT_HIERARCHY}
    default_org = PERSON_BYTES["hierarchy"] * DEFAULT_PEOPLE
    default_org += TIE_BYTES["hierarchy"] * expected_ties(hierarchy)
    kept: dict[str, float] = {}
    flights: list[tuple[str, float]] = []  # (key, bytes of one pattern's ensembles in flight)

    def add(key: str, value: float) -> None:
        kept[key] = kept.get(key, 0.0) + value

    if "bass" in chosen:  # a complete graph (ties not stored), weekly adoption kept per run
        b = params["bass"]
        one = PERSON_BYTES["complete"] * b["size"] + week * b["weeks"]
        flights.append(
            ("experiment.params.bass.size", _ensembles(workers, reps, b["size"], one, rows))
        )
        add("experiment.replications", 8.0 * reps * b["weeks"])
    if "watts" in chosen:  # random graphs of mean degree z, the trials of one z together
        w = params["watts"]
        z = max(w["degrees"])
        one = PERSON_BYTES["random"] * w["size"] + TIE_BYTES["random"] * w["size"] * z / 2
        trials = float(w["trials"])
        flights.append(
            ("experiment.params.watts.size", _ensembles(workers, trials, w["size"], one, rows))
        )
        add("experiment.params.watts.trials", 8.0 * trials * len(w["degrees"]))
    if "centola" in chosen:  # 4 cases of a lattice, weekly adoption kept per run
        c = params["centola"]
        one = (PERSON_BYTES["small_world"] + TIE_BYTES["small_world"] * c["k"] / 2) * c["size"]
        one += week * c["weeks"]
        flights.append(
            ("experiment.params.centola.size", _ensembles(workers, reps, c["size"], one, rows))
        )
        add("experiment.replications", 4 * 8.0 * reps * c["weeks"])
    if "baseline" in chosen:  # the default organisation; each run's weekly table is kept
        d = params["baseline"]
        rates = 1 + len(d.get("posting_connect") or [])
        one = default_org + default_week * d["weeks"]
        flights.append(
            (
                "experiment.params.baseline.weeks",
                _ensembles(workers, reps, DEFAULT_PEOPLE, one, rows),
            )
        )
        add("experiment.replications", STUDY_ROW_BYTES * rates * reps * d["weeks"])
    if "crowding" in chosen:  # 4 arms per seed on the default organisation
        c = params["crowding"]
        weeks = c["field_start"] + c["weeks"] + c["field_after"]
        one = 4 * (default_org + default_week * weeks)
        flights.append(
            (
                "experiment.params.crowding.field_start",
                _ensembles(workers, reps, 4 * DEFAULT_PEOPLE, one, rows),
            )
        )
    parts = dict(kept)
    if flights:
        key, value = max(flights, key=lambda kv: kv[1])
        parts[key] = parts.get(key, 0.0) + value
    parts["experiment.jobs"] = workers * WORKER_BYTES if workers > 1 else 0.0
    return _kept(parts)


def calibrate_estimate(cfg: DictConfig, run: dict[str, float]) -> dict[str, float]:
    """Bytes the calibration needs, by config key: pyabc's particles of two generations
    (``experiment.params.population``; with a usage export ``usage_population``, and their
    statistics are weekly series); the particles simulated together
    (``experiment.params.batch``: each one run of the organisation, and the Centola lattices),
    in ensembles over the workers; the posterior predictive check and forecast
    (``experiment.params.draws`` runs, with a usage export for every programme and the
    forecast's horizon), whose weekly tables are kept; a usage export (``data.path``) by its
    size. pyabc's history database is on disk, read a generation at a time, so
    ``experiment.params.generations`` does not add to memory."""
    experiment = cfg.experiment
    p = OmegaConf.to_container(experiment.params, resolve=True)
    workers = _workers(experiment)
    weeks = float(cfg.weeks)
    org_key, org_bytes = _org_part(run)
    people = float(cfg.org.get("size") or 1)
    rows = int(experiment.get("batch_rows", BATCH_ROWS))
    data = OmegaConf.select(cfg, "data.path")
    parts = dict(run)
    series = PARTICLE_WEEK_BYTES * weeks if data else 0.0
    key = "usage_population" if data else "population"  # the particles of this kind of fit
    parts[f"experiment.params.{key}"] = float(p[key]) * (PARTICLE_BYTES + series)
    one = org_bytes + WEEK_BYTES * weeks
    batch = float(p["batch"])  # and the weekly tables of the whole batch, returned together
    parts["experiment.params.batch"] = (
        _ensembles(workers, batch, people, one, rows) - org_bytes + STUDY_ROW_BYTES * batch * weeks
    )
    horizon = float(p.get("horizon") or 0) if data else 0.0
    programmes = len({"baseline", *experiment.scenarios}) if data else 1
    parts["experiment.params.draws"] = (
        STUDY_ROW_BYTES * float(p["draws"]) * programmes * (weeks + horizon)
    )
    if data:
        parts["data.path"] = FILE_BYTES * os.path.getsize(data) if os.path.isfile(data) else 0.0
    parts["experiment.jobs"] = workers * WORKER_BYTES if workers > 1 else 0.0
    return _kept(parts)


def optimise_estimate(cfg: DictConfig, run: dict[str, float]) -> dict[str, float]:
    """Bytes the budget search needs, by config key: every run's summary row and every trial
    kept to the end (``experiment.trials`` × replications × draws); a batch of
    max(2, 2 × jobs) trials simulated at once, its weekly records held, in ensembles over the
    workers (``experiment.replications``, or ``experiment.draws`` when they are more)."""
    experiment = cfg.experiment
    workers = _workers(experiment)
    weeks = float(cfg.weeks)
    org_key, org_bytes = _org_part(run)
    people = float(cfg.org.get("size") or 1)
    rows = int(experiment.get("batch_rows", BATCH_ROWS))
    calibrated = OmegaConf.select(cfg, "calibration.path") not in (None, "")
    reps, draws = float(experiment.replications), float(experiment.draws) if calibrated else 1.0
    per_trial = reps * draws
    trials = float(experiment.trials)
    at_once = min(trials, max(2.0, 2.0 * int(experiment.jobs))) * per_trial
    parts = dict(run)
    parts["experiment.trials"] = trials * (TRIAL_BYTES + RUN_ROW_BYTES * per_trial)
    batch_key = "experiment.draws" if draws > reps else "experiment.replications"
    parts[batch_key] = STUDY_ROW_BYTES * at_once * weeks
    parts["experiment.batch_rows"] = (
        _ensembles(workers, at_once, people, org_bytes, rows) - org_bytes
    )
    parts["experiment.jobs"] = workers * WORKER_BYTES if workers > 1 else 0.0
    return _kept(parts)


def study_estimate(cfg: DictConfig, run: dict[str, float]) -> dict[str, float]:
    """Bytes a comparison needs, by config key. Its runs are stepped together in ensembles of
    up to ``experiment.batch_rows`` people (``sim.replicate.batches``), one ensemble per
    worker process at a time, each holding its runs' organisations and state (``run``'s
    ``org.*`` part, once per run in it: all but one run's are priced as ``batch_rows``); the
    weekly table grows with programmes × replications × weeks; the bootstrap with resamples ×
    (replications + weeks). Settings the study refuses anyway leave the estimate of one run."""
    from sim.replicate import experiment_problems

    experiment = cfg.experiment
    jobs = int(experiment.jobs)
    if experiment_problems(experiment) or experiment.bootstrap < 1:
        return run
    workers = available_cpus() if jobs == -1 else min(jobs, available_cpus())
    weeks, replications = float(cfg.weeks), float(experiment.replications)
    runs = _scenario_count(experiment) * replications
    people = float(cfg.org.get("size") or 1)
    batch = min(runs, max(1.0, experiment.batch_rows // people))
    org_key = "org.size" if "org.size" in run else "org.path"
    held = batch * run[org_key]  # one ensemble: its runs' organisations beside one another
    parts = {
        **run,
        "experiment.batch_rows": workers * held - run[org_key],  # one ensemble per worker
        "experiment.jobs": workers * WORKER_BYTES if workers > 1 else 0.0,
        "experiment.replications": STUDY_ROW_BYTES * runs * weeks,
        "experiment.bootstrap": float(experiment.bootstrap)
        * (RESAMPLE_REPLICATION_BYTES * replications + RESAMPLE_WEEK_BYTES * weeks),
    }
    return {key: value for key, value in parts.items() if value}


def memory_problems(cfg: DictConfig, parts: dict[str, float] | None = None) -> list[str]:
    """One message if what ``cfg`` asks for (a run, or a study) needs more memory than this
    process may use (``parts``: its estimate by key, ``estimate(cfg)`` if not given); empty
    otherwise, or when the memory available is unknown."""
    room = available_memory()
    if room is None:
        return []
    parts = estimate(cfg) if parts is None else parts
    total = sum(parts.values())
    limit, source = room
    if total <= limit:
        return []
    key = max(parts, key=parts.get)
    what = WHAT.get(cfg.experiment.name, "one run")
    breakdown = ", ".join(
        f"{k} {size(v)}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v >= MIB
    )
    return [
        f"{key}={OmegaConf.select(cfg, key)} is too large for this machine: {what} would need "
        f"about {size(total)} of memory ({breakdown}), more than the {size(limit)} {source}; "
        f"{HINTS[key]}"
    ]


def size(n: float) -> str:
    """Bytes as ``1.2 GiB`` or ``350 MiB``."""
    return f"{n / GIB:,.1f} GiB" if n >= GIB else f"{n / MIB:,.0f} MiB"


# --- what this process may use ----------------------------------------------------------------


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (no limit) is None too


def _meminfo_available() -> int | None:
    try:
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """The least room left under the memory limit of this process's cgroup or any above it
    (cgroup v2: memory.max − memory.current; v1: limit_in_bytes − usage_in_bytes)."""
    try:
        lines = (PROC / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return None
    rooms = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2
            base, limit_file, usage_file = CGROUP_ROOT, "memory.max", "memory.current"
        elif "memory" in controllers.split(","):  # v1
            base = CGROUP_ROOT / "memory"
            limit_file, usage_file = "memory.limit_in_bytes", "memory.usage_in_bytes"
        else:
            continue
        folder = base / path.lstrip("/")
        while True:
            limit, used = _read_int(folder / limit_file), _read_int(folder / usage_file)
            if limit is not None and used is not None and limit < 2**60:  # v1: huge = none
                rooms.append(max(limit - used, 0))
            if folder == base or base not in folder.parents:
                break
            folder = folder.parent
    return min(rooms) if rooms else None


def _address_space_room() -> int | None:
    """Room left under ``ulimit -v`` (RLIMIT_AS): the limit minus this process's size."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    used = _status_bytes("VmSize") or 0
    return max(soft - used, 0)


def _status_bytes(key: str) -> int | None:
    """A ``kB`` line of ``/proc/self/status`` (VmSize, VmRSS, VmHWM) in bytes."""
    try:
        for line in (PROC / "self" / "status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def available_memory() -> tuple[int, str] | None:
    """The memory this process may still use, in bytes, and what sets it, for messages; None
    where it cannot be told."""
    found = [
        (_meminfo_available(), "available on this machine (MemAvailable in /proc/meminfo)"),
        (_cgroup_room(), "left under this process's cgroup memory limit"),
        (_address_space_room(), "left under the address-space limit (ulimit -v)"),
    ]
    known = [(n, source) for n, source in found if n is not None]
    return min(known) if known else None


#: Settings that make each study tiny, for the first pass of ``measure``.
TINY = {
    "experiment=compare": ["experiment.bootstrap=100"],
    "experiment=sensitivity": [  # the essays' claims need the weeks after each programme
        "weeks=160",
        "experiment.params.morris_trajectories=2",
        "experiment.params.sobol_n=2",
        "experiment.params.discovery_n=2",
        "experiment.params.resamples=10",
    ],
    "experiment=optimise": ["experiment.trials=2", "weeks=60"],  # levers start by week 52
}


# --- calibration -------------------------------------------------------------------------------


def measure(overrides: list[str]) -> dict:
    """Run what ``overrides`` describe (one run, or a comparison in this process, into a
    temporary folder) and return the rise of this process's peak resident memory beside
    :func:`estimate` (Linux: resets the peak through ``/proc/self/clear_refs``). The same
    thing at a tiny size runs first, so that what it loads once (modules, caches) is not
    counted."""
    import importlib
    import tempfile

    import sim
    from sim.api import STUDIES
    from sim.run import run

    study = next((TINY[o] for o in overrides if o in TINY), [])
    tiny = ["org.size=60", "weeks=3", "experiment.replications=2"]
    tiny = [t for t in tiny if t.split("=")[0] not in {s.split("=")[0] for s in study}] + study
    with tempfile.TemporaryDirectory() as folder:
        for size, args in (("tiny", [*overrides, *tiny]), ("asked", list(overrides))):
            cfg = sim.compose(args)
            if size == "asked":
                (PROC / "self" / "clear_refs").write_text("5")  # peak := current
                before, started = _status_bytes("VmRSS"), time.process_time()
            if cfg.experiment.name != "none":
                cfg.experiment.dir = f"{folder}/{size}"
                importlib.import_module(STUDIES[cfg.experiment.name]).main(cfg, args)
            else:
                run(cfg)
        measured = _status_bytes("VmHWM") - before
    if cfg.experiment.name == "sensitivity":
        from experiments import sensitivity

        study = sensitivity.Study.from_config(cfg.experiment.params, list(overrides))
        parts = sensitivity.memory_estimate(cfg, study)
    else:
        parts = estimate(cfg)
    return {
        "overrides": list(overrides),
        "measured": measured,
        "estimate": sum(parts.values()),
        "parts": parts,
        "ratio": sum(parts.values()) / measured,
        "cpu_seconds": round(time.process_time() - started, 2),
    }
