"""The sweep as it runs: what the launching process checks before the first job and records
after the last (``SweepCallback``), and each job's progress line.

``python -m sim -m ...`` (or a sweep preset) runs ``SweepCallback`` in the process that
launches the jobs, whatever the launcher; ``sim.__main__.sweep_job`` runs each job.
Reading a finished sweep folder into a table and a figure is ``sim.aggregate``'s.
"""

import json
import math
import os
import platform
import shlex
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from models.errors import InputError
from sim.aggregate import (
    ERROR,
    LAUNCHER_PACKAGES,
    RESULT,
    STUDY,
    SWEEP_JSON,
    _now,
    _read_json,
    _write_json,
    job_folders,
    parse_override,
    read_job,
)
from sim.provenance import git_revision, package_versions
from sim.run import interpolation_problems
from sim.signals import stopping
from sim.workers import worker_count

#: The launchers whose workers run on this machine, and the key of their number (capped at
#: its CPUs).
LOCAL_WORKERS = {
    "hydra_plugins.beyond_adoption.ensemble_launcher.EnsembleLauncher": "n_jobs",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher": "n_jobs",
    "hydra_plugins.beyond_adoption.local_submitit.LocalSubmititLauncher": "array_parallelism",
}


class SweepCallback(Callback):
    """Hydra callback (``hydra.callbacks.sweep`` in ``conf/config.yaml``), run in the process
    that launches the sweep, whatever the launcher.

    Before any job: every swept value must compose and its interpolations resolve (a value
    of the wrong type, such as ``weeks=ten,20``, stops the sweep with one message and exit
    status 2, and nothing is written); the number of worker processes the launcher starts is
    capped at the CPUs available (``sim.workers.worker_count``); the sweep folder must be
    writable and hold no other sweep; and ``sweep.json`` is created (exclusively: of two sweeps
    started into one folder at the same moment, the second is refused).
    While the jobs run under a submitit launcher, whose jobs write their output to log files,
    each job's line is printed here as the job lands (``JobReporter``).
    After the last job: ``sweep.json`` gets the jobs that completed and those that did not, a
    line says where the sweep is, and the exit status is 1 if any job failed or left no
    result — even if every job did.

    Resuming: if the folder's ``sweep.json`` records this very sweep (same overrides and swept
    values), the sweep is resumed instead of refused: each job whose folder already holds its
    complete, valid result is skipped (``sim.__main__.sweep_job``, ``sim.resume``), the others
    run, and ``sweep.json`` records when it was resumed.

    Hydra turns an exception raised by a callback into a warning and carries on, so every
    error here ends the sweep with ``SystemExit`` and one message instead.
    """

    reporter: "JobReporter | None" = None

    def __getstate__(self) -> dict:
        """Without the reporter thread: submitit pickles the launcher, and with it Hydra's
        context, which holds this callback, into every job."""
        return {k: v for k, v in self.__dict__.items() if k != "reporter"}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _guard(self._start, config, "the sweep could not start")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        _guard(self._end, config, "the sweep ran, but its end could not be recorded")

    def _start(self, config: DictConfig) -> None:
        folder = Path(str(config.hydra.sweep.dir))  # resolved once: every job gets this name
        problems = check_sweep_values(config)
        if problems:
            raise InputError("\n".join(problems))
        cap_workers(config)
        earlier = resumable_sweep(folder, config)
        if earlier is None:
            check_new_sweep_folder(folder)
            _create_json(folder / SWEEP_JSON, sweep_record(config))
        else:
            done = sum(read_job(d).status == "completed" for d in job_folders(folder))
            earlier.setdefault("resumed", []).append(_now())
            earlier["command"] = sweep_record(config)["command"]
            _write_json(folder / SWEEP_JSON, earlier)
            print(
                f"resuming the sweep in {folder}: {done} job(s) already complete are "
                "skipped if still valid, the others run",
                flush=True,
            )
        stopping(
            "the sweep",
            "finished jobs are kept; run the same command again with "
            f"hydra.sweep.dir={shlex.quote(str(folder))} to run the others",
        )
        if "submitit" in str(config.hydra.launcher.get("_target_", "")).lower():
            self.reporter = JobReporter(folder)
            self.reporter.start()

    def _end(self, config: DictConfig) -> None:
        folder = Path(str(config.hydra.sweep.dir))
        if self.reporter is not None:
            self.reporter.stop()
        stray = folder / ".submitit" / "%j"  # made, and left empty, by submitit's local runner
        if stray.is_dir() and not any(stray.iterdir()):
            stray.rmdir()
        jobs = [read_job(d) for d in job_folders(folder)]
        done = [j for j in jobs if j.status in ("completed", "study")]
        failed = [j for j in jobs if j.status == "failed"]
        unfinished = [j for j in jobs if j.status == "unfinished"]
        record = _read_json(folder / SWEEP_JSON) or sweep_record(config)
        record.update(
            finished=_now(),
            jobs=len(jobs),
            completed=len(done),
            failed=[
                {"job": j.name, "overrides": j.overrides, "message": j.message}
                for j in failed + unfinished
            ],
        )
        try:
            _write_json(folder / SWEEP_JSON, record)
        except InputError:
            pass  # the jobs are there; sweep.json keeps what it had
        counts = f"{len(jobs)} jobs, {len(done)} completed, {len(failed)} failed"
        print(
            counts
            + (f", {len(unfinished)} left no result" if unfinished else "")
            + f": wrote {folder}\n"
            f"aggregate with: python -m sim.aggregate {shlex.quote(str(folder))}",
            flush=True,
        )
        if failed or unfinished:
            names = "; ".join(j.label for j in failed + unfinished)
            where = "error.json in each" if not unfinished else "error.json in each that has one"
            raise SweepFailed(
                f"{len(failed) + len(unfinished)} of {len(jobs)} jobs failed: {names} ({where})"
            )


