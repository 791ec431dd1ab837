"""The Python API: ``sim.compose`` and ``sim.simulate`` (the same config tree and overrides as
``python -m sim``), and ``Result.save``, which writes run folders."""

import os
import re
import stat

import pandas as pd
import pytest
from conftest import BAD_INPUTS, EDGE_LIST, ORG_CHART, RUN_FILES, write, write_bad_files
from omegaconf import DictConfig

import sim
import sim.api
import sim.plots
from models.errors import InputError

GENERATORS = ["hierarchy", "small_world", "scale_free", "random", "complete"]
SMALL = ["org.size=200", "weeks=30"]


# --- every organisation option -----------------------------------------------------------------


@pytest.mark.parametrize("kind", GENERATORS)
def test_every_generator_composes_and_runs_at_the_size_and_horizon_asked(kind):
    result = sim.simulate([f"org={kind}", "org.size=120", "weeks=12", "seed=1"])
    assert result.config["org"]["generator"] == kind
    assert result.weekly["week"].tolist() == list(range(1, 13))
    assert result.summary["weeks"] == 12
    assert result.summary["agents"] == 120
    assert len(result.model.agents) == 120
    assert result.folder is None  # nothing written without write=True


def test_a_network_file_runs_with_one_agent_per_person(tmp_path):
    path = write(tmp_path / "ties.csv", EDGE_LIST)
    result = sim.simulate(["org=file", f"org.path={path}", "weeks=10"])
    # alice, bob, carol, 3, 4 ("04" is the number 4), dan
    assert result.summary["agents"] == 6
    assert len(result.model.agents) == 6
    assert len(result.weekly) == 10


def test_an_org_chart_runs_with_its_people_and_departments(tmp_path):
    path = write(tmp_path / "hr.csv", ORG_CHART)
    result = sim.simulate(["org=orgchart", f"org.path={path}", "weeks=10", "seed=2"])
    assert result.summary["agents"] == 7
    assert len(result.weekly) == 10
    groups = result.groups
    assert set(groups.loc[groups["group_type"] == "department", "group"]) == {
        "exec",
        "sales",
        "eng",
    }
    assert "manager" in set(groups.loc[groups["group_type"] == "role", "group"])


def test_compose_gives_the_config_the_command_line_would_use():
    cfg = sim.compose(["org=small_world", "org.size=300", "seed=7"])
    assert isinstance(cfg, DictConfig)
    assert cfg.org.generator == "small_world"
    assert cfg.org.size == 300
    assert cfg.seed == 7
    assert cfg.weeks == 260  # the default horizon in conf/config.yaml
    assert "hydra" not in cfg


# --- seeds -------------------------------------------------------------------------------------


def test_same_seed_gives_identical_results():
    a = sim.simulate(["org=hierarchy", *SMALL, "seed=11"])
    b = sim.simulate(["org=hierarchy", *SMALL, "seed=11"])
    pd.testing.assert_frame_equal(a.weekly, b.weekly)
    pd.testing.assert_frame_equal(a.groups, b.groups)
    assert a.summary == b.summary


def test_different_seeds_give_different_results():
    a = sim.simulate(["org=hierarchy", *SMALL, "seed=11"])
    b = sim.simulate(["org=hierarchy", *SMALL, "seed=12"])
    assert a.provenance["seed"] == 11 and b.provenance["seed"] == 12
    assert not a.weekly.equals(b.weekly)
    assert a.summary != b.summary


# --- writing -----------------------------------------------------------------------------------


def test_simulate_write_writes_one_readable_run_folder(tmp_path):
    out = tmp_path / "runs"
    old = os.umask(0o022)
    try:
        result = sim.simulate(["org.size=100", "weeks=10", f"output.dir={out}"], write=True)
    finally:
        os.umask(old)
    assert result.folder is not None and result.folder.parent == out
    assert list(out.iterdir()) == [result.folder]  # no hidden temporary folder left
    assert {p.name for p in result.folder.iterdir()} == RUN_FILES
    pd.testing.assert_frame_equal(pd.read_parquet(result.folder / "weekly.parquet"), result.weekly)
    # The folder gets the usual permissions, not those of a private temporary folder.
    assert stat.S_IMODE(result.folder.stat().st_mode) == 0o755


def test_save_never_overwrites_an_existing_run_folder(tmp_path):
    result = sim.simulate(["org.size=100", "weeks=10"])
    first = result.save(tmp_path / "run", plot=False)
    (first / "summary.json").write_text("kept")
    second = result.save(tmp_path / "run", plot=False)
    assert first == tmp_path / "run" and second == tmp_path / "run_1"
    assert result.folder == second
    assert (first / "summary.json").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run_1"]


def test_a_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    result = sim.simulate(["org.size=100", "weeks=10"])

    def broken(weekly, path, programme=""):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(sim.plots, "adoption_vs_value", broken)
    with pytest.raises(RuntimeError, match="plotting failed"):
        result.save(tmp_path / "out" / "run")
    assert list((tmp_path / "out").iterdir()) == []
    assert result.folder is None


@pytest.mark.parametrize("where", ["a_file", "a_file/runs"])
def test_unwritable_output_dir_is_refused_before_simulating(tmp_path, monkeypatch, where):
    write_bad_files(tmp_path)

    def must_not_run(*args, **kwargs):
        raise AssertionError("simulated before checking output.dir")

    monkeypatch.setattr(sim.api, "run", must_not_run)
    with pytest.raises(InputError, match=r"output\.dir=\S*a_file\S*.*a_file is a file, not a"):
        sim.simulate(["weeks=10", f"output.dir={tmp_path / where}"], write=True)
    assert (tmp_path / "a_file").read_text() == "not a folder\n"


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_bad_files(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda b: b.name)
def test_simulate_refuses_bad_input_with_input_error(data, tmp_path, case):
    out = tmp_path / "out"
    with pytest.raises(InputError) as raised:
        sim.simulate([*case.args(data), f"output.dir={out}"], write=True)
    for pattern in case.patterns:
        assert re.search(pattern, str(raised.value)), f"{pattern!r} not in:\n{raised.value}"
    assert not out.exists()


@pytest.mark.parametrize("case", [b for b in BAD_INPUTS if b.hydra], ids=lambda b: b.name)
def test_compose_refuses_what_hydra_refuses_with_input_error(data, case):
    with pytest.raises(InputError) as raised:
        sim.compose(case.args(data))
    assert type(raised.value) is InputError  # not a Hydra or OmegaConf exception
    for pattern in case.patterns:
        assert re.search(pattern, str(raised.value)), f"{pattern!r} not in:\n{raised.value}"
    # A refused compose leaves Hydra ready for the next one.
    assert sim.compose(["weeks=5"]).weeks == 5


def test_the_package_offers_its_api_by_name_before_importing_it():
    """``sim`` imports its API when first asked for (worker processes import ``sim.*``
    modules without it), yet ``dir`` and ``from sim import ...`` see every name."""
    import sim as package

    assert set(package.__all__) <= set(dir(package))
    for name in package.__all__:
        assert getattr(package, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'simulat'"):
        package.simulat  # noqa: B018
