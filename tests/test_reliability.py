"""Reliability (issue 8; docs/RELIABILITY.md): how the tool fails, on purpose.

* config validation before any work: every problem of a config at once, by full key, value
  and what is allowed (items 1, 6);
* nothing half-written, and resuming: an interrupted comparison or sweep (SIGTERM, Ctrl-C, a
  crashing job) leaves nothing that looks complete, and the same command run again reuses the
  runs already complete and valid and writes byte for byte what an uninterrupted run writes
  (items 3, 4);
* faults: a job that raises, a full disk, an unwritable results folder (item 7);
* numerical soundness of a 10,000-week run and of every parameter at the edges of its allowed
  range (item 5);
* issue 18: worker counts capped at the CPUs; every size that grows memory checked against
  the memory available, with an estimate within a factor of 2 of the measurement; devices,
  named pipes and endless lines refused; no worker outliving a killed comparison or joblib
  sweep; exit status 2 and one message for every refusal, Hydra's included; a sweep exiting 1
  for any job without a result; interruption messages that say what was kept; byte-identical
  figures; ``sim.simulate`` refusing studies.

The command-line cases are real subprocesses, started together by a module-scoped fixture
(each is mostly start-up time); the interrupted ones are stopped by a signal once they have
completed part of their work.
"""

import errno
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet
import pytest
from conftest import cli_env
from invariants import assert_sound_model, assert_sound_state

import sim
import sim.run
from experiments import compare
from models import generators
from models.errors import InputError
from models.interventions import KINDS, Intervention
from models.model import AdoptionModel
from models.params import BOUNDS, MAX_MAGNITUDE, NON_NEGATIVE, Behaviour
from sim import resume, signals
from sim.replicate import Spec, batching, run_jobs, run_replications
from sim.run import check, org_problems, write_atomically

# --- running the command line, and stopping it ------------------------------------------------

#: One run an ensemble (``experiment.batch_rows`` = the organisation's size), so that the six
#: runs end, and are saved, a tenth of a second or more apart, one after another: run
#: together, they were saved within milliseconds of each other, faster than the test can stop
#: the command after the first. Batching changes no result.
COMPARE = [
    "experiment=compare",
    "org.size=200",
    "weeks=600",
    "experiment.replications=3",
    "experiment.scenarios=[mandate]",
    "experiment.bootstrap=200",
    "experiment.batch_rows=200",
    "output.progress=true",
]
#: Each job long enough (about two seconds) that the next is still running when the first is
#: written and the sweep is interrupted, even on a busy machine.
SWEEP = ["-m", "org.size=1000", "weeks=2500", "output.plot=false", "seed=0,1,2"]
#: The interrupted sweep runs its jobs one after another (Hydra's basic launcher): the default
#: launcher simulates every job of one size together first and then writes them within
#: milliseconds of each other, leaving no moment between jobs to interrupt reliably.
ONE_BY_ONE = "hydra/launcher=basic"
#: ``python -m sim`` in which the job with seed=1 fails with a bug (not bad input): ``run`` is
#: replaced before ``sim.__main__`` imports it (the basic launcher runs the jobs in this process).
CRASHING_SWEEP = """
import runpy
import sys

import sim.run

real_run = sim.run.run


def run(cfg, *args, **kwargs):
    if cfg.seed == 1:
        raise RuntimeError("the simulated bug")
    return real_run(cfg, *args, **kwargs)


sim.run.run = run
sys.argv = ["sim", *sys.argv[1:]]
runpy.run_module("sim", run_name="__main__", alter_sys=True)
"""


