"""Stopping a run from outside: SIGTERM behaves like Ctrl-C.

A cluster scheduler (SLURM at its time limit), ``kill``, a container runtime or a CI job
timeout stops a process with SIGTERM, whose default action ends Python at once: no
``finally`` block runs, so a results folder being built under its hidden temporary name
(``sim.run.write_atomically``) would be left behind. :func:`terminate_like_interrupt` makes
SIGTERM raise :class:`Terminated` — a ``KeyboardInterrupt`` — in the main thread instead, so
every clean-up that Ctrl-C triggers runs for SIGTERM too: the temporary folder is removed,
completed replications stay saved for a resume (``sim.resume``), and the command line prints
one line instead of a traceback (:func:`interrupted`).

SIGKILL (``kill -9``, out of memory) cannot be caught: then a hidden ``.<name>.<hex>.tmp``
folder may remain, which is never mistaken for a result (it has no result folder's name) and
which a re-run ignores.
"""

import signal
import sys
import threading
from dataclasses import dataclass


@dataclass
class Stopping:
    """What an interruption would stop and what it keeps, kept up to date as a command
    proceeds (the sweep's part is set in the process that launches the jobs, whatever the
    launcher), so that the one line printed says what is true."""

    what: str = "the run"
    #: what is kept and how to finish; empty: nothing was written
    hint: str = ""
    #: the command line has been composed into a config and work has begun
    started: bool = False


STOPPING = Stopping()


def stopping(what: str, hint: str = "") -> None:
    """From now on, an interruption stops ``what`` and keeps what ``hint`` says."""
    STOPPING.what, STOPPING.hint, STOPPING.started = what, hint, True


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated(f"stopped by signal {signal.Signals(signum).name}")


def terminate_like_interrupt() -> None:
    """From now on, SIGTERM raises :class:`Terminated` in the main thread (idempotent; does
    nothing outside the main thread, where Python cannot set signal handlers)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def exit_status(error: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + (signal.SIGTERM if isinstance(error, Terminated) else signal.SIGINT)


def interrupted(error: KeyboardInterrupt, what: str | None = None, hint: str | None = None) -> None:
    """One line on stderr saying what was stopped, by what, and ``hint`` (what was kept and how
    to finish; both default to :data:`STOPPING`'s), then exit with :func:`exit_status`; never a
    traceback."""
    what = STOPPING.what if what is None else what
    hint = STOPPING.hint if hint is None else hint
    how = "by SIGTERM" if isinstance(error, Terminated) else "by Ctrl-C (SIGINT)"
    print(
        f"interrupted: {what} was stopped {how}"
        + (f"; {hint}" if hint else "; no results folder was written"),
        file=sys.stderr,
        flush=True,
    )
    sys.exit(exit_status(error))
