"""Mesa agents: reachable through the model, one per row, reading and writing their row."""

import numpy as np

from models.agents import Champion, Employee, Manager
from models.model import AdoptionModel
from models.state import CHAMPION, EMPLOYEE, MANAGER


def small_model(**kwargs) -> AdoptionModel:
    return AdoptionModel(org={"generator": "hierarchy", "size": 300}, rng=4, **kwargs)


def test_every_row_has_one_agent_of_its_role():
    model = small_model(champion_share=0.1, champion_rule="degree")
    role = model.traits.role
    assert len(model.agents) == model.org.n
    by_type = model.agents_by_type
    assert {type(a) for a in model.agents} == {Employee, Champion, Manager}
    assert len(by_type[Manager]) == int((role == MANAGER).sum()) == int(model.org.is_manager.sum())
    assert len(by_type[Champion]) == int((role == CHAMPION).sum()) > 0
    assert len(by_type[Employee]) == int((role == EMPLOYEE).sum())
    rows = sorted(a.row for a in model.agents)
    assert rows == list(range(model.org.n))
    for agent in model.agents:
        assert model.agent_at(agent.row) is agent
        assert agent.role == role[agent.row]


def test_champions_are_never_managers_and_follow_the_rule():
    model = small_model(champion_share=0.1, champion_rule="degree")
    champions = [a.row for a in model.agents_by_type[Champion]]
    degree = model.org.degree
    non_managers = ~model.org.is_manager
    assert not model.org.is_manager[champions].any()
    # Degree targeting: no non-champion non-manager has a higher degree than every champion.
    others = np.flatnonzero(non_managers & ~np.isin(np.arange(model.org.n), champions))
    assert degree[others].max() <= degree[champions].min()


def test_agent_properties_read_and_write_their_row():
    model = small_model()
    model.run(30)
    agent = model.agents_by_type[Employee].to_list()[5]
    s = model.state
    assert agent.active == bool(s.active[agent.row])
    assert agent.stage == int(s.stage[agent.row])
    assert agent.sense == float(s.sense[agent.row])
    agent.sense = 0.75
    assert s.sense[agent.row] == np.float32(0.75)
    agent.perceived_value = 2.0
    assert model.state.perceived[agent.row] == 2.0


def test_roles_have_their_relations():
    model = small_model(champion_share=0.05)
    boss = model.agents_by_type[Manager].to_list()[0]
    team = boss.team
    assert team and all(member.manager is boss for member in team)
    someone = team[0]
    assert boss in someone.contacts  # reporting to someone is a tie
    assert isinstance(someone.department, str)
    assert boss.leading == model.levers.leading[boss.row] > 0
    champion = model.agents_by_type[Champion].to_list()[0]
    assert champion.coaching == 1.0
