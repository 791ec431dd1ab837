"""Worker processes (``sim.workers``): started early and reused, ended without a last garbage
collection, and importing only what runs need."""

import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from joblib import Parallel, delayed

from sim.workers import warm_up

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="module")
def workers_stopped_after():
    """Stop the workers these tests start. Their first tasks are tiny, and loky measures a
    worker's memory after its first task and restarts, with a warning, a worker grown 300 MB
    beyond it: what later tests' imports into the same reusable workers would do."""
    yield
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def _mark(folder: Path) -> None:
    """A warm-up task: leave this worker's process id in ``folder``."""
    time.sleep(0.2)  # long enough for each worker to take one
    (folder / str(os.getpid())).touch()


def _pid() -> int:
    time.sleep(0.05)
    return os.getpid()


def test_workers_warmed_up_are_the_ones_the_next_tasks_run_in(tmp_path):
    thread = warm_up(2, partial(_mark, tmp_path))
    thread.join(120)
    assert not thread.is_alive()
    warmed = {int(p.name) for p in tmp_path.iterdir()}
    assert warmed and os.getpid() not in warmed
    # the same reusable workers: not started again for the next call
    assert warmed <= set(Parallel(n_jobs=2)(delayed(_pid)() for _ in range(8)))


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_failed_warm_up_is_left_to_the_tasks_that_follow(capfd):
    thread = warm_up(2, partial(int, "not a number"))
    thread.join(120)
    assert not thread.is_alive()
    assert "Traceback" not in capfd.readouterr().err
    assert Parallel(n_jobs=2)(delayed(_pid)() for _ in range(2))


def test_a_workers_warm_up_steps_a_small_ensemble():
    from sim.replicate import ready

    assert ready() is None  # imports the engine and loads its compiled passes


def test_one_worker_is_not_warmed_up(tmp_path):
    assert warm_up(1, partial(_mark, tmp_path)) is None
    assert not list(tmp_path.iterdir())


CYCLE = """
import sys
from sim.workers import end_without_collection
class Cycle:
    def __del__(self):
        sys.stdout.write("collected\\n")
c = Cycle(); c.me = c; del c
if sys.argv[1] == "quick":
    end_without_collection()
"""


def test_a_process_that_ends_quickly_skips_the_last_collection():
    """Unreachable cycles left at exit are found by the interpreter's last collection, unless
    the heap is frozen first (what ``python -m sim`` and its workers do)."""

    def ending(how: str) -> str:
        run = [sys.executable, "-c", CYCLE, how]
        return subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True).stdout

    assert ending("normally") == "collected\n"
    assert ending("quick") == ""


def test_a_worker_imports_neither_hydra_nor_mesa():
    """Workers import ``sim.replicate`` (runs), ``sim.resume`` (saving them) and
    ``sim.plots`` (figures): none brings the configuration machinery (Hydra, OmegaConf),
    Mesa, networkx (needed only for some generators and GraphML files) or the progress bar
    (the parent's): each worker would pay for them at its start."""
    heavy = ("hydra", "omegaconf", "mesa", "sim.api", "scipy.stats", "networkx", "tqdm")
    code = (
        "import sys, sim.replicate, sim.resume, sim.plots, models.ensemble\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_warmed_up_worker_keeps_what_it_loaded_out_of_the_collectors_way():
    """``ready`` (a worker's warm-up) ends by freezing what the worker has loaded: the
    collector's full collections then skip the imported modules' objects."""
    code = (
        "import gc\n"
        "from sim.replicate import ready\n"
        "before = gc.get_freeze_count()\n"
        "ready()\n"
        "print(before, gc.get_freeze_count() > 50_000)"
    )
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "True"]
