"""The sensitivity study (``python -m sim experiment=sensitivity``): defined in config (factors of
every kind, outcomes, claims), settings checked together, a tiny run end to end with its
report, the scenario-discovery export, PRIM boxes and rules."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

import sim
from experiments import claims, sensitivity
from models.errors import InputError
from models.registry import BLOCKS, PARAMETERS
from sim.batch import Composer

#: Two built-in claims that need only the baseline and sense-making (short horizons allowed).
CHEAP_CLAIMS = (
    "experiment.params.claims=[leaders_sense_making_raises_value,adoption_rises_while_use_falls]"
)
TINY = [
    "experiment=sensitivity",
    "org.size=40",
    "weeks=30",
    "seed=3",
    "output.progress=false",
    "experiment.replications=1",
    "experiment.params.resamples=20",
    CHEAP_CLAIMS,
]


@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    """Morris (3 trajectories) and 8 discovery points over four factors of three kinds — two
    behavioural parameters, an intervention field and a whole-number organisation parameter —
    with an outcome and a claim of one's own, in-process."""
    out = tmp_path_factory.mktemp("sensitivity") / "results"
    overrides = [
        *TINY,
        "experiment.params.methods=[morris,discovery]",
        "experiment.params.morris_trajectories=3",
        "experiment.params.discovery_n=8",
        "experiment.params.factors=[noise_hours,pressure_weight,"
        "scenario.interventions.sense_making.intensity,org.span]",
        "experiment.params.ranges={scenario.interventions.sense_making.intensity:[0.1,1],"
        "org.span:[3,8]}",
        "experiment.params.outcomes={sm_gross:'long_run_value: sense_making - baseline'}",
        "experiment.params.claims=[leaders_sense_making_raises_value,"
        "adoption_rises_while_use_falls,'sm_gains: sm_gross > 0']",
        f"experiment.dir={out}",
    ]
    return sensitivity.main(sim.compose(overrides), overrides)


FACTORS = [
    "population.noise_hours",
    "population.pressure_weight",
    "scenario.interventions.sense_making.intensity",
    "org.span",
]


def test_a_tiny_study_writes_every_file_and_a_self_contained_report(study_run, capsys):
    names = {p.name for p in study_run.iterdir()}
    expected = {"report.md", "report.html", "samples.parquet", "samples.csv", "indices.csv"}
    expected |= {"experiments.csv", "boxes.csv", "rules.csv", "problem.json", "config.yaml"}
    expected |= {"scenarios.yaml", "seeds.csv", "provenance.json", "sensitivity_morris.png"}
    assert expected <= names
    assert not any(p.name.startswith(".") for p in study_run.parent.iterdir())  # atomic
    record = json.loads((study_run / "provenance.json").read_text())
    assert record["samples"] == {"morris": 3 * (4 + 1), "discovery": 8}
    assert record["runs"] == (15 + 8) * 2 * 1  # points × programmes × replications
    page = (study_run / "report.html").read_text()
    assert "data:image/png;base64," in page and 'src="sensitivity_' not in page
    report = (study_run / "report.md").read_text()
    for claim in ("leaders_sense_making_raises_value", "adoption_rises_while_use_falls"):
        assert f"## `{claim}`" in report
    assert "Morris ran 3 trajectories" in report  # the warning for a small sample
    assert "8 discovery points" in report


def test_factors_of_every_kind_are_varied_where_they_apply(study_run):
    samples = pd.read_parquet(study_run / "samples.parquet")
    assert list(samples.columns[2:6]) == FACTORS
    assert pd.api.types.is_integer_dtype(samples["org.span"])  # a whole-number config value
    assert set(samples["org.span"]) <= set(range(3, 9)) and samples["org.span"].nunique() > 1
    problem = json.loads((study_run / "problem.json").read_text())
    for key in FACTORS:
        lo, hi = problem["factors"][key]["low"], problem["factors"][key]["high"]
        assert samples[key].between(lo, hi).all(), key
    assert problem["factors"]["population.noise_hours"]["low"] == PARAMETERS["noise_hours"].low
    # the intervention field varies only the programme that has it: the baseline moves with
    # the other factors but never with it
    morris = pd.read_csv(study_run / "indices.csv")
    base = morris[morris["outcome"] == "baseline_active_fall"].set_index("factor")
    assert base.loc["scenario.interventions.sense_making.intensity", "mu_star"] == 0
    # no programme of these claims has a mandate: its pressure cannot matter
    assert (morris[morris["factor"] == "population.pressure_weight"]["mu_star"] == 0).all()
    assert (morris["mu_star"] >= morris["mu"].abs() - 1e-9).all()


