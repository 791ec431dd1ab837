"""Scenario comparison: every programme × R seeded replications on one organisation, ranked by
net value (long-run value minus programme cost).

    python -m sim experiment=compare
    python -m sim experiment=compare experiment.replications=10 \\
        'experiment.scenarios=[baseline,mandate,sense_making]' org.size=2000 weeks=156
    python -m sim experiment=compare 'experiment.scenarios=[mandate,mandate_6m]' \\
        'experiment.programmes={mandate_6m: {base: mandate, set: {interventions.mandate.end: 26}}}'
    python -m sim experiment=compare experiment.programme_dir=my_programmes/
    python -m sim experiment=compare calibration.path=posterior.parquet experiment.draws=20

The command's overrides are the common setting (organisation, population, horizon, root seed,
champions): each programme is composed from them plus ``scenario=<name>``, exactly as
``python -m sim scenario=<name> ...`` would compose it (so a programme that sets
``champions.*`` in its file keeps its champions unless the command overrides them).

Programmes. The shipped ones are the files in ``conf/scenario/``. ``experiment.programme_dir``
adds the programme files of any folder (``<name>.yaml``, written like those in
``conf/scenario/``, e.g. by ``experiment=optimise``); ``experiment.programmes`` adds named
variants, each a base programme plus settings of its ``scenario`` (or ``champions``) keys:
``{mandate_6m: {base: mandate, set: {interventions.mandate.end: 26}, label: "Six-month
mandate"}}``. ``experiment.scenarios`` chooses among all of them; left empty it means every
shipped programme, or, when variants or a folder are given, those (so the default comparison
is never changed by programmes a user adds). The baseline is always run, as the reference.

Equal footing. ``experiment.equal_duration=W`` makes every intervention of every programme run
for W weeks from its start (its end moved, earlier or later), so programmes are compared over
the same window. ``experiment.equal_cost=C`` scales each programme's intensities by one factor
so that its mean cost is C hours: pilot runs (``experiment.pilots`` seeds of their own, never
the study's) measure the cost at the programme's intensities, and at most ``PILOT_ROUNDS``
rounds of secant steps (bisection once the target is bracketed) move the factor until the pilot
mean is within ``COST_TOLERANCE`` of C; an intensity never passes the largest its kind allows.
The study then runs with those factors and reports the cost it measured.

Parameter uncertainty. With a calibration ensemble (``calibration.path``, ``sim.posterior``)
K = ``experiment.draws`` parameter sets are drawn (seeded by ``seed``) and each runs with R
seeds: replication ``d·R + r`` is draw d with seed r of ``K·R`` spawned seeds, the same for
every programme (common random numbers within each draw). Behavioural parameters the command
overrides (``population.<name>=``) keep the given value in every draw. Intervals are then over
draws (``sim.stats``), and the report gives each programme's probability of beating the
baseline on net value. Without one, the report says its intervals are replication noise only.

Writes ``<experiment.dir>/<timestamp>/`` atomically (built under a hidden temporary name and
renamed when complete):

- ``weekly.parquet``/``.csv``: scenario, replication, seed, week and every weekly metric;
- ``runs.parquet``/``.csv``: one row per scenario × replication (and its ``draw``), every
  scalar of the run's summary, plus the gains over the baseline;
- ``summary.csv``/``.md``: per scenario, the mean and interval of each outcome;
- ``tests.csv``: paired comparisons with the baseline and with the programme ranked first;
- ``programmes.csv``: each programme's label, where it comes from, what was changed, its
  intensity scale (equal cost); ``draws.csv`` with an ensemble; ``departments.csv`` when the
  runs give per-department outcomes;
- ``report.md``/``.html`` (one self-contained file)/``.pdf``; figures as PNG and SVG;
- ``config.yaml``, ``scenarios.yaml``, ``overrides.yaml``, ``seeds.csv``, ``provenance.json``.

Each replication is saved to ``<experiment.dir>/.partial/`` as soon as it completes, so an
interrupted comparison (Ctrl-C, SIGTERM, a crash) run again with the same command simulates
only the replications still missing, and writes the same tables as an uninterrupted run
(``sim.resume``); the saved replications are deleted once the folder is written.
"""

import dataclasses
import json
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from threadpoolctl import threadpool_limits

import sim
from models.errors import InputError
from models.interventions import Intervention
from models.loaders import MAX_SETTINGS_BYTES, file_problem
from models.state import STAGE_NAMES
from sim import posterior as calibration
from sim import report, stats
from sim.api import CONF_DIR
from sim.csvfile import write_csv_and_parquet
from sim.provenance import provenance
from sim.replicate import (
    Spec,
    experiment_problems,
    ready,
    replication_seeds,
    run_jobs,
    write_study_inputs,
)
from sim.resume import PARTIAL, RunCache, run_key
from sim.run import check_output_dir, config_problems, new_run_folder, write_atomically
from sim.workers import in_a_worker, prefetch, warm_up

