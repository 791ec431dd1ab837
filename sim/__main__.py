"""``python -m sim``: one run from the Hydra config in ``conf/``, or a sweep of runs.

Writes ``results/runs/<timestamp>/`` (weekly.parquet, groups.parquet, summary.json,
config.yaml, provenance.json, adoption_vs_value.png) and prints where. Bad input stops with
one message and exit status 2, before anything is written, whoever finds it: our checks, or
Hydra while it composes the command line (``report_errors``).

With ``-m`` (Hydra multirun, or a preset that sets ``hydra.mode: MULTIRUN``) every job writes
the same run folder at ``<sweep dir>/<job number>``. A job that fails writes only
``error.json`` there and prints one line; the other jobs carry on (``sim.sweep`` has the
sweep's start and end, and the aggregation command). The same sweep run again into the same
``hydra.sweep.dir`` skips the jobs whose folder already holds their complete, valid result
(``sim.resume``) and runs the others.

Ctrl-C and SIGTERM stop a run, a study or a sweep with one line saying what was kept
(``sim.signals``); nothing half-written is left. An unexpected error (a bug) is one line too,
with the traceback saved to a file for a bug report (``crashed``), and exit status 1, as for
a sweep in which any job failed. A sweep job in a worker process ends if the process that
launched it dies (``sim.workers.watch_parent``).
"""

import importlib
import json
import os
import shlex
import shutil
import sys
import tempfile
import traceback
import warnings
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import hydra
import hydra._internal.utils
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from models.errors import InputError
from sim import batched, schema
from sim.api import CONF_DIR, STUDIES, _message
from sim.paths import conf_dir
from sim.replicate import batching
from sim.resume import code_fingerprint, completed_job
from sim.run import (
    check_output_dir,
    interpolation_problems,
    new_run_folder,
    run,
    schema_problems,
)
from sim.signals import STOPPING, interrupted, stopping, terminate_like_interrupt
from sim.sweep import completed_line, failed_line, progress
from sim.workers import (
    end_without_collection,
    freeze_loaded,
    watch_from_the_start,
    watch_parent,
    worker_count,
    worker_problem,
)