class SweepFailed(Exception):
    """Some jobs of the sweep did not complete: exit status 1."""


def _guard(step, config: DictConfig, what: str) -> None:
    """Run a callback step; end the sweep with one message for any error: exit status 2 for
    bad input (ours, Hydra's or OmegaConf's), 1 for failed jobs and anything unexpected."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.api import _message

    try:
        step(config)
    except (InputError, HydraException, OmegaConfBaseException) as e:
        _stop(_message(e), 2)
    except SweepFailed as e:
        _stop(str(e), 1)
    except Exception as e:
        _stop(f"{what}: {type(e).__name__}: {e}", 1)


def _stop(message: str, status: int) -> None:
    """One message on stderr and the exit status. ``SystemExit`` passes through Hydra's
    callback machinery, which turns ordinary exceptions into warnings."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(status)


def sweep_choices(config: DictConfig) -> tuple[dict[str, list[str]], bool]:
    """Each key of the sweep (the sweeper's ``params``, then the command line, which wins)
    with its values as ``key=value`` overrides, as Hydra's basic sweeper expands them; and
    whether that is the whole sweep (False if a key sweeps an interval, which only other
    sweepers understand). Raises Hydra's exception for an override it cannot parse."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    loader = GlobalHydra.instance().config_loader()
    params = OmegaConf.to_container(config.hydra.sweeper, resolve=False).get("params") or {}
    lines = [f"{key}={value}" for key, value in params.items()]
    lines += task_overrides(config)
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(lines)
    choices: dict[str, list[str]] = {}
    complete = True
    for override in parsed:
        key = override.get_key_element()
        if not override.is_sweep_override():
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:  # the sweeper's business: it refuses what it cannot do
            complete = False
    return choices, complete


def planned_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep will run (None if that is not known in advance)."""
    try:
        choices, complete = sweep_choices(config)
    except Exception:
        return None
    return math.prod(len(v) for v in choices.values()) if complete else None


