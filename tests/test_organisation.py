"""Organisations: the data class, the generators, the file loaders and champion targeting."""

import time
import warnings

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import generators, loaders, targeting
from models.errors import InputError
from models.organisation import CHAMPION, MANAGER, Organisation


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def same(a: Organisation, b: Organisation) -> bool:
    return (
        (a.adjacency != b.adjacency).nnz == 0
        and np.array_equal(a.manager_of, b.manager_of)
        and np.array_equal(a.department, b.department)
        and a.department_names == b.department_names
    )


def ties(org: Organisation) -> set[tuple[int, int]]:
    upper = org.adjacency.tocoo()
    return {(int(i), int(j)) for i, j in zip(upper.row, upper.col, strict=True) if i < j}


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the data class ---------------------------------------------------------------------------


def test_from_edges_symmetrises_drops_loops_and_repeats_and_ties_people_to_managers():
    org = Organisation.from_edges(
        4, np.array([0, 1, 2, 2, 3]), np.array([1, 0, 2, 3, 2]), manager_of=[-1, 0, 0, 2]
    )
    org.validate()
    assert ties(org) == {(0, 1), (0, 2), (2, 3)}
    assert org.n == 4 and org.n_edges == 3
    assert org.degree.tolist() == [2, 1, 2, 1]
    assert org.adjacency.has_canonical_format and set(org.adjacency.data) == {1.0}
    assert org.has_hierarchy and org.is_manager.tolist() == [True, False, True, False]
    assert org.department_names == ("all",)


def test_arrays_are_read_only_so_cached_views_cannot_go_stale():
    org = generators.hierarchy(rng(), size=50)
    with pytest.raises(ValueError, match="read-only"):
        org.manager_of[3] = 0
    with pytest.raises(ValueError, match="read-only"):
        org.adjacency.data[0] = 2.0


def test_team_and_cross_team_on_a_hand_built_example():
    # 0 manages 1 and 2; 1 manages 3; 4 has no manager.
    manager_of = [-1, 0, 0, 1, -1]
    extra = [(1, 2), (2, 3), (3, 4), (0, 4), (0, 3)]
    org = Organisation.from_edges(5, *np.array(extra).T, manager_of=manager_of)
    assert org.team.tolist() == [0, 0, 0, 1, 4]
    cross = org.cross_team
    assert (cross != cross.T).nnz == 0 and cross.has_canonical_format
    upper = cross.tocoo()
    found = {(int(i), int(j)) for i, j in zip(upper.row, upper.col, strict=True) if i < j}
    # 1-2 are peers, 0-1, 0-2 and 1-3 are reporting lines: all within a team.
    assert found == {(2, 3), (3, 4), (0, 4), (0, 3)}


def test_role_hint_makes_managers_without_reports():
    org = Organisation.from_edges(3, [0, 1], [1, 2], role_hint=[2, 0, 1])
    assert org.is_manager.tolist() == [True, False, False]
    assert not org.has_hierarchy


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"manager_of": np.array([-1, 2, 1], dtype=np.int64)}, "cycle"),
        ({"department": np.array([0, 0, 5], dtype=np.int64)}, "department code"),
        ({"node_ids": ("a", "a", "b")}, "node_ids"),
    ],
)
def test_validate_reports_broken_invariants(change, problem):
    org = Organisation.from_edges(3, [0, 1], [1, 2])
    broken = Organisation(
        **{
            "adjacency": org.adjacency,
            "manager_of": np.full(3, -1, dtype=np.int64),
            "department": np.zeros(3, dtype=np.int64),
            "department_names": ("all",),
            **change,
        }
    )
    with pytest.raises(ValueError, match=problem):
        broken.validate()


def test_validate_rejects_an_asymmetric_adjacency():
    org = Organisation.from_edges(3, [0], [1])
    one_way = org.adjacency.copy()
    one_way.data[1] = 0.0
    one_way.eliminate_zeros()
    with pytest.raises(ValueError, match="not symmetric"):
        Organisation(one_way, org.manager_of, org.department, ("all",)).validate()


# --- generators -------------------------------------------------------------------------------

SMALL = {
    "hierarchy": {"size": 300},
    "small_world": {"size": 300, "k": 6},
    "scale_free": {"size": 300, "m": 3},
    "random": {"size": 300, "mean_degree": 8.0},
    "complete": {"size": 60},
}


