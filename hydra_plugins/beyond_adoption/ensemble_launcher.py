"""The ``ensemble`` launcher: a sweep's ordinary runs simulated together, then each job run.

Hydra's basic launcher runs a sweep's jobs one after another, each composing its config and
simulating one run. This launcher composes every job's config once, simulates all the jobs
that are ordinary runs together in ensembles (``sim.batched``: runs of one organisation size
stepped at once, over ``n_jobs`` worker processes), and then runs each job as the basic
launcher would, in order, with the same config — the job takes its result instead of
simulating it, and writes, reports and records exactly what it would have alone. Studies
(``experiment=...``) and jobs with snapshots run as usual. It is the default launcher for
sweeps (``conf/config.yaml``); ``hydra/launcher=basic`` runs jobs one by one.
"""

import copy
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, configure_log, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write


@dataclass
class EnsembleLauncherConf:
    _target_: str = "hydra_plugins.beyond_adoption.ensemble_launcher.EnsembleLauncher"
    n_jobs: int = 2  # worker processes for the ensembles (capped at the CPUs available)


ConfigStore.instance().store(
    group="hydra/launcher", name="ensemble", node=EnsembleLauncherConf, provider="beyond_adoption"
)


class EnsembleLauncher(Launcher):
    def __init__(self, n_jobs: int = 2) -> None:
        super().__init__()
        self.n_jobs = int(n_jobs)
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from sim import batched
        from sim.resume import completed_job

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        configs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(cfg):
                cfg.hydra.job.id = idx
                cfg.hydra.job.num = idx
            configs.append((idx, cfg, list(overrides)))
        ahead = {}
        for idx, cfg, overrides in configs:
            folder = sweep_dir / str(cfg.hydra.sweep.subdir)
            if batched.batchable(cfg) and not _complete(completed_job, folder, overrides, cfg):
                ahead[idx] = (cfg, overrides)
        if ahead:
            batched.simulate_ahead(ahead, self.n_jobs, sys.stderr.isatty())
        runs = []
        for _, cfg, _ in configs:
            runs.append(
                run_job(
                    hydra_context=self.hydra_context,
                    task_function=self.task_function,
                    config=cfg,
                    job_dir_key="hydra.sweep.dir",
                    job_subdir_key="hydra.sweep.subdir",
                )
            )
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return runs


def _complete(completed_job, folder: Path, overrides: list[str], cfg: DictConfig) -> bool:
    """Whether the job's folder already holds its result (a resumed sweep): not simulated.
    The job's config is compared as the job sees it, without Hydra's own node."""
    task = copy.deepcopy(cfg)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return completed_job(folder, overrides, OmegaConf.to_container(task, resolve=True))
