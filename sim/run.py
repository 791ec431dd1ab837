"""One run from a config: validate, build the model, simulate, and write the run folder.

The flow is one way: config → model → weekly records → run folder. Everything that can be
wrong with the input is found before the first week is simulated, and the folder is written
under a temporary name and renamed at the end, so a failed or interrupted run leaves
nothing that looks like a result.
"""

import dataclasses
import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from models import interventions, targeting
from models.errors import InputError
from models.interventions import Intervention
from models.loaders import file_problem
from models.params import Behaviour, discount_problems, problems
from sim.provenance import provenance
from sim.resources import memory_problems

if TYPE_CHECKING:
    from models.model import AdoptionModel


@dataclass
class Result:
    """What a run produced: weekly records, per-group records, the summary and the config."""

    weekly: pd.DataFrame
    groups: pd.DataFrame
    summary: dict
    config: dict
    provenance: dict = field(default_factory=dict)
    model: "AdoptionModel | None" = field(default=None, repr=False)
    folder: Path | None = None  # set once the run folder is written
    # agent-level snapshots (output.snapshots > 0), written as snapshots.parquet
    snapshots: pd.DataFrame | None = field(default=None, repr=False)

    def save(self, folder: str | Path, plot: bool = True) -> Path:
        """Write the run folder atomically: build it under a hidden temporary name beside
        ``folder``, then rename it into place.

        An existing folder is never overwritten: if ``folder`` is taken (by another run that
        finished in the same second, say), the run goes to ``<folder>_1``, ``<folder>_2``, ...
        and ``self.folder`` says where.
        """

        def build(tmp: Path) -> None:
            self.weekly.to_parquet(tmp / "weekly.parquet", index=False)
            self.groups.to_parquet(tmp / "groups.parquet", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")
            (tmp / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(self.config)))
            (tmp / "provenance.json").write_text(json.dumps(self.provenance, indent=2) + "\n")
            if self.snapshots is not None:
                self.snapshots.to_parquet(tmp / "snapshots.parquet", index=False)
            if plot:
                from sim.plots import adoption_vs_value

                scenario = self.config.get("scenario", {})  # the programme's name on it
                label = scenario.get("label") or scenario.get("name", "")
                adoption_vs_value(self.weekly, tmp / "adoption_vs_value.png", label)

        self.folder = write_atomically(Path(folder), build, key="output.dir")
        return self.folder


def write_atomically(folder: Path, build: Callable[[Path], None], key: str) -> Path:
    """Build a folder under a hidden temporary name beside ``folder`` and rename it into place
    (``folder_1``, ... if taken); on any failure remove it, so nothing half-written remains.
    ``key`` is the config key of the results folder, for messages. mkdir honours the umask
    (tempfile.mkdtemp would leave the folder private, 0700)."""
    tmp = folder.parent / f".{folder.name}.{secrets.token_hex(6)}.tmp"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
    except OSError as e:
        raise InputError(f"{key}: cannot write to {folder.parent}: {e.strerror}") from e
    try:
        build(tmp)
        return _move_into_place(tmp, folder)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise InputError(
                f"{key}: cannot write the results folder in {folder.parent}: {e.strerror or e}"
            ) from e
        raise


def _move_into_place(tmp: Path, folder: Path) -> Path:
    """Rename ``tmp`` to ``folder``, or to ``folder_1``, ``folder_2``, ... if it is taken.

    ``os.rename`` refuses to replace a non-empty folder, so two runs can never overwrite each
    other, even when they pick the same name at the same moment."""
    target, i = folder, 1
    while True:
        try:
            os.rename(tmp, target)
            return target
        except OSError as e:
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
        target = folder.with_name(f"{folder.name}_{i}")
        i += 1


def check(cfg: DictConfig) -> None:
    """Refuse a config with a missing, out-of-range or unknown value, naming every bad key at
    once (``config_problems``)."""
    errors = config_problems(cfg)
    if errors:
        raise InputError("\n".join(errors))