def check_sweep_values(config: DictConfig) -> list[str]:
    """Compose a job for each value of each swept key (the other keys at their first value;
    numbers only once per type) and return Hydra's messages for those that do not compose,
    and messages for interpolations in them that do not resolve (``sim.run``).
    Hydra itself composes every job before launching, but only once it has written into the
    sweep folder, and its message comes with exit status 1; this comes first, and is cheap
    (a few jobs per key, not one per combination)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.api import _message

    loader = GlobalHydra.instance().config_loader()
    try:
        choices, _ = sweep_choices(config)
    except HydraException as e:
        return [_message(e)]
    first = {key: values[0] for key, values in choices.items() if values}
    problems: list[str] = []
    tried: set[tuple[str, ...]] = set()
    for key, values in choices.items():
        for value in _representatives(values):
            job = tuple(value if k == key else first[k] for k in first)
            if job in tried:
                continue
            tried.add(job)
            try:
                composed = loader.load_sweep_config(config, list(job))
                task = OmegaConf.masked_copy(composed, [k for k in composed if k != "hydra"])
                found = interpolation_problems(task)
            except (HydraException, OmegaConfBaseException) as e:
                found = [_message(e)]
            problems += [message for message in found if message not in problems]
    return problems


def _representatives(values: list[str]) -> list[str]:
    """The swept values worth composing: every string (an option of a config group, or a
    value that may not fit the key's type) and the first number, boolean or null of each
    type; composing costs about a tenth of a second, and ``seed=range(0,1000)`` needs one."""
    kinds: set[type] = set()
    out = []
    for value in values:
        kind = type(parse_override(value)[1])
        if kind is str or kind not in kinds:
            out.append(value)
            kinds.add(kind)
    return out


def resumable_sweep(folder: Path, config: DictConfig) -> dict | None:
    """``sweep.json`` of an earlier run of this very sweep in ``folder`` (the same overrides
    and swept values; the launcher may differ), which this run resumes; None otherwise."""
    record = _read_json(folder / SWEEP_JSON) if folder.is_dir() else None
    if record is None:
        return None
    same = record.get("overrides") == task_overrides(config) and record.get(
        "sweeper"
    ) == OmegaConf.to_container(config.hydra.sweeper, resolve=False)
    return record if same else None


def check_new_sweep_folder(folder: Path) -> None:
    """Create the sweep folder; refuse one that cannot be written, or that already holds a
    sweep (its job folders would be mixed with this one's)."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"hydra.sweep.dir={str(folder)!r} is a file, not a folder")
    if folder.is_dir() and ((folder / SWEEP_JSON).exists() or job_folders(folder)):
        raise InputError(
            f"hydra.sweep.dir={str(folder)!r} already holds a sweep (not this one): give a new "
            "folder (the default, results/sweeps/<time>_<random>, always is); to finish an "
            "interrupted sweep, run exactly the command that started it, with this "
            "hydra.sweep.dir"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(
            f"hydra.sweep.dir={str(folder)!r} cannot be written: {e.strerror or e}"
        ) from e
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"hydra.sweep.dir={str(folder)!r} cannot be written: no permission")


def sweep_record(config: DictConfig) -> dict:
    """What ``sweep.json`` says about how the sweep was started."""
    hydra_cfg = config.hydra
    try:
        launcher = OmegaConf.to_container(hydra_cfg.launcher, resolve=True)
    except Exception:  # an interpolation only a job can resolve
        launcher = OmegaConf.to_container(hydra_cfg.launcher, resolve=False)
    return {
        "command": shlex.join(["python", "-m", "sim", *sys.argv[1:]]),
        "cwd": os.getcwd(),
        "dir": str(hydra_cfg.sweep.dir),
        "overrides": task_overrides(config),
        "hydra_overrides": OmegaConf.to_container(hydra_cfg.overrides.hydra, resolve=False),
        "sweeper": OmegaConf.to_container(hydra_cfg.sweeper, resolve=False),
        "launcher": launcher,
        "started": _now(),
        "jobs_planned": planned_jobs(config),
        "versions": {**package_versions(), **package_versions(LAUNCHER_PACKAGES)},
        "git": git_revision(),
        "platform": platform.platform(),
    }


def progress(sweep_dir: Path, done: int) -> str:
    """``"4 of 32, 0:05 elapsed, about 0:35 left"`` when ``done`` jobs of the sweep whose
    ``sweep.json`` is in ``sweep_dir`` have finished (read by each job, whatever process it
    runs in); "" if unknown."""
    record = _read_json(sweep_dir / SWEEP_JSON) or {}
    total, started = record.get("jobs_planned"), record.get("started")
    if not isinstance(total, int) or not isinstance(started, str):
        return ""
    try:
        elapsed = (datetime.now().astimezone() - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return ""
    done = min(done, total)
    left = elapsed / done * (total - done)
    text = f"{done} of {total}, {_clock(elapsed)} elapsed"
    return text + (f", about {_clock(left)} left" if done < total else "")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def task_overrides(config: DictConfig) -> list[str]:
    """The sweep's overrides as typed: reading them through the config would resolve an
    interpolation in them (``org.size=${oc.env:X}``), and fail on one that cannot be."""
    return OmegaConf.to_container(config.hydra.overrides.task, resolve=False)


def cap_workers(config: DictConfig) -> None:
    """Lower the worker processes a local launcher starts (the ensemble and joblib launchers'
    ``n_jobs``, local submitit's ``array_parallelism``) to the CPUs available, or refuse
    nonsense (``sim.workers.worker_count``); a cluster launcher's jobs run elsewhere and are
    left."""
    launcher = config.hydra.launcher
    key = LOCAL_WORKERS.get(str(launcher.get("_target_", "")))
    if key is None:
        return
    count = worker_count(launcher[key], f"hydra.launcher.{key}")
    with read_write(launcher), open_dict(launcher):
        launcher[key] = count


def _create_json(path: Path, data: dict) -> None:
    """Write ``path`` whole, only if it does not exist yet (a hard link of a finished
    temporary file: atomic and exclusive), so that of two sweeps started into one folder at
    the same moment only the first starts."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
        os.link(tmp, path)
    except FileExistsError:
        raise InputError(
            f"hydra.sweep.dir={str(path.parent)!r} already holds a sweep, started just now"
        ) from None
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from e
    finally:
        tmp.unlink(missing_ok=True)


# --- each job's line ---------------------------------------------------------------------------


def completed_line(label: str, summary: dict, folder: Path, done: str) -> str:
    """What a completed job prints: its overrides, headline outcomes, folder and progress."""
    return (
        f"{label}: long-run value {summary['long_run_value']:,.0f} h, "
        f"peak weekly-active {summary['peak_active_share']:.0%}; wrote {folder}"
        + (f" [{done}]" if done else "")
    )


def failed_line(label: str, message: str) -> str:
    """What a failed job prints (on stderr)."""
    return f"error: {label} failed: {message}"


class JobReporter(threading.Thread):
    """Prints each job's line in the launching process as the job lands, for launchers whose
    jobs write their output to log files (submitit: ``<sweep dir>/.submitit/<job id>/``), so
    that the sweep shows its progress instead of staying silent until the end. Polls the job
    folders once a second; jobs that had landed before it started (a resumed sweep) are
    reported only if they land again."""

    def __init__(self, folder: Path, every: float = 1.0) -> None:
        super().__init__(name="beyond-adoption job reporter", daemon=True)
        self.folder, self.every = folder, every
        self._halt = threading.Event()
        self._seen = {d.name: _landed(d) for d in job_folders(folder)}
        self._reported = 0

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.poll()

    def stop(self) -> None:
        """Stop polling, then report what landed since the last poll."""
        self._halt.set()
        self.join()
        self.poll()

    def poll(self) -> None:
        for d in job_folders(self.folder):
            landed = _landed(d)
            if landed is None or landed == self._seen.get(d.name):
                continue
            self._seen[d.name] = landed
            self._reported += 1
            job = read_job(d)
            if job.status == "completed":
                done = progress(self.folder, self._reported)
                print(completed_line(job.label, job.summary, d, done), flush=True)
            elif job.status == "failed":
                print(failed_line(job.label, job.message), file=sys.stderr, flush=True)
            else:
                print(f"{job.label}: {job.message}", flush=True)


def _landed(folder: Path) -> int | None:
    """When a job folder's result (or error, or study note) was written; None if none is."""
    for name in (RESULT, ERROR, STUDY):
        try:
            return (folder / name).stat().st_mtime_ns
        except OSError:
            continue
    return None
