"""Sweeps: every config composes; ``python -m sim -m`` writes one run folder per job; failed
jobs are reported and the others land; the results do not depend on the launcher; and
``python -m sim.aggregate`` collects a sweep folder into one table and a figure.

Every sweep is a real subprocess in an empty working directory with its own
``hydra.sweep.dir``. The sweeps are started together by a module-scoped fixture (each is
mostly start-up time), and each test checks one thing.
"""

import json
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import product
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, CliRun, cli_env
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from hydra.utils import get_class
from omegaconf import OmegaConf

import sim
import sim.aggregate as agg
from models.errors import InputError
from sim import schema
from sim.sweep import JobReporter
from sim.workers import available_cpus, worker_count

CONF = ROOT / "conf"
TINY = ["org.size=80", "weeks=12", "output.plot=false"]
JOB_TINY = ["org.size=80", "weeks=12", "output.plot=False"]  # as Hydra hands them to a job
# The sweep every launcher runs: 2 × 2 = 4 jobs, over a value and a config group.
GRID = [*TINY, "champions.share=0,0.1", "org=hierarchy,small_world"]
# ensemble (the default: the runs simulated together), basic (one by one), joblib with more
# workers than any machine has CPUs (lowered to them), submitit two jobs at a time
LAUNCHERS = {"ensemble": [], "basic": ["hydra/launcher=basic"]}
LAUNCHERS["joblib"] = ["hydra/launcher=local_joblib", "hydra.launcher.n_jobs=10000"]
LAUNCHERS["submitit"] = ["hydra/launcher=local_submitit", "hydra.launcher.array_parallelism=2"]
RUN_FILES = {"weekly.parquet", "groups.parquet", "summary.json", "config.yaml", "provenance.json"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def presets() -> list[str]:
    return [name for name in options("experiment") if name.startswith("sweep_")]


# --- running sweeps ----------------------------------------------------------------------------


def run_module(module: str, args: list[str], workdir: Path, out: Path | None) -> CliRun:
    """``python -m <module> <args>`` in an empty ``workdir/cwd``."""
    cwd = workdir / "cwd"
    cwd.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        encoding="utf-8",
        timeout=600,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr, cwd, out or workdir / "none")


def sweep(args: list[str], workdir: Path) -> CliRun:
    """``python -m sim -m <args> hydra.sweep.dir=<workdir>/sweep``; ``out`` is the sweep
    folder."""
    out = workdir / "sweep"
    return run_module("sim", ["-m", *args, f"hydra.sweep.dir={out}"], workdir, out)


def aggregate_cli(args: list[str], workdir: Path) -> CliRun:
    return run_module("sim.aggregate", args, workdir, None)


def run_many(jobs: dict) -> dict:
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(fn, *job) for name, (fn, *job) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("sweeps")
    taken = base / "taken"
    (taken / "sweep" / "0").mkdir(parents=True)
    (taken / "sweep" / "0" / "summary.json").write_text("{}\n")
    (base / "empty" / "folder").mkdir(parents=True)
    jobs = {name: (sweep, [*GRID, *extra], base / name) for name, extra in LAUNCHERS.items()}
    jobs["failed"] = (sweep, [*TINY, "champions.share=0.1,1.5", "seed=4"], base / "failed")
    jobs["failed_joblib"] = (
        sweep,
        [*TINY, "champions.share=1.5,0.1", "hydra/launcher=local_joblib"],
        base / "failed_joblib",
    )
    jobs["all failed"] = (sweep, [*TINY, "champions.share=1.5,2"], base / "all_failed")
    jobs["no workers"] = (
        sweep,
        [*TINY, "seed=1,2", "hydra/launcher=local_joblib", "hydra.launcher.n_jobs=0"],
        base / "no_workers",
    )
    jobs["twins"] = (twin_sweeps, base / "twins")
    jobs["wrong type"] = (sweep, [*TINY, "weeks=ten,20"], base / "wrong_type")
    jobs["unknown option"] = (sweep, [*TINY, "org=hierarchy,nonexistent"], base / "unknown")
    jobs["taken"] = (sweep, [*TINY, "seed=1,2"], taken)  # taken/sweep holds a job
    (base / "a_file").write_text("not a folder\n")
    jobs["unwritable"] = (
        run_module,
        "sim",
        ["-m", *TINY, "seed=1,2", f"hydra.sweep.dir={base}/a_file/sweep"],
        base / "unwritable",
        base / "a_file" / "sweep",
    )
    jobs["aggregate missing"] = (aggregate_cli, [str(base / "no" / "such")], base / "agg_missing")
    jobs["aggregate empty"] = (aggregate_cli, [str(base / "empty" / "folder")], base / "agg_empty")
    for name in presets():
        args = [f"experiment={name}", *smoke_grid(name), "org.size=60", "weeks=10"]
        jobs[name] = (sweep_preset, args, base / name)
    return run_many(jobs)


