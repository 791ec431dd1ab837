"""The Mesa model the dashboard page drives.

SolaraViz resets a model by calling its class with the control values as keyword arguments,
so the page needs one model class whose constructor takes the controls. ``WorkshopModel`` is
that class: it turns the controls into the run (and the comparison run) the command line
would build (``sim.dashboard.compare``), lays out the organisation once
(``sim.dashboard.layout``), and steps the runs together, one week per step, until the horizon.

Bad input (a start after an end, say) does not crash the page: the model keeps the message
in ``error`` and builds nothing, and the page shows the message instead of charts.
"""

from __future__ import annotations

import mesa
import pandas as pd

from models.errors import InputError
from sim.dashboard import controls
from sim.dashboard.compare import Run, build_runs, same_organisation
from sim.dashboard.layout import OrgLayout, org_layout


class WorkshopModel(mesa.Model):
    """One or two programmes on one organisation, stepped a week at a time.

    Args:
        seed: the run's seed (an integer; the page's seed slider).
        scenario: ignored; SolaraViz's reset passes a Mesa ``Scenario`` along with the controls.
        **values: the page's controls (``sim.dashboard.controls.model_params``); missing ones
            take their defaults, unknown names are refused.
    """

    def __init__(self, seed: int = 0, scenario=None, **values) -> None:
        super().__init__(rng=int(seed))
        self.values = controls.complete({**values, "seed": int(seed)})
        self.weeks = int(self.values["weeks"])
        self.error: str | None = None
        self.runs: list[Run] = []
        self.layout: OrgLayout | None = None
        try:
            self.runs = build_runs(self.values)
        except InputError as e:
            self.error = str(e)
            self.running = False
            return
        self.layout = org_layout(self.main.model.org, seed=int(seed))

    @property
    def main(self) -> Run:
        return self.runs[0]

    @property
    def comparing(self) -> bool:
        return len(self.runs) > 1

    @property
    def same_organisation(self) -> bool:
        return all(same_organisation(self.main.model, r.model) for r in self.runs[1:])

    def step(self) -> None:
        """One week of every run; stops at the horizon."""
        for run in self.runs:
            run.model.step()
        if self.steps >= self.weeks:
            self.running = False

    def weekly(self) -> dict[str, pd.DataFrame]:
        """Each run's weekly records so far, by label."""
        return {run.label: run.model.weekly() for run in self.runs}