@pytest.mark.parametrize("kind", list(generators.GENERATORS))
def test_every_generator_returns_a_valid_organisation(kind):
    org = generators.build(kind, SMALL[kind], rng())
    org.validate()
    assert org.kind == kind and org.n == SMALL[kind]["size"]
    assert org.department.min() >= 0 and org.department.max() < len(org.department_names)
    if kind != "hierarchy":
        assert not org.has_hierarchy and not org.is_manager.any()
        assert org.department_names == ("all",)


@pytest.mark.parametrize("kind", ["hierarchy", "small_world", "scale_free", "random"])
def test_same_seed_same_organisation_different_seed_different(kind):
    assert same(
        generators.build(kind, SMALL[kind], rng(7)), generators.build(kind, SMALL[kind], rng(7))
    )
    assert not same(
        generators.build(kind, SMALL[kind], rng(7)), generators.build(kind, SMALL[kind], rng(8))
    )


def test_research_graphs_have_the_requested_density():
    assert generators.small_world(rng(), 400, k=6, rewire=0.0).degree.tolist() == [6] * 400
    assert generators.complete(rng(), 40).n_edges == 40 * 39 // 2
    assert abs(generators.random(rng(), 2000, mean_degree=8.0).degree.mean() - 8.0) < 0.5
    assert generators.scale_free(rng(), 500, m=3).n_edges == 3 * (500 - 3)


