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

Quick ends (:func:`end_without_collection`). A process that has run a study ends with a heap
of Numba's, pandas' and Matplotlib's objects, and the interpreter's last garbage collection
walks all of them on the way out: about 0.4 s a process, 1 s at the end of a comparison, in
which nothing is freed that the exit would not free anyway. ``python -m sim`` and its workers
freeze the heap at exit instead (``gc.freeze``), so that collection has nothing to walk.

Less for the collector (:func:`freeze_loaded`). A worker, once warmed up, and ``python -m sim``
as it starts a study, hold hundreds of thousands of objects (modules, Numba's, pandas' and
Hydra's machinery) that live as long as they do; frozen, the collector's full collections,
which a study's tables and figures trigger again and again, no longer walk them.

Workers ready early (:func:`warm_up`). A fresh worker spends about a second importing the model
and loading its compiled passes before it can run anything. A comparison starts its workers as
soon as its settings are checked, so that they get ready while it composes its programmes,
instead of when its first runs are sent (not before the check: a refused command should not
wait for workers it will never use).

One task in a worker (:func:`in_a_worker`): a study's large file written while it goes on.
"""

import atexit
import functools
import gc
import importlib
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable, Sequence

from joblib import Parallel, cpu_count, delayed

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


def start_worker() -> None:
    """What a worker does first: watch its parent, and end without a last collection."""
    watch_parent()
    end_without_collection()


def watch_from_the_start() -> None:
    """From now on, every joblib worker this process starts runs :func:`start_worker` as it
    starts. joblib's ``loky`` backend (its default, and the one Hydra's joblib launcher asks
    for by name) is registered again, with that initializer; results are unchanged."""
    from joblib import register_parallel_backend
    from joblib._parallel_backends import LokyBackend

    register_parallel_backend("loky", functools.partial(LokyBackend, initializer=start_worker))


@functools.cache
def end_without_collection() -> None:
    """At this process's exit, freeze the heap (``gc.freeze``) before the interpreter's last
    garbage collection, which then has nothing to walk. Only for processes that end when
    their work is done (``python -m sim`` and its workers): objects are still freed as the
    interpreter ends, but cycles among them are not looked for. Once per process."""
    atexit.register(gc.freeze)


def freeze_loaded() -> None:
    """Move every object this process holds now — its imported modules, Numba's, pandas' and
    Hydra's machinery: hundreds of thousands of objects that live as long as the process —
    out of the garbage collector's reach (``gc.freeze``), so that its full collections, which
    a study's tables and figures trigger again and again, do not walk them each time. For
    processes that end when their study does (``python -m sim`` running a study, and its
    workers): objects frozen now are never collected, even if they become garbage."""
    gc.freeze()


def prefetch(modules: Sequence[str]) -> None:
    """Import ``modules`` in a background thread (their first user then finds them imported,
    or waits for the import to end)."""

    def load() -> None:
        for name in modules:
            importlib.import_module(name)

    threading.Thread(target=load, name="prefetch", daemon=True).start()


def warm_up(n_jobs: int, prepare: Callable[[], None]) -> threading.Thread | None:
    """Start the ``n_jobs`` worker processes now and have each call ``prepare`` (a picklable
    callable: imports, loading compiled code), from a background thread, so that they are
    ready when the caller sends its first tasks (to the same workers: joblib's loky backend
    keeps them between calls). Returns the thread; None for fewer than two workers (tasks
    then run in this process)."""
    if n_jobs < 2:
        return None
    tasks = [delayed(prepare)() for _ in range(n_jobs)]
    thread = threading.Thread(
        target=_quietly, args=(Parallel(n_jobs=n_jobs), tasks), name="warm up", daemon=True
    )
    thread.start()
    return thread


def in_a_worker(n_jobs: int, task: Callable, *args) -> Callable[[], None]:
    """Start ``task(*args)`` in a worker process (with ``n_jobs`` > 1; else do it now) and
    return what waits for it to end (and raises its error, if it failed).

    The arguments go as one pickled blob: joblib would put a large table's arrays (the weekly
    table's 18 MB) in shared-memory files, and removing those as the call ends waited 0.1 s,
    at the very end of the comparison, for the worker to let go of them. What the worker is
    sent names only this module and the task's own: a task's module that imported Hydra (a
    study's) would have the worker import it, 0.15 s of CPU, before the task could start."""
    if n_jobs < 2:
        task(*args)
        return lambda: None
    sent = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
    running = Parallel(n_jobs=n_jobs, return_as="generator")([delayed(_unpacked)(task, sent)])

    def wait() -> None:
        for _ in running:
            pass

    return wait


def _unpacked(task: Callable, sent: bytes):
    return task(*pickle.loads(sent))


def _quietly(parallel: Parallel, tasks: list) -> None:
    """Run the warm-up; a failure changes nothing (the caller's own tasks meet the same
    problem and report it where it is handled), so it is not reported here."""
    try:
        parallel(tasks)
    except Exception:
        pass


def _watch(parent: int) -> None:
    """Return never: end this process as soon as its parent is no longer ``parent`` (a dead
    parent's children are re-parented to init or a subreaper)."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(ORPHANED)