def config_problems(cfg: DictConfig) -> list[str]:
    """One message per problem of a composed run config (empty when it is valid):
    interpolations (``${...}``) that cannot be resolved or resolve to a value of the wrong
    type; keys no schema has (added with ``+``) and keys removed (``~``); required keys not
    given; behavioural
    parameters outside their ranges or not finite; the organisation's parameters and files;
    horizon, seed and discount rate; the champions' share and rule; every field of every
    intervention, including start ≤ end; and, once all of those hold, the memory the run (or
    comparison) needs against the memory available (``sim.resources``). Each message names the
    full key, the bad value and what is allowed. Types and unknown keys of known nodes were
    refused earlier, by Hydra, while composing (``sim.api.compose``)."""
    # Nearly every config resolves, every value given: read at once into plain containers, it
    # leaves the searches for bad interpolations and missing keys nothing to find, and the
    # population's values are read from the plain copy (several times faster than the node).
    plain = _resolved(cfg)
    errors = (interpolation_problems(cfg) if plain is None else []) or schema_problems(cfg)
    if errors:  # every other check reads values, which would raise on these
        return errors
    errors = [
        f"{key} is required but not given: add {key}=<value>"
        for key in sorted(OmegaConf.missing_keys(cfg) if plain is None else ())
    ]  # e.g. org=file without org.path
    errors += problems(cfg.population if plain is None else plain["population"])
    errors += org_problems(cfg.org)
    if cfg.weeks < 1:
        errors.append(f"weeks={cfg.weeks} is not allowed: it must be at least 1")
    if cfg.seed < 0:
        errors.append(f"seed={cfg.seed} is not allowed: it must be a non-negative integer")
    errors += discount_problems(cfg.discount_rate)
    if cfg.get("budget") is not None and cfg.experiment.name != "optimise":
        errors.append(
            f"budget={cfg.budget} means nothing here: it is the most a programme may cost in "
            "the budget search (python -m sim experiment=optimise budget=10000); remove it"
        )
    share = cfg.champions.share
    if share is not None and not 0 <= share <= 1:
        errors.append(f"champions.share={share} is not allowed: it must be between 0 and 1")
    elif share == 1:
        errors.append(
            f"champions.share={share} is not allowed: it would make every non-manager a "
            "champion and leave no employees; it must be between 0 and 1, below 1"
        )
    if cfg.champions.rule not in targeting.RULES:
        errors.append(
            f"champions.rule={cfg.champions.rule!r} is not a targeting rule: "
            f"choose one of {', '.join(targeting.RULES)}"
        )
    nodes = OmegaConf.to_container(cfg.scenario.interventions, resolve=True)
    for name, node in nodes.items():
        try:
            iv = interventions.from_config(name, node)
        except InputError as e:
            errors.append(str(e))
            continue
        errors += iv.problems()
    if not errors:  # the estimate reads sizes that must be valid first
        errors += memory_problems(cfg)
    return errors


def _resolved(cfg: DictConfig) -> dict | None:
    """The config as plain containers with every interpolation resolved, or None if some
    interpolation cannot be resolved (or resolves to a value of the wrong type) or some value
    is missing (``???``)."""
    try:
        return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException:
        return None


def interpolation_problems(cfg: DictConfig) -> list[str]:
    """A message for every value written as an interpolation (``weeks=${oc.env:X}``) that
    cannot be resolved (an unset variable, a key that refers to itself) or resolves to a value
    of the wrong type, naming the key and what was written; OmegaConf would otherwise raise
    wherever the value is first read."""
    out: list[str] = []

    def walk(node, raw, prefix: str) -> None:
        keys = node.keys() if isinstance(node, DictConfig) else range(len(node))
        for key in keys:
            full = f"{prefix}{key}"
            if OmegaConf.is_missing(node, key):
                continue  # reported as required but not given
            try:
                value = node[key]
            except OmegaConfBaseException as e:
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                out.append(f"{full}={raw[key]}: the interpolation cannot be used: {reason}")
                continue
            if isinstance(value, DictConfig | ListConfig):
                walk(value, raw[key], f"{full}.")

    walk(cfg, OmegaConf.to_container(cfg, resolve=False), "")
    return out


