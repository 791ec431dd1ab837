"""The best programme for a budget: a multi-objective search over interventions with Optuna.

    python -m sim experiment=optimise budget=10000
    python -m sim experiment=optimise budget=10000 org=orgchart org.path=hr.csv \\
        experiment.trials=200 calibration.path=posterior.parquet
    python -m sim experiment=optimise \\
        'experiment.space={mandate: {end: [13, 104]}, sense_making: {cadence: [2, 8]}}'

What is searched (``experiment.space``): levers — building blocks of ``conf/intervention/``
(every one when ``space`` is null) — and for each lever the fields the search may vary: ``start``
and ``end`` (weeks), ``intensity``, ``share`` (of the target group reached), ``target`` (a list
of groups to choose from) and ``cadence`` (weeks between pulses). A field is ``[low, high]``, a
list of choices (``target``), or one value (fixed); a lever given as ``{}`` takes
``experiment.ranges``; fields not named keep the building block's value. Every trial decides for
each lever whether the programme uses it. An end before the start becomes the start. Everything
is checked before the first run, with the model's own rules (``Intervention.problems``).

How. Each trial is one programme, run with the same R seeds (``experiment.replications``) and,
with a calibration ensemble, under the same K parameter draws (``experiment.draws``): common
random numbers across trials, so trials differ by their programmes, not by luck, and a programme
is judged over many seeds and plausible parameter sets (robust, not tuned to one run). Its two
objectives are the mean net value (maximised) and the mean cost (minimised); Optuna's TPE sampler
(multivariate, seeded by ``seed``) proposes trials in batches that run together through
``sim.replicate.run_jobs``; with a ``budget`` the mean cost above it is a constraint the
sampler steers away from. Optuna's journal (``<experiment.dir>/.optuna/<key>.log``, the key a
digest of everything the objectives depend on) keeps every finished trial: the same command run
again after an interruption continues where it stopped, and with more ``experiment.trials``
extends the search.

Writes ``<experiment.dir>/<timestamp>/`` atomically: ``trials.csv`` (every trial: its settings
and objectives), ``runs.parquet`` (every run), ``pareto.csv`` and ``pareto.png``/``.svg`` (the
trials no other beats on both net value and cost), ``programmes/best_within_budget.yaml`` (the
trial with the most net value at a mean cost within the budget, written as a programme file:
``python -m sim experiment=compare experiment.programme_dir=<folder>/programmes`` compares it
with fresh seeds), ``report.md``/``.html``, ``config.yaml``, ``seeds.csv`` and
``provenance.json``.
"""

import dataclasses
import hashlib
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from experiments import compare
from models.errors import InputError
from models.interventions import Intervention
from sim import palette, plots, report, stats
from sim import posterior as calibration
from sim.api import CONF_DIR
from sim.provenance import provenance
from sim.replicate import Spec, experiment_problems, replication_seeds, run_jobs
from sim.resume import code_fingerprint
from sim.run import check_output_dir, config_problems, new_run_folder, write_atomically

#: What the search may vary, and how: whole weeks, a share or an intensity, a choice of groups.
WHOLE = ("start", "end", "cadence")
NUMBER = ("intensity", "share")
CHOICE = ("target",)
FIELDS = (*WHOLE, *NUMBER, *CHOICE)
STORE = ".optuna"
BEST = "best_within_budget"


def building_blocks() -> list[str]:
    """The levers a search may use: the building blocks in ``conf/intervention/``."""
    return sorted(p.stem for p in (CONF_DIR / "intervention").glob("*.yaml"))


@dataclass(frozen=True)
class Lever:
    """One lever of the search: the building block's intervention, the fields fixed to other
    values, and the fields searched (field → ``(low, high)`` or a list of choices)."""

    base: Intervention
    fixed: dict
    searched: dict

    @property
    def name(self) -> str:
        return self.base.name


