"""AdoptionModel: the Mesa model of an enterprise social network rollout.

The model owns the organisation, the agents' state arrays and the weekly levers; one call
to ``step()`` is one week. Randomness comes from the model's own ``rng`` (Mesa's
``Model(rng=seed)``), split into independent streams for the organisation, the roles, the
initial state and the weekly draws (``models.ensemble.build_run``). Separate streams mean
that two scenarios run with the same seed share the same organisation, champions and starting
state (common random numbers) even when their interventions differ.

Underneath, the model is an ensemble of one run (``models.ensemble``): the same code steps one
run here, and many runs together in studies, so a run gives the same results either way.
"""

from collections.abc import Mapping

import mesa
import numpy as np

from models.agents import AGENT_CLASSES
from models.ensemble import Ensemble, build_run
from models.interventions import Intervention
from models.organisation import Organisation
from models.params import Behaviour


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
        setup = build_run(
            org, behaviour, champion_share, champion_rule, interventions, self.rng, discount_rate
        )
        self.engine = Ensemble([setup], snapshot_every)
        self.org = setup.org
        self.behaviour = setup.behaviour
        self.discount_rate = discount_rate

        self._agent_at: list | None = None  # the Mesa agents, made when first asked for
        manager_of = self.org.manager_of
        self._team_order = np.argsort(manager_of, kind="stable")
        self._team_start = np.searchsorted(manager_of[self._team_order], np.arange(self.org.n + 1))

    # The run's arrays and parts, as the engine holds them.

    @property
    def state(self):
        return self.engine.state

    @state.setter
    def state(self, value) -> None:
        self.engine.state = value

    @property
    def traits(self):
        return self.engine.traits

    @property
    def levers(self):
        """This week's levers (the baseline until something runs)."""
        return self.engine.levers

    @property
    def _baseline_levers(self):
        return self.engine.baseline

    @property
    def network(self):
        return self.engine.network

    @property
    def schedule(self):
        return self.engine.schedules[0]

    @property
    def recorder(self):
        """The weekly records (``models.records.Records``)."""
        return self.engine.records

    @property
    def snapshots(self):
        return self.engine.snapshots[0]

    def step(self) -> None:
        """One week: set the week's levers from the interventions, draw the week's uniforms,
        advance the state arrays, record."""
        self.engine.step()

    def run(self, weeks: int, progress=None) -> None:
        """Advance ``weeks`` weeks, calling ``progress(1)`` after each if given."""
        for _ in range(weeks):
            self.step()
            if progress is not None:
                progress(1)

    def _made_agents(self) -> list:
        """The Mesa agents, one per row (``agent_at``), made the first time anything asks for
        them: the weekly step never uses them, so a run that is only simulated and summarised
        (a study's runs, ``sim.simulate``) does not pay for a Python object per person."""
        if self._agent_at is None:
            self._agent_at = [None] * self.org.n
            for code, cls in AGENT_CLASSES.items():
                rows = np.flatnonzero(self.traits.role == code)
                for agent in cls.create_agents(self, len(rows), row=rows):
                    self._agent_at[agent.row] = agent
        return self._agent_at

    @property
    def agents(self):
        """Every agent (Mesa's ``AgentSet``), made on first use (``_made_agents``)."""
        self._made_agents()
        return super().agents

    @property
    def agents_by_type(self):
        self._made_agents()
        return super().agents_by_type

    @property
    def agent_types(self) -> list[type]:
        self._made_agents()
        return super().agent_types

    def agent_at(self, row: int):
        """The agent whose state is row ``row`` of the arrays."""
        return self._made_agents()[row]

    def team_rows(self, manager_row: int) -> np.ndarray:
        """Rows of a manager's direct reports."""
        lo, hi = self._team_start[manager_row], self._team_start[manager_row + 1]
        return self._team_order[lo:hi]

    def weekly(self):
        """Weekly organisation-level records as a DataFrame."""
        return self.engine.weekly()

    def summary(self) -> dict:
        """Run-level outcomes (see ``models.metrics.summarise``)."""
        return self.engine.summary()

    def departments(self):
        """One row per department (``models.ensemble.Ensemble.departments``)."""
        return self.engine.departments()
