"""The sensitivity analysis (``python -m sim experiment=sensitivity``): a tiny Morris run end to
end, common random numbers, the parameter ranges, the scenario-discovery export and the
one-/two-split failure search."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

import sim
from experiments import sensitivity
from experiments.sensitivity import PARAMETERS, Settings
from models.errors import InputError
from models.params import BOUNDS, Behaviour
from sim.replicate import Spec, replication_seeds

TINY = ["experiment=sensitivity", "org.size=40", "weeks=20", "seed=3", "output.progress=false"]
TINY_SETTINGS = Settings(
    methods=("morris", "discovery"), morris_trajectories=3, discovery_n=8, resamples=100
)


@pytest.fixture(scope="module")
def morris_run(tmp_path_factory):
    """A tiny Morris screening (3 trajectories) and 8 discovery points, in-process:
    1 replication, 40 people."""
    out = tmp_path_factory.mktemp("sensitivity") / "results"
    overrides = [*TINY, "experiment.replications=1", f"experiment.dir={out}"]
    cfg = sim.compose(overrides)
    return sensitivity.main(cfg, overrides, TINY_SETTINGS)


def test_tiny_morris_run_writes_every_file(morris_run):
    names = {p.name for p in morris_run.iterdir()}
    expected = {
        "samples.parquet",
        "samples.csv",
        "indices.csv",
        "experiments.csv",
        "discovery.csv",
        "sensitivity_morris.png",
        "sensitivity_morris.svg",
        "problem.json",
        "config.yaml",
        "scenarios.yaml",
        "seeds.csv",
        "provenance.json",
    }
    assert expected <= names
    assert not any(p.name.startswith(".") for p in morris_run.parent.iterdir())  # atomic: no temp
    record = json.loads((morris_run / "provenance.json").read_text())
    k = len(PARAMETERS)
    assert record["samples"] == {"morris": 3 * (k + 1), "discovery": 8}
    assert record["runs"] == (3 * (k + 1) + 8) * 4  # samples × programmes × replications
    assert record["replication_seeds"] == replication_seeds(3, 1)


def test_indices_cover_every_parameter_and_are_finite(morris_run):
    indices = pd.read_csv(morris_run / "indices.csv")
    for outcome in sensitivity.OUTCOMES:
        d = indices[(indices["method"] == "morris") & (indices["outcome"] == outcome)]
        assert list(d["parameter"]) == list(PARAMETERS)
        for column in ("mu", "mu_star", "mu_star_conf", "sigma"):
            assert np.isfinite(d[column]).all(), column
        assert (d["mu_star"] >= 0).all()
        assert (d["mu_star"] >= d["mu"].abs() - 1e-9).all()
    assert set(indices["method"]) == {"morris"}  # the discovery points have no indices
    # the mandate's pressure cannot matter to incentives − baseline (neither has a mandate)
    inc = indices[indices["outcome"] == "incentives_minus_baseline"].set_index("parameter")
    assert inc.loc["pressure_weight", "mu_star"] == 0


def test_experiments_csv_is_ready_for_scenario_discovery(morris_run):
    table = pd.read_csv(morris_run / "experiments.csv")
    claims = list(sensitivity.CLAIMS)
    assert list(table.columns) == [*PARAMETERS, *sensitivity.OUTCOMES, *claims]
    assert table[list(PARAMETERS)].notna().all().all()
    for claim, (outcome, sign, _) in sensitivity.CLAIMS.items():
        assert table[claim].dtype == bool
        expected = table[outcome] > 0 if sign > 0 else table[outcome] <= 0
        assert (table[claim] == expected).all()
    samples = pd.read_parquet(morris_run / "samples.parquet")
    discovery = samples[samples["method"] == "discovery"]
    assert len(table) == len(discovery) == 8  # independent points only, not Morris trajectories
    assert np.allclose(table[list(PARAMETERS)], discovery[list(PARAMETERS)])
    for name, (lo, hi) in PARAMETERS.items():
        assert ((samples[name] >= lo) & (samples[name] <= hi)).all(), name
    for outcome, (a, b) in sensitivity.OUTCOMES.items():
        diff = samples[f"value_{a}"] - samples[f"value_{b}"]
        assert np.allclose(samples[outcome], diff)


def test_same_sample_gives_the_same_outcome_common_random_numbers():
    settings = Settings()
    specs = {
        name: Spec.from_config(sim.compose(["org.size=40", "weeks=20", f"scenario={name}"]), name)
        for name in settings.scenarios()
    }
    params = {name: (lo + hi) / 2 for name, (lo, hi) in PARAMETERS.items()}
    seeds = replication_seeds(7, 2)
    first = sensitivity.evaluate(specs, params, seeds, settings)
    again = sensitivity.evaluate(specs, params, seeds, settings)
    assert first == again
    assert all(math.isfinite(v) for v in first.values())
    # other seeds, other draws
    assert sensitivity.evaluate(specs, params, replication_seeds(8, 2), settings) != first
    # the mean over seeds of a sample is the mean of its single-seed outcomes
    singles = [sensitivity.evaluate(specs, params, [s], settings) for s in seeds]
    for key in first:
        assert first[key] == pytest.approx(np.mean([s[key] for s in singles]))


def test_parameter_ranges_are_inside_bounds_and_around_the_defaults():
    default = Behaviour()
    for name, (lo, hi) in PARAMETERS.items():
        assert name in Behaviour.__dataclass_fields__
        blo, bhi = BOUNDS.get(name, (0.0, float("inf")))
        assert blo <= lo < hi <= bhi, name
        assert lo <= getattr(default, name) <= hi, name
    assert Settings().problems() == []


def test_bad_settings_are_refused_before_any_run(tmp_path):
    overrides = [*TINY, f"experiment.dir={tmp_path / 'out'}"]
    cfg = sim.compose(overrides)
    bad = Settings(
        parameters={"value_weight": (1.0, 2.0), "stage_up": (0.5, 1.5), "nonsense": (0, 1)},
        sobol_n=12,
    )
    with pytest.raises(InputError) as e:
        sensitivity.main(cfg, overrides, bad)
    text = str(e.value)
    assert "stage_up" in text and "nonsense" in text and "sobol_n=12" in text
    with pytest.raises(InputError, match="population.value_weight=2"):
        over = [*overrides, "population.value_weight=2"]
        sensitivity.main(sim.compose(over), over, TINY_SETTINGS)
    assert not (tmp_path / "out").exists()


def test_the_preset_lists_every_method_setting_with_its_default():
    params = sim.compose(["experiment=sensitivity"]).experiment.params
    assert Settings.from_params(params) == Settings()
    cli = {"methods", "morris_trajectories", "morris_levels", "sobol_n", "sobol_top"}
    assert set(params) == cli | {"discovery_n", "resamples", "conf_level"}


def test_method_settings_come_from_the_command_line(tmp_path):
    overrides = [
        *TINY,
        "experiment.replications=1",
        "experiment.params.methods=[morris,sobol]",
        "experiment.params.morris_trajectories=2",
        "experiment.params.sobol_n=2",
        "experiment.params.sobol_top=2",
        "experiment.params.resamples=10",
        f"experiment.dir={tmp_path}",
    ]
    folder = sensitivity.main(sim.compose(overrides), overrides)
    record = json.loads((folder / "provenance.json").read_text())
    k = len(PARAMETERS)
    assert record["samples"] == {"morris": 2 * (k + 1), "sobol": 2 * (2 + 2)}
    top = record["varied"]["sobol"]
    assert len(top) == 2 and record["varied"]["morris"] == list(PARAMETERS)
    indices = pd.read_csv(folder / "indices.csv")
    sobol = indices[indices["method"] == "sobol"]
    assert set(sobol["parameter"]) == set(top)
    # Sobol varies the two parameters Morris ranked highest
    morris = indices[indices["method"] == "morris"]
    best = sensitivity.screened(Settings(sobol_top=2), morris)
    assert set(best.parameters) == set(top)
    samples = pd.read_parquet(folder / "samples.parquet")
    rest = [n for n in PARAMETERS if n not in top]
    sobol_rows = samples[samples["method"] == "sobol"]
    for name in rest:  # the others stay at their configured values
        assert (sobol_rows[name] == getattr(Behaviour(), name)).all(), name


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("experiment.params.sobol_n=12", "sobol_n=12"),
        ("experiment.params.sobol_top=1", "sobol_top=1"),
        ("experiment.params.methods=[morris,prim]", "choose from morris, sobol, discovery"),
        ("experiment.params.morris_levels=abc", "experiment.params.morris_levels='abc'"),
    ],
)
def test_bad_method_settings_from_the_command_line_are_refused(override, needle, tmp_path):
    overrides = [*TINY, override, f"experiment.dir={tmp_path / 'out'}"]
    with pytest.raises(InputError) as e:
        sensitivity.main(sim.compose(overrides), overrides)
    assert needle in str(e.value)
    assert not (tmp_path / "out").exists()


def test_failure_boxes_find_a_planted_region():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.uniform(0, 1, size=(400, 3)), columns=["a", "b", "c"])
    x["holds"] = ~((x["a"] > 0.7) & (x["b"] < 0.5))  # fails only there
    boxes = sensitivity.failure_boxes(x, ["a", "b", "c"], "holds")
    assert list(boxes["box"]) == ["1 split", "2 splits"]
    two = boxes.iloc[1]
    assert "a >" in two["region"] and "b <=" in two["region"]
    assert two["failure_density"] == 1.0
    assert two["coverage"] > 0.5
    x["holds"] = True
    assert sensitivity.failure_boxes(x, ["a", "b", "c"], "holds").empty


def test_command_line_dispatches_and_refuses_a_scenario(tmp_path):
    result = run_cli([*TINY, "scenario=mandate", f"experiment.dir={tmp_path / 'r'}"], tmp_path)
    assert result.returncode == 2, result.text
    assert "experiment=sensitivity runs the programmes" in result.stderr
    assert not (tmp_path / "r").exists()


def test_docs_block_is_generated_from_a_run(morris_run, tmp_path):
    from experiments import sensitivity_report as report

    text = report.block(morris_run)
    for name in PARAMETERS:
        assert f"`{name}`" in text
    for claim in sensitivity.CLAIMS.values():
        assert claim[2] in text
    assert "sensitivity_sobol.png" not in text  # this run had no Sobol
    docs = tmp_path / "VALIDATION.md"
    docs.write_text(f"# V\n\nbefore\n{report.BEGIN}\nSTALE-BLOCK\n{report.END}\nafter\n")
    report.update(morris_run, docs, tmp_path / "img")
    new = docs.read_text()
    assert "STALE-BLOCK" not in new and "before" in new and "after" in new
    assert new.count(report.BEGIN) == 1 and "| `relevance_mean` |" in new
    assert (tmp_path / "img" / "sensitivity_morris.png").exists()
