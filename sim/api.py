"""The Python entry points: compose a config from overrides, and simulate it.

Hydra set-up paid once. Composing a config costs about a tenth of a second, a small run about
as much. ``Composer`` composes once per distinct choice of config groups (``org=…``,
``scenario=…``, ``+intervention@…=…``) and applies every other override (``org.size=500``,
``population.noise_hours=0.1``, ``scenario.interventions.mandate.end=52``) to a copy of that
config in memory, exactly as Hydra applies overrides after composing (``OmegaConf.update``
with merging, in struct mode); the tests check that this gives the config a full compose
gives. ``simulate`` keeps one for the process, emptied when a file of ``conf/`` changes.
"""

import copy
import threading
from collections.abc import Sequence

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

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


#: Config groups Hydra itself provides (not folders of conf/).
HYDRA_GROUPS = ("hydra", "schema")


def is_group_override(override: Override) -> bool:
    """Whether an override needs Hydra to compose: it selects, adds or deletes a config group
    option (``org=small_world``, ``+intervention@scenario.interventions.d=campaign``), adds or
    deletes a key, or sets one of Hydra's own. Only plain changes of a value do not."""
    if override.type != OverrideType.CHANGE or override.package is not None:
        return True
    key = override.key_or_group
    return key.split("/")[0].split(".")[0] in HYDRA_GROUPS or (conf_dir() / key).is_dir()


def _parse(overrides: Sequence[str]) -> list[Override]:
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as e:
        raise InputError(_message(e)) from e
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if sweeps:
        raise InputError(
            f"{', '.join(sweeps)}: a sweep (several values) is not one run; give each value its "
            "own override set, or use grid="
        )
    return parsed


class Composer:
    """Configs for many override sets, composing once per distinct choice of config groups.

    ``composer(overrides)`` returns the config ``sim.compose(overrides)`` would; bad overrides
    raise ``InputError`` with Hydra's message, as ``sim.compose`` does.
    """

    def __init__(self) -> None:
        self._bases: dict[tuple[str, ...], tuple[DictConfig, RunMode | None]] = {}

    def __call__(self, overrides: Sequence[str] = ()) -> DictConfig:
        return self.with_mode(overrides)[0]

    def with_mode(self, overrides: Sequence[str] = ()) -> tuple[DictConfig, RunMode | None]:
        """The config, and the run mode its config groups set (``_compose``)."""
        parsed = _parse(overrides)
        groups = tuple(o.input_line for o in parsed if is_group_override(o))
        if groups not in self._bases:
            self._bases[groups] = _compose(list(groups))
        base, mode = self._bases[groups]
        cfg = copy.deepcopy(base)
        for override in parsed:
            if not is_group_override(override):
                apply(cfg, override)
        return cfg, mode

    @property
    def compositions(self) -> int:
        """How many times Hydra composed (one per distinct choice of config groups)."""
        return len(self._bases)


def apply(cfg: DictConfig, override: Override | str) -> None:
    """Set one value override on a composed config in place, as Hydra does after composing."""
    if isinstance(override, str):
        (override,) = _parse([override])
    key, line = override.key_or_group, override.input_line
    try:
        try:
            OmegaConf.update(cfg, key, override.value(), merge=True)
        except (ConfigAttributeError, ConfigKeyError) as e:
            raise HydraException(
                f"Could not override '{key}'.\nTo append to your config use +{line}"
            ) from e
    except OmegaConfBaseException as e:
        merging = HydraException(f"Error merging override {line}")
        merging.__cause__ = e
        raise InputError(_message(merging)) from e
    except HydraException as e:
        raise InputError(_message(e)) from e


class _Shared:
    """The ``Composer`` of ``simulate`` for the whole process, started afresh when a file of
    the config tree has changed since (a notebook user editing a programme file)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._composer = Composer()

    def __call__(self, overrides: Sequence[str]) -> tuple[DictConfig, RunMode | None]:
        stamp = _conf_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._composer = stamp, Composer()
            composer = self._composer
        return composer.with_mode(overrides)


def _conf_stamp() -> tuple:
    """The config tree's files and their modification times (a few hundred stat calls)."""
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in CONF_DIR.rglob("*.yaml")))


_SHARED = _Shared()


def simulate(overrides: list[str] = (), write: bool = False) -> Result:
    """Run one simulation from command-line style overrides, e.g. ``["weeks=52"]``.

    With ``write=True`` the run folder is written as by ``python -m sim``, and its path is in
    ``result.folder``. Overrides that make a study (``experiment=compare``) or a sweep (a
    sweep preset) are refused with the function or command that runs them: doing one run
    of them instead would look like their result.
    """
    cfg, mode = _SHARED(overrides)
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