def space_of(experiment: DictConfig) -> dict:
    """``experiment.space`` as plain data (every building block, with ``experiment.ranges``,
    when it is null)."""
    if experiment.space is None:
        return {name: {} for name in building_blocks()}
    space = OmegaConf.to_container(experiment.space, resolve=True)
    if not isinstance(space, dict) or not space:
        raise InputError(
            f"experiment.space={space!r} is not allowed: map levers (building blocks in "
            "conf/intervention/) to the fields searched, e.g. {mandate: {end: [13, 104]}}; "
            "null searches every building block"
        )
    return space


def space_problems(space: dict, ranges: dict, weeks: int) -> list[str]:
    """Problems of the search space that need no composing: unknown levers and fields, and
    ranges that are not ranges."""
    errors, blocks = [], building_blocks()
    for name, fields in space.items():
        key = f"experiment.space.{name}"
        if name not in blocks:
            errors.append(
                f"{key}: not a building block; the levers (conf/intervention/) are "
                f"{', '.join(blocks)}"
            )
            continue
        if fields is not None and not isinstance(fields, dict):
            errors.append(
                f"{key}={fields!r} is not allowed: give its fields, e.g. {{end: [13, 104]}}"
            )
            continue
        for field, value in (fields or ranges).items():
            errors += _field_problems(f"{key}.{field}", field, value, weeks)
    return errors


def _field_problems(key: str, field: str, value, weeks: int) -> list[str]:
    if field not in FIELDS:
        return [f"{key}: not a field the search varies; choose from {', '.join(FIELDS)}"]
    if field in CHOICE:
        ok = isinstance(value, str) or (
            isinstance(value, list) and value and all(isinstance(v, str) for v in value)
        )
        return [] if ok else [f"{key}={value!r} is not allowed: give a group or a list of groups"]
    if not isinstance(value, list):
        return []  # one value: the model's rules check it with the lever
    kind = int if field in WHOLE else (int, float)
    if len(value) != 2 or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
        what = "whole weeks" if field in WHOLE else "numbers"
        return [f"{key}={value!r} is not allowed: give [low, high] in {what}, or one value"]
    low, high = value
    if low > high:
        return [f"{key}={value!r} is not allowed: low must not be above high"]
    if field == "start" and high > weeks:
        return [f"{key}={value!r} is not allowed: a lever must start within the horizon ({weeks})"]
    return []


def levers_of(space: dict, ranges: dict, blocks: dict[str, Intervention], weeks: int):
    """The levers, each checked with the model's rules at the ends of its ranges."""
    levers, errors = [], []
    for name, fields in space.items():
        fields = dict(fields or ranges)
        base = blocks[name]
        fixed, searched = {}, {}
        for field, value in fields.items():
            if field in CHOICE:
                choices = [value] if isinstance(value, str) else list(value)
                (searched if len(choices) > 1 else fixed)[field] = (
                    choices if len(choices) > 1 else choices[0]
                )
            elif isinstance(value, list):
                low, high = value
                if field == "end":
                    high = min(high, weeks)  # a lever cannot outlast the horizon
                searched[field] = (low, max(low, high))
            else:
                fixed[field] = value
        probes = [dataclasses.replace(base, **fixed)]
        for field, span in searched.items():  # each end of a range, each choice
            probes += [dataclasses.replace(probes[0], **{field: v}) for v in span]
        # an end before the start is moved to the start (``programme``), so it is no problem
        found = sorted({m for p in probes for m in p.problems() if not m.startswith(p.key("end"))})
        errors += [m.replace("scenario.interventions.", "experiment.space.") for m in found]
        levers.append(Lever(dataclasses.replace(base, **fixed), fixed, searched))
    return levers, errors


def programme(trial, levers: list[Lever]) -> tuple[Intervention, ...]:
    """The programme a trial proposes: every lever's use and fields are suggested (a fixed
    search space, which suits the sampler), the unused levers left out."""
    chosen = []
    for lever in levers:
        use = trial.suggest_categorical(f"{lever.name}.use", [True, False])
        values = {}
        for field, span in lever.searched.items():
            key = f"{lever.name}.{field}"
            if field in CHOICE:
                values[field] = trial.suggest_categorical(key, span)
            elif field in WHOLE:
                values[field] = trial.suggest_int(key, *span)
            else:
                values[field] = trial.suggest_float(key, *span)
        iv = dataclasses.replace(lever.base, **values)
        if iv.end is not None and iv.end < iv.start:
            iv = dataclasses.replace(iv, end=iv.start)
        if use:
            chosen.append(iv)
    return tuple(chosen)


