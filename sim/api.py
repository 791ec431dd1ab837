"""The Python entry points: compose a config from overrides, and simulate it."""

import threading

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from models.errors import InputError
from sim import schema
from sim.paths import conf_dir
from sim.run import Result, check_output_dir, new_run_folder, run

CONF_DIR = conf_dir()

# Hydra keeps global state while it composes ("GlobalHydra is already initialized" when two
# threads compose at once, e.g. two dashboard tabs pressing Reset): one composer at a time.
_COMPOSING = threading.Lock()


def compose(overrides: list[str] = (), config_name: str = "config") -> DictConfig:
    """The config ``python -m sim <overrides>`` would use, with Hydra's own checks.

    Hydra's complaints (an unknown option, a value of the wrong type) are turned into an
    ``InputError`` carrying Hydra's message, which names the key.
    """
    schema.register()
    try:
        with _COMPOSING:
            if GlobalHydra.instance().is_initialized():
                # inside ``python -m sim``: ``@hydra.main`` initialised Hydra on the same
                # config tree and refuses a second initialisation, so its instance composes
                return hydra_compose(config_name=config_name, overrides=list(overrides))
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                return hydra_compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        raise InputError(_message(e)) from e


def _message(error: BaseException) -> str:
    """Hydra's message with the messages of its causes: Hydra often says only which override
    failed ("Error merging override weeks=abc"), and the cause says why and what is allowed."""
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
    ``result.folder``.
    """
    cfg = compose(overrides)
    if write:
        check_output_dir(cfg.output.dir)
    result = run(cfg, overrides)
    if write:
        result.save(new_run_folder(cfg.output.dir), plot=cfg.output.plot)
    return result
