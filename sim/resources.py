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
#: per-group records.
WEEK_BYTES = 6_000
GROUP_WEEK_BYTES = 700
#: Bytes per row (one person at one snapshot) of agent-level snapshots.
SNAPSHOT_BYTES = 172
#: Bytes per row (one programme × replication × week) of a comparison's weekly table, with
#: the copies made to put it together and write it.
STUDY_ROW_BYTES = 2_000
#: Bytes per bootstrap resample and replication, and per resample and week (the resampling
#: weights, then the resampled weekly means and their sorted copy).
RESAMPLE_REPLICATION_BYTES = 16
RESAMPLE_WEEK_BYTES = 16
#: Private memory of one worker process before its run (interpreter, NumPy, pandas, Mesa).
WORKER_BYTES = 100 * MIB
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
    """Bytes what ``cfg`` asks for needs, by the config key that sets each part: one run, or a
    comparison (``study_estimate``)."""
    run = run_estimate(cfg)
    return study_estimate(cfg, run) if cfg.experiment.name == "compare" else run


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


def memory_problems(cfg: DictConfig) -> list[str]:
    """One message if what ``cfg`` asks for (a run, or a comparison) needs more memory than
    this process may use; empty otherwise, or when the memory available is unknown."""
    room = available_memory()
    if room is None:
        return []
    parts = estimate(cfg)
    total = sum(parts.values())
    limit, source = room
    if total <= limit:
        return []
    key = max(parts, key=parts.get)
    what = "the comparison" if cfg.experiment.name == "compare" else "one run"
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


# --- calibration -------------------------------------------------------------------------------


def measure(overrides: list[str]) -> dict:
    """Run what ``overrides`` describe (one run, or a comparison in this process, into a
    temporary folder) and return the rise of this process's peak resident memory beside
    :func:`estimate` (Linux: resets the peak through ``/proc/self/clear_refs``). The same
    thing at a tiny size runs first, so that what it loads once (modules, caches) is not
    counted."""
    import tempfile

    import sim
    from sim.run import run

    tiny = ["org.size=60", "weeks=3", "experiment.replications=2", "experiment.bootstrap=100"]
    with tempfile.TemporaryDirectory() as folder:
        for size, args in (("tiny", [*overrides, *tiny]), ("asked", list(overrides))):
            cfg = sim.compose(args)
            if size == "asked":
                (PROC / "self" / "clear_refs").write_text("5")  # peak := current
                before, started = _status_bytes("VmRSS"), time.process_time()
            if cfg.experiment.name == "compare":
                from experiments import compare

                cfg.experiment.dir = f"{folder}/{size}"
                compare.main(cfg, args)
            else:
                run(cfg)
        measured = _status_bytes("VmHWM") - before
    parts = estimate(cfg)
    return {
        "overrides": list(overrides),
        "measured": measured,
        "estimate": sum(parts.values()),
        "parts": parts,
        "ratio": sum(parts.values()) / measured,
        "cpu_seconds": round(time.process_time() - started, 2),
    }
