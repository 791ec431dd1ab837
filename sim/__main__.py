"""``python -m sim``: one run from the Hydra config in ``conf/``, or a sweep of runs.

Writes ``results/runs/<timestamp>/`` (weekly.parquet, groups.parquet, summary.json,
config.yaml, provenance.json, adoption_vs_value.png) and prints where. Bad input stops with
one message and a non-zero exit status, before anything is written.

With ``-m`` (Hydra multirun, or a preset that sets ``hydra.mode: MULTIRUN``) every job writes
the same run folder at ``<sweep dir>/<job number>``. A job that fails writes only
``error.json`` there and prints one line; the other jobs carry on (``sim.aggregate`` has the
sweep's start and end, and the aggregation command). The same sweep run again into the same
``hydra.sweep.dir`` skips the jobs whose folder already holds their complete, valid result
(``sim.resume``) and runs the others.

Ctrl-C and SIGTERM stop a run, a study or a sweep with one line saying what was kept
(``sim.signals``); nothing half-written is left. An unexpected error (a bug) is one line too,
with the traceback saved to a file for a bug report (``crashed``).
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
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from models.errors import InputError
from sim import batched, schema
from sim.aggregate import progress
from sim.paths import conf_dir
from sim.replicate import batching
from sim.resume import code_fingerprint, completed_job
from sim.run import check_output_dir, new_run_folder, run
from sim.signals import interrupted, terminate_like_interrupt

schema.register()


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings (e.g. a network file repaired on load) as one line for the user, without the
    source file and line of the code that raised them."""
    return f"warning: {message}\n"


warnings.formatwarning = _format_warning

#: What an interruption stops, and what the user can do then (set as the command proceeds).
STOPPING = {"what": "the run", "hint": ""}


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict | None:
    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    if hydra_cfg.mode == RunMode.MULTIRUN:
        STOPPING["what"] = "the sweep"
        STOPPING["hint"] = (
            "finished jobs are kept; run the same command again with "
            f"hydra.sweep.dir={shlex.quote(str(hydra_cfg.sweep.dir))} to run the others"
        )
        return sweep_job(cfg, overrides)
    if cfg.experiment.name != "none":
        run_experiment(cfg, overrides)
        return
    try:
        check_output_dir(cfg.output.dir)
        result = run(cfg, overrides, progress=cfg.output.progress and sys.stderr.isatty())
        folder = result.save(new_run_folder(cfg.output.dir), plot=cfg.output.plot)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        crashed(e)
    s = result.summary
    print(
        f"{s['weeks']} weeks, {s['agents']} agents: long-run value {s['long_run_value']:,.0f} h, "
        f"peak weekly-active {s['peak_active_share']:.0%}, "
        f"adopted {s['final_adopted_share']:.0%}, adoption–value gap {s['adoption_value_gap']:.2f}"
    )
    print(f"wrote {folder}")


def run_experiment(cfg: DictConfig, overrides: list[str]) -> Path | None:
    """A study from ``experiments/`` (``experiment=<name>``), with the same error handling."""
    studies = {
        "compare": "experiments.compare",
        "optimise": "experiments.optimise",
        "validate": "experiments.validate",
        "sensitivity": "experiments.sensitivity",
        "calibrate": "experiments.calibrate",
    }
    if cfg.experiment.name not in studies:
        print(
            f"error: experiment.name={cfg.experiment.name!r} is not an experiment: choose one of "
            f"none, {', '.join(studies)}",
            file=sys.stderr,
        )
        sys.exit(2)
    study = importlib.import_module(studies[cfg.experiment.name])
    STOPPING["what"] = f"experiment={cfg.experiment.name}"
    if cfg.experiment.name == "compare":
        STOPPING["hint"] = (
            "no results folder was written; the replications completed so far are saved in "
            f"{Path(cfg.experiment.dir) / '.partial'}, and the same command run again "
            "simulates only the others"
        )
    if cfg.experiment.name == "optimise":
        STOPPING["hint"] = (
            f"the trials completed so far are kept in {Path(cfg.experiment.dir) / '.optuna'}; "
            "the same command continues the search"
        )
    elif cfg.experiment.name == "calibrate":
        STOPPING["hint"] = (
            "no results folder was written; the generations completed so far are kept in "
            f"{Path(cfg.experiment.dir) / '.partial'}, and the same command run again continues "
            "from them"
        )
    try:
        with batching(cfg.experiment.batch_rows):
            folder = study.main(cfg, overrides)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        crashed(e)
    print(f"wrote {folder}")
    return folder


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
        config = OmegaConf.to_container(cfg, resolve=True)
        if cfg.experiment.name == "none" and completed_job(folder, overrides, config):
            print(f"{label}: already complete in {folder}, skipped", flush=True)
            return {"job": num, "status": "completed", "skipped": True}
        _clear_job_folder(folder)
        if cfg.experiment.name != "none":  # a study per job: it writes its own folder
            study = run_experiment(cfg, overrides)
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
        print(f"error: {label} failed: {message}", file=sys.stderr, flush=True)
        return {"job": num, "status": "failed", "message": message}
    s = result.summary
    done = progress(folder.parent, num)
    print(
        f"{label}: long-run value {s['long_run_value']:,.0f} h, "
        f"peak weekly-active {s['peak_active_share']:.0%}; wrote {result.folder}"
        + (f" [{done}]" if done else ""),
        flush=True,
    )
    return {"job": num, "status": "completed"}


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
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".error.json.tmp"
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(tmp, folder / "error.json")
    except OSError as e:
        message += f" (and error.json could not be written in {folder}: {e.strerror or e})"
    return message


if __name__ == "__main__":
    terminate_like_interrupt()
    try:
        main()
    except KeyboardInterrupt as stopped:
        interrupted(stopped, STOPPING["what"], STOPPING["hint"])
