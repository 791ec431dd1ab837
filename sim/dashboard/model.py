"""The Mesa model the dashboard drives.

``WorkshopModel`` turns a set of control values into the run (and the comparison run) the
command line would build (``sim.dashboard.compare``), lays out the organisation once
(``sim.dashboard.layout``), and steps the runs together, one week per step, until the horizon.

Bad input (a start after an end, a value that is not one of a control's options) does not
crash the page: the model keeps the message in ``error`` and builds nothing, and the page
shows the message instead of charts.
"""

from __future__ import annotations

import sys
import traceback

import mesa
import pandas as pd

from models.errors import InputError
from sim.dashboard import controls
from sim.dashboard.compare import Run, build_runs, same_organisation
from sim.dashboard.layout import Groups, OrgLayout, group_people, org_layout

#: Above this many people the page draws groups (``layout.Groups``) instead of people.
PEOPLE_MAX = 1500
#: About this many groups in the picture of a large organisation.
GROUP_COUNT = 200
#: Faint ties the page draws at most (people, or pairs of groups): a texture, not a census.
PAGE_TIES = 6000


class WorkshopModel(mesa.Model):
    """One or two programmes on one organisation, stepped a week at a time.

    Args:
        seed: the run's seed (an integer).
        **values: the page's controls (``sim.dashboard.controls.model_params``); missing ones
            take their defaults; unknown names and values that are not allowed are refused
            (``error``).
        max_ties: the most faint ties in ``layout`` (the page draws fewer than a slide).
    """

    def __init__(self, seed: int = 0, max_ties: int = PAGE_TIES, **values) -> None:
        super().__init__(rng=int(seed))
        self.error: str | None = None
        self.runs: list[Run] = []
        self.layout: OrgLayout | None = None
        self.groups: Groups | None = None
        try:
            self.values = controls.check({**values, "seed": seed})
        except controls.ControlError as e:
            self.values = controls.defaults()
            self._refuse(str(e))
            return
        self.weeks = int(self.values["weeks"])
        try:
            self.runs = build_runs(self.values)
        except InputError as e:
            self._refuse(str(e))
            return
        except Exception as e:  # a bug: the page says so instead of showing a traceback
            traceback.print_exc(file=sys.stderr)
            self._refuse(f"the run could not be built ({type(e).__name__}: {e})")
            return
        org = self.main.model.org
        self.layout = org_layout(org, seed=int(seed), max_ties=max_ties)
        if org.n > PEOPLE_MAX:
            target = -(-org.n // GROUP_COUNT)
            self.groups = group_people(self.layout, org, target, max_ties)

    def _refuse(self, message: str) -> None:
        self.weeks = int(self.values["weeks"])
        self.error = message
        self.running = False

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
