"""Where each person sits in the dashboard's network picture: a radial tree that reads as an
organisation.

A force-directed (spring) layout is the usual default for networks, but it costs minutes at
10,000 people, moves with every seed, and shows a hairball in which nobody can find a team.
An organisation already has a shape — its reporting lines — so the layout uses them: the top
of the hierarchy in the centre, each level of management on a ring further out, every
manager's reports in a wedge under them (so departments are slices of the disc and teams are
short arcs), and the informal ties across teams drawn faintly on top. Networks without
reporting lines (small-world, scale-free, random, complete, an edge list) get the same
picture from a breadth-first spanning tree grown from the best-connected person of each
connected component; their remaining ties are the faint ones.

Everything is array arithmetic over the levels of the tree, so 1,000 people take a few
milliseconds and 10,000 a few tens of milliseconds. The positions depend on the organisation
alone; the seed only picks which faint ties are drawn when there are too many to draw them
all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components

from models.organisation import Organisation

#: Radial offsets that spread the people of one crowded ring over three close sub-rings, so
#: the members of a team do not sit on top of each other at the rim.
STAGGER = (0.0, 0.28, 0.56)

#: The most faint ties drawn; beyond this a seeded sample is drawn (a complete graph of
#: 5,000 people has 12.5 million ties, which no picture can show).
MAX_TIES = 20_000


@dataclass(frozen=True, eq=False)
class OrgLayout:
    """Positions, and the ties to draw.

    ``xy`` is (n, 2), within the unit disc; ``parent`` the tree the layout follows (reporting
    lines, or the spanning tree), -1 at a root; ``depth`` the number of steps up to one's root
    (the ring one sits on; several roots sit on ring 1 around an empty centre); ``ties`` the
    (m, 2) pairs of people joined by the other ties (cross-team ties in a hierarchy, non-tree
    ties otherwise), possibly sampled (``ties_shown`` of ``ties_total``).
    """

    xy: np.ndarray
    parent: np.ndarray
    depth: np.ndarray
    ties: np.ndarray
    ties_total: int
    from_hierarchy: bool

    @property
    def ties_shown(self) -> int:
        return len(self.ties)

    @property
    def tree_pairs(self) -> np.ndarray:
        """(n - roots, 2) pairs (manager or tree parent, person)."""
        child = np.flatnonzero(self.parent >= 0)
        return np.column_stack([self.parent[child], child])

    def segments(self, pairs: np.ndarray) -> np.ndarray:
        """(m, 2, 2) line segments of ``pairs`` for matplotlib's ``LineCollection``."""
        return np.stack([self.xy[pairs[:, 0]], self.xy[pairs[:, 1]]], axis=1)


def spanning_forest(adjacency: sp.csr_array) -> np.ndarray:
    """Breadth-first spanning forest: each component rooted at its best-connected person
    (lowest index on ties), as a parent array with -1 at the roots.

    One breadth-first search from a virtual node tied to every component's root covers all
    components at once, however many isolated people there are.
    """
    n = adjacency.shape[0]
    degree = np.diff(adjacency.indptr)
    _, label = connected_components(adjacency, directed=False)
    by_degree = np.lexsort((np.arange(n), -degree))  # best-connected first, then by index
    _, first = np.unique(label[by_degree], return_index=True)
    roots = by_degree[first]
    virtual = sp.csr_array(
        (np.ones(roots.size), (np.full(roots.size, n), roots)), shape=(n + 1, n + 1)
    )
    grown = sp.block_diag((adjacency, sp.csr_array((1, 1)))).tocsr() + virtual + virtual.T
    _, predecessor = breadth_first_order(grown, n, directed=False, return_predecessors=True)
    parent = predecessor[:n].astype(np.int64)
    parent[parent == n] = -1
    return parent


def depths(parent: np.ndarray) -> np.ndarray:
    """Number of steps from each person up to their root, one vectorised step per level."""
    depth = np.zeros(parent.size, dtype=np.int64)
    up = parent.copy()
    while (below := up >= 0).any():
        depth[below] += 1
        up[below] = parent[up[below]]
    return depth


def _subtree_sizes(parent: np.ndarray, depth: np.ndarray) -> np.ndarray:
    size = np.ones(parent.size, dtype=np.float64)
    for d in range(int(depth.max(initial=0)), 0, -1):
        level = np.flatnonzero(depth == d)
        size += np.bincount(parent[level], weights=size[level], minlength=parent.size)
    return size