MIN_BOOTSTRAP = 100
BAND_COLUMNS = ("active_share", "adopted_share", "value_total")
ORGANISATIONS = {
    "hierarchy": "a generated hierarchical organisation (a management tree with teams, "
    "departments and informal ties between teams)",
    "small_world": "a generated small-world network",
    "scale_free": "a generated scale-free network",
    "random": "a generated random network",
    "complete": "a complete network (everyone tied to everyone)",
}
#: What a variant in ``experiment.programmes`` may say.
VARIANT_KEYS = ("base", "set", "label", "description")
#: A programme's name: what its tables and files call it.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
#: Overrides that say how a study is run or written, not what is assumed about the world.
NOT_ASSUMPTIONS = ("experiment", "output", "hydra", "report")
#: Equal cost: the largest number of pilot rounds, and how close the pilot mean must come.
PILOT_ROUNDS = 6
COST_TOLERANCE = 0.02
#: The pilot seeds come from a child of the root seed that no replication uses.
PILOT_KEY = 2**31


def available_scenarios() -> list[str]:
    """The shipped programmes: the files in ``conf/scenario/``."""
    return sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def label_of(name: str) -> str:
    """A programme's name made readable, for when nothing gives it a label:
    ``drive_and_sense_making`` → ``Drive and sense making``."""
    words = name.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


# --- which programmes ---------------------------------------------------------------------------


@dataclass
class Programme:
    """One programme of a comparison: what it is called, where it comes from, what was changed."""

    name: str
    base: str  # the programme file it is composed from (itself, unless a variant)
    origin: str  # where that file is
    settings: dict = field(default_factory=dict)  # a variant's settings, dotted key → value
    label: str = ""
    description: str = ""
    changes: list[str] = field(default_factory=list)  # equal duration/cost, in words
    scale: float = 1.0  # equal cost: the factor its intensities were multiplied by
    pilot_cost: float = math.nan  # equal cost: the pilot runs' mean cost at that factor


def programme_files(folder: str | None) -> tuple[dict[str, Path], list[str]]:
    """The programme files of ``experiment.programme_dir`` (name → file) and the problems with
    it: not a folder, no programme files, a name that is not allowed or is a shipped programme."""
    if folder is None:
        return {}, []
    path = Path(folder).expanduser()
    key = f"experiment.programme_dir={folder!r}"
    if not path.is_dir():
        return {}, [f"{key}: no such folder (a folder of programme files, <name>.yaml)"]
    files = {p.stem: p.resolve() for p in sorted(path.glob("*.yaml"))}
    if not files:
        return {}, [f"{key}: holds no programme files (<name>.yaml, like conf/scenario/)"]
    errors = [
        f"{key}: {p.name}: a programme file's name must be letters, digits, _ and -"
        for n, p in files.items()
        if not NAME.fullmatch(n)
    ]
    errors += [
        problem
        for p in files.values()
        if (
            problem := file_problem(
                f"{key}: {p.name}", p, "a programme file (YAML)", MAX_SETTINGS_BYTES
            )
        )
    ]
    shipped = set(available_scenarios())
    errors += [
        f"{key}: {p.name} has the name of a shipped programme (conf/scenario/{n}.yaml); "
        "rename the file"
        for n, p in files.items()
        if n in shipped
    ]
    return files, errors


def _flatten(values, prefix: str = "") -> dict:
    """``{a: {b: 1}}`` → ``{"a.b": 1}``; the dotted form is left as it is."""
    out = {}
    for key, value in values.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{full}."))
        else:
            out[full] = value
    return out


def variant_problems(variants: dict, known: set[str]) -> list[str]:
    """Problems of ``experiment.programmes`` that need no composing: the shape of each
    variant, its keys, its base programme and its name."""
    errors = []
    if not isinstance(variants, dict):
        return [
            "experiment.programmes must map names to variants, e.g. {mandate_6m: {base: mandate, "
            "set: {interventions.mandate.end: 26}}}"
        ]
    for name, variant in variants.items():
        key = f"experiment.programmes.{name}"
        if not NAME.fullmatch(str(name)):
            errors.append(f"{key}: a programme's name must be letters, digits, _ and -")
        if name in known:
            errors.append(f"{key}: {name!r} is already a programme; give the variant a new name")
        if not isinstance(variant, dict):
            errors.append(
                f"{key}={variant!r} is not allowed: a variant is {{base: <programme>, set: "
                "{<key>: <value>}}"
            )
            continue
        unknown = sorted(set(variant) - set(VARIANT_KEYS))
        if unknown:
            errors.append(
                f"{key}.{unknown[0]}: not a key of a variant; its keys are "
                f"{', '.join(VARIANT_KEYS)}"
            )
        base = variant.get("base")
        if base is None:
            errors.append(f"{key}.base is required: the programme it varies")
        elif base not in known:
            errors.append(
                f"{key}.base={base!r} is not a programme; the programmes are "
                f"{', '.join(sorted(known))}"
            )
        if not isinstance(variant.get("set", {}), dict):
            errors.append(f"{key}.set must map keys to values, e.g. {{interventions.x.end: 26}}")
    return errors