def search_overrides(overrides: list[str]) -> list[str]:
    """The command's overrides that make the setting every trial runs in: without the
    experiment's own and ``budget``; ``scenario`` overrides mean nothing here."""
    kept = []
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0].split("@", 1)[0]
        if key.split(".", 1)[0] in ("experiment", "budget"):
            continue
        if key.split(".", 1)[0] == "scenario":
            raise InputError(
                f"{override}: experiment=optimise builds its programmes from experiment.space; "
                "choose levers and ranges there (scenario means nothing in a search)"
            )
        kept.append(override)
    return kept


def budget_problems(budget) -> list[str]:
    if budget is None or 0 < budget < math.inf:
        return []
    return [
        f"budget={budget} is not allowed: it must be a positive number of hours (the most a "
        "programme may cost), or null for the whole Pareto front without a budget"
    ]


# --- the search ---------------------------------------------------------------------------------


def study_key(record: dict) -> str:
    """A digest of everything the trials' objectives depend on: the same command finds the
    same journal, another setting starts another."""
    text = json.dumps({**record, "code": code_fingerprint()}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def open_study(path: Path, seed: int) -> optuna.Study:
    """The study in Optuna's journal at ``path`` (created, or continued); trials left running
    by an interrupted search are marked failed (their programmes are proposed again)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    path.parent.mkdir(parents=True, exist_ok=True)
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    study = optuna.create_study(
        storage=JournalStorage(JournalFileBackend(str(path))),
        study_name="programmes",
        directions=["maximize", "minimize"],
        sampler=sampler,
        load_if_exists=True,
    )
    for stale in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
    return study


def search(
    study: optuna.Study,
    levers: list[Lever],
    base: Spec,
    draws: list[dict],
    seeds: list[int],
    trials: int,
    jobs: int,
    budget: float | None,
    progress: bool,
) -> pd.DataFrame:
    """Run trials until the study has ``trials`` complete ones, a batch at a time (all of a
    batch's runs in one ``run_jobs``); returns every run of this session (trial, draw, seed,
    outcomes)."""
    from tqdm import tqdm

    done = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    batch = max(2, 2 * jobs)
    frames = []
    with tqdm(
        total=trials,
        initial=min(done, trials),
        desc="trials",
        unit="trial",
        file=sys.stderr,
        disable=not progress,
    ) as bar:
        while done < trials:
            asked = [study.ask() for _ in range(min(batch, trials - done))]
            specs = [
                dataclasses.replace(
                    base, scenario=f"trial_{t.number}", interventions=programme(t, levers)
                )
                for t in asked
            ]
            _, runs = run_jobs(compare.study_jobs(specs, draws, seeds), n_jobs=jobs)
            runs.insert(0, "trial", runs["scenario"].str.removeprefix("trial_").astype(int))
            frames.append(runs)
            for t in asked:
                mine = runs[runs["trial"] == t.number]
                net, cost = float(mine["net_value"].mean()), float(mine["cost_total"].mean())
                t.set_user_attr("long_run_value", float(mine["long_run_value"].mean()))
                t.set_user_attr("net_value_sd", float(mine["net_value"].std(ddof=1)))
                if budget is not None:  # the sampler steers towards trials within it
                    t.set_constraint("over_budget", cost - budget)
                study.tell(t, [net, cost])
            done += len(asked)
            bar.update(len(asked))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def trials_table(study: optuna.Study, budget: float | None) -> pd.DataFrame:
    """Every complete trial: its settings, objectives, whether within the budget and on the
    Pareto front."""
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    front = {t.number for t in study.best_trials}
    rows = [
        {
            "trial": t.number,
            "net_value": t.values[0],
            "cost_total": t.values[1],
            "long_run_value": t.user_attrs.get("long_run_value"),
            "net_value_sd": t.user_attrs.get("net_value_sd"),
            "within_budget": budget is None or t.values[1] <= budget,
            "pareto": t.number in front,
            **t.params,
        }
        for t in complete
    ]
    return pd.DataFrame(rows).sort_values("trial", ignore_index=True)


def best_within(table: pd.DataFrame) -> pd.Series:
    """The trial with the most net value among those within the budget."""
    feasible = table[table["within_budget"]]
    return feasible.loc[feasible["net_value"].idxmax()]


def programme_yaml(interventions, trial: int, budget, command: str) -> str:
    """A programme file (as in ``conf/scenario/``) that compare accepts
    (``experiment.programme_dir``)."""
    label = f"Best within {budget:,.0f} h" if budget is not None else "Most net value found"
    node = {
        "scenario": {
            "name": BEST,
            "label": label,
            "description": f"Found by the budget search (trial {trial}): "
            + (", ".join(iv.name for iv in interventions) or "no intervention")
            + ".",
            "interventions": {
                iv.name: {k: v for k, v in dataclasses.asdict(iv).items() if k != "name"}
                for iv in interventions
            },
        }
    }
    head = f"# @package _global_\n# Written by: {command}\n"
    return head + OmegaConf.to_yaml(OmegaConf.create(node))


def write_figure(table: pd.DataFrame, best: pd.Series, budget, style: palette.Style, folder: Path):
    """The Pareto front: every trial's mean cost and net value, the front, the budget and the
    best programme within it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6), layout="constrained")
    ax.scatter(table["cost_total"], table["net_value"], s=14, color="#bbbbbb", label="trial")
    front = table[table["pareto"]].sort_values("cost_total")
    ax.plot(
        front["cost_total"],
        front["net_value"],
        "o-",
        color="#1f77b4",
        ms=5,
        label="Pareto front: no trial has more net value for less cost",
    )
    ax.plot(
        best["cost_total"],
        best["net_value"],
        "*",
        color="#d62728",
        ms=16,
        label=f"best within budget (trial {int(best['trial'])})",
    )
    if budget is not None:
        ax.axvline(budget, color="#d62728", ls="--", lw=1, label=f"budget {budget:,.0f} h")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("programme cost, hours (mean over seeds and draws)")
    ax.set_ylabel("net value, hours (mean over seeds and draws)")
    ax.xaxis.set_major_formatter(plots.THOUSANDS)
    ax.yaxis.set_major_formatter(plots.THOUSANDS)
    style.money_axis(ax, "x")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Net value against cost: every programme tried")
    style.finish(fig)
    return plots.save_figure(fig, folder / "pareto")


