"""Comparison mode: two programmes on the same organisation with the same seed.

A room believes a difference between two curves only if nothing but the programme differs.
The comparison run is composed from the same organisation, size, horizon, seed and champion
settings as the main run, and the model splits its seed into separate streams for the
organisation, the roles, the starting state and the weekly draws, so both runs get the same
people, the same ties, the same champions and the same starting attitudes (common random
numbers). ``same_organisation`` checks it, and the dashboard says so on the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.model import AdoptionModel
from sim.api import compose
from sim.dashboard import controls
from sim.run import build_model


@dataclass(eq=False)
class Run:
    """One simulated programme: its label, the overrides that describe it, its model."""

    label: str
    overrides: list[str]
    model: AdoptionModel

    @property
    def command(self) -> str:
        return controls.command(self.overrides)


def build_run(label: str, overrides: list[str]) -> Run:
    """Compose the config the overrides describe and build its model, as ``python -m sim``
    would (``models.errors.InputError`` on bad input)."""
    return Run(label, overrides, build_model(compose(overrides)))


def labels(values: dict) -> tuple[str, str]:
    """Names for the main run and the comparison run that tell them apart on a chart."""
    values = controls.complete(values)
    main, other = values["programme"], values["compare_with"]
    if controls.intervention_overrides(main, values):
        main = f"{main} (adjusted)"
    if other == main:
        other = f"{other} (comparison)"
    return main, other


def build_runs(values: dict) -> list[Run]:
    """The main run and, if the controls ask for one, the comparison run."""
    main_label, other_label = labels(values)
    runs = [build_run(main_label, controls.overrides(values))]
    other = controls.comparison_overrides(values)
    if other is not None:
        runs.append(build_run(other_label, other))
    return runs


def same_organisation(a: AdoptionModel, b: AdoptionModel) -> bool:
    """Whether two models have the same people, ties, reporting lines and roles."""
    x, y = a.org.tie_matrix(), b.org.tie_matrix()
    return (
        x.shape == y.shape
        and np.array_equal(x.indptr, y.indptr)
        and np.array_equal(x.indices, y.indices)
        and np.array_equal(a.org.manager_of, b.org.manager_of)
        and np.array_equal(a.traits.role, b.traits.role)
    )
