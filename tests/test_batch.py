"""``sim.simulate_many`` and the composer behind it: configs composed once per choice of config
groups and changed in memory are exactly the configs a full Hydra compose gives; the batch
table is the runs ``sim.simulate`` makes, seeded and reproducible."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

import sim
from models.errors import InputError
from sim.aggregate import parse_override
from sim.batch import Composer, format_override, simulate_many
from sim.replicate import replication_seeds

GROUPS = [
    "org=small_world",
    "scenario=mandate",
    "scenario=sense_making",
    "+intervention@scenario.interventions.drive=campaign",
    "experiment=sensitivity",
    "calibration=none",
]
VALUES = [
    "org.size=77",
    "weeks=12",
    "seed=5",
    "population.noise_hours=0.1",
    "population.idle_weeks=4",
    "champions.share=0.1",
    "champions.share=null",
    "champions.rule=bridging",
    "scenario.interventions.mandate.end=52",  # only where the mandate is in the programme
    "scenario.interventions.mandate={intensity:0.2}",  # a dict merges into the node
    "output.plot=false",
    "experiment.params.sobol_n=8",  # only with a study that has params
    "weeks=ten",  # the wrong type: refused either way
    "population.nonsense=1",  # no such key: refused either way
]


def composed(overrides):
    """The resolved config as a plain container, or the error's type."""
    try:
        return OmegaConf.to_container(sim.compose(overrides), resolve=True)
    except InputError:
        return InputError


def in_memory(composer, overrides):
    try:
        return OmegaConf.to_container(composer(overrides), resolve=True)
    except InputError:
        return InputError


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(GROUPS + VALUES), max_size=5))
def test_configs_changed_in_memory_are_what_a_full_compose_gives(overrides):
    assert in_memory(Composer(), overrides) == composed(overrides), overrides


def test_hydra_composes_once_per_choice_of_config_groups():
    composer = Composer()
    sets = [[f"population.noise_hours={x}", f"seed={s}"] for x in (0.0, 0.1) for s in (1, 2)]
    sets += [["scenario=mandate", f"scenario.interventions.mandate.end={e}"] for e in (10, 20)]
    configs = [composer(s) for s in sets]
    assert composer.compositions == 2
    assert [c.population.noise_hours for c in configs[:4]] == [0.0, 0.0, 0.1, 0.1]
    assert [c.scenario.interventions.mandate.end for c in configs[4:]] == [10, 20]
    # each job gets its own copy: changing one config leaves the cached base alone
    assert composer([]).population.noise_hours == sim.compose([]).population.noise_hours


def test_bad_overrides_name_the_job_and_the_key():
    with pytest.raises(InputError) as e:
        simulate_many([["weeks=4"], ["weeks=4", "population.stage_up=2"], ["weeks=ten"]])
    text = str(e.value)
    assert "job 1 (weeks=4 population.stage_up=2)" in text and "between 0 and 1" in text
    assert "job 2 (weeks=ten)" in text
    with pytest.raises(InputError, match="seed=1,2: a sweep"):
        simulate_many([["seed=1,2"]])
    with pytest.raises(InputError, match="replications=0"):
        simulate_many([["weeks=4"]], replications=0)


SMALL = ["org.size=60", "weeks=12"]


def test_each_row_is_the_run_simulate_makes():
    sets = [[*SMALL, "seed=3"], [*SMALL, "scenario=mandate", "seed=4"]]
    runs = simulate_many(sets)
    assert runs["job"].tolist() == [0, 1] and runs["seed"].tolist() == [3, 4]
    assert runs["scenario"].tolist() == ["baseline", "mandate"]
    for row, overrides in zip(runs.to_dict("records"), sets, strict=True):
        for key, value in sim.simulate(overrides).summary.items():
            assert row[key] == value or (value is None and row[key] != row[key]), key


def test_a_grid_with_replications_is_seeded_with_common_random_numbers_and_reproducible():
    grid = {"champions.share": [0.0, 0.1], "champions.rule": ["random", "bridging"]}
    runs, weekly = simulate_many([SMALL], grid=grid, replications=2, weekly=True)
    assert len(runs) == 4 * 2
    assert runs["champions.share"].tolist() == [0.0] * 4 + [0.1] * 4
    assert runs["champions.rule"].tolist() == ["random", "random", "bridging", "bridging"] * 2
    assert runs["seed"].tolist() == replication_seeds(0, 2) * 4  # replication i: one seed
    assert runs["replication"].tolist() == [0, 1] * 4
    assert len(weekly) == 8 * 12 and weekly["week"].tolist() == list(range(1, 13)) * 8
    assert weekly.groupby("job")["champions.share"].first().tolist() == [0.0, 0.0, 0.1, 0.1]
    last = weekly[weekly["week"] == 12]
    assert last["adopted_share"].tolist() == runs["final_adopted_share"].tolist()
    again = simulate_many([SMALL], grid=grid, replications=2)
    assert again.equals(runs)


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), min_size=1),
    )
)
def test_grid_values_reach_hydra_as_they_were_given(value):
    key, parsed = parse_override(format_override("population.x", value))
    assert key == "population.x"
    assert parsed == value and type(parsed) is type(value)


def test_the_readme_ema_model_function_runs_without_the_workbench():
    """The README's EMA workbench model function (its first code block), run as the workbench
    would call it, on a tiny organisation."""
    from conftest import ROOT

    text = (ROOT / "README.md").read_text()
    (code,) = [
        b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def beyond_adoption" in b
    ]
    assert "ema_workbench" not in code
    namespace: dict = {}
    exec(code, namespace)
    namespace["SETTING"] = ["org.size=40", "weeks=20"]
    out = namespace["beyond_adoption"](noise_hours=0.0, mandate_intensity=0.9, seeds=2)
    assert set(out) == {"mandate_net_gain", "active_last_year"}
    assert all(isinstance(v, float) and v == v for v in out.values())
    again = namespace["beyond_adoption"](noise_hours=0.0, mandate_intensity=0.9, seeds=2)
    assert again == out  # seeded: the workbench gets the same answer for the same point