def schema_problems(cfg: DictConfig) -> list[str]:
    """A message for every key that no schema has and for every key a schema requires that
    is gone. Hydra refuses a misspelt key, but ``+key=value`` adds it anyway (it would then be
    written into config.yaml and ignored) and ``~key`` deletes it (every later read of it
    would fail). The free-form nodes (``experiment.params``, the interventions, which are
    checked by their own fields) take any key."""
    from sim import schema

    def present(node: DictConfig, key: str):
        return node[key] if key in node and isinstance(node[key], DictConfig) else None

    org = present(cfg, "org")
    nodes = {
        "": (cfg, schema.RunConfig),
        "org.": (org, schema.ORG_SCHEMAS.get(org.get("generator")) if org else None),
        **{
            f"{name}.": (present(cfg, name), getattr(schema, kind))
            for name, kind in (
                ("population", "PopulationSchema"),
                ("champions", "ChampionsConfig"),
                ("calibration", "CalibrationConfig"),
                ("scenario", "ScenarioConfig"),
                ("experiment", "ExperimentConfig"),
                ("output", "OutputConfig"),
            )
        },
    }
    out = []
    for prefix, (node, cls) in nodes.items():
        if node is None or cls is None:
            continue  # gone (reported above) or an unknown generator (org_problems)
        known = [f.name for f in dataclasses.fields(cls)]
        raw = OmegaConf.to_container(node, resolve=False)
        where = prefix[:-1] or "the config"
        out += [
            f"{prefix}{key}={raw[key]} is not a setting: {where} has {', '.join(known)}"
            for key in node
            if key not in known
        ]
        there = set(node.keys())  # with keys still to be given (``key in node`` omits them)
        out += [
            f"{prefix}{key} is required but was removed (~{prefix}{key}): drop that override"
            for key in known
            if key not in there
        ]
    return out


#: Ranges of the generated organisations' parameters, as the generators check them
#: (``models.generators``): (checker, low, high); ``"size-1"`` is the organisation's size - 1.
ORG_LIMITS = {
    "span": ("whole", 1, None),
    "k": ("whole", 0, "size-1"),
    "m": ("whole", 1, "size-1"),
    "mean_degree": ("number", 0.0, "size-1"),
    "rewire": ("number", 0.0, 1.0),
    "team_density": ("number", 0.0, 1.0),
    "informal_degree": ("number", 0.0, None),  # above size - 1 allowed; tie budget: at build
    "department_bias": ("number", 0.0, 1.0),
}
ORG_FILES = ("path", "nodes_path", "ties_path")


def org_problems(org) -> list[str]:
    """Every problem of an ``org`` config node found without building the organisation: the
    generator's parameters out of range (with the generators' own messages) and network files
    that do not exist. What only the build can find (a malformed file, a span too wide for the
    size) is refused when the organisation is built, still before the first week."""
    from models import generators

    if isinstance(org, DictConfig):
        missing = {key for key in org if OmegaConf.is_missing(org, key)}
        org = OmegaConf.to_container(org, resolve=True, throw_on_missing=False)
        org = {key: value for key, value in org.items() if key not in missing}
    kind = org.get("generator")
    if kind not in generators.BUILDERS:
        return [
            f"org.generator={kind!r} is not an organisation: "
            f"choose one of {', '.join(generators.BUILDERS)}"
        ]
    out: list[str] = []

    def attempt(check, *args):
        try:
            return check(*args)
        except InputError as e:
            out.append(str(e))
            return None

    size = org.get("size")
    if "size" in org:
        size = attempt(generators.whole, "size", size, 2)
    for key, (how, low, high) in ORG_LIMITS.items():
        value = org.get(key)
        if value is None:
            continue
        if high == "size-1":
            high = None if size is None else size - 1
        if how == "whole":
            value = attempt(generators.whole, key, value, low, high)
            if key == "k" and value is not None and value % 2:
                out.append(
                    f"org.k: {value} is not allowed; it must be even (k/2 neighbours each side)"
                )
        else:
            attempt(generators.number, key, value, low, float("inf") if high is None else high)
    for key in ORG_FILES:
        if org.get(key) is not None:
            problem = file_problem(f"org.{key}: {org[key]}", str(org[key]))
            if problem:
                out.append(problem)
    return out