def _as_from_a_shell() -> None:
    """In the child before it starts: Ctrl-C and SIGTERM as a shell hands them to a command.
    A child inherits ignored signals and its spawning thread's blocked ones, and this test
    process may have either from libraries it ran (loky blocks both while it starts its
    resource tracker): the command would then never see the signal the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def start(args: list[str], cwd: Path, code: str | None = None) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "sim", *args]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
        preexec_fn=_as_from_a_shell,  # noqa: PLW1509 (async-signal-safe calls only)
    )


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run(args: list[str], cwd: Path, code: str | None = None) -> subprocess.CompletedProcess:
    return finish(start(args, cwd, code))


def handles_sigterm(pid: int) -> bool:
    """Whether the process has installed its SIGTERM handler (Linux: SigCgt in /proc;
    elsewhere, assumed once it has had two seconds to start)."""
    if not Path("/proc/self/status").exists():
        time.sleep(2)
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M).group(1), 16)
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def stop_when(proc: subprocess.Popen, ready, sig: int) -> subprocess.CompletedProcess:
    """Send ``sig`` to ``proc`` as soon as ``ready()`` holds (and its handler is in place)."""
    deadline = time.monotonic() + 120
    while not (ready() and handles_sigterm(proc.pid)):
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    return finish(proc)


def partial_runs(folder: Path) -> list[Path]:
    return sorted((folder / ".partial").glob("*.parquet"))


def interrupted_compare(base: Path) -> dict:
    out = base / "results"
    # a run an ensemble (200 people), so a file a run: stopped between runs
    args = [*COMPARE, "experiment.jobs=1", "experiment.batch_rows=200", f"experiment.dir={out}"]
    proc = start(args, base / "cwd")
    stopped = stop_when(proc, lambda: len(partial_runs(out)) >= 1, signal.SIGTERM)
    left = {p.name for p in out.iterdir()}
    saved = len(partial_runs(out))
    again = run(args, base / "cwd")
    return {"stopped": stopped, "left": left, "saved": saved, "again": again, "out": out}


def interrupted_sweep(base: Path) -> dict:
    out = base / "sweep"
    args = [*SWEEP, ONE_BY_ONE, f"hydra.sweep.dir={out}"]
    proc = start(args, base / "cwd")
    stopped = stop_when(proc, lambda: (out / "0" / "summary.json").exists(), signal.SIGINT)
    left = {p.name: sorted(q.name for q in p.iterdir()) for p in out.iterdir() if p.is_dir()}
    first = (out / "0" / "summary.json").stat().st_mtime_ns
    again = run(args, base / "cwd")
    kept = (out / "0" / "summary.json").stat().st_mtime_ns == first
    return {"stopped": stopped, "left": left, "again": again, "out": out, "kept": kept}


def interrupted_run(base: Path) -> dict:
    out = base / "runs"
    proc = start(["org.size=200", "weeks=100000", f"output.dir={out}"], base / "cwd")
    time.sleep(0.5)
    stopped = stop_when(proc, lambda: True, signal.SIGTERM)
    return {"stopped": stopped, "out": out}


def crashing_sweep(base: Path) -> dict:
    out = base / "sweep"
    args = ["-m", "org.size=80", "weeks=12", "output.plot=false", "seed=0,1,2"]
    args.append(f"hydra.sweep.dir={out}")
    crashed = run(args, base / "cwd", CRASHING_SWEEP)
    done = {n: (out / n / "summary.json").stat().st_mtime_ns for n in ("0", "2")}
    error = json.loads((out / "1" / "error.json").read_text())
    files = {n: sorted(p.name for p in (out / n).iterdir()) for n in ("0", "1", "2")}
    again = run(args, base / "cwd")
    kept = all((out / n / "summary.json").stat().st_mtime_ns == t for n, t in done.items())
    return {
        "crashed": crashed,
        "error": error,
        "files": files,
        "again": again,
        "out": out,
        "kept": kept,
    }


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    base = tmp_path_factory.mktemp("reliability")
    jobs = {
        "compare": (interrupted_compare, base / "compare"),
        "sweep": (interrupted_sweep, base / "sweep"),
        "run": (interrupted_run, base / "run"),
        "crash": (crashing_sweep, base / "crash"),
        "several errors": (
            run,
            [
                "org.size=-5",
                "population.stage_up=2",
                "champions.share=1",
                "scenario=mandate",
                "scenario.interventions.mandate.start=60",
                "scenario.interventions.mandate.end=10",
                "weeks=0",
                f"output.dir={base / 'bad' / 'runs'}",
            ],
            base / "bad" / "cwd",
        ),
        "unwritable": (
            run,
            ["org.size=50", "weeks=5", "output.dir=/sys/beyond-adoption-results"],
            base / "unwritable",
        ),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(fn, *args) for name, (fn, *args) in jobs.items()}
        results = {name: f.result() for name, f in futures.items()}
    return results


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Path]:
    """What the comparison and the sweep write when nothing stops them: the comparison with two
    workers, the sweep's jobs as single runs (in this process: the bytes do not depend on the
    process, test_cli.py)."""
    base = tmp_path_factory.mktemp("uninterrupted")
    overrides = [*COMPARE, "experiment.jobs=2", f"experiment.dir={base / 'compare'}"]
    compared = compare.main(sim.compose(overrides), overrides)
    jobs = {}
    for seed in range(3):
        result = sim.simulate([*SWEEP[1:-1], f"seed={seed}"])
        jobs[str(seed)] = result.save(base / "sweep" / str(seed), plot=False)
    return {"compare": compared, **jobs}


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr


def the_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1, folders
    return folders[0]


# --- item 1: every problem at once, before any work --------------------------------------------


def test_several_kinds_of_error_are_reported_together_and_nothing_is_created(cli, tmp_path):
    proc = cli["several errors"]
    assert proc.returncode == 2, proc.stderr
    no_traceback(proc)
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: ")
    for pattern in (
        r"org\.size: -5 is not allowed; it must be a whole number ≥ 2",
        r"population\.stage_up=2\.0 is not allowed: it must be between 0 and 1",
        r"champions\.share=1\.0 is not allowed: .*leave no employees",
        r"scenario\.interventions\.mandate\.end=10 is not allowed: .*not before start \(60\)",
        r"weeks=0 is not allowed: it must be at least 1",
    ):
        assert any(re.search(pattern, line) for line in lines), (pattern, lines)
    assert len(lines) == 5
    assert proc.stdout == ""
    assert not (Path(proc.args[-1].split("=", 1)[1])).exists()  # no output.dir, no folder


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (["population.time_cost=inf"], r"population\.time_cost=inf .* finite number"),
        (["population.activity_base=1e39"], r"population\.activity_base=1e\+39 .* at most 1e\+12"),
        (
            ["scenario=mandate", "scenario.interventions.mandate.cost_per_person=inf"],
            r"scenario\.interventions\.mandate\.cost_per_person=inf .* finite",
        ),
        (["champions.share=1"], r"champions\.share=1\.0 is not allowed: .*no employees"),
        (["org=small_world", "org.k=3"], r"org\.k: 3 is not allowed; it must be even"),
        (
            ["org=random", "org.size=50", "org.mean_degree=80"],
            r"org\.mean_degree: 80\.0 is not allowed; it must be a number between 0 and 49",
        ),
        (["org=file", "org.path=/no/such.csv"], r"org\.path: /no/such\.csv: no such file"),
    ],
)
def test_config_rules_beyond_the_ranges(overrides, pattern):
    with pytest.raises(InputError, match=pattern):
        check(sim.compose([*overrides, "weeks=5"]))


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("hierarchy", "size", 1),
        ("hierarchy", "span", 0),
        ("hierarchy", "team_density", 1.5),
        ("hierarchy", "department_bias", -0.1),
        ("small_world", "k", 200),
        ("small_world", "rewire", 2.0),
        ("scale_free", "m", 0),
        ("random", "mean_degree", 500.0),
    ],
)
def test_organisation_checks_agree_with_the_generators(kind, key, value):
    """``org_problems`` finds, before building, what the generator would refuse, in the
    generator's own words."""
    params = {"size": 100, key: value} if key != "size" else {key: value}
    with pytest.raises(InputError) as built:
        generators.build(kind, params, np.random.default_rng(0))
    assert org_problems({"generator": kind, **params}) == [str(built.value)]
    assert org_problems({"generator": kind, "size": 100}) == []


def test_a_comparison_reports_its_settings_and_the_common_config_together(tmp_path):
    overrides = ["experiment=compare", "experiment.replications=0", "weeks=0"]
    overrides += [f"experiment.dir={tmp_path / 'out'}"]
    with pytest.raises(InputError) as raised:
        compare.main(sim.compose(overrides), overrides)
    message = str(raised.value)
    assert "experiment.replications=0" in message and "weeks=0" in message
    assert not (tmp_path / "out").exists()


# --- items 3 and 4: interrupted, resumed, identical ---------------------------------------------


COMPARED_FILES = ("weekly.parquet", "runs.parquet", "summary.csv", "tests.csv", "weekly.csv")


def test_an_interrupted_comparison_leaves_only_its_saved_replications(cli):
    stopped = cli["compare"]["stopped"]
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    no_traceback(stopped)
    assert re.search(
        r"^interrupted: experiment=compare was stopped by SIGTERM", stopped.stderr, re.M
    )
    assert ".partial" in stopped.stderr and "wrote" not in stopped.stdout
    assert cli["compare"]["left"] == {".partial"}  # no results folder, not even a hidden one
    assert 1 <= cli["compare"]["saved"] < 6


def test_a_resumed_comparison_reuses_saved_runs_and_matches_an_uninterrupted_one(cli, reference):
    again, out = cli["compare"]["again"], cli["compare"]["out"]
    assert again.returncode == 0, again.stderr
    no_traceback(again)
    saved = cli["compare"]["saved"]
    assert f"resuming: {saved} of 6 runs were already complete" in again.stderr
    assert sorted(p.name for p in out.iterdir()) == [the_folder(out).name]  # .partial is gone
    ref = reference["compare"]
    # Resumed with one worker, the reference with two: the same bytes.
    for name in COMPARED_FILES:
        assert (the_folder(out) / name).read_bytes() == (ref / name).read_bytes(), name


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), signals.Terminated("SIGTERM")])
def test_an_error_raised_while_an_interruption_unwinds_is_the_interruption(stop):
    """A signal that lands inside OmegaConf (a sweep composing its next job) can make its
    clean-up fail with an error of its own (seen in CI: ``'NoneType' object has no attribute
    '_invalidate_flags_cache'``): reported as the interruption (exit 130 or 143), not as bad
    input (2). An error with no interruption behind it is still bad input."""
    from omegaconf.errors import ConfigAttributeError

    import sim.__main__ as cli_module

    def composing():
        try:
            raise stop
        finally:
            raise ConfigAttributeError("'NoneType' object has no attribute 'x'")

    with pytest.raises(type(stop)) as raised:
        cli_module.report_errors(composing)
    assert raised.value is stop

    def refused():
        raise ConfigAttributeError("no such key")

    with pytest.raises(SystemExit) as exited:
        cli_module.report_errors(refused)
    assert exited.value.code == 2