def test_experiments_csv_marks_its_columns_and_judges_each_claim(study_run):
    table = pd.read_csv(study_run / "experiments.csv")
    problem = json.loads((study_run / "problem.json").read_text())
    columns = problem["factor_columns"] + problem["outcome_columns"] + problem["claim_columns"]
    assert list(table.columns) == columns
    assert problem["factor_columns"] == FACTORS and problem["names"] == FACTORS
    assert problem["claim_columns"][-1] == "sm_gains" and "sm_gross" in problem["outcome_columns"]
    assert len(table) == 8  # the discovery points only, not the Morris trajectories
    for name in problem["claim_columns"]:
        claim = claims.CLAIMS.get(name) or claims.claim_from_spec(name, "sm_gross > 0")
        expected = [claim.holds(row) for _, row in table.iterrows()]
        assert table[name].tolist() == expected, name
    samples = pd.read_parquet(study_run / "samples.parquet")
    gross = samples["sm_gross"]
    assert not np.allclose(gross, samples["sense_making_net_gain"])  # net of cost by default


def test_only_discovery_writes_no_empty_indices_and_names_the_report(tmp_path, capsys):
    overrides = [
        *TINY,
        "experiment.params.methods=[discovery]",
        "experiment.params.discovery_n=3",
        "experiment.params.factors=[noise_hours]",
        "experiment.params.sobol_top=6",  # more than the factors, but Sobol does not run
        f"experiment.dir={tmp_path}",
    ]
    folder = sensitivity.main(sim.compose(overrides), overrides)
    assert not (folder / "indices.csv").exists()
    assert f"report: {folder / 'report.md'}" in capsys.readouterr().out


def test_the_report_gives_sobol_intervals_a_small_sample_warning_and_where_a_claim_fails(
    tmp_path,
):
    """Sobol and discovery over the organisation's size, with an outcome that is that size
    (``agents``) and a claim that fails exactly below 46 people: the report must show Sobol's
    total index with its interval, warn that N = 4 is too small, and put the failures in a
    PRIM box and a rule on ``org.size`` alone."""
    overrides = [
        *[o for o in TINY if not o.startswith("experiment.params.claims")],
        "weeks=6",
        "experiment.params.methods=[sobol,discovery]",
        "experiment.params.sobol_n=4",
        "experiment.params.sobol_top=0",
        "experiment.params.discovery_n=10",
        "experiment.params.factors=[noise_hours,org.size]",
        "experiment.params.ranges={org.size:[30,60]}",
        "experiment.params.outcomes={people:'agents: baseline'}",
        "experiment.params.claims=['big: people > 45']",
        f"experiment.dir={tmp_path}",
    ]
    overrides.remove("org.size=40")  # a factor: set by the study
    folder = sensitivity.main(sim.compose(overrides), overrides)
    report = (folder / "report.md").read_text()
    assert re.search(r"\| `org\.size` \| \d+\.\d\d ± \d+\.\d\d \|", report)  # ST ± interval
    assert "the sample is too small for stable indices" in report
    assert "30–60 (a factor) people" in report
    holds = pd.read_csv(folder / "experiments.csv")["big"]
    assert f"**Holds in** {holds.mean():.0%} of {len(holds)} points (" in report
    box = pd.read_csv(folder / "boxes.csv")
    assert box["factor"].tolist() == ["org.size"] and pd.isna(box.loc[0, "low"])
    assert 45 <= box.loc[0, "high"] < 46 + 5 and box.loc[0, "failure_density"] == 1
    assert re.search(r"\*\*Where it fails\*\*: `org\.size` ≤ [\d.]+: 100% of its", report)
    assert "Rules where it fails" in report
    assert re.search(r"\| `org\.size <= [\d.]+` \| \d+ \| 100% \| 100% \|", report)
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and "sensitivity_sobol.png" not in page


