"""AdoptionModel: the Mesa model of an enterprise social network rollout.

The model owns the organisation, the agents' state arrays and the weekly levers; one call
to ``step()`` is one week. Randomness comes from the model's own ``rng`` (Mesa's
``Model(rng=seed)``), split into independent streams for the organisation, the roles, the
initial state and the weekly draws. Separate streams mean that two scenarios run with the same
seed share the same organisation, champions and starting state (common random numbers) even
when their interventions differ.
"""

from collections.abc import Mapping

import mesa
import numpy as np
import pandas as pd

from models import generators, targeting
from models.agents import AGENT_CLASSES
from models.dynamics import N_DRAWS, advance
from models.errors import InputError
from models.interventions import Intervention, Schedule
from models.metrics import WEEKS_IN_LAST_YEAR, Recorder, summarise
from models.neighbours import Network
from models.organisation import Organisation
from models.params import Behaviour, problems
from models.snapshots import Snapshots
from models.state import CHAMPION, EMPLOYEE, MANAGER, Levers, initial_state


class AdoptionModel(mesa.Model):
    """Employees, champions and managers on an organisational network, week by week.

    Args:
        org: an ``Organisation``, or a mapping with ``generator`` and its parameters
            (e.g. ``{"generator": "hierarchy", "size": 1000}``) to build one from the
            model's rng.
        behaviour: behavioural parameters (defaults: the documented calibration).
        champion_share: share of non-managers who are champions.
        champion_rule: how champions are chosen: random, degree, betweenness or bridging.
        discount_rate: annual discount rate for the discounted long-run value.
        interventions: what the organisation does besides deploying (models.interventions);
            none is the baseline, "deploy and wait".
        rng: seed or numpy Generator (Mesa's ``rng``).
        snapshot_every: keep every agent's state after every this many weeks
            (``model.snapshots``, models.snapshots); 0, the default, keeps none.
    """

    def __init__(
        self,
        org: Organisation | Mapping = None,
        behaviour: Behaviour | None = None,
        champion_share: float = 0.025,
        champion_rule: str = "random",
        discount_rate: float = 0.0,
        interventions: list[Intervention] = (),
        rng=None,
        snapshot_every: int = 0,
    ) -> None:
        super().__init__(rng=rng)
        bad = problems(behaviour or Behaviour(), prefix="behaviour")
        if bad:
            raise InputError("\n".join(bad))
        org_rng, role_rng, init_rng, step_rng = self.rng.spawn(4)
        if org is None:
            org = {"generator": "hierarchy"}
        if isinstance(org, Mapping):
            params = {k: v for k, v in org.items() if k != "generator"}
            org = generators.build(org["generator"], params, org_rng)
        self.org = org
        self.behaviour = behaviour or Behaviour()
        self.discount_rate = discount_rate
        self._step_rng = step_rng

        role = np.where(org.is_manager, MANAGER, EMPLOYEE).astype(np.int8)
        role[targeting.choose(org, champion_share, champion_rule, role_rng)] = CHAMPION
        self.state, self.traits = initial_state(init_rng, role, org.department, self.behaviour)
        self._baseline_levers = Levers.baseline(org.n, role, self.behaviour)
        self.levers = self._baseline_levers
        self.network = Network.build(org, role)
        self.recorder = Recorder(self.traits, org.department, org.department_names)
        self.schedule = Schedule(
            list(interventions),
            org,
            role,
            self.behaviour,
            role_rng,
            cell=self.recorder.cell,
            n_cells=self.recorder.n_cells,
        )
        self.snapshots = Snapshots(
            snapshot_every, self.traits, org.department, org.department_names
        )

        self._agent_at: list = [None] * org.n
        for code, cls in AGENT_CLASSES.items():
            rows = np.flatnonzero(role == code)
            for agent in cls.create_agents(self, len(rows), row=rows):
                self._agent_at[agent.row] = agent
        self._team_order = np.argsort(org.manager_of, kind="stable")
        self._team_start = np.searchsorted(org.manager_of[self._team_order], np.arange(org.n + 1))

    def step(self) -> None:
        """One week: set the week's levers from the interventions, draw the week's uniforms,
        advance the state arrays, record."""
        week = self.steps
        self.levers, cost = self.schedule.levers(week, self._baseline_levers, self.state)
        draws = self._step_rng.random((N_DRAWS, self.org.n), dtype=np.float32)
        advance(self.state, self.traits, self.network, self.behaviour, self.levers, draws)
        self.recorder.record(week, self.state, cost)
        self.snapshots.take(week, self.state)

    def run(self, weeks: int, progress=None) -> None:
        """Advance ``weeks`` weeks, calling ``progress(1)`` after each if given."""
        for _ in range(weeks):
            self.step()
            if progress is not None:
                progress(1)

    def agent_at(self, row: int):
        """The agent whose state is row ``row`` of the arrays."""
        return self._agent_at[row]

    def team_rows(self, manager_row: int) -> np.ndarray:
        """Rows of a manager's direct reports."""
        lo, hi = self._team_start[manager_row], self._team_start[manager_row + 1]
        return self._team_order[lo:hi]

    def weekly(self):
        """Weekly organisation-level records as a DataFrame."""
        return self.recorder.weekly()

    def summary(self) -> dict:
        """Run-level outcomes (see ``models.metrics.summarise``)."""
        return summarise(
            self.recorder.weekly(),
            self.state,
            self.discount_rate,
            self.schedule.window_end(self.steps),
            self.recorder.year_participation(),
        )

    def departments(self) -> "pd.DataFrame":
        """One row per department: size, active share and value over the last year, and over
        the whole run value, programme cost (attributed to the people it involved; shared
        costs by headcount) and net value."""
        groups = self.recorder.groups()
        groups = groups[groups["group_type"] == "department"]
        last = groups[groups["week"] > groups["week"].max() - WEEKS_IN_LAST_YEAR]
        by = groups.groupby("group", sort=False)
        recent = last.groupby("group", sort=False)
        return pd.DataFrame(
            {
                "department": list(by.groups),
                "size": by["size"].first().to_numpy(),
                "active_share_last_year": recent["active_share"].mean().to_numpy(),
                "value_last_year": recent["value_total"].sum().to_numpy(),
                "value_total": by["value_total"].sum().to_numpy(),
                "cost_total": by["cost"].sum().to_numpy(),
                "net_value": by["net_value"].sum().to_numpy(),
            }
        )