def test_hierarchy_tree_departments_and_managers():
    org = generators.hierarchy(rng(), size=500, span=5)
    i = np.arange(500)
    # Full levels (1 + 5 + 25 + 125 = 156 people) are filled in order; the partial last level
    # is spread over departments, so no one has more than ``span`` reports.
    assert org.manager_of[0] == -1
    assert np.array_equal(org.manager_of[1:156], (i[1:156] - 1) // 5)
    assert np.bincount(org.manager_of[1:]).max() == 5
    has_reports = np.isin(i, org.manager_of)
    assert np.array_equal(org.is_manager, has_reports)
    # Departments are the subtrees under node 0's reports: walk everyone up to depth 1.
    head = i.copy()
    while (org.manager_of[head] > 0).any():
        head = np.where(org.manager_of[head] > 0, org.manager_of[head], head)
    assert org.department[0] == 0 and org.department_names[0] == "executive"
    assert np.array_equal(org.department[1:], head[1:])
    assert set(org.department[1:]) == {1, 2, 3, 4, 5}
    sizes = np.bincount(org.department[1:])[1:]
    assert sizes.max() - sizes.min() <= 5  # balanced within one team


def test_hierarchy_departments_balanced_at_scale():
    org = generators.hierarchy(rng(), size=100_000, span=8, informal_degree=0.0)
    sizes = np.bincount(org.department)[1:]
    assert sizes.max() - sizes.min() <= 8


def test_hierarchy_team_ties_follow_team_density():
    full = generators.hierarchy(rng(), size=400, span=6, team_density=1.0, informal_degree=0.0)
    peers = [
        (a, b)
        for a in range(1, 400)
        for b in range(a + 1, 400)
        if full.manager_of[a] == full.manager_of[b]
    ]
    assert all(full.adjacency[a, b] == 1.0 for a, b in peers)
    assert full.cross_team.nnz == 0
    tree = generators.hierarchy(rng(), size=400, span=6, team_density=0.0, informal_degree=0.0)
    assert tree.n_edges == 399 and nx.is_tree(nx.from_scipy_sparse_array(tree.adjacency))
    half = generators.hierarchy(rng(), size=2000, span=8, team_density=0.5, informal_degree=0.0)
    share = (half.n_edges - 1999) / (1999 // 8 * 28 + (1999 % 8) * (1999 % 8 - 1) // 2)
    assert 0.45 < share < 0.55


def test_informal_ties_stay_in_department_more_than_chance():
    def within_share(bias):
        org = generators.hierarchy(
            rng(), size=3000, span=6, team_density=0.0, informal_degree=6.0, department_bias=bias
        )
        cross = org.cross_team.tocoo()
        return np.mean(org.department[cross.row] == org.department[cross.col]), org

    biased, org = within_share(0.8)
    unbiased, _ = within_share(0.0)
    chance = np.sum((np.bincount(org.department) / org.n) ** 2)
    assert abs(unbiased - chance) < 0.05
    assert biased > 0.8 and biased > chance + 0.3
    assert 5.0 < org.cross_team.nnz / org.n < 6.5  # mean informal degree ≈ informal_degree


def test_hierarchy_scales_to_100k_people():
    start = time.perf_counter()
    org = generators.hierarchy(rng(), size=100_000)
    print(f"hierarchy of 100,000 built in {time.perf_counter() - start:.2f} s")
    org.validate()
    assert org.n == 100_000


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(2, 400),
    span=st.integers(1, 30),
    team_density=st.floats(0, 1),
    informal_degree=st.floats(0, 8),
    department_bias=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_hierarchy_is_valid(size, span, team_density, informal_degree, department_bias, seed):
    org = generators.hierarchy(
        rng(seed), size, span, team_density, informal_degree, department_bias
    )
    org.validate()
    assert org.manager_of[0] == -1 and (org.manager_of[1:] >= 0).all()
    assert np.array_equal(org.is_manager, np.isin(np.arange(size), org.manager_of))
    assert len(org.department_names) == 1 + min(span, size - 1)


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("hierarchy", {"size": 1}, "org.size: 1"),
        ("hierarchy", {"size": 10.5}, "org.size: 10.5"),
        ("hierarchy", {"size": True}, "org.size"),
        ("hierarchy", {"size": "100"}, "org.size"),
        ("hierarchy", {"span": 0}, "org.span: 0"),
        ("hierarchy", {"team_density": 1.5}, "org.team_density: 1.5 .* between 0 and 1"),
        ("hierarchy", {"informal_degree": -1}, "org.informal_degree: -1"),
        ("hierarchy", {"informal_degree": float("inf")}, "org.informal_degree: inf"),
        ("hierarchy", {"department_bias": float("nan")}, "org.department_bias"),
        ("hierarchy", {"size": 100_000, "span": 10_000}, "org.span: 10000 is too wide"),
        (
            "hierarchy",
            {"size": 100_000, "informal_degree": 1e6},
            "org.informal_degree: 1e\\+06 is too many for 100,000 people.*at most 250",
        ),
        ("small_world", {"size": 10, "k": 3}, "org.k: 3 .* even"),
        ("small_world", {"size": 10, "k": 10}, "org.k: 10 .* 0..9"),
        ("small_world", {"rewire": -0.1}, "org.rewire"),
        ("scale_free", {"size": 10, "m": 10}, "org.m: 10 .* 1..9"),
        ("scale_free", {"m": 0}, "org.m: 0"),
        ("random", {"size": 10, "mean_degree": 20}, "org.mean_degree: 20"),
        ("hierarchy", {"sise": 100}, "org.sise: not a parameter of org=hierarchy; .*size, span"),
        ("file", {}, "org.path: required for org=file"),
        ("tree", {}, "org.generator: unknown organisation 'tree'; .*hierarchy, .*orgchart"),
    ],
)
def test_bad_parameters_name_the_key_value_and_range(kind, params, expected):
    with pytest.raises(InputError, match=expected):
        generators.build(kind, params, rng())


# --- loaders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_edge_list_with_any_delimiter(tmp_path, delimiter):
    rows = [
        ["Source", "weight", " target"],
        ["ann", "1", "bob"],
        ["bob", "2", "cy"],
        ["7", "1", "ann"],
    ]
    path = write(tmp_path, "ties.csv", "\n".join(delimiter.join(r) for r in rows) + "\n")
    org = generators.build("file", {"path": str(path)}, rng())
    org.validate()
    assert org.node_ids == ("ann", "bob", "cy", 7)
    assert ties(org) == {(0, 1), (1, 2), (0, 3)}
    assert org.kind == "file" and not org.has_hierarchy and org.role_hint is None


def test_edge_list_repairs_are_counted_in_warnings(tmp_path):
    path = write(tmp_path, "ties.csv", "source,target\n1,2\n2,01\n3,3\n\n4,1\n")
    with pytest.warns(UserWarning) as caught:
        org = loaders.load_network(path)
    messages = " ".join(str(w.message) for w in caught)
    assert "dropped 1 self-loop" in messages and "dropped 1 repeated tie" in messages
    assert org.node_ids == (1, 2, 3, 4) and ties(org) == {(0, 1), (0, 3)}
    assert "ties.csv: 1 person(s) have no ties" in messages  # 3 only tied itself


