"""The budget search (``python -m sim experiment=optimise budget=...``): the command as written,
the Pareto front and the best programme within the budget, common random numbers across trials,
a programme file that compare accepts, resuming, and refused budgets and search spaces.

One real search on a 200-person organisation over a few weeks with a handful of trials; the
rest in-process.
"""

import math
import re

import numpy as np
import optuna
import pandas as pd
import pytest
from conftest import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

import sim
from experiments import compare, optimise
from models.errors import InputError
from models.interventions import KINDS
from sim.replicate import Spec, replication_seeds
from sim.run import check

BUDGET = 30
R = 2
SPACE = "experiment.space={mandate: {intensity: [0.1, 1.0], end: [5, 20]}, campaign: {}}"
SEARCH = [
    "experiment=optimise",
    f"budget={BUDGET}",
    "org.size=200",
    "weeks=20",
    "seed=4",
    f"experiment.replications={R}",
    "experiment.trials=6",
    SPACE,
    "experiment.ranges={start: [1, 10], intensity: [0.1, 1.0]}",
]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    base = tmp_path_factory.mktemp("optimise")
    out = base / "results"
    run = run_cli([*SEARCH, f"experiment.dir={out}"], base)
    assert run.returncode == 0, run.text
    folders = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1
    return run, folders[0], out


def test_the_command_as_written_searches_and_writes_its_folder(searched):
    run, folder, out = searched
    assert run.stdout.strip().splitlines()[-1] == f"wrote {folder}"
    assert "6/6" in run.stderr and "Traceback" not in run.text  # the progress bar
    for name in (
        "trials.csv",
        "pareto.csv",
        "pareto.png",
        "pareto.svg",
        "runs.parquet",
        "report.md",
        "report.html",
        "config.yaml",
        "seeds.csv",
        "provenance.json",
        "programmes/best_within_budget.yaml",
    ):
        assert (folder / name).exists(), name
    assert len(list((out / optimise.STORE).glob("*.log"))) == 1  # the journal, kept to resume
    md = (folder / "report.md").read_text()
    assert "## Best within the budget" in md and f"{BUDGET} h" in md
    assert "experiment=compare" in md and "seed=5" in md  # checked again on other seeds
    assert "data:image/png;base64," in (folder / "report.html").read_text()


def test_pareto_front_and_best_within_budget(searched):
    _, folder, _ = searched
    table = pd.read_csv(folder / "trials.csv")
    assert len(table) == 6 and table["trial"].tolist() == list(range(6))
    for _, t in table.iterrows():  # on the front exactly when no trial dominates it
        dominated = (
            (table["net_value"] >= t["net_value"])
            & (table["cost_total"] <= t["cost_total"])
            & ((table["net_value"] > t["net_value"]) | (table["cost_total"] < t["cost_total"]))
        ).any()
        assert t["pareto"] == (not dominated), t["trial"]
    assert (table["within_budget"] == (table["cost_total"] <= BUDGET)).all()
    best = optimise.best_within(table)
    assert best["cost_total"] <= BUDGET
    assert best["net_value"] == table.loc[table["within_budget"], "net_value"].max()
    assert f"Trial {int(best['trial'])}: net value" in (folder / "report.md").read_text()
    pareto = pd.read_csv(folder / "pareto.csv")
    assert set(pareto["trial"]) == set(table.loc[table["pareto"], "trial"])


def test_every_trial_runs_on_the_same_seeds(searched):
    _, folder, _ = searched
    runs = pd.read_parquet(folder / "runs.parquet")
    table = pd.read_csv(folder / "trials.csv").set_index("trial")
    seeds = replication_seeds(4, R)
    for trial, g in runs.groupby("trial"):
        assert sorted(g["seed"]) == sorted(seeds), trial
        assert g["net_value"].mean() == pytest.approx(table.loc[trial, "net_value"])
        assert g["cost_total"].mean() == pytest.approx(table.loc[trial, "cost_total"])


def test_the_best_programme_is_a_file_compare_accepts(searched, tmp_path):
    _, folder, _ = searched
    assert file_spec(folder / "programmes", optimise.BEST).interventions == ()  # none won here
    # a programme with levers, from the costliest trial of the front, round-trips too
    table = pd.read_csv(folder / "trials.csv")
    trial = int(table.loc[table["cost_total"].idxmax(), "trial"])
    levers = search_levers()
    params = {
        k: (v.item() if hasattr(v, "item") else v)
        for k, v in table.set_index("trial").loc[trial].items()
        if "." in k and not (isinstance(v, float) and math.isnan(v))
    }
    chosen = optimise.programme(optuna.trial.FixedTrial(params), levers)
    assert chosen, "the costliest trial uses a lever"
    text = optimise.programme_yaml(chosen, trial, BUDGET, "test")
    (tmp_path / "found.yaml").write_text(text)
    assert file_spec(tmp_path, "found").interventions == chosen
    assert best_label(text) == f"Best within {BUDGET} h"