def report_markdown(table, best, budget, about: dict, programme_text: list[str]) -> str:
    money = about.get("money")
    front = table[table["pareto"]].sort_values("cost_total")
    budget_text = f"{report.amount(budget, money)}" if budget is not None else "none given"
    lines = [
        "# The best programme for a budget",
        "",
        f"- **Budget:** {budget_text}.",
        f"- **Search:** {len(table)} programmes tried by Optuna's TPE sampler (two objectives: "
        "net value up, cost down), each run on the same "
        f"{about['replications']} seeds"
        + (
            f" × {about['draws']} parameter draws (calibration `{about['calibration']}`)"
            if about["draws"]
            else " (no calibration ensemble: replication noise only)"
        )
        + f"; {about['agents']} people, {about['weeks']} weeks; levers "
        + ", ".join(f"`{n}`" for n in about["levers"])
        + ".",
        f"- **Changed from the defaults:** {report.changed_text(about['changes'])}.",
        "",
        "## Best within the budget",
        "",
        f"Trial {int(best['trial'])}: net value {report.amount(best['net_value'], money)} "
        f"(long-run value {report.hours(best['long_run_value'])} h, standard deviation over runs "
        f"{report.hours(best['net_value_sd'])} h) at a mean cost of "
        f"{report.amount(best['cost_total'], money)}.",
        "",
        *programme_text,
        "",
        f"It is written as `programmes/{BEST}.yaml`. The search picked it as the best of many "
        "on the same seeds, so its numbers are optimistic (the winner's curse): compare it with "
        "fresh seeds before deciding —",
        "",
        f"`{about['compare_command']}`",
        "",
        "## Pareto front",
        "",
        "The programmes no other beats on both net value and cost (`pareto.csv`; every trial "
        "is in `trials.csv`).",
        "",
        "| trial | cost, h | net value, h | long-run value, h | within budget |",
        "|---:|---:|---:|---:|---|",
    ]
    for _, r in front.iterrows():
        lines.append(
            f"| {int(r['trial'])} | {report.hours(r['cost_total'])} | "
            f"{report.hours(r['net_value'])} | {report.hours(r['long_run_value'])} | "
            f"{'yes' if r['within_budget'] else 'no'} |"
        )
    lines += [
        "",
        "![Net value against cost](pareto.png)",
        "",
        f"*{about['footer']}.*",
        "",
        "## Caveats",
        "",
        "- **A search, not a proof.** The sampler explores a space of many levers with a few "
        "hundred runs; another seed or more trials can find other programmes of similar net "
        "value. Differences between neighbouring points of the front are often within noise.",
        "- **A model, not a forecast.** The numbers hold under the model's assumptions "
        "(docs/MODEL.md) and, without a calibration ensemble, at one set of parameters.",
        "",
    ]
    return "\n".join(lines)


