"""The Python entry points: compose a config from overrides, and simulate it."""

import threading

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException

from models.errors import InputError
from sim import schema
from sim.paths import conf_dir
from sim.run import Result, check_output_dir, new_run_folder, run

CONF_DIR = conf_dir()

#: The studies ``experiment.name`` can name, and the module whose ``main(cfg, overrides)`` runs
#: each (``python -m sim experiment=<name>`` calls it).
STUDIES = {
    "compare": "experiments.compare",
    "optimise": "experiments.optimise",
    "validate": "experiments.validate",
    "sensitivity": "experiments.sensitivity",
    "calibrate": "experiments.calibrate",
}

# Hydra keeps global state while it composes ("GlobalHydra is already initialized" when two
# threads compose at once, e.g. two dashboard tabs pressing Reset): one composer at a time.
_COMPOSING = threading.Lock()


def compose(overrides: list[str] = (), config_name: str = "config") -> DictConfig:
    """The config ``python -m sim <overrides>`` would use, with Hydra's own checks.

    Hydra's complaints (an unknown option, a value of the wrong type) are turned into an
    ``InputError`` carrying Hydra's message, which names the key.
    """
    return _compose(overrides, config_name)[0]


def _compose(overrides, config_name: str = "config") -> tuple[DictConfig, RunMode | None]:
    """``compose``, and the run mode the config sets (a sweep preset sets MULTIRUN), which
    only the ``hydra`` node says; that node is then removed, as Hydra's compose does."""
    schema.register()
    try:
        with _COMPOSING:
            kwargs = dict(config_name=config_name, overrides=list(overrides),
                          return_hydra_config=True)  # fmt: skip
            if GlobalHydra.instance().is_initialized():
                # inside ``python -m sim``: ``@hydra.main`` initialised Hydra on the same
                # config tree and refuses a second initialisation, so its instance composes
                cfg = hydra_compose(**kwargs)
            else:
                with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                    cfg = hydra_compose(**kwargs)
    except (HydraException, OmegaConfBaseException) as e:
        raise InputError(_message(e)) from e
    mode = cfg.hydra.mode
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, mode


def _message(error: BaseException) -> str:
    """Hydra's message with the messages of its causes: Hydra often says only which override
    failed ("Error merging override weeks=abc"), and the cause says why and what is allowed.
    Our own ``InputError`` says all there is to say already."""
    if isinstance(error, InputError):
        return str(error)
    parts = []
    while error is not None:
        text = str(error).strip()
        if text and text not in parts:
            parts.append(text)
        error = error.__cause__
    return "\n".join(parts)


def simulate(overrides: list[str] = (), write: bool = False) -> Result:
    """Run one simulation from command-line style overrides, e.g. ``["weeks=52"]``.

    With ``write=True`` the run folder is written as by ``python -m sim``, and its path is in
    ``result.folder``. Overrides that make a study (``experiment=compare``) or a sweep (a
    sweep preset) are refused with the function or command that runs them: doing one run
    of them instead would look like their result.
    """
    cfg, mode = _compose(overrides)
    name = cfg.experiment.name
    if name in STUDIES:
        raise InputError(
            f"experiment={name} is a study of many runs, and sim.simulate runs one simulation; "
            f"run the study with {STUDIES[name]}.main(sim.compose(overrides), overrides), or "
            f"with python -m sim experiment={name} ..."
        )
    if mode == RunMode.MULTIRUN:
        raise InputError(
            "these overrides make a sweep (a sweep preset sets hydra.mode=MULTIRUN), and "
            "sim.simulate runs one simulation; run the sweep with python -m sim and the same "
            "overrides, or add hydra.mode=RUN for one run with the preset's other settings"
        )
    if write:
        check_output_dir(cfg.output.dir)
    result = run(cfg, overrides)
    if write:
        result.save(new_run_folder(cfg.output.dir), plot=cfg.output.plot)
    return result