def twin_sweeps(workdir: Path) -> list[CliRun]:
    """Two sweeps started at the same moment in one working directory, each into the default
    folder (``results/sweeps/<time>_<random>``)."""
    cwd = workdir / "cwd"
    cwd.mkdir(parents=True)
    args = [sys.executable, "-m", "sim", "-m", *TINY, "seed=1,2"]
    procs = [
        subprocess.Popen(
            args, cwd=cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        runs.append(CliRun(proc.returncode, out.decode(), err.decode(), cwd, cwd / "results"))
    return runs


def sweep_preset(args: list[str], workdir: Path) -> CliRun:
    """A preset runs as a sweep without ``-m`` (it sets ``hydra.mode: MULTIRUN``)."""
    out = workdir / "sweep"
    return run_module("sim", [*args, f"hydra.sweep.dir={out}"], workdir, out)


def smoke_grid(name: str) -> list[str]:
    """The preset's own sweep cut to the first two values of each swept key (command-line
    values replace the preset's): every axis still sweeps, in a few jobs."""
    return [f"{key}={','.join(values[:2])}" for key, values in preset_axes(name).items()]


@pytest.fixture(scope="module")
def aggregated(runs, tmp_path_factory):
    """``python -m sim.aggregate`` on the basic and the failed sweep: a heatmap (two swept
    parameters, the default), a line plot with one line per --by value, and a table."""
    base = tmp_path_factory.mktemp("aggregate")
    grid, failed = str(runs["basic"].out), str(runs["failed"].out)
    return run_many(
        {
            "heatmap": (aggregate_cli, [grid], base / "heatmap"),
            "lines": (
                aggregate_cli,
                [grid, "--x", "champions.share", "--by", "org", "--outcome", "peak_active_share"],
                base / "lines",
            ),
            "failed": (aggregate_cli, [failed, "--x", "champions.share"], base / "failed"),
            "bad outcome": (aggregate_cli, [grid, "--outcome", "nonsense"], base / "bad_outcome"),
            "bad x": (aggregate_cli, [grid, "--x", "weeks"], base / "bad_x"),
        }
    )


def jobs_of(folder: Path) -> list[Path]:
    return sorted((d for d in folder.iterdir() if d.name.isdigit()), key=lambda d: int(d.name))


def assert_ok(run: CliRun) -> None:
    assert run.returncode == 0, run.text
    assert "Traceback" not in run.text
    assert list(run.cwd.iterdir()) == [], "a sweep writes nothing in the working directory"


# --- every config composes ---------------------------------------------------------------------


def compose_all(overrides: list[str]):
    schema.register()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=overrides, return_hydra_config=True)


def every_option() -> list[list[str]]:
    """One override list per config file in conf/, found on disk (a new file is tested
    without touching this test)."""
    cases = [[]]  # config.yaml itself
    for group in sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra"):
        for name in options(group):
            if group == "intervention":  # building blocks, added to a programme
                cases.append([f"+intervention@scenario.interventions.probe={name}"])
            else:
                cases.append([f"{group}={name}"])
    for group in sorted(p.relative_to(CONF) for p in (CONF / "hydra").iterdir() if p.is_dir()):
        cases += [[f"{group.as_posix()}={name}"] for name in options(group.as_posix())]
    return cases


def test_every_config_file_is_found():
    found = {tuple(case) for case in every_option()}
    n_files = sum(1 for p in CONF.rglob("*.yaml") if p.name != "config.yaml")
    assert len(found) == n_files + 1
    assert ("hydra/launcher=slurm",) in found
    assert ("experiment=sweep_champions",) in found


@pytest.mark.parametrize("overrides", every_option(), ids=lambda o: " ".join(o) or "config")
def test_every_config_composes_and_resolves(overrides):
    cfg = compose_all(overrides)
    run_part = {k: v for k, v in cfg.items() if k != "hydra"}
    OmegaConf.to_container(OmegaConf.create(run_part), resolve=True)  # MISSING paths may stay
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    get_class(launcher["_target_"])  # the launcher plugin is installed
    get_class(cfg.hydra.callbacks.sweep._target_)
    assert cfg.hydra.output_subdir is None
    assert cfg.hydra.sweep.dir.startswith("results/sweeps/")
    if overrides and overrides[0].startswith("experiment=sweep_"):
        assert cfg.experiment.name == "none"  # each job is a single run
        assert cfg.hydra.mode == RunMode.MULTIRUN


def test_launcher_options_are_what_the_readme_says():
    joblib = compose_all(["hydra/launcher=local_joblib"]).hydra.launcher
    assert joblib._target_.endswith("JoblibLauncher") and joblib.n_jobs == 2
    slurm = compose_all(["hydra/launcher=slurm"]).hydra.launcher
    assert slurm._target_.endswith("SlurmLauncher")
    assert {"partition", "timeout_min", "cpus_per_task", "mem_gb"} <= set(slurm)
    assert slurm.array_parallelism == 100  # on the cluster: not capped at this machine's CPUs
    local = compose_all(["hydra/launcher=local_submitit"]).hydra.launcher
    assert local._target_ == "hydra_plugins.beyond_adoption.local_submitit.LocalSubmititLauncher"
    assert local.array_parallelism == -1  # one job per CPU at a time
    assert worker_count(local.array_parallelism, "array_parallelism") == available_cpus()


def preset_axes(name: str) -> dict[str, list[str]]:
    """The values of each key a sweep preset sweeps (``glob(*)`` expanded)."""
    params = compose_all([f"experiment={name}"]).hydra.sweeper.params
    schema.register()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
        parsed = parser.parse_overrides([f"{k}={v}" for k, v in params.items()])
        return {o.get_key_element(): list(o.sweep_string_iterator()) for o in parsed}


def preset_jobs(name: str) -> list[list[str]]:
    """The jobs a sweep preset launches: every combination of its sweeper's values."""
    axes = [[f"{key}={v}" for v in values] for key, values in preset_axes(name).items()]
    return [list(job) for job in product(*axes)]


@pytest.mark.parametrize("name", presets())
def test_every_job_of_every_sweep_preset_composes(name):
    jobs = preset_jobs(name)
    assert len(jobs) >= 4
    for job in jobs:
        cfg = sim.compose([f"experiment={name}", *job])
        assert cfg.experiment.name == "none"
        for override in job:
            key, value = agg.parse_override(override)
            if key in ("org", "scenario"):  # a config group: its option was chosen
                chosen = cfg.org.generator if key == "org" else cfg.scenario.name
                assert chosen == value
            else:
                assert OmegaConf.select(cfg, key) == value


@pytest.mark.parametrize("name", presets())
def test_every_sweep_preset_runs_on_a_tiny_organisation(runs, name):
    run = runs[name]
    assert_ok(run)
    jobs = jobs_of(run.out)
    assert len(jobs) == 2 ** len(preset_axes(name))
    assert all((job / "summary.json").exists() for job in jobs)
    assert not any((job / "adoption_vs_value.png").exists() for job in jobs)  # output.plot
    summary = json.loads((jobs[0] / "summary.json").read_text())
    assert summary["agents"] == 60 and summary["weeks"] == 10
    assert f"{len(jobs)} jobs, {len(jobs)} completed, 0 failed" in run.stdout


# --- a sweep -----------------------------------------------------------------------------------


def test_a_sweep_writes_one_run_folder_per_job_and_nothing_else(runs):
    run = runs["basic"]
    assert_ok(run)
    assert {p.name for p in run.out.iterdir()} == {
        "0",
        "1",
        "2",
        "3",
        "multirun.yaml",
        "sweep.json",
    }
    for job in jobs_of(run.out):
        assert {p.name for p in job.iterdir()} == RUN_FILES  # no .hydra/, no error.json
        assert f"wrote {job}" in run.stdout
    assert not (ROOT / "multirun").exists()


def test_a_sweep_over_a_config_group_runs_each_option(runs):
    seen = set()
    for job in jobs_of(runs["basic"].out):
        prov = json.loads((job / "provenance.json").read_text())
        config = OmegaConf.load(job / "config.yaml")
        overrides = dict(o.split("=", 1) for o in prov["overrides"])
        assert config.org.generator == overrides["org"]
        assert config.champions.share == float(overrides["champions.share"])
        assert config.org.size == 80 and config.weeks == 12
        seen.add((config.org.generator, config.champions.share))
    assert seen == {(o, s) for o in ("hierarchy", "small_world") for s in (0.0, 0.1)}


def test_each_job_records_its_overrides_and_how_to_reproduce_it(runs, tmp_path):
    run = runs["basic"]
    job = jobs_of(run.out)[3]
    prov = json.loads((job / "provenance.json").read_text())
    # Hydra hands each job its overrides re-written (output.plot=false becomes =False).
    parsed = dict(agg.parse_override(o) for o in prov["overrides"])
    assert parsed == dict(agg.parse_override(o) for o in [*TINY, "champions.share=0.1"]) | {
        "org": "small_world"
    }
    assert prov["sweep"] == {"dir": str(run.out), "job": 3}
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", prov["git"]["commit"])
    # The command it records, run on its own, gives the same bytes.
    args = shlex.split(prov["command"])
    assert args[:3] == ["python", "-m", "sim"]
    again = run_module("sim", [*args[3:], f"output.dir={tmp_path}/out"], tmp_path, None)
    assert again.returncode == 0, again.text
    (folder,) = (tmp_path / "out").iterdir()
    for name in ("weekly.parquet", "groups.parquet", "summary.json"):
        assert (folder / name).read_bytes() == (job / name).read_bytes(), name


def test_the_sweep_folder_records_how_the_sweep_was_started(runs):
    run = runs["basic"]
    record = json.loads((run.out / "sweep.json").read_text())
    assert record["command"].startswith("python -m sim -m ")
    assert record["overrides"] == GRID
    assert record["launcher"]["_target_"].endswith("BasicLauncher")
    assert record["versions"]["hydra-core"] and record["versions"]["submitit"]
    assert "commit" in record["git"]
    assert record["jobs"] == 4 and record["completed"] == 4 and record["failed"] == []
    assert record["jobs_planned"] == 4
    # each job's line says how far the sweep is
    assert re.search(r"wrote \S+/3 \[4 of 4, \d+:\d\d elapsed\]$", run.stdout, re.M)
    assert re.search(
        r"wrote \S+/0 \[1 of 4, \d+:\d\d elapsed, about \d+:\d\d left\]$", run.stdout, re.M
    )
    assert "python -m sim.aggregate" in run.stdout


def test_a_preset_sweep_records_its_sweeper_parameters(runs):
    record = json.loads((runs["sweep_champions"].out / "sweep.json").read_text())
    assert set(record["sweeper"]["params"]) == {"champions.share", "champions.rule", "org"}


# --- launchers ---------------------------------------------------------------------------------


def test_results_are_identical_whatever_the_launcher_and_worker_count(runs):
    tables = {}
    for name in LAUNCHERS:
        run = runs[name]
        assert_ok(run)
        table, not_done, _ = agg.collect(run.out, progress=False)
        assert not_done == [] and len(table) == 4
        tables[name] = table
    metrics = [c for c in tables["basic"].columns if c not in ("job",)]
    for name in ("ensemble", "joblib", "submitit"):
        pd.testing.assert_frame_equal(tables[name][metrics], tables["basic"][metrics])
        for job in range(4):
            for file in ("weekly.parquet", "groups.parquet", "summary.json"):
                ours = runs[name].out / str(job) / file
                assert ours.read_bytes() == (runs["basic"].out / str(job) / file).read_bytes()


def test_submitit_keeps_its_files_inside_the_sweep_folder_and_no_stray_one(runs):
    run = runs["submitit"]
    logs = run.out / ".submitit"
    record = json.loads((run.out / "sweep.json").read_text())
    assert record["launcher"]["_target_"].endswith("local_submitit.LocalSubmititLauncher")
    assert record["launcher"]["submitit_folder"].startswith(str(run.out))
    # one folder per job (named by its process id), and not the empty '%j' submitit makes
    assert sorted(p.name.isdigit() for p in logs.iterdir()) == [True] * 4


def test_local_submitit_runs_at_most_array_parallelism_jobs_at_once(runs):
    """Submitted two at a time: the last two jobs are submitted only once the first two
    have written their results (submitit's own files record when)."""
    jobs = sorted(
        (run_dir / f"{run_dir.name}_submitted.pkl", run_dir / f"{run_dir.name}_0_result.pkl")
        for run_dir in (runs["submitit"].out / ".submitit").iterdir()
    )
    submitted = sorted((s.stat().st_mtime, r.stat().st_mtime) for s, r in jobs)
    first, last = submitted[:2], submitted[2:]
    assert max(done for _, done in first) <= min(start for start, _ in last)


def test_submitit_prints_each_jobs_line_as_it_lands(runs):
    """The jobs' own output goes to their log files; the launching process prints each
    job's line (its overrides, outcome, folder and progress) as the job lands."""
    run = runs["submitit"]
    for job in jobs_of(run.out):
        assert re.search(
            rf"^job {job.name} \(.*\): long-run value .* wrote {job} \[", run.stdout, re.M
        )
    lines = run.stdout.splitlines()
    assert lines.index(next(x for x in lines if "jobs, 4 completed" in x)) == 4  # then the end


def test_the_job_reporter_prints_a_jobs_line_while_the_sweep_still_runs(tmp_path, capsys):
    """As the job lands, not at the end: the sweep above prints every line before its last
    one even if the reporter only reported when stopped, so watch the reporter itself."""
    reporter = JobReporter(tmp_path, every=0.02)
    reporter.start()
    try:
        job = tmp_path / "0"
        job.mkdir()
        (job / "provenance.json").write_text(json.dumps({"overrides": ["seed=1"]}))
        (job / "summary.json").write_text(
            json.dumps({"long_run_value": 1234.0, "peak_active_share": 0.5})
        )
        printed, deadline = "", time.monotonic() + 10
        while "job 0 (seed=1): long-run value 1,234 h" not in printed:
            assert time.monotonic() < deadline, "no line while the sweep runs"
            time.sleep(0.02)
            printed += capsys.readouterr().out
    finally:
        reporter.stop()
    assert capsys.readouterr().out == ""  # reported once, not again at the end


def test_worker_processes_are_capped_at_the_cpus(runs):
    run = runs["joblib"]
    record = json.loads((run.out / "sweep.json").read_text())
    cpus = available_cpus()
    assert record["launcher"]["n_jobs"] == cpus
    assert f"note: hydra.launcher.n_jobs=10000 lowered to {cpus}," in run.stderr


def test_no_worker_processes_is_refused_before_anything_is_written(runs):
    run = runs["no workers"]
    assert run.returncode == 2, run.text
    assert run.stderr == (
        "error: hydra.launcher.n_jobs=0 is not allowed: give the number of worker processes, "
        f"at least 1, or -1 for one per CPU ({available_cpus()} here)\n"
    )
    assert not run.out.exists() and run.stdout == ""


def test_sweeps_started_together_get_folders_of_their_own(runs):
    first, second = runs["twins"]
    for run in (first, second):
        assert run.returncode == 0, run.text
    folders = sorted((first.cwd / "results" / "sweeps").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_[0-9a-f]{6}", folder.name)
        assert [p.name for p in jobs_of(folder)] == ["0", "1"]
        assert json.loads((folder / "sweep.json").read_text())["completed"] == 2


# --- failed jobs and bad input -----------------------------------------------------------------


def test_a_failed_job_is_reported_by_its_overrides_and_the_others_land(runs):
    run = runs["failed"]
    assert run.returncode == 1, run.text
    assert "Traceback" not in run.text
    ok, bad = jobs_of(run.out)
    assert {p.name for p in ok.iterdir()} == RUN_FILES
    assert {p.name for p in bad.iterdir()} == {"error.json"}
    line = f"error: job 1 ({' '.join([*JOB_TINY, 'champions.share=1.5', 'seed=4'])}) failed: "
    assert line + "champions.share=1.5 is not allowed: it must be between 0 and 1" in run.stderr
    assert re.search(
        r"^error: 1 of 2 jobs failed: job 1 \(.*champions\.share=1\.5", run.stderr, re.M
    )
    error = json.loads((bad / "error.json").read_text())
    assert error["overrides"] == [*JOB_TINY, "champions.share=1.5", "seed=4"]
    assert error["error"] == "InputError" and "champions.share=1.5" in error["message"]
    record = json.loads((run.out / "sweep.json").read_text())
    assert [f["job"] for f in record["failed"]] == ["1"] and record["completed"] == 1


def test_a_sweep_in_which_every_job_fails_exits_1_and_records_them(runs):
    run = runs["all failed"]
    assert run.returncode == 1, run.text
    assert "Traceback" not in run.text
    assert re.search(r"^error: 2 of 2 jobs failed: job 0 \(.*\); job 1 \(", run.stderr, re.M)
    record = json.loads((run.out / "sweep.json").read_text())
    assert record["completed"] == 0 and [f["job"] for f in record["failed"]] == ["0", "1"]


def test_a_failed_job_in_a_worker_process_does_not_stop_the_others(runs):
    run = runs["failed_joblib"]
    assert run.returncode == 1, run.text
    bad, ok = jobs_of(run.out)
    assert (bad / "error.json").exists() and not (bad / "summary.json").exists()
    assert (ok / "summary.json").exists()
    assert "1 of 2 jobs failed: job 0 (" in run.stderr


def test_a_sweep_value_of_the_wrong_type_stops_before_anything_is_written(runs):
    run = runs["wrong type"]
    assert run.returncode == 2, run.text
    assert "Traceback" not in run.text
    assert run.stderr.startswith("error: ")
    assert re.search(r"weeks=ten\b", run.stderr)
    assert "could not be converted to Integer" in run.stderr
    assert not run.out.exists()
    assert list(run.cwd.iterdir()) == []
    assert "job" not in run.stdout


def test_an_unknown_option_in_a_sweep_stops_before_anything_is_written(runs):
    run = runs["unknown option"]
    assert run.returncode == 2, run.text
    assert "org/nonexistent" in run.stderr and "Available options in 'org'" in run.stderr
    assert not run.out.exists()


def test_a_sweep_folder_that_holds_another_sweep_is_refused(runs):
    run = runs["taken"]
    assert run.returncode == 2, run.text
    assert "already holds a sweep" in run.stderr
    assert sorted(p.name for p in run.out.iterdir()) == ["0"]


def test_a_sweep_folder_that_cannot_be_written_is_refused(runs):
    run = runs["unwritable"]
    assert run.returncode == 2, run.text
    assert re.fullmatch(
        r"error: hydra\.sweep\.dir='\S+/a_file/sweep' cannot be written: .*\n", run.stderr
    )
    assert run.stdout == "" and "Traceback" not in run.text
    assert run.out.parent.read_text() == "not a folder\n"


# --- aggregation -------------------------------------------------------------------------------


def test_aggregation_equals_the_jobs_summaries_and_independent_runs(runs, aggregated):
    assert_ok(aggregated["heatmap"])
    folder = runs["basic"].out
    table = pd.read_parquet(folder / "sweep.parquet")
    assert table["job"].tolist() == [0, 1, 2, 3]
    assert table["champions.share"].tolist() == [0.0, 0.0, 0.1, 0.1]  # parsed values
    assert table["org"].tolist() == ["hierarchy", "small_world"] * 2
    assert table["org.size"].tolist() == [80] * 4 and table["seed"].tolist() == [0] * 4
    for row in table.to_dict("records"):
        job = folder / str(row["job"])
        summary = json.loads((job / "summary.json").read_text())
        overrides = json.loads((job / "provenance.json").read_text())["overrides"]
        independent = sim.simulate(overrides).summary
        assert summary == independent
        for key, value in summary.items():
            if isinstance(value, dict):
                for part, v in value.items():
                    assert row[f"{key}.{part}"] == v
            elif key != "weeks":  # weeks is an override column here
                assert row[key] == value or (value is None and pd.isna(row[key])), key
    csv = pd.read_csv(folder / "sweep.csv")
    assert csv.shape == table.shape
    assert csv["long_run_value"].tolist() == pytest.approx(table["long_run_value"].tolist())


def test_aggregation_draws_a_heatmap_and_a_line_plot(runs, aggregated):
    folder = runs["basic"].out
    heatmap = folder / "long_run_value_vs_champions.share_and_org"
    lines = folder / "peak_active_share_vs_champions.share_by_org"
    for stem, run in ((heatmap, aggregated["heatmap"]), (lines, aggregated["lines"])):
        assert_ok(run)
        png = stem.with_name(stem.name + ".png")
        svg = stem.with_name(stem.name + ".svg")
        assert png.read_bytes().startswith(PNG_SIGNATURE) and png.stat().st_size > 10_000
        assert svg.read_text().lstrip().startswith("<?xml")
        assert f"wrote {png}" in run.stdout
    assert "swept: champions.share, org" in aggregated["heatmap"].stdout


def test_aggregation_lists_failed_jobs_and_goes_on(runs, aggregated):
    run = aggregated["failed"]
    assert_ok(run)
    assert "2 jobs: 1 completed, 1 failed" in run.stdout
    assert re.search(
        r"^failed: job 1 \(.*champions\.share=1\.5.*\): champions\.share=1\.5", run.stderr, re.M
    )
    folder = runs["failed"].out
    failed = pd.read_csv(folder / "failed.csv")
    assert failed["job"].tolist() == [1]
    assert failed["champions.share"].tolist() == [1.5]
    assert "between 0 and 1" in failed["message"][0]
    table = pd.read_parquet(folder / "sweep.parquet")
    assert table["job"].tolist() == [0] and table["seed"].tolist() == [4]


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("aggregate missing", r"^error: \S+/no/such: no such folder"),
        ("aggregate empty", r"^error: \S+/empty/folder holds no sweep jobs"),
        (
            "bad outcome",
            r"^error: --outcome nonsense is not a numeric summary metric: .*long_run_value",
        ),
        (
            "bad x",
            r"^error: --x weeks is not a swept parameter of this sweep: "
            r"choose one of champions\.share, org",
        ),
    ],
)
def test_aggregation_refuses_bad_input_with_one_message(runs, aggregated, name, pattern):
    run = {**runs, **aggregated}[name]
    assert run.returncode == 2, run.text
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert re.search(pattern, run.stderr), run.stderr
    assert list(run.cwd.iterdir()) == []