def main(cfg: DictConfig, overrides: list[str]) -> Path:
    """Run (or continue) the search ``cfg.experiment`` describes and write its folder."""
    started = time.perf_counter()
    experiment = cfg.experiment
    errors = experiment_problems(experiment) + budget_problems(cfg.budget)
    errors += compare.report_problems(cfg.report)
    if experiment.trials < 1:
        errors.append(f"experiment.trials={experiment.trials} is not allowed: at least 1")
    if experiment.draws < 1:
        errors.append(f"experiment.draws={experiment.draws} is not allowed: at least 1")
    try:
        check_output_dir(experiment.dir, key="experiment.dir")
        common = search_overrides(list(overrides))
        space = space_of(experiment)
        ranges = OmegaConf.to_container(experiment.ranges, resolve=True) or {}
        errors += space_problems(space, ranges, int(cfg.weeks))
    except InputError as e:
        errors.append(str(e))
    errors += config_problems(cfg)
    try:
        ensemble = calibration.from_config(cfg)
    except InputError as e:
        errors.append(str(e))
    if errors:
        raise InputError("\n".join(errors))
    blocks = [f"+intervention@scenario.interventions.{name}={name}" for name in space]
    setting = compare.compose([*common, "scenario=baseline", *blocks])
    base = Spec.from_config(setting, "search")
    levers, problems = levers_of(
        space, ranges, {iv.name: iv for iv in base.interventions}, int(cfg.weeks)
    )
    if problems:
        raise InputError("\n".join(problems))

    k = int(experiment.draws) if ensemble is not None else 1
    fixed = compare.overridden_parameters(common)
    draws = (
        [{n: v for n, v in d.items() if n not in fixed} for d in ensemble.draw(k, int(cfg.seed))]
        if ensemble is not None
        else []
    )
    seeds = replication_seeds(cfg.seed, experiment.replications * k)
    budget = None if cfg.budget is None else float(cfg.budget)
    key = study_key(
        {
            "common": common,
            "levers": [dataclasses.asdict(lv) for lv in levers],
            "seeds": seeds,
            "draws": draws,
            "budget": budget,
        }
    )
    study = open_study(Path(experiment.dir) / STORE / f"{key}.log", int(cfg.seed))
    t0 = time.perf_counter()
    runs = search(
        study,
        levers,
        dataclasses.replace(base, interventions=()),
        draws,
        seeds,
        int(experiment.trials),
        int(experiment.jobs),
        budget,
        bool(cfg.output.progress),
    )
    simulated = time.perf_counter() - t0
    table = trials_table(study, budget)
    best = best_within(table)
    chosen = programme(optuna.trial.FixedTrial(study.trials[int(best["trial"])].params), levers)
    money = report.Money.of(cfg.report)
    folder = new_run_folder(experiment.dir)
    programmes_dir = folder / "programmes"
    command = " ".join(["python -m sim", *overrides])
    about = {
        "replications": int(experiment.replications),
        "draws": len(draws),
        "calibration": str(cfg.calibration.name),
        "agents": f"{int(runs['agents'].iloc[0]):,}" if len(runs) else "the organisation's",
        "weeks": int(cfg.weeks),
        "levers": [lv.name for lv in levers],
        "changes": compare.changed_assumptions(common),
        "money": money,
        "compare_command": " ".join(
            [
                "python -m sim experiment=compare",
                *common,
                f"seed={int(cfg.seed) + 1}",  # other seeds than the search's
                f"experiment.programme_dir={programmes_dir}",
            ]
        ),
    }
    about["footer"] = (
        f"{len(table)} programmes tried, {about['replications']} seeds"
        + (f" × {len(draws)} parameter draws" if draws else "")
        + "; "
        + report.changed_line(about["changes"])
    )
    programme_text = (
        [
            "| lever | start | end | intensity | share | target | cadence |",
            "|---|---:|---:|---:|---:|---|---:|",
            *(
                f"| `{iv.name}` ({iv.kind}) | {iv.start} | "
                f"{'end' if iv.end is None else iv.end} | {iv.intensity:.2f} | {iv.share:.0%} "
                f"| {iv.target} | {iv.cadence} |"
                for iv in chosen
            ),
        ]
        if chosen
        else ["No intervention: within this budget, nothing tried beat deploying and waiting."]
    )
    record = {
        **provenance(int(cfg.seed), list(overrides)),
        "experiment": "optimise",
        "budget": budget,
        "trials": len(table),
        "study": str(Path(experiment.dir) / STORE / f"{key}.log"),
        "replications": int(experiment.replications),
        "draws": len(draws),
        "replication_seeds": seeds,
        "common_overrides": common,
        "seconds": {"simulation": round(simulated, 2)},
    }

    def build(tmp: Path) -> None:
        table.to_csv(tmp / "trials.csv", index=False)
        table[table["pareto"]].sort_values("cost_total").to_csv(tmp / "pareto.csv", index=False)
        if len(runs):
            runs.to_parquet(tmp / "runs.parquet", index=False)
        pd.DataFrame({"replication": range(len(seeds)), "seed": seeds}).to_csv(
            tmp / "seeds.csv", index=False
        )
        if draws:
            pd.DataFrame(draws).rename_axis(stats.DRAW).reset_index().to_csv(
                tmp / "draws.csv", index=False
            )
        (tmp / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True), encoding="utf-8")
        (tmp / "programmes").mkdir()
        (tmp / "programmes" / f"{BEST}.yaml").write_text(
            programme_yaml(chosen, int(best["trial"]), budget, command), encoding="utf-8"
        )
        style = palette.Style({}, {}, about["footer"], money)
        write_figure(table, best, budget, style, tmp)
        markdown = report_markdown(table, best, budget, about, programme_text)
        (tmp / "report.md").write_text(markdown, encoding="utf-8")
        (tmp / "report.html").write_text(
            report.markdown_to_html(markdown, "The best programme for a budget", images=tmp),
            encoding="utf-8",
        )
        record["seconds"]["total"] = round(time.perf_counter() - started, 2)
        (tmp / "provenance.json").write_text(json.dumps(record, indent=2) + "\n")

    folder = write_atomically(folder, build, key="experiment.dir")
    print(
        f"searched {len(table)} programmes; best within the budget: trial {int(best['trial'])}, "
        f"net value {best['net_value']:,.0f} h at {best['cost_total']:,.0f} h; report: "
        f"{folder / 'report.md'}"
    )
    return folder