def programme_list(cfg: DictConfig) -> tuple[list[Programme], bool]:
    """The programmes to compare, baseline first, and whether the baseline was added; refuses
    bad settings of ``experiment.*`` with one message naming every bad key."""
    experiment = cfg.experiment
    errors = experiment_problems(experiment)
    if experiment.bootstrap < MIN_BOOTSTRAP:
        errors.append(
            f"experiment.bootstrap={experiment.bootstrap} is not allowed: it must be at least "
            f"{MIN_BOOTSTRAP} resamples (2000 is usual)"
        )
    errors += footing_problems(cfg)
    files, problems = programme_files(experiment.programme_dir)
    errors += problems
    shipped = {n: CONF_DIR / "scenario" / f"{n}.yaml" for n in available_scenarios()}
    sources = {**shipped, **files}
    variants = (
        OmegaConf.to_container(experiment.programmes, resolve=True)
        if isinstance(experiment.programmes, DictConfig)
        else experiment.programmes or {}
    )
    errors += variant_problems(variants, set(sources))
    available = [*sources, *(variants if isinstance(variants, dict) else {})]
    unknown = [n for n in experiment.scenarios if n not in available]
    if unknown:
        what = "is not a programme" if len(unknown) == 1 else "are not programmes"
        errors.append(
            f"experiment.scenarios: {', '.join(map(repr, unknown))} {what}; the programmes "
            f"(files in conf/scenario/, experiment.programme_dir, experiment.programmes) are "
            f"{', '.join(available)}"
        )
    if errors:
        raise InputError("\n".join(errors))
    names = list(dict.fromkeys(experiment.scenarios))
    if not names:
        names = [*files, *variants] if files or variants else list(shipped)
    added = stats.REFERENCE not in names
    names = [stats.REFERENCE, *(n for n in names if n != stats.REFERENCE)]
    labels = dict(cfg.report.labels or {})
    out = []
    for name in names:
        variant = variants.get(name, {})
        base = variant.get("base", name)
        out.append(
            Programme(
                name=name,
                base=base,
                origin=str(sources[base]),
                settings=_flatten(variant.get("set") or {}),
                label=labels.get(name) or variant.get("label", ""),
                description=variant.get("description", ""),
            )
        )
    return out, added


def footing_problems(cfg: DictConfig) -> list[str]:
    """Problems of ``experiment.draws``, ``equal_duration``, ``equal_cost``, ``pilots`` and
    of ``report.*``."""
    e, errors = cfg.experiment, []
    if e.draws < 1:
        errors.append(f"experiment.draws={e.draws} is not allowed: it must be at least 1")
    if e.equal_duration is not None and not 1 <= e.equal_duration <= cfg.weeks:
        errors.append(
            f"experiment.equal_duration={e.equal_duration} is not allowed: it must be a number "
            f"of weeks from 1 to the horizon ({cfg.weeks}), or null"
        )
    if e.equal_cost is not None and not 0 < e.equal_cost < math.inf:
        errors.append(
            f"experiment.equal_cost={e.equal_cost} is not allowed: it must be a positive number "
            "of hours, or null"
        )
    if e.pilots < 1:
        errors.append(f"experiment.pilots={e.pilots} is not allowed: it must be at least 1")
    return errors + report_problems(cfg.report)


def report_problems(settings: DictConfig) -> list[str]:
    """Problems of ``report.hour_value`` and ``report.currency``."""
    value = settings.hour_value
    if value is not None and not 0 < value < math.inf:
        return [
            f"report.hour_value={value} is not allowed: it must be a positive amount of money "
            "per hour, or null (hours only)"
        ]
    if value is None and settings.currency:
        return [
            f"report.currency={settings.currency!r} needs report.hour_value (the money an hour "
            "is worth), e.g. report.hour_value=60"
        ]
    return []


def common_overrides(overrides: list[str]) -> list[str]:
    """The command's overrides without those of the experiment itself; ``scenario=`` and
    ``scenario.*`` are refused (the programmes are chosen with ``experiment.scenarios`` and
    varied with ``experiment.programmes``)."""
    kept = []
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0].split("@", 1)[0]
        if key == "experiment" or key.startswith("experiment."):
            continue
        if key == "scenario":
            raise InputError(
                f"{override}: experiment=compare runs the programmes listed in "
                "experiment.scenarios (all of them when empty); choose them there, e.g. "
                "'experiment.scenarios=[baseline,mandate]', not with scenario="
            )
        if key.startswith("scenario."):
            raise InputError(
                f"{override}: experiment=compare varies a programme with a named variant, e.g. "
                "'experiment.programmes={mandate_6m: {base: mandate, set: "
                "{interventions.mandate.end: 26}}}', not with scenario.*"
            )
        kept.append(override)
    return kept


def assumptions(overrides: list[str]) -> list[str]:
    """The common overrides that change what is assumed about the organisation and people
    (not how the study is run or written)."""
    return [
        o
        for o in overrides
        if o.lstrip("+~").split("=", 1)[0].split(".", 1)[0].split("@", 1)[0] not in NOT_ASSUMPTIONS
    ]


def compose(overrides: list[str]) -> DictConfig:
    """``sim.compose``, also from inside ``python -m sim``: there Hydra is already initialised
    (by ``@hydra.main``, on the same ``conf/``) and refuses a second initialisation, so the
    running instance composes."""
    from hydra.core.global_hydra import GlobalHydra

    if not GlobalHydra.instance().is_initialized():
        return sim.compose(overrides)
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException

    from sim.api import _message

    try:
        return hydra_compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        raise InputError(_message(e)) from e


@contextmanager
def search_path(files: dict[str, Path]):
    """The overrides that let Hydra find programme files outside ``conf/`` as options of the
    ``scenario`` group: a temporary folder with a ``scenario/`` copy of them, added to Hydra's
    search path (so a file can use ``defaults`` like those in ``conf/scenario/``)."""
    if not files:
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="beyond-adoption-programmes-") as tmp:
        (Path(tmp) / "scenario").mkdir()
        for name, path in files.items():
            shutil.copyfile(path, Path(tmp) / "scenario" / f"{name}.yaml")
        yield [f"hydra.searchpath=[file://{Path(tmp).as_posix()}]"]


