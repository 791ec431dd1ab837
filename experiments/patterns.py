"""The field patterns a calibration is fitted to: targets, the statistics that measure them,
and the distance between a simulation and the targets (docs/CALIBRATION.md §2).

A *target* is a published pattern turned into a number with a tolerance: the weekly-active
share after the first years, participation inequality over a year, the fall of weekly use
after its early peak while cumulative adoption rises, the share who ever tried within two
years, and the clustering effect of Centola (2010) measured with the calibration's own
parameters. Their values, tolerances and sources are written once, in
``conf/experiment/calibrate.yaml`` (``experiment.params.targets``); ``targets()`` reads and
checks them.

The distance is the largest of the targets' scaled deviations (``distance``): a deviation
of 1 is one tolerance away, so a distance of at most 1 means *every* pattern is met within
its tolerance at once, which is what pattern-oriented modelling asks of one parameter set
(Grimm et al. 2005). A one-sided target ("at least") counts only a shortfall.
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from experiments.validate import active_fall
from models.errors import InputError

#: Kinds of target: a value to match (|s − v| / tol) or a floor to reach (max(0, v − s) / tol).
KINDS = ("equal", "at_least")
#: Weeks of the first two years: the share who tried by then is ``adopted_share`` at its end.
TWO_YEARS = 104
#: The last year, where participation is counted (as analytics dashboards count it).
YEAR = 52
#: Cumulative adoption must rise by at least this much between the peak of weekly use and its
#: low point for a fall to count ("active falls *while* cumulative adoption rises").
MIN_ADOPTION_RISE = 0.02


@dataclass(frozen=True)
class Target:
    """One field pattern: the statistic's name, the value, the tolerance and the source."""

    name: str
    value: float
    tolerance: float
    kind: str = "equal"
    source: str = ""
    measure: str = ""  # what the statistic is, in words (for docs/CALIBRATION.md)

    def deviation(self, statistic: float) -> float:
        """How far ``statistic`` is from the target, in tolerances (0: on target)."""
        gap = self.value - statistic if self.kind == "at_least" else abs(statistic - self.value)
        return max(gap, 0.0) / self.tolerance

    @property
    def band(self) -> tuple[float, float]:
        """The values within tolerance."""
        upper = np.inf if self.kind == "at_least" else self.value + self.tolerance
        return self.value - self.tolerance, upper


def targets(spec: dict, key: str = "experiment.params.targets") -> list[Target]:
    """The targets of a config mapping ``{name: {value, tolerance, kind, source, measure}}``,
    checked: every name a statistic ``field_statistics`` measures, tolerances positive."""
    if not spec:
        raise InputError(f"{key} is empty: give at least one target ({', '.join(STATISTICS)})")
    out, errors = [], []
    for name, entry in spec.items():
        if name not in STATISTICS:
            errors.append(
                f"{key}.{name} is not a pattern the calibration measures: choose among "
                f"{', '.join(STATISTICS)}"
            )
            continue
        entry = dict(entry)
        tolerance = entry.get("tolerance")
        if not isinstance(tolerance, int | float) or not tolerance > 0:
            errors.append(f"{key}.{name}.tolerance={tolerance!r} is not allowed: it must be > 0")
        if entry.get("kind", "equal") not in KINDS:
            errors.append(
                f"{key}.{name}.kind={entry.get('kind')!r} is not allowed: choose "
                + " or ".join(KINDS)
            )
        if not isinstance(entry.get("value"), int | float):
            errors.append(f"{key}.{name}.value={entry.get('value')!r} is not a number")
        if not errors:
            out.append(Target(name=name, **entry))
    if errors:
        raise InputError("\n".join(errors))
    return out


def distance(statistics: dict, goals: list[Target]) -> float:
    """The largest scaled deviation over the targets (see the module's docstring)."""
    return max(t.deviation(statistics[t.name]) for t in goals)


# --- statistics --------------------------------------------------------------------------------

#: Rewired adoption below this counts as this much in the clustering ratio (one person in a
#: 128-person network: no spread at all), so a ratio never divides by zero.
CLUSTERING_FLOOR = 1 / 128

#: What each statistic measures (the keys of ``field_statistics``).
STATISTICS = {
    "active_last_year": "mean weekly-active share over the last 52 weeks of five years",
    "observers_last_year": (
        "share of the people active in the last year who posted nothing in it (observers)"
    ),
    "gini_last_year": "Gini of the posts of the people active in the last year",
    "active_fall": (
        "relative fall of weekly-active share (13-week mean) from its peak in the first two "
        "years to its low point before week 156, counted only if cumulative adoption rose by "
        f"{MIN_ADOPTION_RISE:.0%} or more meanwhile (else 0)"
    ),
    "tried_two_years": "share of everyone who had used the network at least once by week 104",
    "clustering_effect": (
        "adopted share on a ring lattice over that on the same lattice fully rewired (same size "
        "and degree, the same few people seeded by a launch in week 1), in the setting of "
        "Centola's experiment: no spontaneous trial, relevant to all, the other parameters "
        "the particle's"
    ),
}


def fall_while_adopting(weekly: pd.DataFrame) -> float:
    """The ``active_fall`` statistic of one run's weekly records."""
    fall = active_fall(weekly)
    return fall["fall"] if fall["adoption_rise"] >= MIN_ADOPTION_RISE else 0.0


def field_statistics(
    weekly: pd.DataFrame, summary: dict, clustered: float, rewired: float
) -> dict[str, float]:
    """Every statistic of ``STATISTICS`` from one run at the default organisation (its weekly
    records and summary, which holds the participation split of the last year, ``year_*``) and
    the mean adopted shares of the lattice and rewired runs."""
    return {
        "active_last_year": float(summary["active_share_last_year"]),
        "observers_last_year": float(summary["year_observers"]),
        "gini_last_year": float(summary["year_gini"]),
        "active_fall": fall_while_adopting(weekly),
        "tried_two_years": float(weekly["adopted_share"].iloc[TWO_YEARS - 1]),
        "clustering_effect": float(clustered / max(rewired, CLUSTERING_FLOOR)),
    }


@cache
def noise_envelope(level: float, people: int, trials: int = 2000, q: float = 0.95) -> float:
    """The ``q`` quantile of the relative fall that ``active_fall`` finds in a *flat* series:
    weekly-active counts drawn each week as Binomial(``people``, ``level``) with nothing
    changing. A fall smaller than this is indistinguishable from week-to-week noise.

    Binomial noise is the least a real series has (habits make weeks correlated and the
    smoothed series wander further), so this is a lower bound on the envelope."""
    rng = np.random.default_rng(12345)  # fixed: the envelope is a property of (level, people)
    weeks = 160
    counts = rng.binomial(people, level, size=(trials, weeks)) / people
    falls = []
    for series in counts:
        frame = pd.DataFrame(
            {"week": np.arange(weeks), "active_share": series, "adopted_share": 1.0}
        )
        falls.append(active_fall(frame)["fall"])
    return float(np.quantile(falls, q))
