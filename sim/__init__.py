"""How beyond-adoption is run: configuration, one run, results, the command line.

Python API::

    import sim
    result = sim.simulate(["org=small_world", "org.size=500", "weeks=104", "seed=3"])
    result.weekly        # one row per week (pandas DataFrame)
    result.summary       # long-run value, value in the last year, adoption–value gap, ...

    runs = sim.simulate_many(grid={"champions.share": [0, 0.05]}, replications=5)

``simulate`` and ``simulate_many`` use the same config tree (``conf/``) and the same overrides as
``python -m sim``.
"""

import importlib

#: Where each name of the API lives. Imported when first asked for, not with the package:
#: worker processes import ``sim.replicate`` and ``sim.plots`` to run ensembles and draw
#: figures, and need neither Hydra nor the rest of the API (about half a second each).
_API = {
    "compose": "sim.api",
    "simulate": "sim.api",
    "simulate_many": "sim.batch",
    "Result": "sim.run",
}

__all__ = ["Result", "compose", "simulate", "simulate_many"]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The API's names too, for completion in a notebook, before they are first asked for."""
    return sorted({*globals(), *_API})
