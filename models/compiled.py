"""How the step's passes over rows and ties are compiled (Numba): one decorator for all.

Compiled code is cached on disk, so that a process loads it (about 0.15 s for all the passes)
rather than compiling it again (seconds). Numba keeps the cache beside the source
(``__pycache__``) or, where that cannot be written (a package installed by another user),
in the user's cache folder; where neither can be written (a read-only container, ``HOME``
unset) it refuses to decorate the function at all, which would stop ``import models`` with
an error. Then the cache goes to this machine's temporary folder, and failing that nothing
is cached: the passes are compiled in each process, slower to start, the same results.
"""

import os
import tempfile

import numba
from numba.core import config

#: How every pass is compiled: no bounds checks (the passes index only within the arrays
#: they are given), and without the interpreter lock, so that the dashboard's threads can run
#: their models side by side.
OPTIONS = {"nogil": True, "boundscheck": False}


def _probe() -> None:  # pragma: no cover  (only decorated, never called)
    """A function to decorate, to learn whether Numba can cache here."""


def _can_cache() -> bool:
    try:
        numba.njit(cache=True)(_probe)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return False
    return True


def _caching() -> bool:
    """Whether the passes can be cached, moving the cache to the temporary folder if Numba
    finds no place for it (``config.CACHE_DIR`` is the place Numba tries first)."""
    if _can_cache():
        return True
    user = getattr(os, "getuid", lambda: "user")()  # one folder per user where there are users
    config.CACHE_DIR = os.path.join(tempfile.gettempdir(), f"numba-cache-{user}")
    return _can_cache()


#: The decorator of every compiled pass.
compiled = numba.njit(cache=_caching(), **OPTIONS)
