"""The Mesa agents: Employee, Champion and Manager.

Agents are the user's unit of thought: they are what ``model.agents`` and
``model.agents_by_type`` hold, what the dashboard draws, and what one inspects to see how a
person is doing. Their state, though, lives in the model's arrays (``models.state``), and
each agent reads and writes its own row through the properties below. The weekly step never
loops over agents; each role's behaviour is array work over that role's rows in
``models.dynamics`` (managers role-model and lead sense-making for their team, champions
coach their contacts).

``agents_by_type`` is keyed by exact class: champions and managers are not listed under
``Employee``; use ``model.agents`` for everyone.
"""

import mesa

from models.state import CHAMPION, EMPLOYEE, MANAGER, STAGE_NAMES


def _row_property(name: str, doc: str, cast=float):
    """A property reading and writing this agent's row of ``model.state.<name>``."""

    def get(self):
        return cast(getattr(self.model.state, name)[self.row])

    def set_(self, value):
        getattr(self.model.state, name)[self.row] = value

    return property(get, set_, doc=doc)


class Employee(mesa.Agent):
    """A member of the organisation who may use the network, learn to get value from it,
    and lose interest again."""

    role = EMPLOYEE

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    active = _row_property("active", "Active this week.", bool)
    adopted = _row_property("ever", "Has ever used the network.", bool)
    user = _row_property("user", "A current user (tried it, has not abandoned it).", bool)
    stage = _row_property("stage", "Maturity stage, 0 (none) to 4 (Innovate).", int)
    perceived_value = _row_property("perceived", "Perceived weekly benefit, hours.")
    sense = _row_property("sense", "Sense-making, 0..1.")
    intrinsic = _row_property("intrinsic", "Intrinsic motivation, 0..1.")
    extrinsic = _row_property("extrinsic", "Extrinsic motivation, 0..1.")
    reactance = _row_property("reactance", "Reactance, 0..1.")
    alignment = _row_property("alignment", "Strategic alignment, 0..1.")
    total_value = _row_property("total_value", "Net value created so far, hours.")

    @property
    def stage_name(self) -> str:
        return STAGE_NAMES[self.stage]

    @property
    def department(self) -> str:
        org = self.model.org
        return org.department_names[org.department[self.row]]

    @property
    def manager(self) -> "Manager | None":
        m = self.model.org.manager_of[self.row]
        return self.model.agent_at(m) if m >= 0 else None

    @property
    def contacts(self) -> list["Employee"]:
        return [self.model.agent_at(j) for j in self.model.org.neighbours(self.row)]


class Champion(Employee):
    """An enthusiast who coaches contacts: active champions raise their contacts' sense and
    pull them into trying the network, in proportion to their own sense."""

    role = CHAMPION

    @property
    def coaching(self) -> float:
        """Strength of this champion's coaching this week (training raises it)."""
        return float(self.model.levers.coaching[self.row])


class Manager(Employee):
    """Leads a team: managers' activity is a role model for their reports, and the value
    conversations they lead raise their team's sense and alignment — as far as they have
    made sense of the network themselves."""

    role = MANAGER

    @property
    def team(self) -> list[Employee]:
        """Direct reports."""
        return [self.model.agent_at(j) for j in self.model.team_rows(self.row)]

    @property
    def leading(self) -> float:
        """Rate at which this manager leads value conversations this week."""
        return float(self.model.levers.leading[self.row])


AGENT_CLASSES = {EMPLOYEE: Employee, CHAMPION: Champion, MANAGER: Manager}
