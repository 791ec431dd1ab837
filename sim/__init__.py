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

from sim.api import compose, simulate
from sim.batch import simulate_many
from sim.run import Result

__all__ = ["Result", "compose", "simulate", "simulate_many"]
