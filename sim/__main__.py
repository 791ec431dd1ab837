"""``python -m sim``: one run from the Hydra config in ``conf/``, or a sweep of runs.

Writes ``results/runs/<timestamp>/`` (weekly.parquet, groups.parquet, summary.json,
config.yaml, provenance.json, adoption_vs_value.png) and prints where. Bad input stops with
one message and a non-zero exit status, before anything is written.

With ``-m`` (Hydra multirun, or a preset that sets ``hydra.mode: MULTIRUN``) every job writes
the same run folder at ``<sweep dir>/<job number>``. A job that fails writes only
``error.json`` there and prints one line; the other jobs carry on (``sim.aggregate`` has the
sweep's start and end, and the aggregation command).
"""

import importlib
import json
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from models.errors import InputError
from sim import schema
from sim.aggregate import progress
from sim.run import check_output_dir, new_run_folder, run

schema.register()


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings (e.g. a network file repaired on load) as one line for the user, without the
    source file and line of the code that raised them."""
    return f"warning: {message}\n"


warnings.formatwarning = _format_warning


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict | None:
    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    if hydra_cfg.mode == RunMode.MULTIRUN:
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
        "validate": "experiments.validate",
        "sensitivity": "experiments.sensitivity",
    }
    if cfg.experiment.name not in studies:
        print(
            f"error: experiment.name={cfg.experiment.name!r} is not an experiment: choose one of "
            f"none, {', '.join(studies)}",
            file=sys.stderr,
        )
        sys.exit(2)
    study = importlib.import_module(studies[cfg.experiment.name])
    try:
        folder = study.main(cfg, overrides)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
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
        if cfg.experiment.name != "none":  # a study per job: it writes its own folder
            study = run_experiment(cfg, overrides)
            note = {"experiment": cfg.experiment.name, "folder": str(study), "overrides": overrides}
            (folder / "experiment.json").write_text(json.dumps(note, indent=2) + "\n")
            return {"job": num, "status": "completed"}
        result = run(cfg, overrides)
        result.provenance["command"] = reproduce_command(overrides)
        result.provenance["sweep"] = {"dir": str(folder.parent), "job": num}
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
    main()
