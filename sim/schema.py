"""Typed configuration schema, registered in Hydra's ConfigStore.

The schemas live in the ``schema`` group, apart from the option groups in ``conf/`` (``org``,
``population``, ``scenario``, ``intervention``), so that a sweep over ``org=glob(*)`` never
picks a schema up. Each option
file extends its schema (``defaults: [/schema/org/hierarchy@_here_]``), which gives it types
and defaults; Hydra then refuses a wrong type or an unknown key with the key's name.

Defaults are declared once, where the thing they configure lives: behavioural parameters
in ``models.params.Behaviour``, organisation parameters in the generators' and loaders'
signatures (``models.generators``). The organisation schemas are derived from those
signatures here, so the command line, the Python API and the models cannot drift apart.
"""

import dataclasses
import functools
import inspect
import secrets
import types
import typing
from dataclasses import dataclass as _dataclass
from dataclasses import field, fields, make_dataclass
from datetime import datetime
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import LocalQueueConf
from omegaconf import MISSING, OmegaConf

from models import generators
from models.interventions import Intervention
from models.params import Behaviour
from sim.replicate import BATCH_ROWS


def _omegaconf_type(hint):
    """OmegaConf understands ``Optional[X]`` but not ``X | None``; unions it cannot type
    become ``Any``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return Optional[args[0]] if len(args) == 1 else Any  # noqa: UP045 (OmegaConf needs it)
    return hint


def _schema_from_signature(kind: str, fn) -> type:
    """A dataclass with ``generator: str = kind`` and one field per parameter of ``fn``
    (except ``rng``), typed and defaulted as in the signature; no default means required."""
    hints = typing.get_type_hints(fn)
    specs: list[tuple] = [("generator", str, field(default=kind))]
    for name, p in inspect.signature(fn).parameters.items():
        if name == "rng":
            continue
        default = MISSING if p.default is inspect.Parameter.empty else p.default
        specs.append((name, _omegaconf_type(hints.get(name, Any)), field(default=default)))
    return make_dataclass(f"{kind.title().replace('_', '')}Org", specs)


def _mutable_copy(cls: type, name: str, skip: tuple[str, ...] = ()) -> type:
    """A plain (not frozen) dataclass with ``cls``'s fields: OmegaConf makes a node built
    from a frozen dataclass read-only, which would refuse every override."""
    specs = [
        (
            f.name,
            _omegaconf_type(f.type),
            field(default=MISSING if f.default is dataclasses.MISSING else f.default),
        )
        for f in fields(cls)
        if f.name not in skip
    ]
    return make_dataclass(name, specs)


PopulationSchema = _mutable_copy(Behaviour, "PopulationSchema")
# An intervention's name is its key in ``scenario.interventions``.
InterventionSchema = _mutable_copy(Intervention, "InterventionSchema", skip=("name",))

ORG_SCHEMAS: dict[str, type] = {
    kind: _schema_from_signature(kind, fn) for kind, fn in generators.BUILDERS.items()
}


@_dataclass
class ScenarioConfig:
    """A named programme: interventions keyed by a name of their own (so that one can be
    overridden from the command line: ``scenario.interventions.mandate.end=52``)."""

    name: str = "baseline"
    description: str = "Deploy the network and wait: no intervention."
    # what figures and reports call it ("" = its name, made readable: experiments/compare.py)
    label: str = ""
    interventions: dict[str, InterventionSchema] = field(default_factory=dict)


@_dataclass
class ChampionsConfig:
    # Share of non-managers who are champions (Rogers' 2.5% innovators); null: the
    # champions a network file marks (org=file with a role column).
    share: Optional[float] = 0.025  # noqa: UP045 (OmegaConf needs Optional)
    rule: str = "random"  # random | degree | betweenness | bridging


@_dataclass
class ExperimentConfig:
    """What ``python -m sim`` does: one run (``none``), or a study from ``experiments/``."""

    name: str = "none"  # none | compare | optimise | validate | sensitivity | calibrate
    replications: int = 30  # compare: replications per programme (common random numbers)
    scenarios: list[str] = field(default_factory=list)  # compare: programmes; [] = all
    jobs: int = 2  # compare: worker processes
    # studies: the largest ensemble, in agent rows (runs × people), stepped together
    batch_rows: int = BATCH_ROWS
    bootstrap: int = 2000  # compare: bootstrap resamples for confidence intervals
    dir: str = "results/compare"  # compare: where its folder is written
    # compare: named variants, {name: {base: <programme>, set: {<scenario key>: value}}}
    programmes: Any = None  # (a dict: given whole, {name: {...}}, it may hold any names)
    programme_dir: Optional[str] = None  # noqa: UP045 compare: a folder of programme files
    draws: int = 20  # compare, optimise: parameter sets drawn from a calibration ensemble
    equal_duration: Optional[int] = None  # noqa: UP045 compare: every programme runs N weeks
    equal_cost: Optional[float] = None  # noqa: UP045 compare: every programme costs N hours
    pilots: int = 3  # compare with equal_cost: seeds per pilot run that finds each scale
    trials: int = 100  # optimise: programmes tried by the search
    space: Any = None  # optimise: levers and the ranges searched; null: every building block
    ranges: Any = None  # optimise: the ranges of a lever that gives none
    # validate: which patterns to run ([] = all of them); see experiments/validate.py
    patterns: list[str] = field(default_factory=list)
    # validate: each pattern's parameters; sensitivity: the method settings. The presets in
    # conf/experiment/ list every key, so each can be overridden from the command line
    # (``experiment.params.bass.p=0.05``); the study checks names, types and ranges.
    params: Any = field(default_factory=dict)


@_dataclass
class CalibrationConfig:
    """A calibration ensemble (sim/posterior.py): weighted parameter sets that studies draw
    from to carry parameter uncertainty; ``none`` (no path) means none."""

    name: str = "none"
    path: Optional[str] = None  # noqa: UP045 (OmegaConf needs Optional) Parquet file
    description: str = ""


@_dataclass
class ReportConfig:
    """How studies' reports state amounts: hours, and money at ``hour_value`` per hour."""

    hour_value: Optional[float] = None  # noqa: UP045 money per hour of work; null: hours only
    currency: str = ""  # e.g. EUR, shown after money amounts
    labels: Any = None  # {programme name: label in figures and reports}