schema.register()


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings (e.g. a network file repaired on load) as one line for the user, without the
    source file and line of the code that raised them."""
    return f"warning: {message}\n"


warnings.formatwarning = _format_warning


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict | None:
    watch_parent()  # a job in a joblib worker ends when the sweep's process dies
    hydra_cfg = HydraConfig.get()
    # as typed: reading them through the config would resolve (and fail on) ${...} in them
    overrides = OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        return sweep_job(cfg, overrides)
    stopping("the run")
    try:
        check_readable(cfg)
        if cfg.experiment.name != "none":
            stopping(f"experiment={cfg.experiment.name}", study_hint(cfg))
            print(f"wrote {run_experiment(cfg, overrides)}")
            return
        check_output_dir(cfg.output.dir)
        result = run(cfg, overrides, progress=cfg.output.progress and sys.stderr.isatty())
        folder = result.save(new_run_folder(cfg.output.dir), plot=cfg.output.plot)
    except InputError as e:
        refuse(e)
    except Exception as e:
        crashed(e)
    s = result.summary
    print(
        f"{s['weeks']} weeks, {s['agents']} agents: long-run value {s['long_run_value']:,.0f} h, "
        f"peak weekly-active {s['peak_active_share']:.0%}, "
        f"adopted {s['final_adopted_share']:.0%}, adoption–value gap {s['adoption_value_gap']:.2f}"
    )
    print(f"wrote {folder}")


def check_readable(cfg: DictConfig) -> None:
    """Refuse what would make reading a value fail, before anything reads one: interpolations
    (``${...}``) that do not resolve, keys added (``+``) or removed (``~``) against the
    schemas (``sim.run``)."""
    problems = interpolation_problems(cfg) or schema_problems(cfg)
    if problems:
        raise InputError("\n".join(problems))


def run_experiment(cfg: DictConfig, overrides: list[str]) -> Path:
    """A study from ``experiments/`` (``experiment=<name>``): its folder. The worker
    processes (``experiment.jobs``) are capped at the CPUs available; a count that is not one
    is left for the study to refuse with its other problems."""
    name = cfg.experiment.name
    if name not in STUDIES:
        raise InputError(
            f"experiment.name={name!r} is not an experiment: choose one of none, "
            f"{', '.join(STUDIES)}"
        )
    if worker_problem(cfg.experiment.jobs, "experiment.jobs") is None:
        cfg.experiment.jobs = worker_count(cfg.experiment.jobs, "experiment.jobs")
    study = importlib.import_module(STUDIES[name])
    freeze_loaded()  # this process ends with the study: what it has loaded lives as long
    with batching(cfg.experiment.batch_rows):
        return study.main(cfg, overrides)


def study_hint(cfg: DictConfig) -> str:
    """What an interrupted study keeps and how to finish it ("" if it keeps nothing)."""
    folder = Path(cfg.experiment.dir)
    if cfg.experiment.name == "compare":
        return (
            "no results folder was written; the replications completed so far are saved in "
            f"{folder / '.partial'}, and the same command run again simulates only the others"
        )
    if cfg.experiment.name == "optimise":
        return (
            f"the trials completed so far are kept in {folder / '.optuna'}; the same command "
            "continues the search"
        )
    if cfg.experiment.name == "calibrate":
        return (
            "no results folder was written; the generations completed so far are kept in "
            f"{folder / '.partial'}, and the same command run again continues from them"
        )
    return ""


def sweep_job(cfg: DictConfig, overrides: list[str]) -> dict:
    """One job of a sweep: the run folder at ``<sweep dir>/<job number>`` (which Hydra has just
    created, empty), or, if the job fails for any reason, ``error.json`` there and one line on
    stderr naming the job by its overrides. Never raises, so that the other jobs still run
    whatever the launcher; the sweep's exit status comes from ``SweepCallback``."""
    hydra_cfg = HydraConfig.get()
    num = int(hydra_cfg.job.num)
    folder = Path(hydra_cfg.runtime.output_dir)
    label = f"job {num} ({' '.join(overrides) or 'no overrides'})"
    try:
        check_readable(cfg)
        config = OmegaConf.to_container(cfg, resolve=True)
        if cfg.experiment.name == "none" and completed_job(folder, overrides, config):
            print(f"{label}: already complete in {folder}, skipped", flush=True)
            return {"job": num, "status": "completed", "skipped": True}
        _clear_job_folder(folder)
        if cfg.experiment.name != "none":  # a study per job: it writes its own folder
            study = run_experiment(cfg, overrides)
            print(f"{label}: experiment={cfg.experiment.name} wrote {study}", flush=True)
            note = {"experiment": cfg.experiment.name, "folder": str(study), "overrides": overrides}
            (folder / "experiment.json").write_text(json.dumps(note, indent=2) + "\n")
            return {"job": num, "status": "completed"}
        result = batched.take(num) or run(cfg, overrides)  # simulated ahead by the launcher
        result.provenance["command"] = reproduce_command(overrides)
        result.provenance["sweep"] = {"dir": str(folder.parent), "job": num}
        result.provenance["code"] = code_fingerprint()  # a re-run sweep reuses the job if equal
        result.save(folder, plot=cfg.output.plot)
    except (Exception, SystemExit) as e:
        if isinstance(e, SystemExit) and e.code in (0, None):
            return {"job": num, "status": "completed"}
        message = job_error(folder, num, overrides, e)
        print(failed_line(label, message), file=sys.stderr, flush=True)
        return {"job": num, "status": "failed", "message": message}
    print(completed_line(label, result.summary, result.folder, progress(folder.parent, num + 1)))
    return {"job": num, "status": "completed"}


def refuse(error: BaseException) -> NoReturn:
    """Bad input: its message on stderr, exit status 2."""
    print(f"error: {_message(error)}", file=sys.stderr, flush=True)
    sys.exit(2)


def report_errors(func):
    """Run ``func`` as Hydra's ``run_and_report`` does, reporting what it raises our way:
    Hydra's own refusals (an unknown option, a value of the wrong type, an override it cannot
    parse) and anything raised before the command began its work (Hydra failing on the
    command line) are bad input, one message and exit status 2; anything else is
    ``crashed``. Hydra's version exits 1 for both and prints tracebacks for some refusals.
    ``HYDRA_FULL_ERROR=1`` raises instead, as with Hydra's."""
    try:
        return func()
    except Exception as e:
        stop = interruption_behind(e)
        if stop is not None:
            raise stop from None  # an interruption: stopped as any other (``interrupted``)
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        if isinstance(e, InputError | HydraException | OmegaConfBaseException):
            refuse(e)
        if not STOPPING.started:
            refuse(InputError(command_line_problem(e)))
        crashed(e)


def interruption_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM (``sim.signals.Terminated``) while whose handling ``error`` was
    raised, if any. A signal that lands inside Hydra's or OmegaConf's code (a sweep composing
    its next job) can leave one of their objects half made, whose clean-up then fails with an
    error of its own (seen: an OmegaConf error about a missing parent) that would otherwise be
    reported as bad input, exit status 2, instead of as the interruption it is."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return error
        seen.add(id(error))
        error = error.__context__
    return None