def scenario_interventions(cfg: DictConfig) -> list[Intervention]:
    """The scenario's interventions, in the order the config lists them."""
    return [
        interventions.from_config(name, node)
        for name, node in OmegaConf.to_container(cfg.scenario.interventions, resolve=True).items()
    ]


def behaviour_of(cfg: DictConfig) -> Behaviour:
    """The config's behavioural parameters (read from a plain copy of ``population``: several
    times faster than from the node)."""
    return Behaviour.from_mapping(OmegaConf.to_container(cfg.population, resolve=True))


def build_model(cfg: DictConfig) -> "AdoptionModel":
    """The model a config describes (the organisation is built, or loaded, here)."""
    from models.model import AdoptionModel  # here: a study's processes never need Mesa

    check(cfg)
    snapshots = OmegaConf.select(cfg, "output.snapshots", default=0)
    if snapshots < 0:
        raise InputError(
            f"output.snapshots={snapshots} is not allowed: it must be 0 (no agent-level "
            "snapshots) or a number of weeks between snapshots"
        )
    return AdoptionModel(
        org=OmegaConf.to_container(cfg.org, resolve=True),
        behaviour=behaviour_of(cfg),
        champion_share=cfg.champions.share,
        champion_rule=cfg.champions.rule,
        discount_rate=cfg.discount_rate,
        interventions=scenario_interventions(cfg),
        rng=int(cfg.seed),
        snapshot_every=snapshots,
    )


def run(cfg: DictConfig, overrides: list[str] = (), progress: bool = False) -> Result:
    """Simulate the config's horizon and collect the results (nothing is written)."""
    model = build_model(cfg)
    if progress:
        from tqdm import tqdm

        with tqdm(total=cfg.weeks, unit="week", desc="simulating", leave=False) as bar:
            model.run(cfg.weeks, bar.update)
    else:
        model.run(cfg.weeks)
    return Result(
        weekly=model.weekly(),
        groups=model.recorder.groups(),
        summary=model.summary(),
        config=OmegaConf.to_container(cfg, resolve=True),
        provenance=provenance(int(cfg.seed), list(overrides)),
        model=model,
        snapshots=model.snapshots.frame() if model.snapshots.every else None,
    )


def check_output_dir(base: str | Path, key: str = "output.dir") -> None:
    """Refuse a results folder (config key ``key``) that cannot be written, before any time is
    spent simulating.

    Creates nothing: it looks at the nearest part of the path that exists, which must be a
    folder this process may write in.
    """
    base = Path(base)
    existing = base
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise InputError(
            f"{key}={str(base)!r} cannot be written: {existing} is a file, not a folder; "
            f"{key} must be a folder (it is created if missing)"
        )
    if existing.exists() and not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(
            f"{key}={str(base)!r} cannot be written: no permission to write in {existing}"
        )


def new_run_folder(base: str | Path) -> Path:
    """``<base>/<timestamp>``, made unique if two runs start in the same second."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    folder = Path(base) / stamp
    i = 1
    while folder.exists():
        folder = Path(base) / f"{stamp}_{i}"
        i += 1
    return folder