@_dataclass
class DataConfig:
    """An organisation's usage export to calibrate to (experiments/usage_data.py); no path
    means none: ``experiment=calibrate`` then fits the published field patterns."""

    path: Optional[str] = None  # noqa: UP045 (OmegaConf needs Optional) CSV file
    format: str = "auto"  # auto | weekly | m365 (the Viva Engage activity user counts)
    # date of the rollout (YYYY-MM-DD), the model's week 0; null: the first observed week
    launch: Optional[str] = None  # noqa: UP045
    visit_days: float = 2.0  # m365: days a weekly-active person reads, on average
    post_days: float = 1.0  # m365: days a weekly poster posts, on average


@_dataclass
class OutputConfig:
    dir: str = "results/runs"  # where run folders are written
    plot: bool = True  # write adoption_vs_value.png
    progress: bool = True  # show a progress bar on a terminal
    # agent-level snapshots.parquet every this many weeks (0: none; they grow with agents ×
    # weeks, the weekly records do not); models/snapshots.py
    snapshots: int = 0


@_dataclass
class RunConfig:
    org: Any = MISSING
    population: Any = MISSING
    weeks: int = 260
    seed: int = 0
    discount_rate: float = 0.0  # annual, for the discounted long-run value
    champions: ChampionsConfig = field(default_factory=ChampionsConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    data: DataConfig = field(default_factory=DataConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    budget: Optional[float] = None  # noqa: UP045 optimise: most hours a programme may cost


@_dataclass
class LocalSubmititConfig(LocalQueueConf):
    """``hydra/launcher=local_submitit``: the submitit plugin's local launcher, which starts
    every job at once, with a limit (``hydra_plugins/beyond_adoption/local_submitit.py``)."""

    _target_: str = "hydra_plugins.beyond_adoption.local_submitit.LocalSubmititLauncher"
    array_parallelism: int = -1  # jobs running at once; -1: one per CPU (sim.workers)


def unique_name() -> str:
    """``${unique_name:}``, the default sweep folder's name (``hydra.sweep.dir``): the start
    time and a random suffix, so that sweeps started in the same second never share a folder.
    OmegaConf caches it in the config (``use_cache``) and Hydra copies that cache into every
    job's config, so the launching process and every job agree on it."""
    return f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{secrets.token_hex(3)}"


# At import, not in register(): a sweep job in a worker process resolves the folder's name
# (from the cache its config carries) wherever it unpickles its config.
if not OmegaConf.has_resolver("unique_name"):
    OmegaConf.register_new_resolver("unique_name", unique_name, use_cache=True)


def _register_launchers() -> None:
    """Make the project's launchers known to Hydra however the package was installed.

    Hydra finds plugins by listing the ``hydra_plugins`` namespace, which an editable install's
    import hook hides: outside the checkout, ``sim.simulate`` found no
    ``hydra/launcher/ensemble`` and a sweep no launcher class. Importing the modules stores
    their configs; registering the classes lets Hydra instantiate them."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.beyond_adoption.ensemble_launcher import EnsembleLauncher
    from hydra_plugins.beyond_adoption.local_submitit import LocalSubmititLauncher

    for launcher in (EnsembleLauncher, LocalSubmititLauncher):
        Plugins.instance().register(launcher)


@functools.cache
def register() -> None:
    """Put every schema in the ConfigStore, once per process (a store costs a few ms, and
    ``sim.simulate`` calls this on every run)."""
    cs = ConfigStore.instance()
    _register_launchers()
    cs.store(group="schema", name="run", node=RunConfig)
    cs.store(group="schema", name="population", node=PopulationSchema)
    cs.store(group="schema/launcher", name="local_submitit", node=LocalSubmititConfig)
    for kind, schema in ORG_SCHEMAS.items():
        cs.store(group="schema/org", name=kind, node=schema)