def test_an_interrupted_sweep_keeps_finished_jobs_and_nothing_half_written(cli):
    stopped, left = cli["sweep"]["stopped"], cli["sweep"]["left"]
    assert stopped.returncode == 128 + signal.SIGINT, stopped.stderr
    no_traceback(stopped)
    assert "interrupted: the sweep was stopped by Ctrl-C" in stopped.stderr
    assert "hydra.sweep.dir=" in stopped.stderr
    assert left["0"] == sorted(
        ["config.yaml", "groups.parquet", "provenance.json"]
        + [
            "summary.json",
            "weekly.parquet",
        ]
    )
    assert all(files == [] for name, files in left.items() if name != "0"), left
    assert not any(name.startswith(".") for name in left), left  # no temporary folder


def test_a_resumed_sweep_skips_finished_jobs_and_matches_an_uninterrupted_one(cli, reference):
    again, out = cli["sweep"]["again"], cli["sweep"]["out"]
    assert again.returncode == 0, again.stderr
    no_traceback(again)
    assert "resuming the sweep in" in again.stdout
    assert re.search(
        r"^job 0 \(.*seed=0\): already complete in \S+/0, skipped$", again.stdout, re.M
    )
    assert cli["sweep"]["kept"]  # job 0's files were not rewritten
    assert len(re.findall(r"^job [12] \(.*\): long-run value", again.stdout, re.M)) == 2
    record = json.loads((out / "sweep.json").read_text())
    assert len(record["resumed"]) == 1 and record["completed"] == 3 and record["failed"] == []
    for job in ("0", "1", "2"):
        for name in ("weekly.parquet", "groups.parquet", "summary.json"):
            ours, theirs = out / job / name, reference[job] / name
            assert ours.read_bytes() == theirs.read_bytes(), (job, name)


def test_a_sigterm_during_a_run_writes_nothing(cli):
    stopped, out = cli["run"]["stopped"], cli["run"]["out"]
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    no_traceback(stopped)
    assert "interrupted: the run was stopped by SIGTERM; no results folder was written" in (
        stopped.stderr
    )
    assert not out.exists() or list(out.iterdir()) == []


def test_a_sweep_reruns_only_what_is_not_complete_and_valid(cli, tmp_path):
    """``completed_job``: the same overrides, config, code, and readable result files."""
    job = tmp_path / "0"
    shutil.copytree(cli["sweep"]["out"] / "0", job)
    prov = json.loads((job / "provenance.json").read_text())
    config = sim.run.OmegaConf.to_container(sim.run.OmegaConf.load(job / "config.yaml"))
    overrides = prov["overrides"]
    assert resume.completed_job(job, overrides, config)
    assert not resume.completed_job(job, [*overrides, "weeks=5"], config)
    assert not resume.completed_job(job, overrides, {**config, "weeks": 5})
    (job / "weekly.parquet").write_bytes((job / "weekly.parquet").read_bytes()[:100])
    assert not resume.completed_job(job, overrides, config)  # truncated
    (job / "weekly.parquet").unlink()
    assert not resume.completed_job(job, overrides, config)


# --- item 7: faults ----------------------------------------------------------------------------


def test_a_job_that_raises_is_reported_by_its_overrides_and_the_others_land(cli):
    crashed = cli["crash"]["crashed"]
    assert crashed.returncode == 1, crashed.stderr
    no_traceback(crashed)
    assert re.search(
        r"^error: job 1 \(org\.size=80 weeks=12 output\.plot=False seed=1\) failed: "
        r"RuntimeError: the simulated bug$",
        crashed.stderr,
        re.M,
    )
    assert re.search(r"^error: 1 of 3 jobs failed: job 1 \(.*seed=1\)", crashed.stderr, re.M)
    error = cli["crash"]["error"]
    assert error["overrides"][-1] == "seed=1" and "traceback" in error  # kept for a bug report
    assert cli["crash"]["files"]["1"] == ["error.json"]
    for job in ("0", "2"):
        assert "summary.json" in cli["crash"]["files"][job]


def test_the_failed_job_runs_again_when_the_sweep_is_resumed(cli):
    again, out = cli["crash"]["again"], cli["crash"]["out"]
    assert again.returncode == 0, again.stderr
    assert cli["crash"]["kept"]
    assert len(re.findall(r"already complete in \S+, skipped", again.stdout)) == 2
    assert sorted(p.name for p in (out / "1").iterdir()) == sorted(
        ["config.yaml", "groups.parquet", "provenance.json", "summary.json", "weekly.parquet"]
    )


def test_an_unwritable_results_folder_gives_one_message(cli):
    proc = cli["unwritable"]
    if proc.returncode == 0:
        pytest.skip("/sys is writable here")
    assert proc.returncode == 2
    no_traceback(proc)
    assert re.fullmatch(
        r"error: output\.dir: cannot write to /sys/beyond-adoption-results: .+\n", proc.stderr
    )


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_while_writing_a_run_gives_a_clear_error_and_leaves_nothing(
    tmp_path, monkeypatch
):
    result = sim.simulate(["org.size=50", "weeks=5"])
    monkeypatch.setattr(pd.DataFrame, "to_parquet", no_space)
    with pytest.raises(InputError, match=r"output\.dir: cannot write the results folder in "):
        result.save(tmp_path / "runs" / "run", plot=False)
    assert list((tmp_path / "runs").iterdir()) == []


def test_a_full_disk_while_saving_a_replication_gives_a_clear_error(tmp_path, monkeypatch):
    spec = Spec.from_config(sim.compose(["org.size=40", "weeks=5"]))
    cache = resume.RunCache(tmp_path / ".partial")
    monkeypatch.setattr(pyarrow.parquet, "write_table", no_space)
    with pytest.raises(InputError, match=r"experiment\.dir: cannot save a completed run in .*"):
        run_replications([spec], [1, 2], cache=cache)
    assert not any(cache.folder.glob("*"))