NODES = """id,role,department,manager
boss,Manager,Sales,
a,employee,Sales,boss
b,CHAMPION,,boss
lead,manager,IT,
c,,IT,lead
lonely,employee,IT,
"""


def test_nodes_file_gives_roles_departments_managers_and_isolated_people(tmp_path):
    nodes = write(tmp_path, "people.csv", NODES)
    edges = write(tmp_path, "ties.csv", "source,target\na,b\nb,c\n")
    with pytest.warns(UserWarning, match="1 person"):
        org = loaders.load_network(edges, nodes)
    org.validate()
    assert org.node_ids == ("boss", "a", "b", "lead", "c", "lonely")
    assert org.manager_of.tolist() == [-1, 0, 0, -1, 3, -1]
    assert org.role_hint.tolist() == [MANAGER, 0, CHAMPION, MANAGER, 0, 0]
    assert org.department_names == ("Sales", "unassigned", "IT")
    assert org.department.tolist() == [0, 0, 1, 2, 2, 2]
    assert ties(org) == {(1, 2), (2, 4), (0, 1), (0, 2), (3, 4)}


def test_without_manager_column_people_join_their_best_connected_neighbouring_manager(tmp_path):
    nodes = write(tmp_path, "people.csv", "id,role\nm1,manager\nm2,manager\nx,\ny,\nz,\n")
    # x is tied to both managers; m2 has more ties, so x joins m2. y ties m1 and m2 equally
    # often but m2 has more ties overall; z has no manager among its neighbours.
    edges = write(tmp_path, "ties.csv", "source,target\nx,m1\nx,m2\nm2,y\nm2,z\ny,m1\nm2,m1\n")
    with pytest.warns(UserWarning, match="gives roles but no managers"):
        org = loaders.load_network(edges, nodes)
    assert org.manager_of.tolist() == [-1, -1, 1, 1, 1]
    tie = write(tmp_path, "tie.csv", "source,target\nx,m1\nx,m2\n")
    with pytest.warns(UserWarning, match="gives roles but no managers"):
        with pytest.warns(UserWarning, match="2 person"):  # y and z have no ties here
            assert loaders.load_network(tie, nodes).manager_of.tolist()[2] == 0  # lowest index wins


def test_graphml_with_role_and_department_attributes(tmp_path):
    graph = nx.Graph()
    graph.add_node("m", role="manager", department="R&D")
    graph.add_node("p", department="R&D")
    graph.add_node("q", role="champion")
    graph.add_edges_from([("m", "p"), ("p", "q")])
    path = tmp_path / "org.graphml"
    nx.write_graphml(graph, path)
    with pytest.warns(UserWarning, match="gives roles but no managers"):
        org = loaders.load_network(path)
    org.validate()
    assert org.node_ids == ("m", "p", "q")
    assert org.role_hint.tolist() == [MANAGER, 0, CHAMPION]
    assert org.department_names == ("R&D", "unassigned")
    assert org.manager_of.tolist() == [-1, 0, -1]


ORGCHART = """employee_id,manager_id,department
1,,Exec
2,1,Sales
3,1,IT
4,2,Sales
5,2,Sales
6,2,Sales
7,3,IT
"""


def test_orgchart_with_generated_ties(tmp_path):
    path = write(tmp_path, "chart.csv", ORGCHART)
    params = {"path": str(path), "team_density": 1.0, "informal_degree": 0.0}
    org = generators.build("orgchart", params, rng())
    org.validate()
    assert org.kind == "orgchart" and org.node_ids == tuple(range(1, 8))
    assert org.manager_of.tolist() == [-1, 0, 0, 1, 1, 1, 2]
    assert org.department_names == ("Exec", "Sales", "IT")
    assert ties(org) == {
        (0, 1),
        (0, 2),
        (1, 2),
        (1, 3),
        (1, 4),
        (1, 5),
        (3, 4),
        (3, 5),
        (4, 5),
        (2, 6),
    }
    drawn = {"path": str(path), "informal_degree": 3.0}
    assert same(
        generators.build("orgchart", drawn, rng(1)), generators.build("orgchart", drawn, rng(1))
    )


