"""Forecasts from a fitted state (experiments/forecast.py): programmes continue the fitted
trajectories (common random numbers up to the last observed week), and the fit-and-forecast
command writes the forecast a strategist reads."""

import dataclasses

import numpy as np
import pandas as pd

from experiments import calibrate, forecast
from experiments.compare import compose
from sim.posterior import load
from sim.replicate import Spec, run_jobs
from tests.conftest import run_cli

COMMON = ["org.size=100", "seed=2"]
OBSERVED, HORIZON = 12, 10


def specs(names):
    return {n: Spec.from_config(compose([*COMMON, f"scenario={n}"]), n) for n in names}


def test_interventions_are_shifted_after_the_observed_weeks():
    mandate = specs(["mandate"])["mandate"]
    moved = forecast.shifted(mandate, 30, 12)
    assert moved.weeks == 30
    for before, after in zip(mandate.interventions, moved.interventions, strict=True):
        assert after.start == before.start + 12
        assert after.end == (None if before.end is None else before.end + 12)


def test_programmes_continue_the_same_fitted_state():
    """Same particle, same seed: every programme repeats the observed weeks exactly and parts
    from the baseline only afterwards. Run from week 1 instead, the mandate would already
    differ in the observed weeks (so the check can fail)."""
    particles = [{"innovation_p": 0.3}, {"innovation_p": 0.1}]
    seeds = [calibrate.particle_seed(0, p) for p in particles]
    programmes = specs(["baseline", "sense_making", "mandate"])
    weekly = forecast.simulate(programmes, particles, seeds, OBSERVED, HORIZON, n_jobs=1)
    assert forecast.observed_gap(weekly, OBSERVED) == 0
    ahead = weekly[weekly["week"] > OBSERVED].pivot_table(
        index=["replication", "week"], columns="scenario", values="active_share"
    )
    assert (ahead["mandate"] - ahead["baseline"]).abs().max() > 0.05
    unshifted = {
        n: dataclasses.replace(s, weeks=OBSERVED)
        for n, s in programmes.items()
        if n in ("baseline", "mandate")
    }
    jobs = [(s, 0, seeds[0]) for s in unshifted.values()]
    early = run_jobs(jobs)[0]
    assert forecast.observed_gap(early, OBSERVED) > 0
    results = forecast.outcomes(weekly, OBSERVED)
    assert len(results) == 3 * len(particles)
    table = forecast.summary(results)
    assert table.set_index("programme").loc["baseline", "cost_median"] == 0
    assert 0 <= table.set_index("programme").loc["mandate", "beats_baseline"] <= 1
    band = forecast.bands(weekly)
    assert (band["q05"] <= band["q50"]).all() and (band["q50"] <= band["q95"]).all()


def test_the_forecast_repeats_the_fitted_simulation_over_the_observed_weeks(tmp_path):
    """A particle's forecast run (its fit seed, the programme shifted) gives, week by week,
    the statistics its fit computed: the forecast continues the accepted trajectory. A
    parameter drawn from its prior after the fit does not change the seed."""
    spec = Spec.from_config(compose([*COMMON, f"weeks={OBSERVED}"]), "baseline")
    data = calibrate.synthetic_usage(spec, {}, 1, 100)
    data.to_csv(tmp_path / "u.csv", index=False)
    usage = calibrate.usage_data.read(tmp_path / "u.csv")
    problem = calibrate.UsageProblem.from_usage(spec, usage, 100, 0.02)
    fitted = {"innovation_p": 0.3}
    (fit,) = calibrate.simulate(problem, [fitted], 7, 1)
    table = pd.DataFrame([fitted | {"pressure_weight": 2.0}])
    posterior = calibrate.Posterior(table, np.ones(1), {"fitted": ["innovation_p"]})
    seeds = calibrate.fitted_seeds(posterior, table.to_dict("records"), 7)
    weekly = forecast.simulate(specs(["mandate"]), [table.iloc[0].to_dict()], seeds, OBSERVED, 4, 1)
    observed = weekly[weekly["week"] <= OBSERVED]
    np.testing.assert_array_equal(observed["active_share"], fit["active_users"])


def test_a_fit_to_usage_data_writes_a_forecast(tmp_path):
    spec = Spec.from_config(compose([*COMMON, "weeks=12"]), "baseline")
    data = calibrate.synthetic_usage(spec, {"innovation_p": 0.4}, 5, 100)
    path = tmp_path / "usage.csv"
    data.iloc[::-1].to_csv(path, index=False)  # any order: sorted on reading
    out = tmp_path / "calibrations"
    run = run_cli(
        [
            "experiment=calibrate",
            f"data.path={path}",
            *COMMON,
            f"experiment.dir={out}",
            "experiment.params.usage_population=8",
            "experiment.params.generations=1",
            "experiment.params.batch=4",
            "experiment.params.draws=4",
            "experiment.params.horizon=6",
            "experiment.params.usage_parameters=[innovation_p]",
            "experiment.scenarios=[mandate]",
        ],
        tmp_path,
    )
    assert run.returncode == 0, run.text
    (folder,) = out.iterdir()
    names = {p.name for p in folder.iterdir()}
    assert {"posterior.parquet", "forecast.md", "forecast.png", "forecast.csv"} <= names
    text = (folder / "forecast.md").read_text()
    assert "From week 13" in text and "| mandate |" in text and "| baseline |" in text
    assert "repeats the fitted trajectory exactly" in text
    band = pd.read_csv(folder / "forecast.csv")
    assert set(band["programme"]) == {"baseline", "mandate"}
    assert band["week"].max() == 18
    ensemble = load(folder / "posterior.parquet")  # a calibration ensemble
    assert ensemble.parameters == ["innovation_p"] and len(ensemble) == 8
    assert np.isclose(ensemble.weights.sum(), 1)
    assert not (out / ".partial").exists()  # the finished fit's database was moved in


def test_markdown_says_what_the_forecast_rests_on():
    results = pd.DataFrame(
        {
            "programme": ["baseline"] * 3,
            "particle": range(3),
            "value": [10.0, 20, 30],
            "cost": 0.0,
            "active_end": 0.2,
            "net_value": [10.0, 20, 30],
        }
    )
    text = forecast.markdown(forecast.summary(results), 20, 10, 500, 3, 0.0)
    assert "From week 21" in text and "| baseline | 20 (11 to 29)" in text