def _wedges(parent: np.ndarray, depth: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Angle at the middle of each person's wedge. Roots share the full circle and each
    person's reports share their wedge, in proportion to the people under them, in index
    order (so teams stay together and the picture does not depend on anything random)."""
    n = parent.size
    start = np.zeros(n)
    width = np.zeros(n)
    roots = np.flatnonzero(parent < 0)
    width[roots] = 2 * np.pi * size[roots] / size[roots].sum()
    start[roots] = np.cumsum(width[roots]) - width[roots]
    for d in range(1, int(depth.max(initial=0)) + 1):
        level = np.flatnonzero(depth == d)
        level = level[np.argsort(parent[level], kind="stable")]  # siblings together
        boss = parent[level]
        running = np.cumsum(size[level])
        group_first = np.flatnonzero(np.r_[True, boss[1:] != boss[:-1]])
        offset = np.repeat(
            running[group_first] - size[level][group_first], np.diff(np.r_[group_first, level.size])
        )
        before = running - size[level] - offset  # people in earlier siblings' subtrees
        share = width[boss] / (size[boss] - 1)
        start[level] = start[boss] + before * share
        width[level] = size[level] * share
    return start + width / 2


def _rank_among_siblings(parent: np.ndarray) -> np.ndarray:
    order = np.lexsort((np.arange(parent.size), parent))
    boss = parent[order]
    first = np.flatnonzero(np.r_[True, boss[1:] != boss[:-1]])
    rank = np.empty(parent.size, dtype=np.int64)
    rank[order] = np.arange(parent.size) - np.repeat(first, np.diff(np.r_[first, parent.size]))
    return rank


def _other_ties(
    org: Organisation, parent: np.ndarray, from_hierarchy: bool, seed: int, max_ties: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The ties drawn faintly, each once (i < j), and how many there are in all.

    Reads them straight from the sparse rows; when there are more than ``max_ties``, a seeded
    sample of the stored entries is taken first, so a complete graph of 5,000 people costs no
    more than a small one.
    """
    matrix = org.cross_team if from_hierarchy else org.tie_matrix()
    entries = np.arange(matrix.nnz)
    if matrix.nnz > 4 * max_ties:
        rng = np.random.default_rng(seed)
        entries = np.unique(rng.choice(matrix.nnz, 4 * max_ties, replace=False))
    src = np.searchsorted(matrix.indptr, entries, side="right") - 1
    dst = matrix.indices[entries].astype(np.int64)
    keep = src < dst
    if not from_hierarchy:  # the tree's own edges are drawn already
        keep &= (parent[src] != dst) & (parent[dst] != src)
    src, dst = src[keep], dst[keep]
    tree_ties = 0 if from_hierarchy else int(np.count_nonzero(parent >= 0))
    total = matrix.nnz // 2 - tree_ties
    if src.size > max_ties:
        pick = np.sort(np.random.default_rng(seed).choice(src.size, max_ties, replace=False))
        src, dst = src[pick], dst[pick]
    return src, dst, total


def org_layout(org: Organisation, seed: int = 0, max_ties: int = MAX_TIES) -> OrgLayout:
    """The radial organisational layout of ``org`` (see the module docstring)."""
    from_hierarchy = org.has_hierarchy
    parent = (
        np.asarray(org.manager_of, dtype=np.int64).copy()
        if from_hierarchy
        else spanning_forest(org.tie_matrix())
    )
    depth = depths(parent)
    size = _subtree_sizes(parent, depth)
    angle = _wedges(parent, depth, size)
    several_roots = np.count_nonzero(parent < 0) > 1
    radius = depth + (1.0 if several_roots else 0.0)
    leaf = size == 1
    radius = radius + np.where(leaf, np.take(STAGGER, _rank_among_siblings(parent) % 3), 0.0)
    radius[(parent < 0) & ~several_roots] = 0.0
    xy = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    xy /= max(float(np.hypot(*xy.T).max(initial=0.0)), 1e-9)
    src, dst, total = _other_ties(org, parent, from_hierarchy, seed, max_ties)
    return OrgLayout(
        xy=xy,
        parent=parent,
        depth=depth,
        ties=np.column_stack([src, dst]),
        ties_total=total,
        from_hierarchy=from_hierarchy,
    )


@dataclass(frozen=True, eq=False)
class Groups:
    """People gathered into groups, for the picture of a large organisation: at several
    thousand people one dot each is a grey ring (hierarchy) or a hairball (other networks),
    so the page draws each group as one circle, its area the group's size and its slices the
    group's stage mix.

    A group is made of whole branches of the layout's tree (a manager and everyone under
    them, in a hierarchy): the largest branches of at most ``target`` people, with small
    sibling branches packed together in bins of ``target`` (the leaves around a hub of a
    scale-free network, the teams under one manager), in the order they sit on the disc; the
    few people above every such branch (top managers, hubs) are groups of one. ``of`` is each
    person's group, ``head`` the person at the top of each group's first branch, ``members``
    the people per group, ``xy`` and ``radius`` each group's circle (``_spread``), ``tree``
    the (group above, group) pairs of the tree and ``ties`` the (m, 2) pairs of
    groups with other ties between them, the most connected first (at most ``max_ties``),
    with their number in ``weight``.
    """

    of: np.ndarray
    head: np.ndarray
    members: np.ndarray
    xy: np.ndarray
    radius: np.ndarray
    tree: np.ndarray
    ties: np.ndarray
    weight: np.ndarray

    @property
    def count(self) -> int:
        return self.head.size


#: Groups of one (the top managers, the hubs) stay where the tree puts them, inside this
#: radius; the other groups fill the ring from here to the rim.
INNER = 0.3
#: Share of the ring's area the groups' circles cover (the rest keeps them apart).
COVER = 0.45


def _spread(layout: OrgLayout, of: np.ndarray, members: np.ndarray, singles: np.ndarray):
    """Circles for the groups that fill the disc instead of crowding its rim: each group
    keeps the direction of its members (so departments stay slices of the disc) and takes a
    distance from the centre from a golden-ratio sequence in the order of direction, so
    neighbouring groups sit at different distances and the ring is covered evenly
    (the square root makes the density even per area). A circle's area is proportional to
    its group's size, together ``COVER`` of the ring. The groups of one above every branch
    keep their place in the tree, scaled into the centre."""
    count = members.size
    sums = np.column_stack([np.bincount(of, weights=layout.xy[:, k], minlength=count)
                            for k in (0, 1)])  # fmt: skip
    angle = np.arctan2(sums[:, 1], sums[:, 0])
    rest = np.flatnonzero(~singles)
    order = rest[np.argsort(angle[rest], kind="stable")]
    golden = (np.arange(order.size) * 0.6180339887498949) % 1.0
    distance = np.zeros(count)
    distance[order] = INNER + (1 - INNER) * np.sqrt(golden)
    xy = np.column_stack([distance * np.cos(angle), distance * np.sin(angle)])
    if singles.any():
        own = sums[singles] / members[singles, None]
        xy[singles] = own * (INNER / max(float(np.hypot(*own.T).max()), 1e-9)) * 0.9
    area = COVER * np.pi * (1 - INNER**2) * members / max(members[rest].sum(), 1)
    radius = np.sqrt(area / np.pi)
    radius[singles] = np.sqrt(COVER * np.pi * INNER**2 / max(singles.sum(), 1) / np.pi) * 0.5
    return xy, radius


def group_people(layout: OrgLayout, org: Organisation, target: int, max_ties: int) -> Groups:
    """Groups of about ``target`` people (fewer than twice as many) for ``org`` drawn with
    ``layout`` (see ``Groups``)."""
    parent = layout.parent
    n = parent.size
    size = _subtree_sizes(parent, layout.depth)
    big = size > target
    above = np.where(parent >= 0, big[np.maximum(parent, 0)], True)
    branch = ~big & above  # a largest small branch: its own size fits, its parent's does not
    top = np.where(big | branch, np.arange(n), parent)
    for _ in range(int(layout.depth.max(initial=0)) + 1):  # climb to the branch top above
        top = top[top]
    # pack sibling branches, in their order on the disc, into bins of about ``target`` people
    tops = np.flatnonzero(branch)
    tops = tops[np.lexsort((tops, parent[tops]))]
    boss = parent[tops]
    start = np.flatnonzero(np.r_[True, boss[1:] != boss[:-1]])
    running = np.cumsum(size[tops])
    before = running - size[tops] - np.repeat(running[start] - size[tops][start],
                                              np.diff(np.r_[start, tops.size]))  # fmt: skip
    bin_key = np.column_stack([boss, (before // target).astype(np.int64)])
    _, packed = np.unique(bin_key, axis=0, return_inverse=True)
    key = np.full(n, -1, dtype=np.int64)
    key[tops] = packed.ravel()
    singles = np.flatnonzero(big)
    key[singles] = packed.max(initial=-1) + 1 + np.arange(singles.size)
    _, of = np.unique(key[top], return_inverse=True)
    count = int(of.max(initial=-1)) + 1
    head = np.full(count, n, dtype=np.int64)
    np.minimum.at(head, of[top], top)  # each group's first branch top (lowest index)
    members = np.bincount(of, minlength=count)
    xy, radius = _spread(layout, of, members, singles=key[head] > packed.max(initial=-1))
    linked = head[parent[head] >= 0]
    tree = np.unique(np.column_stack([of[parent[linked]], of[linked]]), axis=0).reshape(-1, 2)
    a = org.tie_matrix().tocoo()
    src, dst = of[a.row], of[a.col]
    keep = src < dst
    pairs, weight = np.unique(np.column_stack([src[keep], dst[keep]]), axis=0, return_counts=True)
    order = np.argsort(-weight, kind="stable")[:max_ties]
    return Groups(
        of=of,
        head=head,
        members=members,
        xy=xy,
        radius=radius,
        tree=tree,
        ties=pairs[order].reshape(-1, 2),
        weight=weight[order],
    )