@pytest.mark.parametrize("stop", [KeyboardInterrupt, signals.Terminated, RuntimeError])
def test_an_interruption_while_writing_removes_the_temporary_folder(tmp_path, stop):
    def build(tmp: Path) -> None:
        (tmp / "summary.json").write_text("{}")
        raise stop("stopped")

    with pytest.raises(stop):
        write_atomically(tmp_path / "out" / "run", build, key="output.dir")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_damaged_saved_replication_is_simulated_again(tmp_path):
    specs = [Spec.from_config(sim.compose(["org.size=40", "weeks=8", "seed=1"]))]
    cache = resume.RunCache(tmp_path / ".partial")
    with batching(40):  # a run an ensemble, so a file a run
        weekly, runs = run_replications(specs, [3, 4, 5], cache=cache)
    files = sorted(cache.folder.glob("*.parquet"))
    assert len(files) == 3
    files[0].write_bytes(files[0].read_bytes()[:50])  # truncated, as by a crash mid-copy
    other = cache.folder / "0other.parquet"  # not named by its runs: not written here
    other.write_bytes(files[1].read_bytes())
    again_weekly, again_runs = run_replications(specs, [3, 4, 5], cache=cache)
    pd.testing.assert_frame_equal(again_weekly, weekly)
    pd.testing.assert_frame_equal(again_runs, runs)
    assert pq_readable(files[0])  # simulated again and saved whole
    cache.discard(resume.run_key(specs[0], r, s) for r, s in enumerate([3, 4, 5]))
    assert list(cache.folder.iterdir()) == [other]  # another study's run is left alone
    other.unlink()
    cache.discard([])
    assert not cache.folder.exists()


def test_runs_saved_together_are_reused_whatever_runs_a_study_asks_for(tmp_path, capsys):
    """A file holds an ensemble's runs: a study that wants only some of them, in another
    order, takes just those, and its tables are those of runs simulated afresh."""
    specs = [
        Spec.from_config(sim.compose(["org.size=40", "weeks=8", s]))
        for s in ("seed=1", "scenario=mandate")
    ]
    cache = resume.RunCache(tmp_path / ".partial")
    run_replications(specs, [3, 4, 5], cache=cache)
    assert len(list(cache.folder.glob("*.parquet"))) == 1  # one ensemble of six runs
    capsys.readouterr()
    jobs = [(specs[1], 2, 5), (specs[0], 0, 3), (specs[1], 0, 9)]  # the last was never run
    resumed = run_jobs(jobs, cache=cache)
    assert "resuming: 2 of 3 runs were already complete" in capsys.readouterr().err
    for mine, fresh in zip(resumed, run_jobs(jobs), strict=True):
        pd.testing.assert_frame_equal(mine, fresh, check_exact=True)
    assert len(list(cache.folder.glob("*.parquet"))) == 2  # the new run's ensemble added
    # saved without their per-department outcomes: simulated again when a study wants them
    run_jobs(jobs, cache=cache, departments=True)
    assert "resuming" not in capsys.readouterr().err
    resumed = run_jobs(jobs, cache=cache, departments=True)
    assert "resuming: 3 of 3 runs were already complete" in capsys.readouterr().err
    for mine, fresh in zip(resumed, run_jobs(jobs, departments=True), strict=True):
        pd.testing.assert_frame_equal(mine, fresh, check_exact=True)
    fresh = resume.RunCache(cache.folder)  # knows none of the files: reads what each holds
    fresh.discard([resume.run_key(*jobs[0])])
    assert len(list(cache.folder.glob("*.parquet"))) == 1  # both files holding it are gone


def test_a_study_discards_the_files_it_wrote_without_reading_them_again(tmp_path, monkeypatch):
    """The files a study sent to be written (or read) are known to hold its runs: removing
    them at the end reads none of them again (reading each file's metadata at the end of a
    comparison took 0.05 s, while nothing else ran)."""
    specs = [Spec.from_config(sim.compose(["org.size=40", "weeks=8"]))]
    cache = resume.RunCache(tmp_path / ".partial")
    run_replications(specs, [3, 4], cache=cache)
    assert len(list(cache.folder.glob("*.parquet"))) == 1

    def read(path):
        pytest.fail(f"{path.name} was read again")

    monkeypatch.setattr(resume.RunCache, "_metadata", staticmethod(read))
    cache.discard(resume.run_key(specs[0], r, s) for r, s in enumerate([3, 4]))
    assert not cache.folder.exists()


def pq_readable(path: Path) -> bool:
    try:
        pyarrow.parquet.read_metadata(path)
    except Exception:
        return False
    return True


def test_a_changed_network_file_is_not_taken_for_the_same_run(tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text("source,target\n1,2\n2,3\n")
    spec = Spec.from_config(sim.compose(["org=file", f"org.path={path}", "weeks=4"]))
    before = resume.run_key(spec, 0, 1)
    path.write_text("source,target\n1,2\n2,3\n3,1\n")
    assert resume.run_key(spec, 0, 1) != before
    assert resume.run_key(spec, 1, 1) != resume.run_key(spec, 0, 1)


def test_an_unexpected_error_is_one_message_with_the_traceback_in_a_file(
    tmp_path, monkeypatch, capsys
):
    import sim.__main__ as cli_module

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setattr(cli_module.tempfile, "gettempdir", lambda: str(tmp_path))
    try:
        raise ZeroDivisionError("a bug")
    except ZeroDivisionError as e:
        with pytest.raises(SystemExit) as exited:
            cli_module.crashed(e)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"error: the run stopped unexpectedly: this is a bug in beyond-adoption "
        r"\(ZeroDivisionError: a bug\); the details for a bug report are in \S+\.txt\n",
        err,
    )
    (report,) = tmp_path.glob("beyond-adoption-crash-*.txt")
    assert "Traceback" in report.read_text() and "ZeroDivisionError" in report.read_text()


# --- issue 18: bounded resources, no orphans, honest exit codes ---------------------------------

