"""``python -m sim``: what one run writes, and how bad input is refused.

Every case is a real subprocess in an empty working directory. The processes are started
together by module-scoped fixtures (each is mostly start-up time), and each test checks one.
"""

import json
import re
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    BAD_INPUTS,
    ROOT,
    RUN_FILES,
    RUN_FOLDER_NAME,
    run_cli_many,
    write,
    write_bad_files,
)
from omegaconf import OmegaConf

import sim
from models.state import STAGE_NAMES

RUN = ["org=small_world", "org.size=300", "weeks=20", "seed=3"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """Successful runs: the reference run, the same run again in another process, and a run
    on a network file that needs repairs (so it warns)."""
    base = tmp_path_factory.mktemp("good")
    loops = write(base / "loops.csv", "source,target\n1,1\n1,2\n2,1\n2,3\n")
    return run_cli_many(
        {
            "main": (RUN, base / "main", None),
            "again": ([*RUN, "output.plot=false"], base / "again", None),
            "warns": (
                ["org=file", f"org.path={loops}", "weeks=10", "output.plot=false"],
                base / "warns",
                None,
            ),
        }
    )


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """Refused runs: every entry of ``BAD_INPUTS``, and two unwritable output folders."""
    base = tmp_path_factory.mktemp("bad")
    data = write_bad_files(base / "data")
    jobs = {b.name: (b.args(data), base / f"case{i}", None) for i, b in enumerate(BAD_INPUTS)}
    jobs["output.dir under a file"] = (
        ["org.size=100", "weeks=10", f"output.dir={data}/a_file/runs"],
        base / "under_file",
        data / "a_file" / "runs",
    )
    jobs["output.dir is a file"] = (
        ["org.size=100", "weeks=10", f"output.dir={data}/a_file"],
        base / "is_file",
        data / "a_file",
    )
    return data, run_cli_many(jobs)


def the_folder(run) -> Path:
    entries = list(run.out.iterdir())
    assert len(entries) == 1, f"expected one run folder, found {entries}"
    return entries[0]


# --- a successful run --------------------------------------------------------------------------


def test_run_exits_0_and_prints_the_one_folder_it_wrote(good):
    run = good["main"]
    assert run.returncode == 0, run.text
    folder = the_folder(run)  # exactly one entry: no hidden temporary folder left behind
    assert re.fullmatch(RUN_FOLDER_NAME, folder.name)
    assert run.stdout.strip().splitlines()[-1] == f"wrote {folder}"
    assert "Traceback" not in run.text


def test_run_folder_holds_exactly_the_result_files(good):
    folder = the_folder(good["main"])
    assert {p.name for p in folder.iterdir()} == RUN_FILES
    png = (folder / "adoption_vs_value.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 10_000  # three panels of lines, not an empty canvas


def test_run_writes_nothing_in_the_working_directory(good):
    for run in good.values():
        assert run.returncode == 0, run.text
        assert list(run.cwd.iterdir()) == []  # no outputs/, .hydra/, multirun/ or *.log
        assert sorted(run.cwd.parent.iterdir()) == sorted([run.cwd, run.out])


def test_weekly_parquet_is_the_weekly_record_one_row_a_week(good):
    weekly = pd.read_parquet(the_folder(good["main"]) / "weekly.parquet")
    assert weekly["week"].tolist() == list(range(1, 21))
    core = {"week", "active_share", "adopted_share", "value_total", "value_creators_share"}
    assert core | {f"stage_{s}" for s in STAGE_NAMES} <= set(weekly.columns)
    # The command line and the API compute the same run.
    pd.testing.assert_frame_equal(weekly, sim.simulate(RUN).weekly)


def test_summary_and_groups_are_written(good):
    folder = the_folder(good["main"])
    expected = sim.simulate(RUN)
    assert json.loads((folder / "summary.json").read_text()) == expected.summary
    groups = pd.read_parquet(folder / "groups.parquet")
    pd.testing.assert_frame_equal(groups, expected.groups)
    assert len(groups) > 0


def test_config_yaml_round_trips_to_the_overrides(good):
    run = good["main"]
    written = OmegaConf.load(the_folder(run) / "config.yaml")
    assert written.org.generator == "small_world"
    assert written.org.size == 300
    assert written.weeks == 20
    assert written.seed == 3
    assert written.output.dir == str(run.out)
    composed = sim.compose([*RUN, f"output.dir={run.out}"])
    assert OmegaConf.to_container(written) == OmegaConf.to_container(composed, resolve=True)


def test_provenance_records_seed_overrides_versions_and_git_revision(good):
    run = good["main"]
    prov = json.loads((the_folder(run) / "provenance.json").read_text())
    assert prov["seed"] == 3
    assert prov["overrides"] == [*RUN, f"output.dir={run.out}"]
    for package in ("mesa", "numpy", "scipy", "pandas", "networkx", "hydra-core"):
        assert prov["versions"][package] == version(package)
    assert prov["versions"]["mesa"].startswith("3.5")
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", prov["git"]["commit"])
        assert isinstance(prov["git"]["dirty"], bool)


def test_same_seed_in_two_processes_writes_byte_identical_results(good):
    first, second = the_folder(good["main"]), the_folder(good["again"])
    assert good["again"].returncode == 0, good["again"].text
    for name in ("weekly.parquet", "groups.parquet", "summary.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert not (second / "adoption_vs_value.png").exists()  # output.plot=false


def test_file_repairs_are_reported_as_one_line_warnings(good):
    run = good["warns"]
    assert run.returncode == 0, run.text
    assert re.search(r"^warning: org\.path: \S*loops\.csv: dropped 1 self-loop", run.stderr, re.M)
    assert re.search(
        r"^warning: org\.path: \S*loops\.csv: dropped 1 repeated tie", run.stderr, re.M
    )
    assert ".py:" not in run.stderr  # no source file and line of the code that warned
    assert "wrote" in run.stdout


# --- refused runs ------------------------------------------------------------------------------


def assert_refused(run, patterns) -> None:
    assert run.returncode != 0, run.text
    assert "Traceback" not in run.text
    assert "wrote" not in run.stdout
    for pattern in patterns:
        assert re.search(pattern, run.text), f"{pattern!r} not in:\n{run.text}"
    assert list(run.cwd.iterdir()) == []


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda b: b.name)
def test_bad_input_stops_with_one_message_and_writes_nothing(bad, case):
    _, runs = bad
    run = runs[case.name]
    assert_refused(run, case.patterns)
    assert not run.out.exists() or list(run.out.iterdir()) == []


def test_our_messages_go_to_stderr_once_with_exit_status_2(bad):
    _, runs = bad
    for case in BAD_INPUTS:
        run = runs[case.name]
        assert run.stdout == "", case.name
        if not case.hydra:
            assert run.returncode == 2, case.name
            assert run.stderr.startswith("error: "), case.name
            assert run.stderr.count("error:") == 1, case.name


def test_several_population_errors_are_reported_together(bad):
    _, runs = bad
    message = runs["several population errors"].stderr
    assert message.count("population.") == 3
    assert len(message.strip().splitlines()) == 3


@pytest.mark.parametrize("name", ["output.dir under a file", "output.dir is a file"])
def test_unwritable_output_dir_stops_with_one_message(bad, name):
    data, runs = bad
    run = runs[name]
    assert_refused(run, [r"output\.dir=\S*a_file", r"a_file is a file, not a folder"])
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1  # one line
    assert (data / "a_file").read_text() == "not a folder\n"
