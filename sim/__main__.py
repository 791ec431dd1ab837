"""``python -m sim``: one run from the Hydra config in ``conf/``.

Writes ``results/runs/<timestamp>/`` (weekly.parquet, groups.parquet, summary.json,
config.yaml, provenance.json, adoption_vs_value.png) and prints where. Bad input stops with
one message and a non-zero exit status, before anything is written.
"""

import importlib
import sys
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from models.errors import InputError
from sim import schema
from sim.run import check_output_dir, new_run_folder, run

schema.register()


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings (e.g. a network file repaired on load) as one line for the user, without the
    source file and line of the code that raised them."""
    return f"warning: {message}\n"


warnings.formatwarning = _format_warning


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    overrides = list(HydraConfig.get().overrides.task)
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


def run_experiment(cfg: DictConfig, overrides: list[str]) -> None:
    """A study from ``experiments/`` (``experiment=<name>``), with the same error handling."""
    studies = {"compare": "experiments.compare"}
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


if __name__ == "__main__":
    main()