def test_orgchart_with_a_ties_file(tmp_path):
    chart = write(tmp_path, "chart.csv", ORGCHART)
    extra = write(tmp_path, "ties.csv", "source;target\n4;7\n06;3\n")
    org = loaders.load_orgchart(chart, extra, rng=rng(), team_density=0.0)
    reporting_lines = {(0, 1), (0, 2), (1, 3), (1, 4), (1, 5), (2, 6)}
    assert ties(org) == reporting_lines | {(3, 6), (2, 5)}


BAD_FILES = [
    # (file name, content, expected message fragments)
    ("ties.csv", "", ["ties.csv", "empty"]),
    ("ties.csv", "\nsource,target\n", ["ties.csv line 1", "blank"]),
    ("ties.csv", "from,to\na,b\n", ["ties.csv line 1", "source, target", "'from', 'to'"]),
    ("ties.csv", "source|target\na|b\n", ["ties.csv line 1", "'source|target'", "a tab"]),
    ("ties.csv", "source,target\na,b\nc,d,e\n", ["ties.csv line 3", "3 fields", "has 2"]),
    ("ties.csv", "source,target\na,b\n\n,d\n", ["ties.csv line 4", "source is blank"]),
    ("ties.csv", "source,target\n", ["ties.csv", "no ties"]),
]


@pytest.mark.parametrize(("name", "content", "fragments"), BAD_FILES)
def test_bad_edge_lists_name_file_and_line(tmp_path, name, content, fragments):
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as error:
        loaders.load_network(path)
    assert all(f in str(error.value) for f in fragments), str(error.value)
    assert str(error.value).startswith("org.path: ")


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="org.path: .*nowhere.csv: no such file"):
        loaders.load_network(tmp_path / "nowhere.csv")
    (tmp_path / "binary.csv").write_bytes(b"source,target\n\xff\xfe,\x81\n")
    with pytest.raises(InputError, match="binary.csv: not a UTF-8"):
        loaders.load_network(tmp_path / "binary.csv")
    with pytest.raises(InputError, match="broken.graphml: not valid GraphML: .*line"):
        loaders.load_network(write(tmp_path, "broken.graphml", "<graphml><graph></graphml>"))