def test_overrides_are_parsed_as_hydra_parses_them():
    assert agg.parse_override("champions.share=0.05") == ("champions.share", 0.05)
    assert agg.parse_override("weeks=20") == ("weeks", 20)
    assert agg.parse_override("org=small_world") == ("org", "small_world")
    assert agg.parse_override("champions.share=null") == ("champions.share", None)
    assert agg.parse_override("output.plot=false") == ("output.plot", False)
    assert agg.parse_override("org.path='/a b/c.csv'") == ("org.path", "/a b/c.csv")
    assert agg.parse_override("+intervention@scenario.interventions.d=campaign") == (
        "intervention@scenario.interventions.d",
        "campaign",
    )


def test_axes_default_to_the_swept_parameters_and_refuse_others():
    assert agg.choose_axes(["a"], None, None, None) == ("a", None, None)
    assert agg.choose_axes(["a", "b", "c"], None, None, None) == ("a", "b", None)
    assert agg.choose_axes(["a", "b"], "b", None, None) == ("b", None, None)
    assert agg.choose_axes(["a", "b"], None, None, "a") == ("b", None, "a")
    assert agg.choose_axes([], None, None, None) == (None, None, None)
    with pytest.raises(InputError, match="not a swept parameter"):
        agg.choose_axes(["a"], "z", None, None)
    with pytest.raises(InputError, match="must be different"):
        agg.choose_axes(["a", "b"], "a", "a", None)


