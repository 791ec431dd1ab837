"""Network files (issue 8, item 2): every way a file can be wrong gives a message naming the
config key, the file and the line (or the node), or a documented repair with a warning that
says how much was repaired and where. docs/RELIABILITY.md lists the cases; this file has one
test per case (the older, broader loader tests are in test_organisation.py)."""

import re
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import sim
from models import loaders
from models.errors import InputError


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(call, *patterns: str) -> str:
    with pytest.raises(InputError) as error:
        call()
    message = str(error.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    return message


def warned(call) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught]


# --- refused, with file and line ---------------------------------------------------------------


def test_missing_file(tmp_path):
    refused(lambda: loaders.load_network(tmp_path / "no.csv"), r"org\.path: \S+no\.csv: no such")


def test_missing_file_is_found_with_the_other_config_errors(tmp_path):
    """Before any work: a missing network file is reported with every other bad key."""
    refused(
        lambda: sim.simulate(["org=file", f"org.path={tmp_path}/no.csv", "weeks=0"]),
        r"org\.path: \S+no\.csv: no such file",
        r"weeks=0 is not allowed",
    )


def test_empty_file(tmp_path):
    path = write(tmp_path, "ties.csv", "")
    refused(lambda: loaders.load_network(path), r"ties\.csv: the file is empty")


def test_header_only(tmp_path):
    path = write(tmp_path, "ties.csv", "source,target\n")
    refused(lambda: loaders.load_network(path), r"ties\.csv: no ties below the header")


def test_wrong_delimiter_in_the_header(tmp_path):
    path = write(tmp_path, "ties.csv", "source|target\n1|2\n")
    refused(
        lambda: loaders.load_network(path),
        r"ties\.csv line 1: the header needs columns source, target",
        r"separated by ',', ';', a tab",
    )


def test_rows_with_another_delimiter_than_the_header(tmp_path):
    path = write(tmp_path, "ties.csv", "source,target\n1,2\n2;3\n")
    refused(
        lambda: loaders.load_network(path),
        r"ties\.csv line 3: target is blank",
        r"it holds ';': separate every line's fields as the header's are",
    )


def test_unknown_node_id(tmp_path):
    nodes = write(tmp_path, "people.csv", "id\n1\n2\n")
    edges = write(tmp_path, "ties.csv", "source,target\n1,2\n2,3\n")
    refused(
        lambda: loaders.load_network(edges, nodes),
        r"org\.path: \S+ties\.csv line 3: target 3 is not a person in the nodes file",
    )


def test_unknown_role(tmp_path):
    nodes = write(tmp_path, "people.csv", "id,role\n1,manager\n2,intern\n")
    edges = write(tmp_path, "ties.csv", "source,target\n1,2\n")
    refused(
        lambda: loaders.load_network(edges, nodes),
        r"org\.nodes_path: \S+people\.csv line 3: role 'intern' is not one of employee, "
        r"champion, manager",
    )


def test_unknown_role_in_graphml(tmp_path):
    graph = nx.Graph()
    graph.add_node("a", role="boss")
    graph.add_edge("a", "b")
    nx.write_graphml(graph, tmp_path / "g.graphml")
    refused(
        lambda: loaders.load_network(tmp_path / "g.graphml"),
        r"org\.path: \S+g\.graphml: node 'a': role 'boss' is not one of",
    )


def test_org_chart_in_which_nobody_has_a_manager(tmp_path):
    chart = write(tmp_path, "chart.csv", "employee_id,manager_id\n1,\n2,\n3,\n")
    refused(
        lambda: loaders.load_orgchart(chart, rng=np.random.default_rng(0)),
        r"org\.path: \S+chart\.csv lines 2–4: every manager_id is blank",
    )


def test_repeated_person_in_an_org_chart(tmp_path):
    chart = write(tmp_path, "chart.csv", "employee_id,manager_id\n1,\n2,1\n2,1\n")
    refused(
        lambda: loaders.load_orgchart(chart, rng=np.random.default_rng(0)),
        r"chart\.csv line 4: employee_id 2 is listed again \(first on line 3\)",
    )


# --- ids: names or numbers ---------------------------------------------------------------------


def test_non_numeric_ids_are_names_and_whole_numbers_are_numbers(tmp_path):
    """Ids may be any non-blank text (documented); a whole number in any spelling is one id."""
    path = write(tmp_path, "ties.csv", "source,target\nann lee,1.5\n007,ann lee\n7,1.5\n")
    org = loaders.load_network(path)
    assert org.node_ids == ("ann lee", "1.5", 7)
    assert org.n_edges == 3


# --- repaired, with a warning that says how much and where -------------------------------------


def test_self_loops_are_dropped_with_the_line_of_the_first(tmp_path):
    path = write(tmp_path, "ties.csv", "source,target\n1,2\n2,2\n3,3\n2,3\n")
    org, messages = warned(lambda: loaders.load_network(path))
    assert any("dropped 2 self-loop(s)" in m and "the first on line 3" in m for m in messages)
    assert org.n_edges == 2 and not org.adjacency.diagonal().any()


def test_repeated_ties_are_dropped_with_the_line_of_the_first(tmp_path):
    path = write(tmp_path, "ties.csv", "source,target\n1,2\n2,3\n2,1\n1,2\n")
    org, messages = warned(lambda: loaders.load_network(path))
    assert any(
        "dropped 2 repeated tie(s)" in m and "the first on line 4, a repeat of line 2" in m
        for m in messages
    ), messages
    assert org.n_edges == 2


def test_self_loop_in_graphml_names_the_edge(tmp_path):
    graph = nx.Graph([("a", "b"), ("b", "b")])
    nx.write_graphml(graph, tmp_path / "g.graphml")
    org, messages = warned(lambda: loaders.load_network(tmp_path / "g.graphml"))
    assert any("dropped 1 self-loop" in m and "'b'–'b'" in m for m in messages), messages
    assert org.n_edges == 1


def test_isolated_people_are_kept_and_named(tmp_path):
    nodes = write(tmp_path, "people.csv", "id,manager\nboss,\na,boss\nloner,\n")
    edges = write(tmp_path, "ties.csv", "source,target\na,boss\n")
    org, messages = warned(lambda: loaders.load_network(edges, nodes))
    assert org.n == 3 and org.degree.tolist() == [1, 1, 0]
    assert any("1 person(s) have no ties ('loner')" in m for m in messages), messages


def test_roles_without_any_manager_run_without_managers_with_a_warning(tmp_path):
    nodes = write(tmp_path, "people.csv", "id,role\na,employee\nb,champion\nc,\n")
    edges = write(tmp_path, "ties.csv", "source,target\na,b\nb,c\n")
    org, messages = warned(lambda: loaders.load_network(edges, nodes))
    assert not org.is_manager.any()
    assert any("nobody is a manager" in m and "people.csv" in m for m in messages), messages
    result, _ = warned(
        lambda: sim.simulate(
            ["org=file", f"org.path={edges}", f"org.nodes_path={nodes}", "weeks=5"]
        )
    )
    assert result.summary["agents"] == 3


def test_a_clean_file_loads_without_warnings(tmp_path):
    nodes = write(tmp_path, "people.csv", "id,role,manager\nm,manager,\na,,m\nb,champion,m\n")
    edges = write(tmp_path, "ties.csv", "source,target\na,b\n")
    _, messages = warned(lambda: loaders.load_network(edges, nodes))
    assert messages == []
