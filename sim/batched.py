"""Sweep jobs simulated ahead, together: what the ensemble launcher hands to each job.

A Hydra sweep runs one job per combination of values, each an ordinary run. Run one by one,
every run pays the fixed cost of a weekly step; the ``ensemble`` launcher
(``hydra_plugins/beyond_adoption/ensemble_launcher.py``, the default for sweeps) first composes
every job's config once, simulates all the ordinary runs among them together in ensembles
(``sim.replicate.simulate_jobs``), and keeps each job's result here; then each job runs as
usual (``sim.__main__.sweep_job``) and takes its result instead of simulating it, so that
everything a job writes, reports and records is what it would have been alone — the results
are the same, as run i of an ensemble is the same run alone.
"""

from omegaconf import DictConfig, OmegaConf

from models.errors import InputError
from sim.provenance import provenance
from sim.replicate import ID_COLUMNS, Spec, simulate_jobs
from sim.run import Result, config_problems

#: Job number → its result, simulated ahead (taken once).
_READY: dict[int, Result] = {}


def batchable(cfg: DictConfig) -> bool:
    """Whether a job is an ordinary run the launcher can simulate ahead: no study, no
    agent-level snapshots (they are taken by a lone model), and a valid config (an invalid one
    is left to the job, which reports it as it always does)."""
    if cfg.experiment.name != "none" or OmegaConf.select(cfg, "output.snapshots", default=0):
        return False
    try:
        return not config_problems(cfg)
    except (InputError, ValueError):
        return False


def simulate_ahead(
    jobs: dict[int, tuple[DictConfig, list[str]]], n_jobs: int, progress: bool
) -> None:
    """Simulate the jobs (number → (config, overrides)) together and keep each job's result."""
    numbers = list(jobs)
    specs = [(Spec.from_config(cfg, "job"), 0, int(cfg.seed)) for cfg, _ in jobs.values()]
    outputs = simulate_jobs(specs, n_jobs, progress, f"{len(specs)} runs", groups=True)
    for num, out in zip(numbers, outputs, strict=True):
        cfg, overrides = jobs[num]
        summary = {k: v for k, v in out.summary.items() if k not in ID_COLUMNS}
        _READY[num] = Result(
            weekly=out.weekly.drop(columns=list(ID_COLUMNS)),
            groups=out.groups,
            summary=summary,
            config=OmegaConf.to_container(cfg, resolve=True),
            provenance=provenance(int(cfg.seed), list(overrides)),
        )


def take(num: int) -> Result | None:
    """Job ``num``'s result if it was simulated ahead (once: it is forgotten when taken)."""
    return _READY.pop(num, None)
