"""Seeded organisation generators, and ``build``, which turns an ``org`` config into one.

Every generator takes a ``numpy.random.Generator`` first and draws all randomness from it
(networkx gets ``seed=int(rng.integers(2**32))``), so one seed fixes the network and
replications get different networks from independent streams.

``hierarchy`` is the model's own organisation (DESIGN §3): a management tree, dense team
ties, and informal ties that mostly stay inside a department. The tie samplers it uses,
:func:`team_ties` and :func:`informal_ties`, also serve the org-chart loader, so a generated
organisation and a real org chart get their ties by the same rules. :data:`BUILDERS` names
the loaders too, so ``org.generator`` can be a generator or a file format. The research graphs
(small-world, scale-free, random, complete) have no hierarchy and one department, "all".

Bad parameters raise :class:`InputError` naming the config key ``org.<param>``, because that
is what the user edits.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from itertools import chain
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from models.errors import InputError
from models.loaders import load_network, load_orgchart
from models.organisation import Organisation, climb

if TYPE_CHECKING:
    import networkx as nx

#: The most ties an organisation may store (12.5 million: about 0.3 GiB of float32 matrices,
#: with their indices, for the adjacency and the cross-team ties): a hierarchy's team ties and
#: informal ties are refused beyond it. A complete organisation stores none.
_MAX_TIES = 12_497_500


def whole(key: str, value: Any, low: int, high: int | None = None) -> int:
    """Check that ``org.<key>`` is a whole number in [low, high] and return it as int."""
    integral = not isinstance(value, bool) and (
        isinstance(value, Integral) or (isinstance(value, Real) and float(value).is_integer())
    )
    if not integral or not low <= value <= (np.inf if high is None else high):
        allowed = f"≥ {low}" if high is None else f"{low}..{high}"
        raise InputError(
            f"org.{key}: {value!r} is not allowed; it must be a whole number {allowed}"
        )
    return int(value)


def number(key: str, value: Any, low: float, high: float = np.inf) -> float:
    """Check that ``org.<key>`` is a finite number in [low, high] and return it as float."""
    ok_type = isinstance(value, Real) and not isinstance(value, bool)
    if not ok_type or not np.isfinite(value) or not low <= value <= high:
        allowed = f"between {low:g} and {high:g}" if high < np.inf else f"≥ {low:g} (finite)"
        raise InputError(f"org.{key}: {value!r} is not allowed; it must be a number {allowed}")
    return float(value)


def team_ties(
    rng: np.random.Generator, manager_of: np.ndarray, density: float
) -> tuple[np.ndarray, np.ndarray]:
    """Tie each pair of people with the same manager with probability ``density``.

    Members are sorted by manager so each team is a contiguous run; the loop runs over the
    offset between two members (at most the largest team size), each step vectorised over all
    teams at once. Ties to the manager are not drawn here: ``Organisation.from_edges`` adds
    them, because every reporting line is a tie.
    """
    managed = np.flatnonzero(manager_of >= 0)
    members = managed[np.argsort(manager_of[managed], kind="stable")]
    bosses = manager_of[members]
    starts = np.flatnonzero(np.diff(bosses, prepend=-1))
    ends = np.r_[starts[1:], bosses.size]
    team_end = np.repeat(ends, ends - starts)
    src, dst = [], []
    position = np.arange(members.size)
    offset = 1
    while (position := position[position + offset < team_end[position]]).size:
        keep = position[rng.random(position.size) < density]
        src.append(members[keep])
        dst.append(members[keep + offset])
        offset += 1
    none = np.empty(0, dtype=np.int64)
    return np.concatenate([none, *src]), np.concatenate([none, *dst])


def informal_ties(
    rng: np.random.Generator, department: np.ndarray, mean_degree: float, department_bias: float
) -> tuple[np.ndarray, np.ndarray]:
    """Informal ties: each person starts Poisson(mean_degree / 2) ties, so the mean is about
    ``mean_degree``.

    Each tie goes, with probability ``department_bias``, to a uniformly drawn other member of
    the starter's department, otherwise to a uniformly drawn other person anywhere (someone
    alone in their department always draws from everyone). Drawing from "everyone but me" by
    skipping one's own slot means no self-loops are ever wasted. In a small organisation
    repeated draws of a pair collapse into one tie, so the mean saturates below n - 1.
    """
    n = department.size
    if n * mean_degree / 2 > _MAX_TIES:
        raise InputError(
            f"org.informal_degree: {mean_degree:g} is too many for {n:,} people: they would "
            f"start about {n * mean_degree / 2:,.0f} ties, more than the {_MAX_TIES:,} this "
            f"model can tie; at this size use at most {2 * _MAX_TIES / n:,.0f}"
        )
    starter = np.repeat(np.arange(n), rng.poisson(mean_degree / 2, n))
    by_department = np.argsort(department, kind="stable")
    size = np.bincount(department)
    first = np.cumsum(size) - size
    rank = np.empty(n, dtype=np.int64)
    rank[by_department] = np.arange(n) - first[department[by_department]]
    d = department[starter]
    local = (rng.random(starter.size) < department_bias) & (size[d] > 1)
    own_slot = np.where(local, rank[starter], starter)
    slot = rng.integers(0, np.where(local, size[d], n) - 1)
    slot += slot >= own_slot
    partner = slot  # a slot among everyone is a person; a slot in a department is looked up
    partner[local] = by_department[first[d[local]] + slot[local]]
    return starter, partner


def _breadth_first_tree(size: int, span: int) -> np.ndarray:
    """``manager_of`` for a tree filled level by level, ``span`` reports per manager.

    Full levels are filled in order (the manager of node i is (i - 1) // span). The last level
    is usually only partly filled; filling it in order too would give all of it to the first
    departments (at 100k people and span 8, departments of 37k and 5k). Instead its teams go
    to the level above taken in turn across departments, so departments stay within one team
    of each other in size.
    """
    person = np.arange(size)
    manager_of = (person - 1) // span
    manager_of[0] = -1
    if span == 1:
        return manager_of
    start, width = 0, 1
    while start + width < size:
        start, width = start + width, width * span
    last = np.arange(start, size)
    if start == 0 or last.size == width:
        return manager_of
    above = np.arange(start - width // span, start)
    department = climb(np.where(manager_of > 0, manager_of, person))[above]
    first_of_department = np.searchsorted(department, department)  # ``above`` is sorted by it
    rank = np.arange(above.size) - first_of_department
    taking_turns = above[np.lexsort((department, rank))]
    manager_of[last] = taking_turns[(last - start) // span]
    return manager_of


def hierarchy(
    rng: np.random.Generator,
    size: int = 1000,
    span: int = 8,
    team_density: float = 0.8,
    informal_degree: float = 4.0,
    department_bias: float = 0.8,
) -> Organisation:
    """A management tree filled breadth-first, with team and informal ties.

    Node 0 is the top; every manager has ``span`` reports except in the last, partly filled
    level (see ``_breadth_first_tree``). Departments are the subtrees under node 0's direct
    reports: department code d is the subtree headed by node d (d = 1..min(span, size - 1)),
    named "department d". Node 0 belongs to no such subtree, so it sits alone in department 0,
    "executive" — putting the top in one department would bias that department's numbers.
    """
    size = whole("size", size, 2)
    span = whole("span", span, 1)
    team_density = number("team_density", team_density, 0.0, 1.0)
    informal_degree = number("informal_degree", informal_degree, 0.0)
    department_bias = number("department_bias", department_bias, 0.0, 1.0)
    full_teams, last_team = divmod(size - 1, span)
    peer_pairs = full_teams * span * (span - 1) // 2 + last_team * (last_team - 1) // 2
    if peer_pairs > _MAX_TIES:
        raise InputError(
            f"org.span: {span} is too wide for size {size}: teams would hold {peer_pairs:,} "
            f"pairs of peers, more than the {_MAX_TIES:,} this model can tie; use a smaller span"
        )
    manager_of = _breadth_first_tree(size, span)
    person = np.arange(size)
    department = climb(np.where(manager_of > 0, manager_of, person))
    names = ("executive", *(f"department {d}" for d in range(1, department.max() + 1)))
    team_src, team_dst = team_ties(rng, manager_of, team_density)
    informal_src, informal_dst = informal_ties(rng, department, informal_degree, department_bias)
    return Organisation.from_edges(
        size,
        np.concatenate([team_src, informal_src]),
        np.concatenate([team_dst, informal_dst]),
        manager_of=manager_of,
        department=department,
        department_names=names,
        kind="hierarchy",
    )


def _from_networkx(graph: nx.Graph, kind: str) -> Organisation:
    edges = np.fromiter(chain.from_iterable(graph.edges()), np.int64).reshape(-1, 2)
    return Organisation.from_edges(graph.number_of_nodes(), edges[:, 0], edges[:, 1], kind=kind)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**32))


def small_world(
    rng: np.random.Generator, size: int = 1000, k: int = 10, rewire: float = 0.1
) -> Organisation:
    """Watts–Strogatz ring: each person tied to k nearest neighbours, each tie rewired with
    probability ``rewire``."""
    size = whole("size", size, 2)
    k = whole("k", k, 0, size - 1)
    if k % 2:
        raise InputError(f"org.k: {k} is not allowed; it must be even (k/2 neighbours each side)")
    rewire = number("rewire", rewire, 0.0, 1.0)
    seed = _seed(rng)  # drawn also when unused, so that every stream after it stays the same
    if rewire == 0.0:  # the ring itself, whatever the seed: made directly, not tie by tie
        src = np.tile(np.arange(size), k // 2)
        dst = (src + np.repeat(np.arange(1, k // 2 + 1), size)) % size
        return Organisation.from_edges(size, src, dst, kind="small_world")
    import networkx as nx  # here: the default organisation (a hierarchy) needs none of it

    graph = nx.watts_strogatz_graph(size, k, rewire, seed=seed)
    return _from_networkx(graph, "small_world")


def scale_free(rng: np.random.Generator, size: int = 1000, m: int = 5) -> Organisation:
    """Barabási–Albert preferential attachment: each newcomer ties to m existing people."""
    size = whole("size", size, 2)
    m = whole("m", m, 1, size - 1)
    import networkx as nx

    return _from_networkx(nx.barabasi_albert_graph(size, m, seed=_seed(rng)), "scale_free")


def random(rng: np.random.Generator, size: int = 1000, mean_degree: float = 10.0) -> Organisation:
    """Erdős–Rényi G(n, p) with p = mean_degree / (size - 1), in O(n + ties) time."""
    size = whole("size", size, 2)
    mean_degree = number("mean_degree", mean_degree, 0.0, size - 1)
    p = mean_degree / (size - 1)
    if 1.0 - p == 1.0:  # p below float precision: networkx would divide by log(1 - p) = 0
        p = 0.0
    import networkx as nx

    graph = nx.fast_gnp_random_graph(size, p, seed=_seed(rng))
    return _from_networkx(graph, "random")


def complete(rng: np.random.Generator, size: int = 500) -> Organisation:
    """Everyone tied to everyone: the well-mixed limit. No tie is stored — the model sums over
    everyone instead (``models.neighbours.MeanField``) — so it costs O(size) memory and time a
    week. ``rng`` is unused but kept so all generators share one signature."""
    size = whole("size", size, 2)
    return Organisation(
        adjacency=sp.csr_array((size, size), dtype=np.float64),
        manager_of=np.full(size, -1, dtype=np.int64),
        department=np.zeros(size, dtype=np.int64),
        department_names=("all",),
        kind="complete",
        complete=True,
    )


GENERATORS: dict[str, Callable[..., Organisation]] = {
    "hierarchy": hierarchy,
    "small_world": small_world,
    "scale_free": scale_free,
    "random": random,
    "complete": complete,
}


#: Everything ``org.generator`` can name: the generators and the file loaders.
BUILDERS: dict[str, Callable[..., Organisation]] = {
    **GENERATORS,
    "file": load_network,
    "orgchart": load_orgchart,
}


def build(kind: str, params: dict[str, Any], rng: np.random.Generator) -> Organisation:
    """Make the organisation an ``org`` config node describes.

    ``kind`` is the node's ``generator``; ``params`` is the rest of the node. Generators and
    file loaders are dispatched alike, and ``params`` is checked against the chosen function's
    own signature, so a parameter exists exactly where a function accepts it (the config
    schemas are derived from the same signatures).
    """
    if kind not in BUILDERS:
        raise InputError(
            f"org.generator: unknown organisation {kind!r}; choose one of {', '.join(BUILDERS)}"
        )
    maker = BUILDERS[kind]
    signature = inspect.signature(maker).parameters
    accepted = [name for name in signature if name != "rng"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InputError(
            f"org.{unknown[0]}: not a parameter of org={kind}; "
            f"its parameters are {', '.join(accepted)}"
        )
    missing = [
        name
        for name in accepted
        if signature[name].default is inspect.Parameter.empty and name not in params
    ]
    if missing:
        raise InputError(f"org.{missing[0]}: required for org={kind} but not given")
    if "rng" in signature:
        return maker(rng=rng, **params)
    return maker(**params)
