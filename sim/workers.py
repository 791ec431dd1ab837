"""Worker processes: how many to start, and making sure none outlives the process that
started it.

How many (:func:`worker_count`). Every study's ``experiment.jobs`` and the joblib launcher's
``hydra.launcher.n_jobs`` (and the local submitit launcher's ``array_parallelism``) go through
this one function, as do ``sim.simulate_many``'s ``jobs``, the calibration script's ``--jobs``
and, whoever calls them, the two places that start worker processes for runs
(``sim.replicate.simulate_jobs``, ``experiments.validate``): a study called from Python is
capped too. A request for more workers than the CPUs this process may use is lowered
to that number, with a one-line note: each run is single-threaded and its results do not
depend on the worker count, so extra workers only compete for the same CPUs while each holds
its own copy of the interpreter and the model (about 100 MiB; ``experiment.jobs=1000`` once
started hundreds of processes and exhausted memory). ``-1`` means one per CPU; 0 and other
negative numbers are refused.

No orphans (:func:`watch_parent`). SIGKILL cannot be caught, so a killed comparison or sweep
cannot stop its workers itself; each worker watches its parent instead. A thread polls the
parent's process id and ends the worker (``os._exit``) within a second of the parent's death,
which also closes the worker's copies of the caller's stdout and stderr, so whatever reads
them sees the end of the output. ``python -m sim`` makes it the initializer of every joblib
(loky) worker it starts (:func:`watch_from_the_start`), so a worker watches from its start:
one still starting, or idle, when the parent dies would otherwise wait for tasks until loky's
idle timeout (five minutes). The tasks call it too (it is idempotent), for workers started by
other programs. Linux's
parent-death signal (``prctl(PR_SET_PDEATHSIG)``) is not used: it fires when the *thread*
that started the worker ends, and joblib starts and reuses workers from several threads, so it
would kill healthy workers of a living parent.
"""

import functools
import multiprocessing
import os
import sys
import threading
import time

from joblib import cpu_count

from models.errors import InputError

#: How often a worker checks that its parent is alive (seconds).
POLL_SECONDS = 0.5
#: Exit status of a worker that ends because its parent is gone.
ORPHANED = 70

_watched_in: int | None = None  # the process in which the watch thread runs
_lock = threading.Lock()


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (``os.sched_getaffinity``) and any
    container CPU quota, as joblib counts them."""
    return max(1, cpu_count(only_physical_cores=False))


def worker_problem(requested, key: str) -> str | None:
    """The message for a worker count that is not a number of processes (None if it is)."""
    if isinstance(requested, bool) or not isinstance(requested, int):
        return f"{key}={requested!r} is not allowed: give a whole number of worker processes"
    if requested == 0 or requested < -1:
        return (
            f"{key}={requested} is not allowed: give the number of worker processes, at least "
            f"1, or -1 for one per CPU ({available_cpus()} here)"
        )
    return None


def worker_count(requested, key: str) -> int:
    """The number of worker processes to start for a request of ``requested`` (config key
    ``key``): at most the CPUs available, with a one-line note on stderr when a larger request
    is lowered; -1 is one per CPU. ``InputError`` for 0, other negative numbers and
    non-numbers."""
    problem = worker_problem(requested, key)
    if problem:
        raise InputError(problem)
    cpus = available_cpus()
    if requested == -1:
        return cpus
    if requested > cpus:
        _note_lowered(key, requested, cpus)
        return cpus
    return requested


@functools.cache
def _note_lowered(key: str, requested: int, cpus: int) -> None:
    """The note that a request was lowered, once per process: a study called from Python
    passes its request to every batch of runs (``sim.replicate.simulate_jobs``)."""
    print(
        f"note: {key}={requested} lowered to {cpus}, the CPUs this process may use "
        "(more workers would only compete for them; the results are the same)",
        file=sys.stderr,
        flush=True,
    )


def watch_parent() -> None:
    """In a worker process (one started by joblib/loky or multiprocessing), start a daemon
    thread that ends the worker when its parent dies; elsewhere (the main process, or a job
    the basic launcher runs in it) do nothing, so that a command left running after its shell
    exits is not stopped. Idempotent: call it at the start of every task."""
    global _watched_in
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    with _lock:
        if _watched_in == os.getpid():
            return
        _watched_in = os.getpid()
    expected = parent.pid or os.getppid()
    threading.Thread(
        target=_watch, args=(expected,), name="beyond-adoption parent watch", daemon=True
    ).start()


def watch_from_the_start() -> None:
    """From now on, every joblib worker this process starts runs :func:`watch_parent` as it
    starts. joblib's ``loky`` backend (its default, and the one Hydra's joblib launcher asks
    for by name) is registered again, with that initializer; results are unchanged."""
    from joblib import register_parallel_backend
    from joblib._parallel_backends import LokyBackend

    register_parallel_backend("loky", functools.partial(LokyBackend, initializer=watch_parent))


def _watch(parent: int) -> None:
    """Return never: end this process as soon as its parent is no longer ``parent`` (a dead
    parent's children are re-parented to init or a subreaper)."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(ORPHANED)