def file_spec(folder, name) -> Spec:
    """The spec compare builds from a programme file in ``folder``."""
    cfg = sim.compose(["experiment=compare", f"experiment.programme_dir={folder}", "weeks=20"])
    listed, _ = compare.programme_list(cfg)
    assert [p.name for p in listed] == ["baseline", name]
    files, _ = compare.programme_files(str(folder))
    with compare.search_path(files) as extra:
        return Spec.from_config(compare.programme_config(listed[1], ["weeks=20"], extra), name)


def search_levers():
    cfg = sim.compose([*SEARCH, "experiment.dir=/tmp/unused"])
    space = optimise.space_of(cfg.experiment)
    blocks = [f"+intervention@scenario.interventions.{n}={n}" for n in space]
    base = Spec.from_config(sim.compose(["weeks=20", "scenario=baseline", *blocks]), "s")
    ranges = OmegaConf.to_container(cfg.experiment.ranges)
    levers, errors = optimise.levers_of(
        space, ranges, {iv.name: iv for iv in base.interventions}, 20
    )
    assert errors == []
    return levers


def best_label(text: str) -> str:
    return re.search(r"label: (.*)", text).group(1).strip("'")


def test_the_same_command_continues_the_search(searched):
    run, folder, out = searched
    overrides = [*SEARCH, f"experiment.dir={out}", f"output.dir={run.out}"]
    overrides[overrides.index("experiment.trials=6")] = "experiment.trials=8"
    again = optimise.main(sim.compose(overrides), overrides)
    before = pd.read_csv(folder / "trials.csv")
    after = pd.read_csv(again / "trials.csv")
    assert len(after) == 8  # two more, not eight
    pd.testing.assert_frame_equal(
        after.iloc[:6][["trial", "net_value", "cost_total"]],
        before[["trial", "net_value", "cost_total"]],
    )
    assert set(pd.read_parquet(again / "runs.parquet")["trial"]) == {6, 7}


def test_trials_left_running_by_an_interruption_are_failed_and_redone(tmp_path):
    path = tmp_path / "journal.log"
    study = optimise.open_study(path, 0)
    study.ask()  # asked, never told: the process was stopped
    again = optimise.open_study(path, 0)
    assert [t.state for t in again.trials] == [optuna.trial.TrialState.FAIL]


def test_the_default_space_is_every_building_block_and_every_kind():
    cfg = sim.compose(["experiment=optimise"])
    space = optimise.space_of(cfg.experiment)
    assert list(space) == optimise.building_blocks()
    assert set(KINDS) <= set(space)


REFUSED = [
    (["budget=-5"], r"budget=-5(\.0)? is not allowed: it must be a positive number of hours"),
    (["budget=nan"], r"budget=nan is not allowed"),
    (["experiment.space={moon_shot: {}}"], r"experiment\.space\.moon_shot: not a building block"),
    (
        ["experiment.space={mandate: {colour: [1, 2]}}"],
        r"experiment\.space\.mandate\.colour: not a field the search varies; choose from start",
    ),
    (
        ["experiment.space={mandate: {end: [30, 10]}}"],
        r"experiment\.space\.mandate\.end=\[30, 10\] is not allowed: low must not be above",
    ),
    (
        ["experiment.space={mandate: {intensity: [0.5, 3.0]}}"],
        r"experiment\.space\.mandate\.intensity=3\.0 is not allowed: it must be between 0 and 1",
    ),
    (
        ["experiment.space={mandate: {start: [1, 400]}}"],
        r"experiment\.space\.mandate\.start=\[1, 400\] .* within the horizon \(20\)",
    ),
    (
        ["experiment.space={mandate: {target: [everyone, aliens]}}"],
        r"experiment\.space\.mandate\.target='aliens' is not allowed: choose one of everyone",
    ),
    (["experiment.trials=0"], r"experiment\.trials=0 is not allowed"),
    (["scenario=mandate"], r"scenario=mandate: experiment=optimise builds its programmes"),
]


@pytest.mark.parametrize(("extra", "pattern"), REFUSED)
def test_bad_budgets_and_search_spaces_are_refused_before_any_run(extra, pattern, tmp_path):
    keys = {e.split("=", 1)[0] for e in extra}
    kept = [o for o in SEARCH if o.split("=", 1)[0] not in keys]
    overrides = [*kept, *extra, f"experiment.dir={tmp_path / 'out'}"]
    with pytest.raises(InputError, match=pattern):
        optimise.main(sim.compose(overrides), overrides)
    assert not (tmp_path / "out").exists()


def test_a_budget_where_it_means_nothing_is_refused():
    with pytest.raises(InputError, match=r"budget=100(\.0)? means nothing here"):
        check(sim.compose(["budget=100", "weeks=5"]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(0, 1e4)), min_size=1, max_size=20),
    st.floats(0, 1e4),
)
def test_best_within_budget_has_the_most_net_value_of_the_affordable(points, budget):
    table = pd.DataFrame(points, columns=["net_value", "cost_total"])
    table["trial"] = range(len(table))
    table.loc[len(table)] = [-1e5, 0.0, len(table)]  # doing nothing is always affordable
    table["within_budget"] = table["cost_total"] <= budget
    best = optimise.best_within(table)
    assert best["cost_total"] <= budget
    assert best["net_value"] == np.max(table.loc[table["cost_total"] <= budget, "net_value"])