def test_unfinished_jobs_and_studies_are_told_apart_from_results(runs, tmp_path):
    """A job folder with neither summary.json nor error.json (killed, timed out, still
    running) is listed as unfinished; one that ran a study (experiment=compare in a sweep)
    points to the study's folder; neither becomes a row."""
    folder = tmp_path / "sweep"
    folder.mkdir()
    for name in ("0", "1"):  # two finished jobs, copied
        (folder / name).mkdir()
        for file in (runs["basic"].out / name).iterdir():
            (folder / name / file.name).write_bytes(file.read_bytes())
    (folder / "2").mkdir()  # Hydra made it; the job never finished
    (folder / "3").mkdir()
    note = {"experiment": "compare", "folder": "/elsewhere", "overrides": ["seed=1"]}
    (folder / "3" / "experiment.json").write_text(json.dumps(note))
    (folder / ".submitit").mkdir()  # not a job
    out = agg.aggregate(folder, draw=False, progress=False)
    assert out["table"]["job"].tolist() == [0, 1]
    assert [(j.name, j.status) for j in out["not_done"]] == [("2", "unfinished")]
    assert [(j.name, j.status) for j in out["studies"]] == [("3", "study")]
    assert "/elsewhere" in out["studies"][0].message
    failed = pd.read_csv(folder / "failed.csv")
    assert failed["job"].tolist() == [2] and failed["status"].tolist() == ["unfinished"]
    assert json.loads((folder / "sweep.json").read_text())["written_by"].startswith("sim.aggregate")