#: Inputs the command line must refuse with exit status 2, one message and nothing written:
#: Hydra's own refusals, interpolations, keys no schema has, sizes beyond the memory of any
#: machine, and network files that are not regular files. ``{fifo}`` is a named pipe.
REFUSED = {
    "unparseable": (["weeks=["], r"^error: no viable alternative at input '\['"),
    "wrong type": (["weeks=abc"], r"^error: Error merging override weeks=abc\n.*Integer"),
    "unknown option": (["org=nowhere"], r"^error: In 'config': Could not find 'org/nowhere'"),
    "group given numbers": (
        ["population=[1,2]"],
        r"^error: population=\[1,2\]: population is a config group: give the name of one of "
        r"its options \(default\)$",
    ),
    "added key": (["+bogus=1"], r"^error: bogus=1 is not a setting: the config has org, "),
    "added org key": (["+org.bogus=2"], r"^error: org\.bogus=2 is not a setting: org has "),
    "unset variable": (
        ["org.size=${oc.env:BEYOND_ADOPTION_NOPE}"],
        r"^error: org\.size=\$\{oc\.env:BEYOND_ADOPTION_NOPE\}: the interpolation cannot be "
        r"used: .*BEYOND_ADOPTION_NOPE' not found",
    ),
    "self-reference": (
        ["weeks=${weeks}"],
        r"^error: weeks=\$\{weeks\}: the interpolation cannot be used: Recursive",
    ),
    "wrong type through a variable": (
        ["weeks=${oc.env:HOME}"],
        r"^error: weeks=\$\{oc\.env:HOME\}: the interpolation cannot be used: .*Integer",
    ),
    "huge organisation": (
        ["org=small_world", "org.size=1000000000"],
        r"^error: org\.size=1000000000 is too large for this machine: one run would need "
        r"about [\d,.]+ GiB of memory \(org\.size [\d,.]+ GiB.*\), more than the [\d,.]+ [GM]iB "
        r"(available|left).*; use a smaller organisation$",
    ),
    "endless device": (
        ["org=file", "org.path=/dev/zero"],
        r"^error: org\.path: /dev/zero is a character device, not a regular file",
    ),
    "named pipe": (
        ["org=file", "org.path={fifo}"],
        r"^error: org\.path: \S+ is a named pipe \(FIFO\), not a regular file",
    ),
    "no workers": (
        ["-m", "hydra/launcher=local_joblib", "hydra.launcher.n_jobs=-3", "seed=0,1"],
        r"^error: hydra\.launcher\.n_jobs=-3 is not allowed: give the number of worker",
    ),
    "huge sensitivity study": (
        ["experiment=sensitivity", "experiment.params.sobol_n=1099511627776"],
        r"^error: experiment\.params\.sobol_n=1099511627776 is too large for this machine: "
        r"the sensitivity study would need about [\d,.]+ GiB of memory .*; use a smaller Sobol N",
    ),
    "huge validation": (
        ["experiment=watts", "experiment.params.watts.size=1000000000"],
        r"^error: experiment\.params\.watts\.size=1000000000 is too large for this machine: "
        r"the validation would need about [\d,.]+ GiB of memory .*; use smaller Watts graphs",
    ),
    "huge calibration": (
        ["experiment=calibrate", "experiment.params.population=1000000000"],
        r"^error: experiment\.params\.population=1000000000 is too large for this machine: "
        r"the calibration would need about [\d,.]+ GiB of memory .*; use fewer particles",
    ),
    "huge budget search": (
        ["experiment=optimise", "experiment.trials=1000000000"],
        r"^error: experiment\.trials=1000000000 is too large for this machine: the budget "
        r"search would need about [\d,.]+ GiB of memory .*; try fewer programmes",
    ),
    "huge programme file": (
        ["experiment=compare", "experiment.programme_dir={huge}"],
        r"^error: experiment\.programme_dir='\S+': mine\.yaml: 2,097,152 bytes, more than the "
        r"1,048,576 bytes allowed for a programme file \(YAML\)",
    ),
    "endless programme line": (
        ["experiment=compare", "experiment.programme_dir={endless}"],
        r"^error: experiment\.programme_dir='\S+': mine\.yaml line 2: longer than 65,536 "
        r"characters, the longest line allowed in a programme file \(YAML\)",
    ),
}


def refused_run(args: list[str], base: Path) -> subprocess.CompletedProcess:
    fifo = base / "pipe.csv"
    base.mkdir(parents=True)
    os.mkfifo(fifo)
    for name, text in (("huge", "# x\n" * 2**19), ("endless", "label: x\n# " + "x" * 10**6)):
        (base / name).mkdir()
        (base / name / "mine.yaml").write_text(text)
        args = [a.replace(f"{{{name}}}", str(base / name)) for a in args]
    args = [a.replace("{fifo}", str(fifo)) for a in args]
    out = base / "out"
    return run([*args, f"output.dir={out}", f"hydra.sweep.dir={out}/sweep"], base / "cwd")


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    base = tmp_path_factory.mktemp("refused")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(refused_run, args, base / name.replace(" ", "_"))
            for name, (args, _) in REFUSED.items()
        }
        return {name: (f.result(), base / name.replace(" ", "_")) for name, f in futures.items()}


@pytest.mark.parametrize("name", REFUSED)
def test_bad_input_is_refused_with_status_2_one_message_and_nothing_written(refused, name):
    proc, base = refused[name]
    assert proc.returncode == 2, proc.stderr
    no_traceback(proc)
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("error: ") == 1
    assert re.search(REFUSED[name][1], proc.stderr, re.M | re.S), proc.stderr
    assert not (base / "out").exists() and list((base / "cwd").iterdir()) == []


@pytest.mark.parametrize("generator", ["hierarchy", "small_world", "scale_free", "random"])
def test_a_huge_organisation_is_refused_before_it_is_built(generator):
    with pytest.raises(InputError, match=r"^org\.size=1000000000 is too large for this machine"):
        check(sim.compose([f"org={generator}", "org.size=1000000000", "weeks=5"]))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["weeks=100000000"], "weeks"),
        (["org.size=100000", "weeks=10000", "output.snapshots=1"], "output.snapshots"),
        (["experiment=compare", "experiment.replications=1000000000"], "experiment.replications"),
        (["experiment=compare", "experiment.bootstrap=1000000000"], "experiment.bootstrap"),
        (
            [
                "experiment=compare",
                "experiment.replications=10000",
                "experiment.batch_rows=1000000000000",
            ],
            "experiment.batch_rows",
        ),
    ],
)
def test_every_size_that_grows_memory_is_bounded(overrides, key):
    (message,) = sim.run.config_problems(sim.compose(overrides))
    assert re.match(rf"{re.escape(key)}=\d+ is too large for this machine: ", message), message
    assert re.search(r"would need about [\d,.]+ GiB of memory .* more than the ", message)


#: For each study, a setting far beyond any machine's memory and the key its refusal names.
HUGE_STUDIES = [
    ("sensitivity", ["experiment.params.sobol_n=1099511627776"], "experiment.params.sobol_n"),
    ("sensitivity", ["experiment.params.resamples=1000000000000"], "experiment.params.resamples"),
    (
        "sensitivity",
        ["experiment.params.morris_trajectories=100000000000"],
        "experiment.params.morris_trajectories",
    ),
    (
        "sensitivity",
        ["experiment.params.discovery_n=100000000000"],
        "experiment.params.discovery_n",
    ),
    ("sensitivity", ["experiment.replications=10000000000"], "experiment.replications"),
    ("validate", ["experiment.params.watts.size=1000000000"], "experiment.params.watts.size"),
    ("validate", ["experiment.params.centola.size=1000000000"], "experiment.params.centola.size"),
    ("validate", ["experiment.replications=10000000000"], "experiment.replications"),
    ("calibrate", ["experiment.params.population=1000000000"], "experiment.params.population"),
    ("calibrate", ["experiment.params.draws=1000000000"], "experiment.params.draws"),
    ("calibrate", ["experiment.params.batch=1000000000"], "experiment.params.batch"),
    ("optimise", ["experiment.trials=1000000000"], "experiment.trials"),
    ("optimise", ["experiment.replications=1000000000"], "experiment.replications"),
]