BAD = [
    ("experiment.params.methods=[morris,prim]", r"methods=\['morris', 'prim'\] .*morris, sobol"),
    ("experiment.params.sobol_top=1", r"sobol_top=1 is not allowed: give 0 .* or 2\.\.2"),
    ("experiment.params.sobol_top=5", r"sobol_top=5 is not allowed.*the study has 2 factors"),
    ("experiment.params.sobol_n=12", r"sobol_n=12 is not allowed: it must be a power of two"),
    ("experiment.params.morris_levels=abc", r"morris_levels='abc' is not allowed: .*integer"),
    ("experiment.params.factors=[nonsense]", r"nonsense is not a registry parameter or a"),
    ("experiment.params.factors=[org.nonsense]", r"org\.nonsense is not a config key of the"),
    (
        "experiment.params.factors=[org.team_density]",
        r"org\.team_density has no plausible range .*ranges=\{org\.team_density:\[low,high\]\}",
    ),
    (
        "experiment.params.ranges={noise_hours:[0.2,0.1]}",
        r"population\.noise_hours: range \[0\.2, 0\.1\] .*low must be below high",
    ),
    (
        "experiment.params.ranges={value_weight:[-1,2]}",
        r"value_weight at -1: population\.value_weight=-1(\.0)? is not allowed: .*non-negative",
    ),
    ("experiment.params.claims=[nonsense]", r"'nonsense' is not a built-in claim: choose from"),
    ("experiment.params.claims=['mine: x >> 0']", r"claims\.mine='x >> 0' is not allowed"),
    ("experiment.params.claims=['mine: x > 0']", r"outcome 'x' is not defined"),
    (
        "experiment.params.outcomes={a:'nowhere - baseline'}",
        r"outcomes\.a: programme 'nowhere' is not in conf/scenario/",
    ),
    (
        "experiment.params.outcomes={a:'nothing: sense_making - baseline'}",
        r"outcomes\.a: 'nothing' is not a summary metric: choose one of .*net_value",
    ),
    ("+experiment.params.bogus=1", r"experiment\.params\.bogus is not a setting"),
    ("population.noise_hours=0.1", r"population\.noise_hours=0\.1: this is a factor"),
    ("scenario=mandate", r"scenario=: experiment=sensitivity runs the programmes"),
    (
        "experiment.params.claims=[mandates_rarely_create_lasting_value]",
        r"weeks=30 is not allowed: outcome mandate_gain_after .*mandate ends \(week 104\)",
    ),
]


#: One composer for the checks below: Hydra composes once per choice of config groups.
COMPOSER = Composer()


@pytest.mark.parametrize(("override", "pattern"), BAD, ids=[b[0] for b in BAD])
def test_bad_settings_are_refused_with_key_value_and_what_is_allowed(override, pattern):
    overrides = [
        *TINY,
        "experiment.params.methods=[morris,sobol]",
        "experiment.params.factors=[noise_hours,value_weight]",
        "experiment.params.sobol_top=2",
        override,
    ]
    with pytest.raises(InputError) as e:
        params = COMPOSER(overrides).experiment.params
        sensitivity.Study.from_config(params, overrides, COMPOSER)
    assert re.search(pattern, str(e.value)), str(e.value)


def test_settings_are_checked_together_and_nothing_is_written(tmp_path):
    overrides = [
        *TINY,
        "experiment.params.methods=[morris]",
        "experiment.params.sobol_n=12",  # Sobol does not run: not checked
        "experiment.params.morris_trajectories=1",
        "experiment.params.factors=[noise_hours,nonsense]",
        f"experiment.dir={tmp_path}",
    ]
    with pytest.raises(InputError) as e:
        sensitivity.main(sim.compose(overrides), overrides)
    text = str(e.value)
    assert "morris_trajectories=1" in text and "nonsense" in text and "sobol_n" not in text
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_the_defaults_vary_every_uncertain_registry_parameter():
    study = sensitivity.Study.from_config(sim.compose(["experiment=sensitivity"]).experiment.params)
    uncertain = [f"population.{n}" for n, p in PARAMETERS.items() if p.uncertain]
    assert study.names == uncertain
    assert [c.name for c in study.claims] == list(claims.CLAIMS)
    for f in study.factors:
        p = PARAMETERS[f.key.removeprefix("population.")]
        assert (f.low, f.high) == (p.low, p.high)
    # those issue 16 found missing are in; reactance_gain's range reaches 0, where the
    # mandate claim fails
    decisive = ["noise_hours", "leading_pull", "manager_pull", "abandon_rate", "reactance_decay"]
    decisive += ["stage_up", "reactance_gain", "hollow_pressure", "hollow_reward_engagement"]
    assert {f"population.{n}" for n in decisive} <= set(study.names)
    assert study.factors[study.names.index("population.reactance_gain")].low == 0


