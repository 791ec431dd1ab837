"""Many runs from one call: ``sim.simulate_many``, and the composer every study shares.

    import sim
    runs = sim.simulate_many([["scenario=mandate"], ["scenario=sense_making"]], replications=10)
    runs = sim.simulate_many(grid={"champions.share": [0, 0.05, 0.1], "champions.rule":
                                   ["random", "bridging"]}, replications=5)
    runs, weekly = sim.simulate_many(grid={"weeks": [52, 104]}, weekly=True)

The use case of Mesa's ``batch_run``, run through ``sim.replicate.run_jobs`` (worker processes
now, ensembles of runs when the engine has them). One row per run: ``job`` (the position of
its override set), one column per override key holding the value as Hydra parses it,
``replication``, ``seed``, ``scenario`` and every scalar of the run's summary — the names of
``summary.json``, of a comparison's ``runs.csv`` and of a sweep's ``sweep.csv``.

Seeds. Without ``replications`` each override set runs once with its config's ``seed`` (the
run ``sim.simulate(overrides)`` makes, number for number). With ``replications=R`` each runs
R times with the seeds ``sim.replicate.replication_seeds(seed, R)`` spawns from its config's
seed: replication i of every override set gets the same seed (common random numbers).

Hydra set-up paid once. Composing a config costs about a tenth of a second, a small run about
as much. ``Composer`` composes once per distinct choice of config groups (``org=…``,
``scenario=…``, ``+intervention@…=…``) and applies every other override (``org.size=500``,
``population.noise_hours=0.1``, ``scenario.interventions.mandate.end=52``) to a copy of that
config in memory, exactly as Hydra applies overrides after composing (``OmegaConf.update``
with merging, in struct mode); the tests check that this gives the config a full compose
gives.
"""

import copy
import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from models.errors import InputError
from sim.api import _message, compose
from sim.paths import conf_dir
from sim.replicate import Spec, replication_seeds, run_jobs

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
        self._bases: dict[tuple[str, ...], DictConfig] = {}

    def __call__(self, overrides: Sequence[str] = ()) -> DictConfig:
        parsed = _parse(overrides)
        groups = tuple(o.input_line for o in parsed if is_group_override(o))
        if groups not in self._bases:
            self._bases[groups] = compose(list(groups))
        cfg = copy.deepcopy(self._bases[groups])
        for override in parsed:
            if not is_group_override(override):
                apply(cfg, override)
        return cfg

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


def format_override(key: str, value: Any) -> str:
    """``key=value`` as Hydra parses it back to ``value`` (numbers, booleans, null, strings,
    lists)."""

    def text(v: Any) -> str:
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ",".join(text(x) for x in v) + "]"
        v = str(v)
        words = ("true", "false", "null", "nan", "inf")  # Hydra reads these, in any case
        if re.fullmatch(r"[A-Za-z_][\w./:-]*", v) and v.lower() not in words:
            return v
        # Hydra unescapes backslashes only before a quote: double those, escape the quotes
        v = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", v)
        return "'" + re.sub(r"(\\+)$", lambda m: m.group(1) * 2, v) + "'"

    return f"{key}={text(value)}"


def grid_overrides(grid: Mapping[str, Sequence]) -> list[list[str]]:
    """Every combination of the grid's values (the first key varies slowest), as override
    sets."""
    keys = list(grid)
    for key in keys:
        if isinstance(grid[key], str) or not isinstance(grid[key], Sequence):
            raise InputError(f"grid[{key!r}]={grid[key]!r}: give a list of values")
    return [
        [format_override(k, v) for k, v in zip(keys, values, strict=True)]
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def specs_for(
    override_sets: Sequence[Sequence[str]], composer: Composer | None = None
) -> tuple[list[Spec], list[DictConfig]]:
    """Each override set's checked model spec and config; every bad set is reported at once,
    by its position and overrides."""
    composer = composer or Composer()
    specs, configs, errors = [], [], []
    for i, overrides in enumerate(override_sets):
        try:
            cfg = composer(overrides)
            specs.append(Spec.from_config(cfg))
            configs.append(cfg)
        except InputError as e:
            errors.append(f"job {i} ({' '.join(overrides) or 'no overrides'}): {e}")
    if errors:
        raise InputError("\n".join(errors))
    return specs, configs


def simulate_many(
    overrides: Sequence[Sequence[str]] | None = None,
    grid: Mapping[str, Sequence] | None = None,
    replications: int | None = None,
    weekly: bool = False,
    jobs: int = 1,
    progress: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Run every override set (``overrides``: a list of lists of ``key=value``; ``grid``:
    every combination of ``{key: [values]}``; both: every set with every grid point) and
    return the runs table, one row per run; with ``weekly=True`` also the weekly table, one
    row per run × week with the same ``job``, override, ``replication`` and ``seed`` columns.

    ``replications``: None runs each set once with its config's seed; R runs it R times
    (seeds spawned from its seed, common to every set). ``jobs``: worker processes (the
    results do not depend on it). Bad overrides raise ``InputError`` before any run.
    """
    sets = [list(o) for o in overrides] if overrides is not None else [[]]
    if grid is not None:
        sets = [[*s, *g] for s in sets for g in grid_overrides(grid)]
    if replications is not None and (isinstance(replications, bool) or replications < 1):
        raise InputError(f"replications={replications!r} is not allowed: give at least 1")
    specs, configs = specs_for(sets)
    work, labels = [], []
    for i, (spec, cfg) in enumerate(zip(specs, configs, strict=True)):
        seeds = [int(cfg.seed)]
        if replications is not None:
            seeds = replication_seeds(cfg.seed, replications)
        for r, seed in enumerate(seeds):
            work.append((spec, r, seed))
            labels.append(i)
    weekly_table, runs = run_jobs(work, n_jobs=jobs, progress=progress, desc="simulate_many")
    runs = with_job_columns(runs, labels, sets)
    if not weekly:
        return runs
    rows = [j for (spec, _, _), j in zip(work, labels, strict=True) for _ in range(spec.weeks)]
    return runs, with_job_columns(weekly_table, rows, sets)


def with_job_columns(
    table: pd.DataFrame, labels: Sequence[int], sets: Sequence[Sequence[str]]
) -> pd.DataFrame:
    """``table`` (rows in job order) with ``job`` and one column per override key in front. A
    key the table has too (``seed``, ``weeks``, ``scenario``) keeps the run's own value: with
    replications a run's seed is not the override's root seed."""
    from sim.aggregate import parse_override

    parsed = [dict(parse_override(o) for o in s) for s in sets]
    keys = [k for k in dict.fromkeys(k for p in parsed for k in p) if k not in table.columns]
    front = pd.DataFrame({"job": list(labels)})
    for key in keys:
        front[key] = [parsed[j].get(key) for j in labels]
    return pd.concat([front, table.reset_index(drop=True)], axis=1)