BAD_NODES = [
    ("id,role\na,boss\nb,\n", "people.csv line 2: role 'boss' is not one of employee, champion"),
    ("id,role\na,\n,employee\n", "people.csv line 3: id is blank"),
    ("id\na\nb\na\n", "people.csv line 4: id 'a' is listed again \\(first on line 2\\)"),
    ("id,manager\na,\nb,zed\n", "people.csv line 3: manager 'zed' is not a person"),
    ("id,manager\na,b\nb,a\n", "people.csv line [23]: '[ab]' is in a reporting cycle"),
    ("name\na\n", "people.csv line 1: the header needs columns id"),
    ("id\n", "people.csv: no people listed"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_NODES)
def test_bad_nodes_files_name_file_and_line(tmp_path, content, expected):
    nodes = write(tmp_path, "people.csv", content)
    edges = write(tmp_path, "ties.csv", "source,target\na,b\n")
    with pytest.raises(InputError, match="org.nodes_path: .*" + expected):
        loaders.load_network(edges, nodes)


def test_edge_naming_someone_not_in_the_nodes_file(tmp_path):
    nodes = write(tmp_path, "people.csv", "id\na\nb\n")
    edges = write(tmp_path, "ties.csv", "source,target\na,b\n\nb,x7\n")
    with pytest.raises(InputError, match="org.path: .*ties.csv line 4: target 'x7' .*people.csv"):
        loaders.load_network(edges, nodes)


BAD_CHARTS = [
    ("employee_id,manager_id\n1,\n2,9\n", "chart.csv line 3: manager_id '9' is not a person"),
    (
        "employee_id,manager_id\n1,\n2,3\n3,4\n4,2\n",
        "chart.csv line 5: 4 is in a reporting cycle \\(4 → 2 → 3 → 4\\)",
    ),
    ("employee_id,manager_id\n1,1\n2,1\n", "chart.csv line 2: 1 is their own manager"),
    (
        "employee_id,boss\n1,\n",
        "chart.csv line 1: the header needs columns employee_id, manager_id",
    ),
    ("employee_id,manager_id\n1,\n", "chart.csv: an org chart needs at least 2"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_CHARTS)
def test_bad_orgcharts_name_file_and_line(tmp_path, content, expected):
    chart = write(tmp_path, "chart.csv", content)
    with pytest.raises(InputError, match="org.path: .*" + expected):
        loaders.load_orgchart(chart, rng=rng())


def test_orgchart_ties_must_name_employees(tmp_path):
    chart = write(tmp_path, "chart.csv", ORGCHART)
    extra = write(tmp_path, "ties.csv", "source,target\n1,2\n1,99\n")
    with pytest.raises(InputError, match="org.ties_path: .*ties.csv line 3: target 99 .*chart.csv"):
        loaders.load_orgchart(chart, extra, rng=rng())


def test_graphml_refuses_a_nodes_file(tmp_path):
    nx.write_graphml(nx.path_graph(3), tmp_path / "g.graphml")
    with pytest.raises(InputError, match="org.nodes_path: .*node attributes"):
        loaders.load_network(tmp_path / "g.graphml", tmp_path / "people.csv")


# --- targeting --------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", targeting.RULES)
def test_champions_are_a_share_of_non_managers(rule):
    org = generators.hierarchy(rng(), size=300, span=4)
    non_managers = int((~org.is_manager).sum())
    for share in (0.0, 0.1, 1.0):
        chosen = targeting.choose(org, share, rule, rng(1))
        assert chosen.dtype == bool and chosen.shape == (300,)
        assert not (chosen & org.is_manager).any()
        assert chosen.sum() == int(np.floor(share * non_managers + 0.5))


def test_degree_and_bridging_pick_the_highest_scores():
    org = generators.hierarchy(rng(), size=500, span=5, informal_degree=6.0)
    for rule, score in (("degree", org.degree), ("bridging", np.diff(org.cross_team.indptr))):
        chosen = targeting.choose(org, 0.1, rule, rng())
        others = ~chosen & ~org.is_manager
        assert score[chosen].min() >= score[others].max()
    # The two rules rank on different things.
    assert not np.array_equal(np.diff(org.cross_team.indptr), org.degree)


def test_score_ties_are_broken_at_random():
    ring = generators.small_world(rng(), size=200, k=4, rewire=0.0)
    picks = [targeting.choose(ring, 0.1, "degree", rng(s)) for s in (1, 1, 2)]
    assert np.array_equal(picks[0], picks[1]) and not np.array_equal(picks[0], picks[2])


@pytest.mark.parametrize("kind", ["hierarchy", "small_world", "scale_free"])
def test_betweenness_with_every_source_is_exact(kind):
    org = generators.build(kind, {"size": 150}, rng(2))
    exact = nx.betweenness_centrality(nx.from_scipy_sparse_array(org.adjacency), normalized=False)
    ours = targeting.betweenness(org, rng(), pivots=10**6) / 2
    assert np.allclose(ours, [exact[i] for i in range(org.n)])


def test_betweenness_picks_the_bridge_in_disconnected_graphs():
    # Two triangles joined through person 6; a separate pair 7-8.
    edges = np.array([(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 6), (6, 3), (7, 8)])
    org = Organisation.from_edges(9, *edges.T)
    chosen = targeting.choose(org, 1 / 9, "betweenness", rng())
    assert np.flatnonzero(chosen).tolist() == [6]


def test_file_champions_are_used_when_no_share_is_given():
    org = Organisation.from_edges(
        4, [0, 1, 2], [1, 2, 3], manager_of=[-1, 0, 0, -1], role_hint=[2, 1, 0, 1]
    )
    assert targeting.choose(org, None, "random", rng()).tolist() == [False, True, False, True]
    with pytest.raises(InputError, match="champions.share: not given"):
        targeting.choose(generators.complete(rng(), 5), None, "random", rng())


@pytest.mark.parametrize(
    ("share", "rule", "expected"),
    [
        (1.5, "random", "champions.share: 1.5 .* between 0 and 1"),
        (-0.1, "degree", "champions.share: -0.1"),
        (0.1, "popularity", "champions.rule: unknown rule 'popularity'; .*random, degree, "),
    ],
)
def test_bad_targeting_input(share, rule, expected):
    with pytest.raises(InputError, match=expected):
        targeting.choose(generators.complete(rng(), 5), share, rule, rng())


def test_no_warnings_from_a_clean_file(tmp_path):
    path = write(tmp_path, "ties.csv", "source,target\na,b\nb,c\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaders.load_network(path)