def programme_config(p: Programme, common: list[str], extra: list[str]) -> DictConfig:
    """A programme's composed config: the common overrides, its base programme, and a variant's
    settings (each key must exist in the base; Hydra's types refuse a wrong value)."""
    cfg = compose([*common, f"scenario={p.base}", *extra])
    errors = []
    for key, value in p.settings.items():
        where = f"experiment.programmes.{p.name}.set.{key}"
        if not key.startswith(("interventions.", "champions.")):
            errors.append(
                f"{where}: a variant sets interventions.<name>.<field> or champions.<field> "
                "(its label and description are keys of the variant itself)"
            )
            continue
        full = key if key.startswith("champions.") else f"scenario.{key}"
        if not _exists(cfg, full):
            errors.append(
                f"{where}: programme {p.base!r} has no such setting; its settings are "
                f"{', '.join(settings_of(cfg))}"
            )
            continue
        try:
            OmegaConf.update(cfg, full, value, merge=False)
        except OmegaConfBaseException as e:
            errors.append(f"{where}={value!r} is not allowed: {str(e).splitlines()[0]}")
    if errors:
        raise InputError("\n".join(errors))
    cfg.scenario.name = p.name
    if p.label or p.base != p.name:  # a variant never takes its base's label
        cfg.scenario.label = p.label
    if p.description:
        cfg.scenario.description = p.description
    elif p.settings:  # the base's description, and what the variant changes
        changed = ", ".join(f"{k} = {v}" for k, v in p.settings.items())
        cfg.scenario.description = f"{str(cfg.scenario.description).strip()} Changed: {changed}."
    return cfg


def _exists(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, default=None)
    return isinstance(node, DictConfig) and leaf in node


def settings_of(cfg: DictConfig) -> list[str]:
    """What a variant of this programme may set: every field of each of its interventions, and
    the champions' share and rule."""
    out = [
        f"interventions.{name}.{{{','.join(node)}}}"
        for name, node in cfg.scenario.interventions.items()
    ]
    return [*out, "champions.{share,rule}"]


def equal_duration(cfg: DictConfig, weeks: int) -> list[str]:
    """Make every running intervention of a programme run ``weeks`` weeks from its start (end
    moved, within the horizon); what was changed, in words."""
    changes = []
    for name, node in cfg.scenario.interventions.items():
        if node.intensity <= 0 or node.start > cfg.weeks:
            continue
        end = min(node.start + weeks - 1, cfg.weeks)
        if node.end != end:
            was = "the end of the run" if node.end is None else f"week {node.end}"
            changes.append(f"{name} ends in week {end} (was {was})")
            node.end = end
    return changes


# --- equal cost ---------------------------------------------------------------------------------


def max_intensity(iv: Intervention) -> float:
    """The largest intensity an intervention's kind allows: 1 where ``Intervention.problems``
    refuses more (the model's rule, not repeated here), else no limit."""
    probe = dataclasses.replace(iv, intensity=2.0)
    refused = any(m.startswith(probe.key("intensity")) for m in probe.problems())
    return 1.0 if refused else math.inf


def scaled(spec: Spec, factor: float) -> Spec:
    """The spec with every intervention's intensity multiplied by ``factor`` (capped at the
    largest its kind allows)."""
    interventions = tuple(
        dataclasses.replace(iv, intensity=min(iv.intensity * factor, max_intensity(iv)))
        for iv in spec.interventions
    )
    return dataclasses.replace(spec, interventions=interventions)


def largest_factor(spec: Spec) -> float:
    """The factor beyond which scaling changes nothing (every intensity at its cap), or
    ``MAX_FACTOR`` where some kind has no cap."""
    factors = [max_intensity(iv) / iv.intensity for iv in spec.interventions if iv.intensity > 0]
    return min(max(factors, default=1.0), MAX_FACTOR)


MAX_FACTOR = 100.0


