"""Many runs from one call: ``sim.simulate_many``, and the composer every study shares.

    import sim
    runs = sim.simulate_many([["scenario=mandate"], ["scenario=sense_making"]], replications=10)
    runs = sim.simulate_many(grid={"champions.share": [0, 0.05, 0.1], "champions.rule":
                                   ["random", "bridging"]}, replications=5)
    runs, weekly = sim.simulate_many(grid={"weeks": [52, 104]}, weekly=True)

The use case of Mesa's ``batch_run``, run through ``sim.replicate.run_jobs``: runs of one size
and horizon are stepped together in vectorised ensembles, spread over worker processes, each
the run it would be alone. One row per run: ``job`` (the position of
its override set), one column per override key holding the value as Hydra parses it,
``replication``, ``seed``, ``scenario`` and every scalar of the run's summary — the names of
``summary.json``, of a comparison's ``runs.csv`` and of a sweep's ``sweep.csv``.

Seeds. Without ``replications`` each override set runs once with its config's ``seed`` (the
run ``sim.simulate(overrides)`` makes, number for number). With ``replications=R`` each runs
R times with the seeds ``sim.replicate.replication_seeds(seed, R)`` spawns from its config's
seed: replication i of every override set gets the same seed (common random numbers).

Hydra set-up paid once: every override set's config comes from ``sim.api.Composer``, which
composes once per distinct choice of config groups and applies the other overrides in memory.
"""

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from omegaconf import DictConfig

from models.errors import InputError
from sim.api import Composer
from sim.replicate import Spec, replication_seeds, run_jobs
from sim.workers import worker_count


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
    results do not depend on it; at most the CPUs, ``sim.workers.worker_count``). Bad
    overrides raise ``InputError`` before any run.
    """
    sets = [list(o) for o in overrides] if overrides is not None else [[]]
    if grid is not None:
        sets = [[*s, *g] for s in sets for g in grid_overrides(grid)]
    if replications is not None and (isinstance(replications, bool) or replications < 1):
        raise InputError(f"replications={replications!r} is not allowed: give at least 1")
    jobs = worker_count(jobs, "jobs")
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
