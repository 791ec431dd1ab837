"""Scenario comparison: every named programme × R seeded replications on one organisation.

    python -m sim experiment=compare
    python -m sim experiment=compare experiment.replications=10 \\
        'experiment.scenarios=[baseline,mandate,sense_making]' org.size=2000 weeks=156

The command's overrides are the common setting (organisation, population, horizon, root seed,
champions): each programme is composed from them plus ``scenario=<name>``, exactly as
``python -m sim scenario=<name> ...`` would compose it (so a programme that sets
``champions.*`` in its file keeps its champions unless the command overrides them). The
baseline is always run, as the reference. Replication i of every programme uses the same
seed, spawned from the root seed (``sim.replicate``): common random numbers.

Writes ``<experiment.dir>/<timestamp>/`` atomically (built under a hidden temporary name and
renamed when complete):

- ``weekly.parquet``/``.csv``: scenario, replication, seed, week and every weekly metric;
- ``runs.parquet``/``.csv``: one row per scenario × replication, every scalar of the run's
  summary, plus ``baseline_value_same_weeks`` and ``value_after_window_vs_baseline``;
- ``summary.csv``/``.md``: per scenario, the mean and 95% bootstrap CI of each outcome;
- ``tests.csv``: paired tests of each scenario against the baseline, Holm-corrected;
- ``report.md``/``.html``: the strategist's report; figures as PNG and SVG;
- ``config.yaml``, ``scenarios.yaml``, ``overrides.yaml``, ``seeds.csv``, ``provenance.json``.

Each replication is saved to ``<experiment.dir>/.partial/`` as soon as it completes, so an
interrupted comparison (Ctrl-C, SIGTERM, a crash) run again with the same command simulates
only the replications still missing, and writes the same tables as an uninterrupted run
(``sim.resume``); the saved replications are deleted once the folder is written.
"""

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

import sim
from models.errors import InputError
from models.state import STAGE_NAMES
from sim import report, stats
from sim.api import CONF_DIR
from sim.provenance import provenance
from sim.replicate import (
    Spec,
    experiment_problems,
    replication_seeds,
    run_replications,
    write_study_inputs,
)
from sim.resume import PARTIAL, RunCache, run_key
from sim.run import check_output_dir, config_problems, new_run_folder, write_atomically

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


def available_scenarios() -> list[str]:
    """The named programmes: the files in ``conf/scenario/``."""
    return sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml"))


def scenario_names(experiment: DictConfig) -> tuple[list[str], bool]:
    """The programmes to compare, baseline first, and whether the baseline was added; refuses
    bad settings of ``experiment.*`` with one message naming every bad key."""
    errors = experiment_problems(experiment)
    if experiment.bootstrap < MIN_BOOTSTRAP:
        errors.append(
            f"experiment.bootstrap={experiment.bootstrap} is not allowed: it must be at least "
            f"{MIN_BOOTSTRAP} resamples (2000 is usual)"
        )
    available = available_scenarios()
    unknown = [n for n in experiment.scenarios if n not in available]
    if unknown:
        what = "is not a programme" if len(unknown) == 1 else "are not programmes"
        errors.append(
            f"experiment.scenarios: {', '.join(map(repr, unknown))} {what}; the programmes "
            f"(files in conf/scenario/) are {', '.join(available)}"
        )
    if errors:
        raise InputError("\n".join(errors))
    names = list(dict.fromkeys(experiment.scenarios)) or available
    added = stats.REFERENCE not in names
    return [stats.REFERENCE, *(n for n in names if n != stats.REFERENCE)], added


def common_overrides(overrides: list[str]) -> list[str]:
    """The command's overrides without those of the experiment itself; ``scenario=`` is
    refused (the programmes are chosen with ``experiment.scenarios``)."""
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
        kept.append(override)
    return kept


def compose(overrides: list[str]) -> DictConfig:
    """``sim.compose``, also from inside ``python -m sim``: there Hydra is already initialised
    (by ``@hydra.main``, on the same ``conf/``) and refuses a second initialisation, so the
    running instance composes."""
    from hydra.core.global_hydra import GlobalHydra

    if not GlobalHydra.instance().is_initialized():
        return sim.compose(overrides)
    from hydra import compose as hydra_compose
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.api import _message

    try:
        return hydra_compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        raise InputError(_message(e)) from e


@dataclass
class Comparison:
    """What a comparison produced (``analyse``); written by ``write``."""

    weekly: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame
    tests: pd.DataFrame
    bands: pd.DataFrame  # per scenario and week: means and CI bands of BAND_COLUMNS
    stages: pd.DataFrame  # per scenario and week: mean share at each stage
    seeds: list[int]
    about: dict  # for the report: replications, agents, weeks, organisation, seed, ...


def analyse(
    weekly: pd.DataFrame,
    runs: pd.DataFrame,
    seeds: list[int],
    n_resamples: int,
    seed: int,
    descriptions: dict[str, str],
    about: dict,
) -> Comparison:
    """Summary, tests, time-series bands and stage means of the simulated runs."""
    runs = stats.add_same_weeks_baseline(runs, weekly)
    summary = stats.summary_table(runs, n_resamples, seed, descriptions)
    tests = stats.tests_table(runs, n_resamples, seed)
    bands = stats.weekly_bands(weekly, BAND_COLUMNS, n_resamples, seed)
    stage_columns = [f"stage_{s}" for s in STAGE_NAMES]
    stages = weekly.groupby(["scenario", "week"], sort=False)[stage_columns].mean().reset_index()
    about = {
        **about,
        "replications": len(seeds),
        "agents": int(runs["agents"].iloc[0]),
        "weeks": int(runs["weeks"].iloc[0]),
        "tests": int(tests["p_value"].notna().sum()) if len(tests) else 0,
    }
    return Comparison(weekly, runs, summary, tests, bands, stages, seeds, about)