def equalise_cost(
    specs: list[Spec],
    programmes: list[Programme],
    target: float,
    pilot_seeds: list[int],
    jobs: int,
    parameters: dict,
) -> list[Spec]:
    """Find, for each programme that costs something, the factor on its intensities that makes
    its pilot mean cost ``target`` (module docstring); returns the scaled specs and records
    each factor and pilot cost on its ``Programme``. The pilots run with ``parameters`` (the
    ensemble's median, or nothing: the config's)."""
    state = {}  # name → [points (factor, cost), bracket low, bracket high, done]
    factors = {s.scenario: 1.0 for s in specs if s.interventions}
    for spec in specs:
        if spec.interventions:
            state[spec.scenario] = {"points": [], "low": 0.0, "high": largest_factor(spec)}
    by_name = {s.scenario: s for s in specs}
    for _ in range(PILOT_ROUNDS):
        todo = [n for n, s in state.items() if not s.get("done")]
        if not todo:
            break
        pilot = [
            (with_parameters(scaled(by_name[n], factors[n]), parameters), r, seed)
            for n in todo
            for r, seed in enumerate(pilot_seeds)
        ]
        _, runs = run_jobs(pilot, n_jobs=jobs, desc="pilot runs (equal cost)")
        costs = runs.groupby("scenario")["cost_total"].mean()
        for n in todo:
            s, f, c = state[n], factors[n], float(costs[n])
            s["points"].append((f, c))
            if abs(c - target) <= COST_TOLERANCE * target or c == 0 and len(s["points"]) == 1:
                s["done"] = True
                continue
            if c < target:
                s["low"] = max(s["low"], f)
            else:
                s["high"] = min(s["high"], f)
            factors[n] = _next_factor(s, target)
            if factors[n] == f:
                s["done"] = True
    out, problems = [], []
    for spec, p in zip(specs, programmes, strict=True):
        if spec.scenario not in state:
            out.append(spec)
            continue
        f, c = state[spec.scenario]["points"][-1]
        if c == 0:
            p.changes.append("costs nothing at its own intensity, so it is left as it is")
        elif abs(c - target) > 5 * COST_TOLERANCE * target:
            side = "more" if c < target else "less"
            problems.append(
                f"experiment.equal_cost={target:g}: programme {p.name!r} cannot be made to cost "
                f"{side}: with its intensities scaled by {f:.3g} its pilot runs cost {c:,.0f} h "
                f"(fixed and weekly costs do not scale; intensities stop at their maximum)"
            )
        p.scale, p.pilot_cost = f, c
        if c:
            p.changes.append(f"intensities × {f:.3g} (pilot mean cost {c:,.0f} h)")
        out.append(scaled(spec, f))
    if problems:
        raise InputError("\n".join(problems))
    return out


def _next_factor(s: dict, target: float) -> float:
    """A secant step through the last two pilot points (from the origin at first: costs that
    scale with intensity are proportional to it), kept inside the bracket; bisection where the
    step leaves it."""
    points = s["points"]
    (f1, c1) = points[-1]
    (f0, c0) = points[-2] if len(points) > 1 else (0.0, 0.0)
    guess = f1 + (target - c1) * (f1 - f0) / (c1 - c0) if c1 != c0 else math.nan
    low, high = s["low"], s["high"]
    if not low < guess < high:
        guess = (low + high) / 2 if high < MAX_FACTOR or low > 0 else min(2 * f1, high)
    return float(guess)


# --- running -----------------------------------------------------------------------------------


def with_parameters(spec: Spec, parameters: dict) -> Spec:
    """The spec with some behavioural parameters replaced (one draw of an ensemble)."""
    if not parameters:
        return spec
    return dataclasses.replace(spec, behaviour=dataclasses.replace(spec.behaviour, **parameters))