def test_intervention_fields_and_costs_take_the_registrys_range_and_outcomes_are_net():
    field = "scenario.interventions.sense_making"
    overrides = [
        *TINY,
        "experiment.params.methods=[discovery]",
        f"experiment.params.factors=[{field}.intensity,{field}.cost_per_person]",
        "experiment.params.outcomes={mine:'sense_making - baseline'}",
        "experiment.params.claims=['mine: mine > 0']",
    ]
    params = COMPOSER(overrides).experiment.params
    study = sensitivity.Study.from_config(params, overrides, COMPOSER)
    assert study.names == [f"{field}.intensity", f"{field}.cost_per_person"]
    for f in study.factors:
        setting = BLOCKS["sense_making"][f.key.rsplit(".", 1)[1]]
        assert (f.low, f.high, f.source) == (setting.low, setting.high, setting.source)
    (mine,) = study.outcomes
    assert mine.metric == "net_value" and mine.programmes == ("sense_making", "baseline")


def test_prim_finds_a_planted_region_and_rules_too():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.uniform(0, 1, size=(600, 3)), columns=["a", "b", "c"])
    x["holds"] = ~((x["a"] > 0.7) & (x["b"] < 0.5))  # fails only there
    box = sensitivity.prim_box(x, ["a", "b", "c"], "holds").set_index("factor")
    assert set(box.index[:2]) == {"a", "b"}  # the restrictions it needs most come first
    assert (box["density_without"] < box["failure_density"]).all()
    assert box.loc["a", "low"] == pytest.approx(0.7, abs=0.05) and pd.isna(box.loc["a", "high"])
    assert box.loc["b", "high"] == pytest.approx(0.5, abs=0.05)
    assert box["failure_density"].iloc[0] >= 0.8 and box["coverage"].iloc[0] >= 0.8
    rules = sensitivity.failure_boxes(x, ["a", "b", "c"], "holds")
    assert list(rules["box"]) == ["1 condition", "2 conditions"]
    two = rules.iloc[1]
    assert "a >" in two["region"] and "b <=" in two["region"]
    assert two["failure_density"] == 1.0
    x["holds"] = True
    assert sensitivity.prim_box(x, ["a", "b", "c"], "holds").empty
    assert sensitivity.failure_boxes(x, ["a", "b", "c"], "holds").empty


def test_command_line_dispatches_and_refuses_a_scenario(tmp_path):
    result = run_cli([*TINY, "scenario=mandate", f"experiment.dir={tmp_path / 'r'}"], tmp_path)
    assert result.returncode == 2, result.text
    assert "experiment=sensitivity runs the programmes" in result.stderr
    assert not (tmp_path / "r").exists()


def test_docs_block_is_generated_from_a_run(study_run, tmp_path):
    from experiments import sensitivity_report as report

    text = report.block(study_run)
    assert "leaders_sense_making_raises_value" in text and "sm_gains" in text
    assert "sensitivity_sobol.png" not in text  # this run had no Sobol
    docs = tmp_path / "VALIDATION.md"
    docs.write_text(f"# V\n\nbefore\n{report.BEGIN}\nSTALE-BLOCK\n{report.END}\nafter\n")
    report.update(study_run, docs, tmp_path / "img")
    new = docs.read_text()
    assert "STALE-BLOCK" not in new and "before" in new and "after" in new
    assert new.count(report.BEGIN) == 1
    assert (tmp_path / "img" / "sensitivity_morris.png").exists()