def write_figures(c: Comparison, folder: Path) -> list[Path]:
    """The comparison's figures, PNG and SVG (names as in ``sim.report.FIGURES``)."""
    from sim import plots

    lrv = c.tests[c.tests["outcome"] == "long_run_value"] if len(c.tests) else c.tests
    beyond = set(lrv.loc[lrv["beyond_noise"], "scenario"]) if len(lrv) else set()
    draw = {
        "adoption_value_over_time": lambda p: plots.comparison_over_time(c.bands, p),
        "long_run_value": lambda p: plots.long_run_value_ci(c.summary, p, beyond),
        "adoption_vs_value": lambda p: plots.adoption_value_scatter(c.runs, p),
        "stage_composition": lambda p: plots.stage_composition(c.stages, p),
        "value_per_cost": lambda p: plots.value_per_cost(c.summary, p),
    }
    return [path for stem in report.FIGURES for path in draw[stem](folder / stem)]


def write(
    c: Comparison, folder: Path, cfg: DictConfig, record: dict, configs: dict[str, DictConfig]
) -> Path:
    """Write the comparison folder (atomically); ``record`` goes into provenance.json."""

    def build(tmp: Path) -> None:
        for name, table in (("weekly", c.weekly), ("runs", c.runs)):
            table.to_parquet(tmp / f"{name}.parquet", index=False)
            table.to_csv(tmp / f"{name}.csv", index=False)
        c.summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.md").write_text(
            report.summary_markdown(c.summary, len(c.seeds)), encoding="utf-8"
        )
        c.tests.to_csv(tmp / "tests.csv", index=False)
        write_study_inputs(tmp, cfg, configs, c.seeds)
        overrides = {
            "command": record["overrides"],
            "common": record["common_overrides"],
            "each_scenario": "common + scenario=<name>; seed replaced by the replication's seed",
        }
        (tmp / "overrides.yaml").write_text(
            OmegaConf.to_yaml(OmegaConf.create(overrides)), encoding="utf-8"
        )
        write_figures(c, tmp)
        markdown = report.report_markdown(c.summary, c.tests, c.about)
        (tmp / "report.md").write_text(markdown, encoding="utf-8")
        (tmp / "report.html").write_text(
            report.markdown_to_html(markdown, "What the programmes do to adoption and to value"),
            encoding="utf-8",
        )
        record["seconds"]["total"] = round(time.perf_counter() - record.pop("_started"), 2)
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")

    return write_atomically(folder, build, key="experiment.dir")


def main(cfg: DictConfig, overrides: list[str]) -> Path:
    """Run the comparison ``cfg.experiment`` describes and write its folder; returns the path.

    Everything that can be wrong with the input is refused (``InputError``) before the first
    run: the experiment settings, the folder, every programme's config.
    """
    started = time.perf_counter()
    experiment = cfg.experiment
    errors = []  # every problem of the settings and of the common config, in one message
    try:
        names, baseline_added = scenario_names(experiment)
    except InputError as e:
        errors.append(str(e))
    try:
        check_output_dir(experiment.dir, key="experiment.dir")
        common = common_overrides(list(overrides))
    except InputError as e:
        errors.append(str(e))
    errors += config_problems(cfg)  # the common setting, once, before the programmes
    if errors:
        raise InputError("\n".join(errors))
    configs, specs = {}, []
    for name in names:
        try:
            configs[name] = compose([*common, f"scenario={name}"])
            specs.append(Spec.from_config(configs[name], name))
        except InputError as e:
            raise InputError(f"scenario={name}: {e}") from e
    seeds = replication_seeds(cfg.seed, experiment.replications)

    t0 = time.perf_counter()
    cache = RunCache(Path(experiment.dir) / PARTIAL)
    weekly, runs = run_replications(
        specs,
        seeds,
        n_jobs=int(experiment.jobs),
        progress=bool(cfg.output.progress),
        cache=cache,
    )
    simulated = time.perf_counter() - t0

    org = cfg.org
    organisation = ORGANISATIONS.get(org.generator) or (
        f"the org chart in {org.get('path')}"
        if org.generator == "orgchart"
        else f"the network in {org.get('path')}"
    )
    c = analyse(
        weekly,
        runs,
        seeds,
        int(experiment.bootstrap),
        int(cfg.seed),
        {n: str(configs[n].scenario.description) for n in names},
        {"organisation": organisation, "seed": int(cfg.seed), "baseline_added": baseline_added},
    )
    record = {
        **provenance(int(cfg.seed), list(overrides)),
        "experiment": "compare",
        "scenarios": names,
        "replications": len(seeds),
        "replication_seeds": seeds,
        "common_overrides": common,
        "jobs": int(experiment.jobs),
        "bootstrap": int(experiment.bootstrap),
        "seconds": {"simulation": round(simulated, 2)},
        "_started": started,
    }
    folder = write(c, new_run_folder(experiment.dir), cfg, record, configs)
    cache.discard(run_key(spec, r, seed) for spec in specs for r, seed in enumerate(seeds))
    print(
        f"compared {len(names)} programmes × {len(seeds)} replications "
        f"({c.about['agents']:,} people, {c.about['weeks']} weeks) in "
        f"{time.perf_counter() - started:.1f} s; report: {folder / 'report.md'}",
        file=sys.stdout,
    )
    return folder
