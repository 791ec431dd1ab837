"""A band of outcomes over several seeds, behind the page's curves.

One run is one draw: the room should see how much a curve would move with another seed
before it reads anything into a difference. The page's run (and its comparison) are run
again for seeds ``seed, seed + 1, …`` through ``sim.replicate.run_jobs`` — the one way the
project runs many simulations — from the same composed configs as the page's runs, and the
band is their 10th to 90th percentile each week (of the weekly-active share and of net value
so far).
"""

from __future__ import annotations

import numpy as np

from sim.api import compose
from sim.dashboard import controls
from sim.dashboard.compare import labels
from sim.dashboard.session import Band
from sim.dashboard.views import net_per_week
from sim.replicate import Spec, run_jobs

LOW, HIGH = 0.1, 0.9


def band_seeds(values: dict) -> list[int]:
    """The seeds of the band: the page's seed and the next ones."""
    values = controls.check(values)
    return [values["seed"] + r for r in range(values["band_seeds"])]


def specs(values: dict) -> list[Spec]:
    """The page's run and its comparison as picklable specs, named by their page labels."""
    values = controls.check(values)
    main, other = labels(values)
    out = [Spec.from_config(compose(controls.overrides(values)), main)]
    comparison = controls.comparison_overrides(values)
    if comparison is not None:
        out.append(Spec.from_config(compose(comparison), other))
    return out


def run_band(values: dict) -> Band | None:
    """The band for the page's controls (None when they ask for one seed)."""
    seeds = band_seeds(values)
    if len(seeds) < 2:
        return None
    jobs = [(spec, r, seed) for spec in specs(values) for r, seed in enumerate(seeds)]
    weekly, runs = run_jobs(jobs, n_jobs=1, desc="band")
    weekly = weekly.assign(net=net_per_week(weekly))
    weekly["net"] = weekly.groupby(["scenario", "replication"], sort=False)["net"].cumsum()
    weeks, active, net, words = {}, {}, {}, []
    for label, df in weekly.groupby("scenario", sort=False):
        q = df.groupby("week")[["active_share", "net"]].quantile([LOW, HIGH]).unstack()
        weeks[label] = q.index.to_numpy()
        active[label] = (q["active_share"][LOW].to_numpy(), q["active_share"][HIGH].to_numpy())
        net[label] = (q["net"][LOW].to_numpy(), q["net"][HIGH].to_numpy())
        total = runs.loc[runs.scenario == label, "net_value"].to_numpy()
        words.append(
            f"{label} {np.median(total):,.0f} h ({np.min(total):,.0f} to {np.max(total):,.0f})"
        )
    summary = f"Net value at the horizon over {len(seeds)} seeds, median (range): " + "; ".join(
        words
    )
    return Band(seeds=len(seeds), weeks=weeks, active=active, net=net, summary=summary)
