"""The ``local_submitit`` launcher (``conf/hydra/launcher/local_submitit.yaml``, schema in
``sim.schema``): the submitit plugin's local launcher, which would start every job of a sweep
at once, limited to ``array_parallelism`` jobs at a time as SLURM's job arrays are. Hydra
instantiates launchers only from the ``hydra_plugins`` package, so the class lives here.
"""

from typing import Any

from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher


class LocalSubmititLauncher(LocalLauncher):
    """Submits the sweep's jobs to submitit's local executor in batches of
    ``array_parallelism`` (default -1: one per CPU; a larger number is lowered to the CPUs,
    ``sim.workers.worker_count``), each batch once the one before has finished."""

    def __init__(self, array_parallelism: int = -1, **params: Any) -> None:
        super().__init__(**params)
        self.array_parallelism = array_parallelism

    def launch(self, job_overrides, initial_job_idx: int) -> list:
        from sim.workers import worker_count

        at_once = worker_count(self.array_parallelism, "hydra.launcher.array_parallelism")
        returns = []
        for first in range(0, len(job_overrides), at_once):
            batch = job_overrides[first : first + at_once]
            returns += super().launch(batch, initial_job_idx + first)
        return returns
