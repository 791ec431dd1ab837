"""Real organisations from files: a tie list (CSV edge list or GraphML) or an HR org chart.

Files are parsed with pandas, column-wise, so a million-tie edge list loads in under two seconds;
every message about a row still names the file and its line (1-based, the header is line 1).
Line numbers assume no quoted field spans several lines.

Ids may be any non-blank strings; an id that is a whole number ("7", "007") is read as the
integer 7, so a nodes file and an edge list that write numbers differently still agree.
Ids are numbered 0..n-1 in order of first appearance (the nodes file or org chart first).

What is wrong in a file raises :class:`InputError` naming the config key (``org.path``,
``org.nodes_path``, ``org.ties_path``), the file, the line, the bad value and what is allowed.
What can be repaired without guessing is repaired with a warning that says how much and where
the first case is: self-loops and repeated ties are dropped, isolated people are kept (and
named), and a file that gives roles or reporting lines but no manager runs without managers.
An org chart in which nobody has a manager is refused. docs/RELIABILITY.md lists every case.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import stat
import warnings
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import InputError
from models.organisation import CHAMPION, ROLE_NAMES, Organisation, climb

_DELIMITERS = {",": "','", ";": "';'", "\t": "a tab"}
_UNASSIGNED = "unassigned"
#: Longest header line read (characters): a real header is a few column names; reading an
#: endless line (a file with no line breaks) would otherwise fill memory.
MAX_HEADER = 65_536
#: What a path that is not a regular file is, for messages.
_SPECIAL = {
    stat.S_ISCHR: "character device",
    stat.S_ISBLK: "block device",
    stat.S_ISFIFO: "named pipe (FIFO)",
    stat.S_ISSOCK: "socket",
}


#: Largest settings file (YAML: a programme file, a dashboard scenario) read, in bytes. A
#: programme file is a few hundred bytes and the largest shipped one under 2 KiB; a megabyte
#: is hundreds of times any real one, yet small enough to read whole and check line by line
#: before YAML parses it (a parser holds several times a file's size as Python objects).
MAX_SETTINGS_BYTES = 2**20


def file_problem(
    label: str,
    path: str | os.PathLike,
    what: str = "a network file",
    max_bytes: int | None = None,
) -> str | None:
    """Why ``path`` cannot be read as ``what`` (``label`` starts the message), or None.

    Only regular files are read: a device such as ``/dev/zero`` never ends and would fill
    memory, and a named pipe blocks until something writes to it. Checked before opening, so
    neither is ever opened. Every file the project reads from a user's setting goes through
    this: network files, usage exports, programme and dashboard scenario files.

    With ``max_bytes`` (settings files, ``MAX_SETTINGS_BYTES``) the file is also refused when
    it is larger than that, or has a line longer than ``MAX_HEADER`` characters (the most of a
    line a network file's reader takes), before anything parses it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return f"{label}: no such file"
    except OSError as error:
        return f"{label}: cannot read the file ({error.strerror})"
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        return f"{label} is a folder; give {what}"
    for test, kind in _SPECIAL.items():
        if test(mode):
            return f"{label} is a {kind}, not a regular file; give {what}"
    if max_bytes is None:
        return None
    if info.st_size > max_bytes:
        return (
            f"{label}: {info.st_size:,} bytes, more than the {max_bytes:,} bytes allowed for "
            f"{what}; give {what}"
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        return f"{label}: cannot read the file ({error.strerror})"
    if len(data) > max_bytes:  # grew since it was measured
        return f"{label}: more than the {max_bytes:,} bytes allowed for {what}; give {what}"
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if len(line) > MAX_HEADER:
            return (
                f"{label} line {number}: longer than {MAX_HEADER:,} characters, the longest "
                f"line allowed in {what}; give {what}"
            )
    return None


@dataclass(frozen=True)
class _Table:
    """The requested columns of a CSV file, blank lines dropped, each row's file line kept."""

    label: str
    columns: dict[str, pd.Series]
    line: np.ndarray

    def at(self, row: int) -> str:
        return f"{self.label} line {self.line[row]}"


@dataclass(frozen=True)
class _People:
    """Who is in the organisation and what a file says about them (None: not given)."""

    ids: pd.Index
    role: np.ndarray | None = None
    department: pd.Series | None = None
    manager_of: np.ndarray | None = None


def read_header(label: str, path: str, what: str = "a network file") -> str:
    """The first line of the CSV file ``path`` (``InputError`` naming ``label`` if it is not a
    regular file, not UTF-8, empty, or its first line is blank or longer than ``MAX_HEADER``
    characters, which is read no further)."""
    problem = file_problem(label, path, what)
    if problem:
        raise InputError(problem)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            header = handle.readline(MAX_HEADER + 1)
            if len(header) > MAX_HEADER:
                raise InputError(
                    f"{label} line 1: longer than {MAX_HEADER:,} characters; the first line "
                    "must be the header (column names)"
                )
            empty = not header.strip() and not handle.read(1 << 16).strip()
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{label}: not a UTF-8 text file") from None
    except OSError as error:
        raise InputError(f"{label}: cannot read the file ({error.strerror})") from None
    if empty:
        raise InputError(f"{label}: the file is empty; it needs a header line and rows")
    if not header.strip():
        raise InputError(f"{label} line 1: blank; the first line must be the header")
    return header.rstrip("\r\n")


def _read_csv(
    key: str, path: str | os.PathLike, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> _Table:
    """Read the ``required`` and ``optional`` columns (header names case-insensitive) as
    stripped strings, sniffing the delimiter as the one of ``, ; tab`` that yields the
    required columns."""
    path = os.fspath(path)
    label = f"org.{key}: {path}"
    header = read_header(label, path)
    splits = {
        d: [c.strip().lower() for c in next(csv.reader([header], delimiter=d))] for d in _DELIMITERS
    }
    found = [d for d, names in splits.items() if set(required) <= set(names)]
    if not found:
        widest = max(splits.values(), key=len)
        raise InputError(
            f"{label} line 1: the header needs columns {', '.join(required)}"
            f"{' (optional: ' + ', '.join(optional) + ')' if optional else ''}; "
            f"found {', '.join(repr(c) for c in widest)} — columns must be separated by "
            f"{', '.join(_DELIMITERS.values())}"
        )
    delimiter, names = found[0], splits[found[0]]
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=0,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            index_col=False,
        )
    except pd.errors.ParserError as error:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if ragged:
            want, line, saw = ragged.groups()
            raise InputError(
                f"{label} line {line}: {saw} fields but the header has {want}; "
                f"separate fields with {_DELIMITERS[delimiter]} and quote values containing it"
            ) from None
        raise InputError(f"{label}: cannot parse the file: {error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{label}: not a UTF-8 text file") from None
    columns = {
        name: frame.iloc[:, names.index(name)].fillna("").astype(str).str.strip()
        for name in (*required, *optional)
        if name in names
    }
    filled = np.logical_or.reduce([c.to_numpy() != "" for c in columns.values()])
    columns = {name: c[filled].reset_index(drop=True) for name, c in columns.items()}
    return _Table(label, columns, np.flatnonzero(filled) + 2)


def _normalise_ids(values: pd.Series) -> pd.Series:
    """Whole-number ids become ints (so "07" and "7" agree); other ids stay strings."""
    values = values.astype(object)
    numeric = values.astype(str).str.fullmatch(r"[+-]?\d+").to_numpy(dtype=bool)
    values[numeric] = values[numeric].map(int)
    return values


def _id_column(table: _Table, column: str) -> pd.Series:
    """A column of ids that must not be blank."""
    raw = table.columns[column]
    blank = np.flatnonzero(raw.to_numpy() == "")
    if blank.size:
        row = blank[0]
        others = [raw.iloc[row]] + [c.iloc[row] for c in table.columns.values()]
        mixed = [name for d, name in _DELIMITERS.items() if any(d in v for v in others)]
        hint = (
            f" (it holds {mixed[0]}: separate every line's fields as the header's are)"
            if mixed
            else ""
        )
        raise InputError(f"{table.at(row)}: {column} is blank; every row needs one{hint}")
    return _normalise_ids(raw)


def _index_of(ids: pd.Series, table: _Table, column: str) -> pd.Index:
    """The people listed in ``column``, which must each appear once."""
    if not len(ids):
        raise InputError(f"{table.label}: no people listed below the header")
    repeated = np.flatnonzero(ids.duplicated().to_numpy())
    if repeated.size:
        row = repeated[0]
        first = np.flatnonzero((ids == ids.iloc[row]).to_numpy())[0]
        raise InputError(
            f"{table.at(row)}: {column} {ids.iloc[row]!r} is listed again "
            f"(first on line {table.line[first]}); each person must appear once"
        )
    return pd.Index(ids, dtype=object)


def _codes(
    ids: pd.Series, people: pd.Index, table: _Table, column: str, listed_in: str
) -> np.ndarray:
    """Positions of ``ids`` among ``people``; an id not among them is an error."""
    codes = people.get_indexer(ids)
    unknown = np.flatnonzero(codes < 0)
    if unknown.size:
        row = unknown[0]
        raise InputError(
            f"{table.at(row)}: {column} {ids.iloc[row]!r} is not a person in {listed_in}; "
            f"ids must be listed there"
        )
    return codes.astype(np.int64)


def _role_codes(values: pd.Series, place: Callable[[int], str]) -> np.ndarray:
    """Role names (case-insensitive, blank = employee) to codes of ``ROLE_NAMES``."""
    lowered = values.astype(str).str.strip().str.lower().replace("", ROLE_NAMES[0])
    codes = pd.Index(ROLE_NAMES).get_indexer(lowered)
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        raise InputError(
            f"{place(bad[0])}: role {values.iloc[bad[0]]!r} is not one of {', '.join(ROLE_NAMES)}"
        )
    return codes.astype(np.int8)


def _departments(values: pd.Series | None, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Department names to codes in order of first appearance; blank or absent → unassigned."""
    if values is None:
        return np.zeros(n, dtype=np.int64), (_UNASSIGNED,)
    names = values.astype(str).str.strip().replace("", _UNASSIGNED)
    codes, uniques = pd.factorize(names)
    return codes.astype(np.int64), tuple(str(u) for u in uniques)


def _reporting_lines(
    managers: pd.Series, people: pd.Index, table: _Table, column: str
) -> np.ndarray:
    """``manager_of`` from a column of managers' ids (blank for none), checked to be a forest."""
    blank = managers.to_numpy() == ""
    manager_of = np.full(len(people), -1, dtype=np.int64)
    rows = np.flatnonzero(~blank)
    named = _normalise_ids(managers[~blank]).reset_index(drop=True)
    found = people.get_indexer(named)
    if (found < 0).any():
        row = rows[np.flatnonzero(found < 0)[0]]
        raise InputError(
            f"{table.at(row)}: {column} {managers.iloc[row]!r} is not a person in this file; "
            "a manager must have a row of their own (leave it blank for the top)"
        )
    manager_of[rows] = found
    own = np.flatnonzero(manager_of == np.arange(len(people)))
    if own.size:
        raise InputError(f"{table.at(own[0])}: {people[own[0]]!r} is their own manager")
    top = climb(np.where(manager_of >= 0, manager_of, np.arange(len(people))))
    looped = np.flatnonzero(manager_of[top] >= 0)
    if looped.size:
        person = top[looped[0]]
        chain, step = [person], manager_of[person]
        while step != person and len(chain) < 6:
            chain.append(step)
            step = manager_of[step]
        shown = " → ".join(repr(people[p]) for p in chain) + (" → …" if step != person else "")
        raise InputError(
            f"{table.at(person)}: {people[person]!r} is in a reporting cycle "
            f"({shown} → {people[person]!r}); reporting lines must lead up to a person "
            "with a blank manager"
        )
    return manager_of


def _read_people(nodes_path: str | os.PathLike) -> _People:
    table = _read_csv("nodes_path", nodes_path, ("id",), ("role", "department", "manager"))
    people = _index_of(_id_column(table, "id"), table, "id")
    columns = table.columns
    role = _role_codes(columns["role"], table.at) if "role" in columns else None
    manager_of = (
        _reporting_lines(columns["manager"], people, table, "manager")
        if "manager" in columns
        else None
    )
    if role is not None and manager_of is not None:
        managing = (role == CHAMPION) & np.isin(np.arange(len(people)), manager_of)
        if managing.any():
            warnings.warn(
                f"{table.label}: {managing.sum()} person(s) marked champion have direct "
                "reports; they count as managers, not champions",
                stacklevel=3,
            )
    return _People(people, role, columns.get("department"), manager_of)


def _read_ties(
    key: str, path: str | os.PathLike, people: pd.Index | None, listed_in: str
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Ties of an edge-list CSV as index pairs; without ``people``, ids are numbered in order
    of first appearance and returned as the new index."""
    table = _read_csv(key, path, ("source", "target"))
    source, target = _id_column(table, "source"), _id_column(table, "target")
    if people is None:
        if not len(source):
            raise InputError(f"{table.label}: no ties below the header")
        pairs = np.column_stack([source.to_numpy(), target.to_numpy()]).ravel()
        codes, uniques = pd.factorize(pd.Series(pairs, dtype=object))
        people = pd.Index(uniques, dtype=object)
        src, dst = codes[0::2].astype(np.int64), codes[1::2].astype(np.int64)
    else:
        src = _codes(source, people, table, "source", listed_in)
        dst = _codes(target, people, table, "target", listed_in)
    _warn_repairs(table.label, src, dst, len(people), lambda row: f"line {table.line[row]}")
    return src, dst, people


def _read_graphml(path: str) -> tuple[np.ndarray, np.ndarray, _People]:
    import networkx as nx  # here: only GraphML files need it

    label = f"org.path: {path}"
    problem = file_problem(label, path)
    if problem:
        raise InputError(problem)
    try:
        graph = nx.read_graphml(path)
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except (ElementTree.ParseError, nx.NetworkXError, ValueError, KeyError) as error:
        raise InputError(f"{label}: not valid GraphML: {error}") from None
    except OSError as error:
        raise InputError(f"{label}: cannot read the file ({error.strerror})") from None
    names = list(graph.nodes)
    if not names:
        raise InputError(f"{label}: the graph has no nodes")
    people = pd.Index(_normalise_ids(pd.Series(names, dtype=object)), dtype=object)
    if people.has_duplicates:
        twice = people[people.duplicated()][0]
        raise InputError(f"{label}: two nodes have ids that both read as the number {twice}")
    position = {name: i for i, name in enumerate(names)}
    edges = np.array([(position[u], position[v]) for u, v in graph.edges()], dtype=np.int64)
    edges = edges.reshape(-1, 2)

    def attribute(name: str) -> pd.Series | None:
        values = [graph.nodes[v].get(name) for v in names]
        if all(v is None for v in values):
            return None
        return pd.Series(["" if v is None else str(v) for v in values], dtype=object)

    role = attribute("role")
    _warn_repairs(
        label,
        edges[:, 0],
        edges[:, 1],
        len(names),
        lambda row: f"the edge {names[edges[row, 0]]!r}–{names[edges[row, 1]]!r}",
    )
    return (
        edges[:, 0],
        edges[:, 1],
        _People(
            ids=people,
            role=None
            if role is None
            else _role_codes(role, lambda i: f"{label}: node {names[i]!r}"),
            department=attribute("department"),
        ),
    )


def _warn_repairs(
    label: str, src: np.ndarray, dst: np.ndarray, n: int, where: Callable[[int], str]
) -> None:
    """Warn about the self-loops and repeated ties that ``Organisation.from_edges`` drops,
    with how many and where the first one is (``where(row)``: a file line, or a node)."""
    loops = np.flatnonzero(src == dst)
    low, high = np.minimum(src, dst), np.maximum(src, dst)
    pair = pd.Series(low * n + high)
    repeated = np.flatnonzero(pair.duplicated().to_numpy() & (src != dst))
    if loops.size:
        warnings.warn(
            f"{label}: dropped {loops.size} self-loop(s) (a tie from a person to themself; "
            f"the first on {where(loops[0])})",
            stacklevel=4,
        )
    if repeated.size:
        first = np.flatnonzero((pair == pair.iloc[repeated[0]]).to_numpy())[0]
        warnings.warn(
            f"{label}: dropped {repeated.size} repeated tie(s) (ties are undirected, so a→b and "
            f"b→a count as one; the first on {where(repeated[0])}, a repeat of {where(first)})",
            stacklevel=4,
        )


def _warn_isolated(org: Organisation, label: str) -> Organisation:
    isolated = np.flatnonzero(org.degree == 0)
    if isolated.size:
        ids = org.node_ids or tuple(range(org.n))
        shown = ", ".join(repr(ids[i]) for i in isolated[:3]) + (", …" if isolated.size > 3 else "")
        warnings.warn(
            f"{label}: {isolated.size} person(s) have no ties ({shown}); they are kept, and can "
            "only adopt on their own",
            stacklevel=3,
        )
    return org


def _assign_neighbouring_managers(org: Organisation) -> np.ndarray:
    """Without a manager column, give each non-manager the manager they are tied to who has
    the most ties (lowest index on a tie), so role modelling has someone to act on."""
    a = org.adjacency
    rows = np.repeat(np.arange(org.n), np.diff(a.indptr))
    cols = a.indices
    candidate = ~org.is_manager[rows] & org.is_manager[cols]
    rows, cols = rows[candidate], cols[candidate]
    order = np.lexsort((cols, -org.degree[cols], rows))
    rows, cols = rows[order], cols[order]
    first = np.r_[True, rows[1:] != rows[:-1]] if rows.size else np.empty(0, dtype=bool)
    manager_of = np.full(org.n, -1, dtype=np.int64)
    manager_of[rows[first]] = cols[first]
    return manager_of


def load_network(
    path: str | os.PathLike, nodes_path: str | os.PathLike | None = None
) -> Organisation:
    """An organisation from a tie list: CSV with ``source,target`` columns, or ``.graphml``.

    The optional nodes CSV (column ``id``; optional ``role`` = employee|champion|manager,
    ``department``, ``manager`` = the manager's id) lists everyone, including people with no
    ties; GraphML carries ``role`` and ``department`` as node attributes instead. If roles are
    given but no manager column, each non-manager tied to a manager is assigned to the one
    with the most ties — a repair, so that managers have teams to lead.
    """
    path = os.fspath(path)
    if path.lower().endswith(".graphml"):
        if nodes_path is not None:
            raise InputError(
                f"org.nodes_path: {os.fspath(nodes_path)}: a nodes file is only read with a CSV "
                "edge list; GraphML carries role and department as node attributes"
            )
        src, dst, people = _read_graphml(path)
    elif nodes_path is None:
        src, dst, ids = _read_ties("path", path, None, "")
        people = _People(ids=ids)
    else:
        people = _read_people(nodes_path)
        src, dst, _ = _read_ties("path", path, people.ids, f"the nodes file {nodes_path}")
    department, department_names = _departments(people.department, len(people.ids))
    org = Organisation.from_edges(
        len(people.ids),
        src,
        dst,
        manager_of=people.manager_of,
        department=department,
        department_names=department_names,
        role_hint=people.role,
        node_ids=tuple(people.ids),
        kind="file",
    )
    if (people.role is not None or people.manager_of is not None) and not org.is_manager.any():
        key, source = ("nodes_path", nodes_path) if nodes_path is not None else ("path", path)
        warnings.warn(
            f"org.{key}: {os.fspath(source)}: nobody is a manager (no one has the role manager "
            "or a direct report); the run goes on without managers, so role modelling by "
            "managers and manager-led interventions (sense_making) have no effect",
            stacklevel=2,
        )
    elif people.role is not None and people.manager_of is None:
        org = dataclasses.replace(org, manager_of=_assign_neighbouring_managers(org))
        assigned = int((org.manager_of >= 0).sum())
        key, source = ("nodes_path", nodes_path) if nodes_path is not None else ("path", path)
        warnings.warn(
            f"org.{key}: {os.fspath(source)} gives roles but no managers: {assigned} people "
            "were assigned to the manager they are tied to with the most ties",
            stacklevel=2,
        )
    return _warn_isolated(org, f"org.path: {path}")


def load_orgchart(
    path: str | os.PathLike,
    ties_path: str | os.PathLike | None = None,
    *,
    rng: np.random.Generator,
    team_density: float = 0.8,
    informal_degree: float = 4.0,
    department_bias: float = 0.8,
) -> Organisation:
    """An organisation from an HR org chart (``employee_id, manager_id[, department]``).

    The reporting lines and departments come from the chart; team ties and, unless a ties
    file is given, informal ties are drawn by the same rules as the ``hierarchy`` generator.
    ``ties_path`` is an edge list of employee ids (the ``load_network`` format) that replaces
    the drawn informal ties with observed ones.
    """
    # Imported here, not above: generators imports this module to list the loaders.
    from models.generators import informal_ties, number, team_ties

    path = os.fspath(path)
    team_density = number("team_density", team_density, 0.0, 1.0)
    informal_degree = number("informal_degree", informal_degree, 0.0)
    department_bias = number("department_bias", department_bias, 0.0, 1.0)
    table = _read_csv("path", path, ("employee_id", "manager_id"), ("department",))
    people = _index_of(_id_column(table, "employee_id"), table, "employee_id")
    if len(people) < 2:
        raise InputError(f"{table.label}: an org chart needs at least 2 employees")
    manager_of = _reporting_lines(table.columns["manager_id"], people, table, "manager_id")
    if not (manager_of >= 0).any():
        raise InputError(
            f"{table.label} lines {table.line[0]}–{table.line[-1]}: every manager_id is blank, "
            "so nobody reports to anyone; an org chart needs each employee's manager "
            "(blank only for the top of the organisation)"
        )
    department, department_names = _departments(table.columns.get("department"), len(people))
    team_src, team_dst = team_ties(rng, manager_of, team_density)
    if ties_path is None:
        other_src, other_dst = informal_ties(rng, department, informal_degree, department_bias)
    else:
        other_src, other_dst, _ = _read_ties(
            "ties_path", ties_path, people, f"the org chart {path}"
        )
    org = Organisation.from_edges(
        len(people),
        np.concatenate([team_src, other_src]),
        np.concatenate([team_dst, other_dst]),
        manager_of=manager_of,
        department=department,
        department_names=department_names,
        node_ids=tuple(people),
        kind="orgchart",
    )
    return _warn_isolated(org, table.label)
