"""The sweep as it runs: what the launching process checks before the first job and records
after the last (``SweepCallback``), and each job's progress line.

``python -m sim -m ...`` (or a sweep preset) runs ``SweepCallback`` in the process that
launches the jobs, whatever the launcher; ``sim.__main__.sweep_job`` runs each job.
Reading a finished sweep folder into a table and a figure is ``sim.aggregate``'s.
"""

import math
import os
import platform
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from models.errors import InputError
from sim.aggregate import (
    LAUNCHER_PACKAGES,
    SWEEP_JSON,
    _now,
    _read_json,
    _write_json,
    job_folders,
    parse_override,
    read_job,
)
from sim.provenance import git_revision, package_versions


class SweepCallback(Callback):
    """Hydra callback (``hydra.callbacks.sweep`` in ``conf/config.yaml``), run in the process
    that launches the sweep, whatever the launcher.

    Before any job: every swept value must compose (a value of the wrong type, such as
    ``weeks=ten,20``, stops the sweep with one message and exit status 2, and nothing is
    written), the sweep folder must be writable and hold no other sweep, and ``sweep.json``
    is written.
    After the last job: ``sweep.json`` gets the jobs that completed and failed, a line says
    where the sweep is, and the exit status is 1 if any job failed.

    Resuming: if the folder's ``sweep.json`` records this very sweep (same overrides and swept
    values), the sweep is resumed instead of refused: each job whose folder already holds its
    complete, valid result is skipped (``sim.__main__.sweep_job``, ``sim.resume``), the others
    run, and ``sweep.json`` records when it was resumed.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        problems = check_sweep_values(config)
        if problems:
            _stop("\n".join(problems), 2)
        folder = Path(str(config.hydra.sweep.dir))
        try:
            earlier = resumable_sweep(folder, config)
            if earlier is None:
                check_new_sweep_folder(folder)
                _write_json(folder / SWEEP_JSON, sweep_record(config))
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
        except InputError as e:
            _stop(str(e), 2)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        folder = Path(str(config.hydra.sweep.dir))
        jobs = [read_job(d) for d in job_folders(folder)]
        done = [j for j in jobs if j.status in ("completed", "study")]
        failed = [j for j in jobs if j.status == "failed"]
        record = _read_json(folder / SWEEP_JSON) or sweep_record(config)
        record.update(
            finished=_now(),
            jobs=len(jobs),
            completed=len(done),
            failed=[
                {"job": j.name, "overrides": j.overrides, "message": j.message} for j in failed
            ],
        )
        try:
            _write_json(folder / SWEEP_JSON, record)
        except InputError:
            pass  # the jobs are there; sweep.json keeps what it had
        print(
            f"{len(jobs)} jobs, {len(done)} completed, {len(failed)} failed: wrote {folder}\n"
            f"aggregate with: python -m sim.aggregate {shlex.quote(str(folder))}",
            flush=True,
        )
        if failed:
            names = "; ".join(j.label for j in failed)
            _stop(f"{len(failed)} of {len(jobs)} jobs failed: {names} (error.json in each)", 1)


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
    params = config.hydra.sweeper.get("params") or {}
    lines = [f"{key}={value}" for key, value in params.items()]
    lines += list(config.hydra.overrides.task)
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
    numbers only once per type) and return Hydra's messages for those that do not compose.
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
                loader.load_sweep_config(config, list(job))
            except (HydraException, OmegaConfBaseException) as e:
                message = _message(e)
                if message not in problems:
                    problems.append(message)
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
    same = record.get("overrides") == list(config.hydra.overrides.task) and record.get(
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
            "folder (the default, results/sweeps/<time>, always is); to finish an interrupted "
            "sweep, run exactly the command that started it, with this hydra.sweep.dir"
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
        "overrides": list(hydra_cfg.overrides.task),
        "hydra_overrides": list(hydra_cfg.overrides.hydra),
        "sweeper": OmegaConf.to_container(hydra_cfg.sweeper, resolve=False),
        "launcher": launcher,
        "started": _now(),
        "jobs_planned": planned_jobs(config),
        "versions": {**package_versions(), **package_versions(LAUNCHER_PACKAGES)},
        "git": git_revision(),
        "platform": platform.platform(),
    }


def progress(sweep_dir: Path, num: int) -> str:
    """``"4 of 32, 0:05 elapsed, about 0:35 left"`` for job ``num`` of the sweep whose
    ``sweep.json`` is in ``sweep_dir`` (read by each job, whatever process it runs in). Jobs
    finish roughly in order, so job ``num`` stands for ``num + 1`` done; "" if unknown."""
    record = _read_json(sweep_dir / SWEEP_JSON) or {}
    total, started = record.get("jobs_planned"), record.get("started")
    if not isinstance(total, int) or not isinstance(started, str):
        return ""
    try:
        elapsed = (datetime.now().astimezone() - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return ""
    done = min(num + 1, total)
    left = elapsed / done * (total - done)
    text = f"{done} of {total}, {_clock(elapsed)} elapsed"
    return text + (f", about {_clock(left)} left" if done < total else "")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