def command_line_problem(error: Exception) -> str:
    """The message for an error Hydra raised while composing the command line that is not
    one of its own refusals (``population=[1,2]`` raises a TypeError inside Hydra)."""
    groups = {p.relative_to(CONF_DIR).as_posix() for p in CONF_DIR.rglob("*") if p.is_dir()}
    parser = OverridesParser.create()
    for arg in sys.argv[1:]:
        try:
            override = parser.parse_override(arg)
        except HydraException:
            continue
        value = override.value()
        names = value if isinstance(value, list) else [value]
        if override.key_or_group in groups and not all(isinstance(v, str) for v in names):
            options = sorted(p.stem for p in (CONF_DIR / override.key_or_group).glob("*.yaml"))
            return (
                f"{arg}: {override.key_or_group} is a config group: give the name of one of "
                f"its options ({', '.join(options)})"
            )
    return f"the command line could not be composed into a config: {type(error).__name__}: {error}"


def crashed(error: Exception) -> NoReturn:
    """An error that is not the user's (a bug, or the machine ran out of memory): one message
    on stderr instead of a traceback, the traceback saved to a file in the system's temporary
    folder for a bug report, exit status 1. ``HYDRA_FULL_ERROR=1`` raises it instead."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise error
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    report = Path(tempfile.gettempdir()) / f"beyond-adoption-crash-{stamp}-{os.getpid()}.txt"
    try:
        report.write_text(
            f"command: {shlex.join(['python', '-m', 'sim', *sys.argv[1:]])}\n\n"
            + "".join(traceback.format_exception(error)),
            encoding="utf-8",
        )
        details = f"; the details for a bug report are in {report}"
    except OSError:
        details = ""
    if isinstance(error, MemoryError):
        what = (
            "the machine ran out of memory; try a smaller organisation (org.size), a shorter "
            "horizon (weeks) or fewer worker processes (experiment.jobs)"
        )
    else:
        what = f"this is a bug in beyond-adoption ({type(error).__name__}: {error})"
    print(f"error: the run stopped unexpectedly: {what}{details}", file=sys.stderr, flush=True)
    sys.exit(1)


#: What a job writes in its folder; a job that runs again (in a resumed sweep) removes these
#: first, so that its new result lands in ``<n>/`` itself. Anything else is left alone.
JOB_FILES = (
    "error.json",
    ".error.json.tmp",
    "experiment.json",
    "summary.json",
    "provenance.json",
    "config.yaml",
    "weekly.parquet",
    "groups.parquet",
    "snapshots.parquet",
    "adoption_vs_value.png",
)


def _clear_job_folder(folder: Path) -> None:
    """Before a job runs (again, in a resumed sweep): remove what an earlier attempt left in
    its folder (error.json, a result of other overrides or code) and its hidden temporary
    folders (``.<n>.<hex>.tmp`` beside it, from a process killed while writing)."""
    for name in JOB_FILES:
        (folder / name).unlink(missing_ok=True)
    for stale in folder.parent.glob(f".{folder.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)


def reproduce_command(overrides: list[str]) -> str:
    """The single run that gives a sweep job's results again (``hydra.mode=RUN`` in case a
    preset in the overrides makes ``python -m sim`` a sweep)."""
    return shlex.join(["python", "-m", "sim", *overrides, "hydra.mode=RUN"])


def job_error(folder: Path, num: int, overrides: list[str], error: BaseException) -> str:
    """Write ``<folder>/error.json`` (the job, its overrides, what went wrong) and return the
    message as one line."""
    if isinstance(error, InputError):
        message = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
    elif isinstance(error, SystemExit):
        message = f"the experiment stopped with exit status {error.code} (its message is above)"
    else:
        message = f"{type(error).__name__}: {error}".replace("\n", " ")
    record = {
        "job": num,
        "overrides": list(overrides),
        "error": type(error).__name__,
        "message": message,
        "command": reproduce_command(overrides),
    }
    if not isinstance(error, InputError | SystemExit):  # a bug: keep where it happened
        record["traceback"] = traceback.format_exception(error)
    tmp = folder / ".error.json.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, folder / "error.json")
    except OSError as e:
        tmp.unlink(missing_ok=True)  # a full disk: leave nothing half-written
        message += f" (and error.json could not be written in {folder}: {e.strerror or e})"
    return message


if __name__ == "__main__":
    terminate_like_interrupt()
    # Hydra reports every error through this (private) function, exit status 1 for all;
    # replacing it is the only way to give bad input its documented status, 2
    hydra._internal.utils.run_and_report = report_errors
    watch_from_the_start()
    end_without_collection()
    try:
        main()
    except KeyboardInterrupt as stopped:
        interrupted(stopped)