@pytest.mark.parametrize(("study", "overrides", "key"), HUGE_STUDIES)
def test_every_studys_own_sizes_are_bounded_before_any_run(study, overrides, key, tmp_path):
    """Each study's own sizes (points, particles, trials, patterns' populations) are priced with
    what it keeps per run and the ensembles in flight, and a setting beyond the memory
    available is refused by the study itself, before any run and before any folder exists."""
    import importlib

    from sim.api import STUDIES

    out = tmp_path / "out"
    args = [f"experiment={study}", f"experiment.dir={out}", *overrides]
    with pytest.raises(InputError) as refused:
        importlib.import_module(STUDIES[study]).main(sim.compose(args), args)
    (message,) = str(refused.value).splitlines()
    assert re.match(rf"{re.escape(key)}=\d+ is too large for this machine: ", message), message
    assert re.search(r"would need about [\d,.]+ GiB of memory \(.*\), more than the ", message)
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("study", ["sensitivity", "validate", "calibrate", "optimise"])
def test_every_studys_defaults_fit_in_memory(study):
    from experiments import sensitivity
    from sim.resources import available_memory, memory_problems

    cfg = sim.compose([f"experiment={study}"])
    parts = None
    if study == "sensitivity":
        parts = sensitivity.memory_estimate(
            cfg, sensitivity.Study.from_config(cfg.experiment.params, [])
        )
    assert memory_problems(cfg, parts) == []
    estimate = sum((parts or sim.resources.estimate(cfg)).values())
    assert 20 * 2**20 < estimate < 2 * 2**30  # priced, and within a laptop's memory
    assert available_memory() is not None  # so the check above checked something


def test_the_memory_available_is_the_least_of_machine_cgroup_and_ulimit(tmp_path, monkeypatch):
    from sim import resources

    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text("MemTotal: 8000000 kB\nMemAvailable: 4000000 kB\n")
    (proc / "self" / "cgroup").write_text("0::/job/step\n")
    (proc / "self" / "status").write_text("VmSize: 1000 kB\n")
    (cgroup / "job" / "step").mkdir(parents=True)
    (cgroup / "job" / "step" / "memory.max").write_text("max\n")  # no limit here
    (cgroup / "job" / "memory.max").write_text(f"{3 * 2**30}\n")  # the job's: 3 GiB
    (cgroup / "job" / "memory.current").write_text(f"{2**30}\n")
    monkeypatch.setattr(resources, "PROC", proc)
    monkeypatch.setattr(resources, "CGROUP_ROOT", cgroup)
    monkeypatch.setattr(resources.resource, "getrlimit", lambda _: (2**40, 2**40))
    room, source = resources.available_memory()
    assert room == 2 * 2**30 and "cgroup" in source
    monkeypatch.setattr(resources.resource, "getrlimit", lambda _: (2**30 + 1024000, 2**40))
    assert resources.available_memory() == (2**30, resources.available_memory()[1])
    assert "ulimit -v" in resources.available_memory()[1]


MEASURED = [
    ["org=hierarchy", "org.size=60000"],
    ["org=small_world", "org.size=40000"],
    ["org=scale_free", "org.size=40000"],
    ["org=random", "org.size=30000", "org.mean_degree=20"],
    ["org=complete", "org.size=5000", "weeks=2000"],  # ties implicit: mostly the weeks
    [
        "experiment=compare",
        "experiment.scenarios=[mandate]",  # and the baseline
        "experiment.replications=20",
        "experiment.jobs=1",
        "org.size=100",
        "weeks=500",
        "output.progress=false",
    ],
]


def measured(overrides: list[str]) -> dict:
    """``sim.resources.measure`` in a fresh process (its peak memory is this run's alone)."""
    code = "import json, sys, sim.resources as r; print(json.dumps(r.measure(sys.argv[1:])))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "weeks=10", *overrides],
        env=cli_env(),
        capture_output=True,
        encoding="utf-8",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # after what a comparison prints


def test_the_memory_estimate_is_within_a_factor_of_2_of_the_measurement():
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(pool.map(measured, MEASURED))
    for result in found:
        assert 0.5 <= result["ratio"] <= 2, result


def test_worker_counts_are_capped_at_the_cpus_available(capsys):
    from sim.workers import available_cpus, worker_count

    cpus = available_cpus()
    assert worker_count(1, "experiment.jobs") == 1
    assert worker_count(-1, "experiment.jobs") == cpus
    assert capsys.readouterr().err == ""
    assert worker_count(cpus + 1000, "experiment.jobs") == cpus
    assert capsys.readouterr().err == (
        f"note: experiment.jobs={cpus + 1000} lowered to {cpus}, the CPUs this process may use "
        "(more workers would only compete for them; the results are the same)\n"
    )
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(InputError, match=r"^experiment\.jobs="):
            worker_count(bad, "experiment.jobs")


def test_worker_processes_are_capped_whoever_starts_them(monkeypatch, capsys):
    """The Python API and the calibration script are capped as ``python -m sim`` is: however
    a study, ``sim.simulate_many`` or ``python -m experiments.calibrate --jobs`` is called,
    joblib is never asked for more processes than the CPUs."""
    import joblib

    from experiments import calibrate, validate
    from sim import replicate
    from sim.workers import available_cpus

    asked = []

    def parallel(n_jobs, **options):
        asked.append(n_jobs)
        return joblib.Parallel(n_jobs=1, **options)

    monkeypatch.setattr(replicate, "Parallel", parallel)
    monkeypatch.setattr(validate, "Parallel", parallel)
    many = 997
    runs = sim.simulate_many([["org.size=20", "weeks=2"]], replications=2, jobs=many)
    assert len(runs) == 2
    assert f"note: jobs={many} lowered to {available_cpus()}" in capsys.readouterr().err
    with pytest.raises(InputError, match=r"^jobs=0 is not allowed: give the number of worker"):
        sim.simulate_many([["org.size=20", "weeks=2"]], jobs=0)
    spec = Spec.from_config(sim.compose(["org.size=20", "weeks=2"]))
    replicate.run_jobs([(spec, 0, 1)], n_jobs=many)  # as a study called from Python does
    validate.bass([1, 2], 0.01, 0.3, 20, 3, n_jobs=many)  # as experiments.validate.main does
    used = []
    monkeypatch.setattr(calibrate, "prior_check", lambda n, seed, jobs: (used.append(jobs), ""))
    calibrate.cli(["--prior-check", "2", "--jobs", str(many)])
    assert asked and max(asked + used) <= available_cpus(), (asked, used)