def study_jobs(specs: list[Spec], draws: list[dict], seeds: list[int]) -> list[tuple]:
    """Every programme × replication, replication ``d·R + r`` being draw d with seed
    ``seeds[d·R + r]``: the same draw and seed for every programme (common random numbers)."""
    per_draw = len(seeds) // max(len(draws), 1)
    return [
        (with_parameters(spec, draws[i // per_draw] if draws else {}), i, seed)
        for spec in specs
        for i, seed in enumerate(seeds)
    ]


#: What this process needs only once the runs are done: joining the figures' pages, and with
#: no workers drawing them too (with workers, only they draw: this process never loads
#: Matplotlib); SciPy's statistics where the tests are not all exact signed-rank tests
#: (``sim.stats.signed_rank_exact``: more pairs than ``EXACT_PAIRS``). Up to a second to
#: import, imported while the runs are simulated.
AFTER_THE_RUNS = ("pypdf",)
DRAWING = ("sim.plots",)
TESTING = ("scipy.stats",)


def after_the_runs(jobs: int, pairs: int) -> tuple[str, ...]:
    """The modules to import while ``jobs`` workers simulate a study of ``pairs`` paired
    runs a programme (``AFTER_THE_RUNS``)."""
    return (
        AFTER_THE_RUNS
        + (DRAWING if jobs < 2 else ())
        + (TESTING if pairs > stats.EXACT_PAIRS else ())
    )


def simulate(jobs: list[tuple], n_jobs: int, progress: bool, cache: RunCache):
    """The weekly, runs and departments tables of ``jobs`` (``run_jobs`` with the
    per-department outcomes of every run). With workers, each loads what it needs to draw the
    figures as it ends its last runs (``DRAWING``): the one that ends first does so while it
    would otherwise wait for the other."""
    programmes = len({j[0].scenario for j in jobs})
    desc = f"{programmes} programmes × {len(jobs) // programmes} replications"
    return run_jobs(
        jobs,
        n_jobs=n_jobs,
        progress=progress,
        cache=cache,
        desc=desc,
        departments=True,
        afterwards=DRAWING,  # (with workers only: run_jobs)
    )


def overridden_parameters(common: list[str]) -> set[str]:
    """Behavioural parameters the command sets (``population.<name>=``): fixed in every draw."""
    return {
        o.lstrip("+").split("=", 1)[0].split(".", 1)[1]
        for o in common
        if o.lstrip("+").startswith("population.") and "=" in o
    }


# --- analysis ----------------------------------------------------------------------------------


@dataclass
class Comparison:
    """What a comparison produced (``analyse``); written by ``write``."""

    weekly: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame
    tests: pd.DataFrame
    bands: pd.DataFrame  # per scenario and week: means and intervals of BAND_COLUMNS
    stages: pd.DataFrame  # per scenario and week: mean share at each stage
    seeds: list[int]
    about: dict  # for the report: replications, agents, weeks, organisation, seed, ...
    programmes: pd.DataFrame = field(default_factory=pd.DataFrame)
    draws: pd.DataFrame | None = None  # the parameter sets drawn (with an ensemble)
    departments: pd.DataFrame | None = None  # per programme and department (report.departments)


def stage_means(weekly: pd.DataFrame) -> pd.DataFrame:
    """The share of everyone at each maturity stage, week by week, per programme: the mean
    over its runs."""
    columns = [f"stage_{s}" for s in STAGE_NAMES]
    return weekly.groupby(["scenario", "week"], sort=False)[columns].mean().reset_index()


@threadpool_limits.wrap(limits=1, user_api="blas")
def bands_of(weekly: pd.DataFrame, runs: pd.DataFrame, n_resamples: int, seed: int):
    """Per programme and week, the mean of each of ``BAND_COLUMNS`` and its interval
    (``stats.weekly_bands``): what the small multiples of adoption and value draw. Worked out
    before the rest of the analysis (``analyse``), so that this figure, the slowest to draw,
    is drawn while the analysis goes on. In one BLAS thread, as ``analyse``."""
    return stats.weekly_bands(weekly, BAND_COLUMNS, n_resamples, seed, stats.draws_of(runs))


@threadpool_limits.wrap(limits=1, user_api="blas")
def analyse(
    weekly: pd.DataFrame,
    runs: pd.DataFrame,
    stages: pd.DataFrame,
    bands: pd.DataFrame,
    seeds: list[int],
    n_resamples: int,
    seed: int,
    descriptions: dict[str, str],
    about: dict,
    departments: pd.DataFrame | None = None,
) -> Comparison:
    """Summary, tests (against the baseline, and against the programme ranked first on net
    value) and per-department outcomes of the runs, with their ``stages`` (``stage_means``)
    and time-series ``bands`` (``bands_of``) as the comparison's.

    The bootstrap's matrix products run in one thread: the comparison's workers keep the
    other CPUs busy meanwhile (writing files), and a second BLAS thread, spinning while it
    waits, cost 0.4 s of CPU for 0.02 s less time (measured on 2 cores)."""
    runs = stats.add_gains(stats.add_same_weeks_baseline(runs, weekly))
    summary = stats.summary_table(runs, n_resamples, seed, descriptions)
    leader = summary.loc[summary[f"{stats.HEADLINE}_mean"].idxmax(), "scenario"]
    tests = stats.tests_table(runs, n_resamples, seed)
    if leader != stats.REFERENCE:
        against_leader = stats.tests_table(
            runs, n_resamples, seed, reference=leader, outcomes=(stats.HEADLINE,)
        )
        tests = pd.concat([tests, against_leader], ignore_index=True)
    baseline_tests = tests[tests["against"] == stats.REFERENCE] if len(tests) else tests
    about = {
        **about,
        "leader": leader,
        "tests": int(baseline_tests["p_value"].notna().sum()) if len(tests) else 0,
    }
    if departments is not None:
        departments = stats.department_summary(departments, n_resamples, seed)
    return Comparison(
        weekly, runs, summary, tests, bands, stages, seeds, about, departments=departments
    )


def figure_style(labels: dict[str, str], about: dict):
    """What every figure of the comparison shares (``sim.palette.Style``): each programme's
    label and colour (``labels``: name → label, in the programmes' order), the footer (the
    study, ``about``) and money for a second axis."""
    from sim import palette

    colours = palette.programme_colours(list(labels))
    return palette.Style(labels, colours, report.footer(about), about.get("money"))


def figures_before_analysis(runs: pd.DataFrame, stages: pd.DataFrame, style) -> dict:
    """The figures that need no analysis (names as in ``sim.report.FIGURES``; what each draws,
    by the name of its ``sim.plots`` function): each run's adoption against its net value,
    and the stage mix over time. Sent to be drawn while the runs are analysed, the quicker
    first: the worker that draws it is then free to start the small multiples (``bands_of``),
    the slowest figure, while the other still draws the stage mix."""
    from sim.figure_files import figure

    return {
        "adoption_vs_value": partial(figure, "adoption_value_scatter", runs, style),
        "stage_composition": partial(figure, "stage_composition", stages, style),
    }


def figure_of_the_bands(bands: pd.DataFrame, style) -> dict:
    """The small multiples of adoption and value over time, with their ``bands`` (``bands_of``):
    about 1 s to draw, the others 0.15–0.5 s."""
    from sim.figure_files import figure

    return {"adoption_value_over_time": partial(figure, "comparison_over_time", bands, style)}


def figures_after_analysis(c: Comparison, style) -> dict:
    """The figures drawn from the analysis, the slower first: cost against gain, net value
    with its interval."""
    from sim.figure_files import figure

    t = c.tests
    distinct = (
        set(
            t.loc[
                (t["against"] == stats.REFERENCE)
                & (t["outcome"] == stats.HEADLINE)
                & t["distinguishable"],
                "scenario",
            ]
        )
        if len(t)
        else set()
    )
    return {
        "cost_and_gain": partial(figure, "cost_and_gain", c.summary, style),
        "net_value": partial(figure, "net_value_ci", c.summary, style, distinct),
    }


def write(
    weekly: pd.DataFrame,
    banded: Callable[[], pd.DataFrame],
    analysed: Callable[[pd.DataFrame], Comparison],
    folder: Path,
    cfg: DictConfig,
    record: dict,
    configs: dict[str, DictConfig],
    early: dict,
    style,
) -> tuple[Path, Comparison]:
    """Analyse the runs (``banded``: their bands, ``bands_of``; ``analysed``: given the bands,
    their ``Comparison``) and write the comparison folder (atomically); ``record`` goes into
    provenance.json; ``early``: the figures that need no analysis
    (``figures_before_analysis``), drawn in ``style`` as the others. Returns the folder and
    the comparison.

    With worker processes (``experiment.jobs``), what does not wait for this process is done
    by them at the same time: the weekly table's files (its CSV, the one large file, takes
    about as long to write as the analysis) and the figures that need no analysis while this
    process works out the bands; the small multiples, the slowest figure, as soon as the bands
    are known, while the rest of the analysis goes on; then the other figures, while this
    process writes the other tables. So the workers' last figures are short ones, and both
    end at about the same time."""
    n_jobs = int(cfg.experiment.jobs)
    done: dict[str, Comparison] = {}

    def tables(c: Comparison, tmp: Path) -> None:
        c.runs.to_parquet(tmp / "runs.parquet", index=False)
        c.runs.to_csv(tmp / "runs.csv", index=False)
        c.summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.md").write_text(report.summary_markdown(c.summary, c.about))
        c.tests.to_csv(tmp / "tests.csv", index=False)
        c.programmes.to_csv(tmp / "programmes.csv", index=False)
        if c.draws is not None:
            c.draws.to_csv(tmp / "draws.csv", index=False)
        if c.departments is not None:
            c.departments.to_csv(tmp / "departments.csv", index=False)
        write_study_inputs(tmp, cfg, configs, c.seeds)
        overrides = {
            "command": record["overrides"],
            "common": record["common_overrides"],
            "each_scenario": "common + scenario=<base> + the variant's settings; seed (and "
            "parameter draw) replaced by the replication's",
        }
        (tmp / "overrides.yaml").write_text(
            OmegaConf.to_yaml(OmegaConf.create(overrides)), encoding="utf-8"
        )

    def build(tmp: Path) -> None:
        from sim.figure_files import Drawing

        weekly_files = in_a_worker(n_jobs, write_csv_and_parquet, weekly, tmp / "weekly")
        drawing = Drawing(tmp, "report.pdf", n_jobs)
        try:
            drawing.send(early)
            bands = banded()
            drawing.send(figure_of_the_bands(bands, style))
            c = done["c"] = analysed(bands)
            drawing.send(figures_after_analysis(c, style))
            tables(c, tmp)
        finally:  # the workers are done (or their error raised here) before the folder moves
            try:
                weekly_files()
            finally:
                drawing.wait()
        drawing.finish(list(report.FIGURES))
        markdown = report.report_markdown(c.summary, c.tests, c.about, c.departments)
        (tmp / "report.md").write_text(markdown, encoding="utf-8")
        (tmp / "report.html").write_text(
            report.markdown_to_html(markdown, report.TITLE, images=tmp), encoding="utf-8"
        )
        record["seconds"]["total"] = round(time.perf_counter() - record.pop("_started"), 2)
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")

    return write_atomically(folder, build, key="experiment.dir"), done["c"]


def organisation_phrase(org: DictConfig) -> str:
    """The organisation in words, for the report."""
    return ORGANISATIONS.get(org.generator) or (
        f"the org chart in {org.get('path')}"
        if org.generator == "orgchart"
        else f"the network in {org.get('path')}"
    )


def changed_assumptions(common: list[str]) -> list[dict]:
    """Each assumption the command changes, with the default it replaces (for the report's
    first section)."""
    chosen = assumptions(common)
    if not chosen:
        return []
    default = compose([])
    out = []
    for override in chosen:
        key, _, value = override.lstrip("+~").partition("=")
        was = OmegaConf.select(default, key.split("@", 1)[0], default=None)
        if isinstance(was, DictConfig):
            was = was.get("name", was.get("generator", "another option"))
        out.append({"key": key, "value": value, "default": "none" if was is None else str(was)})
    return out


def main(cfg: DictConfig, overrides: list[str]) -> Path:
    """Run the comparison ``cfg.experiment`` describes and write its folder; returns the path.

    Everything that can be wrong with the input is refused (``InputError``) before the first
    run: the experiment settings, the folder, every programme's config.
    """
    started = time.perf_counter()
    experiment = cfg.experiment
    errors = []  # every problem of the settings and of the common config, in one message
    try:
        programmes, baseline_added = programme_list(cfg)
    except InputError as e:
        errors.append(str(e))
    try:
        check_output_dir(experiment.dir, key="experiment.dir")
        common = common_overrides(list(overrides))
    except InputError as e:
        errors.append(str(e))
    errors += config_problems(cfg)  # the common setting, once, before the programmes
    try:
        ensemble = calibration.from_config(cfg)
    except InputError as e:
        errors.append(str(e))
    if errors:
        raise InputError("\n".join(errors))
    warm_up(int(experiment.jobs), ready)  # the workers start while the programmes are composed
    files = {p.base: Path(p.origin) for p in programmes if not p.origin.startswith(str(CONF_DIR))}
    configs, specs, problems = {}, [], []
    with search_path(files) as extra:
        for p in programmes:
            try:
                configs[p.name] = programme_config(p, common, extra)
                if experiment.equal_duration is not None:
                    p.changes += equal_duration(configs[p.name], int(experiment.equal_duration))
                specs.append(Spec.from_config(configs[p.name], p.name))
            except InputError as e:
                problems.append(f"programme {p.name!r}: {e}")
    if problems:
        raise InputError("\n".join(problems))
    for p in programmes:
        scenario = configs[p.name].scenario
        p.label = p.label or scenario.label or label_of(p.name)
        p.description = str(scenario.description).strip()

    k = int(experiment.draws) if ensemble is not None else 1
    fixed = overridden_parameters(common)
    draws = (
        [{n: v for n, v in d.items() if n not in fixed} for d in ensemble.draw(k, int(cfg.seed))]
        if ensemble is not None
        else []
    )
    seeds = replication_seeds(cfg.seed, experiment.replications * k)
    t0 = time.perf_counter()
    if experiment.equal_cost is not None:
        pilot_root = np.random.SeedSequence(int(cfg.seed), spawn_key=(PILOT_KEY,))
        pilot_seeds = [int(c.generate_state(1)[0]) for c in pilot_root.spawn(experiment.pilots)]
        median = ensemble.median() if ensemble is not None else {}
        specs = equalise_cost(
            specs,
            programmes,
            float(experiment.equal_cost),
            pilot_seeds,
            int(experiment.jobs),
            {n: v for n, v in median.items() if n not in fixed},
        )
    jobs = study_jobs(specs, draws, seeds)
    cache = RunCache(Path(experiment.dir) / PARTIAL)
    prefetch(after_the_runs(int(experiment.jobs), len(seeds)))
    weekly, runs, departments = simulate(
        jobs, int(experiment.jobs), bool(cfg.output.progress), cache
    )
    simulated = time.perf_counter() - t0
    if draws:  # replication d·R + r is draw d
        for table in (runs, departments) if departments is not None else (runs,):
            draw = table["replication"] // int(experiment.replications)
            table.insert(table.columns.get_loc("seed") + 1, stats.DRAW, draw)

    common_changes = changed_assumptions(common)
    about = {
        "organisation": organisation_phrase(cfg.org),
        "seed": int(cfg.seed),
        "baseline_added": baseline_added,
        "replications": int(experiment.replications),
        "draws": len(draws),
        "calibration": _calibration_about(cfg, ensemble, fixed),
        "changes": common_changes,
        "programmes": [dataclasses.asdict(p) for p in programmes],
        "equal_duration": experiment.equal_duration,
        "equal_cost": experiment.equal_cost,
        "money": report.Money.of(cfg.report),
        "agents": int(runs["agents"].iloc[0]),
        "weeks": int(runs["weeks"].iloc[0]),
    }
    stages = stage_means(weekly)
    style = figure_style({p.name: p.label for p in programmes}, about)

    def analysed(bands: pd.DataFrame) -> Comparison:
        c = analyse(
            weekly,
            runs,
            stages,
            bands,
            seeds,
            int(experiment.bootstrap),
            int(cfg.seed),
            {p.name: p.description for p in programmes},
            about,
            departments,
        )
        c.summary.insert(1, "label", [p.label for p in programmes])
        c.programmes = pd.DataFrame(
            {
                "scenario": p.name,
                "label": p.label,
                "base": p.base,
                "file": p.origin,
                "settings": "; ".join(f"{k}={v}" for k, v in p.settings.items()),
                "changes": "; ".join(p.changes),
                "intensity_scale": p.scale,
                "pilot_cost": p.pilot_cost,
            }
            for p in programmes
        )
        if draws:
            c.draws = pd.DataFrame(draws).rename_axis(stats.DRAW).reset_index()
        return c

    record = {
        **provenance(int(cfg.seed), list(overrides)),
        "experiment": "compare",
        "scenarios": [p.name for p in programmes],
        "replications": int(experiment.replications),
        "draws": len(draws),
        "calibration": about["calibration"],
        "replication_seeds": seeds,
        "common_overrides": common,
        "jobs": int(experiment.jobs),
        "bootstrap": int(experiment.bootstrap),
        "seconds": {"simulation": round(simulated, 2)},
        "_started": started,
    }
    early = figures_before_analysis(runs, stages, style)
    banded = partial(bands_of, weekly, runs, int(experiment.bootstrap), int(cfg.seed))
    folder, c = write(
        weekly,
        banded,
        analysed,
        new_run_folder(experiment.dir),
        cfg,
        record,
        configs,
        early,
        style,
    )
    cache.discard(run_key(*job) for job in jobs)
    print(
        f"compared {len(programmes)} programmes × {len(seeds)} replications "
        f"({c.about['agents']:,} people, {c.about['weeks']} weeks) in "
        f"{time.perf_counter() - started:.1f} s; report: {folder / 'report.md'}",
        file=sys.stdout,
    )
    return folder


def _calibration_about(cfg: DictConfig, ensemble, fixed: set[str]) -> dict:
    """The calibration used, for the report and provenance."""
    if ensemble is None:
        return {"name": str(cfg.calibration.name), "path": None}
    return {
        "name": str(cfg.calibration.name),
        "path": str(calibration.resolve(cfg.calibration.path)),
        "description": str(cfg.calibration.get("description") or ""),
        "parameter_sets": len(ensemble),
        "parameters": [n for n in ensemble.parameters if n not in fixed],
        "fixed_by_command": sorted(fixed & set(ensemble.parameters)),
        "info": ensemble.info,
    }