# No orphans: a comparison and a joblib-launched sweep killed by SIGKILL.
ORPHANS = {
    "comparison": [
        "experiment=compare",
        "org.size=2000",
        "experiment.replications=20",
        "experiment.scenarios=[mandate]",
        "experiment.jobs=2",
    ],
    "joblib sweep": [
        "-m",
        "hydra/launcher=local_joblib",
        "hydra.launcher.n_jobs=2",
        "seed=range(0,12)",
        "org.size=2000",
        "output.plot=false",
    ],
}


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux: from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("name", ORPHANS)
def test_workers_end_and_the_output_closes_soon_after_their_parent_is_killed(name, tmp_path):
    args = [*ORPHANS[name], f"experiment.dir={tmp_path / 'out'}"]
    args += [f"output.dir={tmp_path / 'out'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    proc = start(args, tmp_path / "cwd")
    output_closed = threading.Event()

    def drain() -> None:  # what a caller waiting for the output does
        proc.stdout.read()
        proc.stderr.read()
        output_closed.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        workers = {p for p in descendants(proc.pid) if alive(p)}
        commands = [Path(f"/proc/{p}/cmdline").read_bytes() for p in workers if alive(p)]
        if sum(b"popen_loky_posix" in c for c in commands) >= 2:
            break
        time.sleep(0.1)
    time.sleep(1)  # the workers are busy with runs
    workers = descendants(proc.pid)
    try:
        assert proc.poll() is None and len(workers) >= 2, (proc.poll(), workers)
        proc.kill()
        proc.wait()
        ended = time.monotonic() + 10
        while any(alive(p) for p in workers) and time.monotonic() < ended:
            time.sleep(0.1)
        left = {p: Path(f"/proc/{p}/cmdline").read_bytes()[:120] for p in workers if alive(p)}
        assert not left, f"workers outlived their parent by 10 s: {left}"
        assert output_closed.wait(max(ended - time.monotonic(), 0.1)), "the output stayed open"
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_joblib_sweep_stopped_by_sigterm_says_the_finished_jobs_were_kept(tmp_path):
    out = tmp_path / "sweep"
    args = [*SWEEP, "hydra/launcher=local_joblib", "seed=0,1,2,3", f"hydra.sweep.dir={out}"]
    proc = start(args, tmp_path / "cwd")
    stopped = stop_when(proc, lambda: (out / "0" / "summary.json").exists(), signal.SIGTERM)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    no_traceback(stopped)
    assert re.search(
        r"^interrupted: the sweep was stopped by SIGTERM; finished jobs are kept; run the same "
        r"command again with hydra\.sweep\.dir=\S+ to run the others$",
        stopped.stderr,
        re.M,
    )
    assert (out / "0" / "summary.json").exists()


def test_a_job_that_cannot_write_its_error_leaves_nothing_half_written(tmp_path, monkeypatch):
    import sim.__main__ as cli_module

    folder = tmp_path / "3"
    monkeypatch.setattr(Path, "write_text", no_space)
    message = cli_module.job_error(folder, 3, ["seed=3"], InputError("weeks=0 is not allowed"))
    assert message.startswith("weeks=0 is not allowed (and error.json could not be written")
    assert list(folder.iterdir()) == []


def test_a_job_that_left_no_result_fails_the_sweep(tmp_path, capsys):
    """A job killed from outside, or one whose folder could not be written (a full disk),
    leaves an empty folder: the sweep counts it, lists it in sweep.json and exits 1."""
    from omegaconf import OmegaConf

    from sim.sweep import SweepCallback

    (tmp_path / "0").mkdir()
    for name in ("summary.json", "provenance.json"):
        (tmp_path / "0" / name).write_text('{"long_run_value": 1, "overrides": ["seed=0"]}')
    (tmp_path / "1").mkdir()
    (tmp_path / "sweep.json").write_text('{"started": "2026-01-01T00:00:00+00:00"}')
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "launcher": {}}})
    with pytest.raises(SystemExit) as exited:
        SweepCallback().on_multirun_end(config)
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "2 jobs, 1 completed, 0 failed, 1 left no result" in captured.out
    assert re.search(r"^error: 1 of 2 jobs failed: job 1 \(overrides unknown\)", captured.err, re.M)
    record = json.loads((tmp_path / "sweep.json").read_text())
    assert [f["job"] for f in record["failed"]] == ["1"]


def test_sim_simulate_refuses_studies_and_sweeps_and_names_what_runs_them():
    with pytest.raises(InputError, match=r"experiment=compare is a study .* experiments\.compare"):
        sim.simulate(["experiment=compare"])
    with pytest.raises(InputError, match=r"make a sweep .* hydra\.mode=RUN"):
        sim.simulate(["experiment=sweep_champions"])
    one = sim.simulate(["experiment=sweep_champions", "hydra.mode=RUN", "org.size=50", "weeks=3"])
    assert one.summary["weeks"] == 3


@pytest.mark.parametrize(
    ("arguments", "pattern"),
    [
        ({"behaviour": Behaviour(innovation_p=math.nan)}, r"behaviour\.innovation_p=nan"),
        ({"behaviour": Behaviour(imitation_q=math.inf)}, r"behaviour\.imitation_q=inf .* finite"),
        ({"behaviour": Behaviour(innovation_p=-1.0)}, r"behaviour\.innovation_p=-1\.0"),
        ({"discount_rate": math.nan}, r"^discount_rate=nan is not allowed"),
        ({"discount_rate": -0.1}, r"^discount_rate=-0\.1 is not allowed"),
        ({"champion_share": math.inf}, r"^champions\.share: inf is not allowed"),
        (
            {"interventions": [Intervention("m", "mandate", intensity=math.nan)]},
            r"scenario\.interventions\.m\.intensity=nan is not allowed",
        ),
        (
            {"interventions": [Intervention("m", "mandate", cost_fixed=math.inf)]},
            r"scenario\.interventions\.m\.cost_fixed=inf .* finite",
        ),
    ],
)
def test_the_model_refuses_what_the_command_line_refuses(arguments, pattern):
    with pytest.raises(InputError, match=pattern):
        AdoptionModel({"generator": "hierarchy", "size": 30}, **arguments)


def test_figures_are_byte_identical_for_identical_comparisons(tmp_path):
    args = [
        "experiment=compare",
        "org.size=60",
        "weeks=20",
        "experiment.replications=2",
        "experiment.scenarios=[mandate]",
        "experiment.bootstrap=100",
        "experiment.jobs=1",
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(
            pool.map(
                lambda n: run([*args, f"experiment.dir={tmp_path / n}"], tmp_path / f"cwd{n}"),
                ("a", "b"),
            )
        )
    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    first, second = the_folder(tmp_path / "a"), the_folder(tmp_path / "b")
    figures = sorted(p.name for p in first.glob("*.svg"))
    assert len(figures) >= 4
    for name in figures + sorted(p.name for p in first.glob("*.png")):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_special_and_endless_network_files_are_refused_unopened(tmp_path):
    from models.loaders import MAX_HEADER, load_network

    fifo = tmp_path / "ties.csv"
    os.mkfifo(fifo)  # opening it would block until something writes to it
    with pytest.raises(InputError, match=r"is a named pipe \(FIFO\), not a regular file"):
        load_network(fifo)
    with pytest.raises(InputError, match=r"^org\.path: /dev/zero is a character device"):
        load_network("/dev/zero")
    long = tmp_path / "long.csv"
    long.write_text("source," + "x" * 200_000 + ",target\n1,2\n")
    with pytest.raises(InputError, match=rf"line 1: longer than {MAX_HEADER:,} characters"):
        load_network(long)


def test_every_file_a_setting_names_refuses_special_files_and_endless_lines(tmp_path):
    """Besides network files: the usage export (``data.path``), a calibration ensemble
    (``calibration.path``), programme files (``experiment.programme_dir``) and the dashboard's
    scenario files are refused, naming the setting, when they are not regular files; an
    endless first line of a usage export is read no further than ``MAX_HEADER``."""
    from experiments import compare, usage_data
    from models.loaders import MAX_HEADER
    from sim import posterior
    from sim.dashboard import scenario_file
    from sim.dashboard.controls import ControlError

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    special = r"is a named pipe \(FIFO\), not a regular file; give "
    with pytest.raises(InputError, match=r"^data\.path='/dev/zero' is a character device"):
        usage_data.read("/dev/zero")
    with pytest.raises(InputError, match=rf"^data\.path=\S+ {special}a usage export"):
        usage_data.read(fifo)
    with pytest.raises(InputError, match=rf"^calibration\.path=\S+ {special}a calibration"):
        posterior.load(fifo)
    _, problems = compare.programme_files(str(tmp_path))
    assert problems == [
        f"experiment.programme_dir={str(tmp_path)!r}: pipe.yaml {special.replace(chr(92), '')}"
        "a programme file (YAML)"
    ]
    with pytest.raises(ControlError, match=rf"^scenario 'pipe' {special}a scenario file"):
        scenario_file.load("pipe", tmp_path)
    long = tmp_path / "usage.csv"
    long.write_text("week," + "x" * (MAX_HEADER + 10) + "\n1,2\n")
    with pytest.raises(InputError, match=rf"line 1: longer than {MAX_HEADER:,} characters"):
        usage_data.read(long)


@pytest.mark.parametrize("case", ["huge", "endless line"])
def test_settings_files_are_bounded_in_size_and_line_length_before_parsing(tmp_path, case):
    """Programme files (``experiment.programme_dir``, also the budget search's written
    programme read back by a comparison) and the dashboard's scenario files are refused, naming
    the setting, the file and the limit, when larger than ``MAX_SETTINGS_BYTES`` or with a line
    longer than ``MAX_HEADER`` characters (the network files' limit), before YAML parses them."""
    import yaml

    from experiments import compare
    from models.loaders import MAX_HEADER, MAX_SETTINGS_BYTES
    from sim.dashboard import scenario_file
    from sim.dashboard.controls import ControlError

    text = (
        "# a comment\n" * (MAX_SETTINGS_BYTES // 12 + 1)
        if case == "huge"
        else "label: x\n# " + "x" * (MAX_HEADER + 1) + "\n"
    )
    (tmp_path / "mine.yaml").write_text(text)
    calls = []
    real = yaml.safe_load
    yaml.safe_load = lambda *a: calls.append(a) or real(*a)
    try:
        if case == "huge":
            limit = rf"{len(text):,} bytes, more than the {MAX_SETTINGS_BYTES:,} bytes allowed for"
        else:
            limit = rf"line 2: longer than {MAX_HEADER:,} characters, the longest line allowed in"
        _, problems = compare.programme_files(str(tmp_path))
        (problem,) = problems
        assert re.match(
            rf"experiment\.programme_dir='{re.escape(str(tmp_path))}': mine\.yaml:? ?{limit} "
            r"a programme file \(YAML\)",
            problem,
        ), problem
        with pytest.raises(ControlError, match=rf"^scenario 'mine':? ?{limit} a scenario file"):
            scenario_file.load("mine", tmp_path)
    finally:
        yaml.safe_load = real
    assert calls == []  # refused before parsing


# --- item 5: numerically sound ------------------------------------------------------------------


def test_ten_thousand_weeks_stay_sound():
    """200 people for 10,000 weeks (192 years): the state every 20 weeks, then every week's
    records (which hold each week's shares and means, so a NaN in any week shows there)."""
    model = AdoptionModel(org={"generator": "hierarchy", "size": 200}, rng=7)
    with np.errstate(over="ignore"):
        for week in range(10_000):
            model.step()
            if week % 20 == 0:
                assert_sound_state(model.state, 200)
    assert_sound_model(model)
    assert len(model.weekly()) == 10_000


def edges(name: str) -> list[float]:
    """The ends of a parameter's allowed range; an unbounded end is the largest magnitude the
    config allows (``models.params.MAX_MAGNITUDE``)."""
    low, high = BOUNDS.get(name, NON_NEGATIVE)
    return [max(low, -MAX_MAGNITUDE), min(high, MAX_MAGNITUDE)]


NUMERIC = [f.name for f in fields(Behaviour) if f.type is not bool]
INTEGER = {f.name for f in fields(Behaviour) if f.type is int}
EDGE_CASES = [(name, end) for name in NUMERIC for end in (0, 1)]


def behaviour_at(assignments: dict[str, float]) -> Behaviour:
    values = {k: int(v) if k in INTEGER else float(v) for k, v in assignments.items()}
    return replace(Behaviour(), **values)


def run_checked(behaviour: Behaviour, weeks: int = 40, interventions=(), size: int = 60):
    model = AdoptionModel(
        org={"generator": "hierarchy", "size": size, "span": 4},
        behaviour=behaviour,
        champion_share=0.1,
        interventions=list(interventions),
        rng=11,
    )
    with np.errstate(over="ignore"):  # extreme logits overflow exp() harmlessly (to 0 or 1)
        for _ in range(weeks):
            model.step()
            assert_sound_state(model.state, size)
    assert_sound_model(model)
    return model


def every_intervention(intensity_cap: float) -> list[Intervention]:
    """Every kind at once, at full intensity, with the largest costs allowed."""
    return [
        Intervention(
            name=kind,
            kind=kind,
            intensity=1.0 if kind not in ("champions", "experiment") else intensity_cap,
            cost_fixed=MAX_MAGNITUDE,
            cost_per_week=MAX_MAGNITUDE,
            cost_per_person=MAX_MAGNITUDE,
            cost_per_reward=MAX_MAGNITUDE,
            training_hours=MAX_MAGNITUDE,
            sense_gain=1.0,
            decay=0.0,
            end=20,
        )
        for kind in KINDS
    ]


@pytest.mark.parametrize(("name", "end"), EDGE_CASES, ids=[f"{n}-{'lh'[e]}" for n, e in EDGE_CASES])
def test_every_parameter_at_either_edge_of_its_range_stays_sound(name, end):
    value = edges(name)[end]
    if name in INTEGER:
        value = min(value, 10_000)  # idle_weeks, threshold_count: weeks and people
    assert not sim.run.problems(behaviour_at({name: value}))  # inside the allowed range
    run_checked(behaviour_at({name: value}))


@pytest.mark.parametrize("end", [0, 1], ids=["all-low", "all-high"])
def test_every_parameter_at_the_same_edge_with_every_intervention_stays_sound(end):
    values = {name: edges(name)[end] for name in NUMERIC}
    for name in INTEGER:
        values[name] = min(values[name], 10_000)
    run_checked(behaviour_at(values), interventions=every_intervention(MAX_MAGNITUDE))


def test_an_incentive_when_nobody_has_intrinsic_motivation_stays_sound():
    incentive = Intervention(name="points", kind="incentive")
    run_checked(behaviour_at({"intrinsic_mean": 0.0}), weeks=5, interventions=[incentive])


def test_a_random_network_with_a_tiny_mean_degree_is_built():
    org = generators.build("random", {"size": 3, "mean_degree": 1e-98}, np.random.default_rng(0))
    assert org.n_edges == 0
