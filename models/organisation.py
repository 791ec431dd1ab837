"""The organisation an agent population lives in: who is tied to whom, and who reports to whom.

Every generator and loader returns an :class:`Organisation`, so the model never needs to know
where a network came from. The class holds only what the model reads (a sparse adjacency for
neighbour sums, the formal reporting line, departments, optional roles from a file); what is
derived from them (teams, cross-team ties, degrees) is computed once, on first use, and cached.

The instance is frozen and its arrays are made read-only on construction: the cached derived
views would silently go stale if anyone edited the adjacency or the reporting line in place.
Whoever needs a modified network copies first (``org.adjacency.copy()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

#: Codes of ``Organisation.role_hint``, in code order.
ROLE_NAMES: tuple[str, ...] = ("employee", "champion", "manager")
EMPLOYEE, CHAMPION, MANAGER = range(3)


def climb(pointer: np.ndarray) -> np.ndarray:
    """Follow ``i → pointer[i] → pointer[pointer[i]] …`` for every i at once.

    Pointer doubling reaches any fixed point (``pointer[r] == r``) within ⌈log₂ n⌉ + 1
    vectorised steps, so even a chain of 100,000 managers costs 18 array lookups rather than a
    Python walk up the tree. A node whose path ends in a cycle ends on that cycle (not on a
    fixed point), which is how callers detect cycles.
    """
    p = np.asarray(pointer, dtype=np.int64)
    for _ in range(int(np.ceil(np.log2(max(p.size, 2)))) + 1):
        p = p[p]
    return p


def _freeze(*arrays: np.ndarray | None) -> None:
    for array in arrays:
        if array is not None:
            array.setflags(write=False)


@dataclass(frozen=True, eq=False)
class Organisation:
    """An organisational network of ``n`` people, indexed 0..n-1.

    ``adjacency`` is symmetric with entries 1.0, no self-loops, sorted indices and no
    duplicates; it includes the formal tie between each person and their manager.
    ``manager_of[i]`` is i's formal manager or -1 (the top of a hierarchy, or no hierarchy).
    ``role_hint`` carries roles given in a file (codes in :data:`ROLE_NAMES`); None means roles
    are decided by rule (managers have reports, champions are chosen by targeting).
    ``node_ids`` are the ids a file used, so messages and exports can speak the user's language.
    """

    adjacency: sp.csr_array
    manager_of: np.ndarray
    department: np.ndarray
    department_names: tuple[str, ...]
    role_hint: np.ndarray | None = None
    node_ids: tuple | None = None
    kind: str = ""
    #: Everyone tied to everyone, with no tie stored (``adjacency`` is empty): the model uses
    #: totals instead of sparse products (``models.neighbours.MeanField``), so memory is O(n).
    complete: bool = False

    def __post_init__(self) -> None:
        a = self.adjacency
        _freeze(a.data, a.indices, a.indptr, self.manager_of, self.department, self.role_hint)

    @classmethod
    def from_edges(
        cls,
        n: int,
        src: np.ndarray,
        dst: np.ndarray,
        manager_of: np.ndarray | None = None,
        department: np.ndarray | None = None,
        department_names: tuple[str, ...] | None = None,
        role_hint: np.ndarray | None = None,
        node_ids: tuple | None = None,
        kind: str = "",
    ) -> Organisation:
        """Build from a list of ties in any order or direction.

        Ties are symmetrised; self-loops and repeats are dropped silently (generators produce
        them by chance, and loaders count and report them before calling this). The formal tie
        between each person and their manager is added, because reporting to someone is a tie.
        Missing departments default to a single department "all"; ``department_names``
        defaults to "department <code>".
        """
        manager_of = (
            np.full(n, -1, dtype=np.int64)
            if manager_of is None
            else np.array(manager_of, dtype=np.int64)
        )
        managed = np.flatnonzero(manager_of >= 0)
        rows = np.concatenate([np.asarray(src, np.int64), managed])
        cols = np.concatenate([np.asarray(dst, np.int64), manager_of[managed]])
        if rows.size and (min(rows.min(), cols.min()) < 0 or max(rows.max(), cols.max()) >= n):
            raise ValueError(f"tie endpoints must lie in 0..{n - 1}")
        off_diagonal = rows != cols
        rows, cols = rows[off_diagonal], cols[off_diagonal]
        adjacency = sp.coo_array(
            (np.ones(2 * rows.size), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
            shape=(n, n),
        ).tocsr()
        adjacency.sum_duplicates()
        adjacency.data[:] = 1.0
        if department is None:
            department = np.zeros(n, dtype=np.int64)
            department_names = department_names or ("all",)
        department = np.array(department, dtype=np.int64)
        if department_names is None:
            department_names = tuple(f"department {d}" for d in range(department.max() + 1))
        return cls(
            adjacency=adjacency,
            manager_of=manager_of,
            department=department,
            department_names=tuple(department_names),
            role_hint=None if role_hint is None else np.array(role_hint, dtype=np.int8),
            node_ids=None if node_ids is None else tuple(node_ids),
            kind=kind,
        )

    @property
    def n(self) -> int:
        return self.adjacency.shape[0]

    @property
    def n_edges(self) -> int:
        """Number of undirected ties."""
        return self.n * (self.n - 1) // 2 if self.complete else self.adjacency.nnz // 2

    @cached_property
    def degree(self) -> np.ndarray:
        if self.complete:
            return np.full(self.n, self.n - 1, dtype=np.int64)
        return np.diff(self.adjacency.indptr).astype(np.int64)

    def tie_matrix(self) -> sp.csr_array:
        """The ties as a matrix, also for a complete organisation, which stores none: for
        drawing and for graph algorithms on small organisations (a complete one costs O(n²)
        memory here, so callers keep n small)."""
        if not self.complete:
            return self.adjacency
        n = self.n
        others = np.broadcast_to(np.arange(n, dtype=np.int32), (n, n))[~np.eye(n, dtype=bool)]
        indptr = np.arange(n + 1, dtype=np.int64) * (n - 1)
        return sp.csr_array((np.ones(others.size), others, indptr), shape=(n, n))

    def neighbours(self, i: int) -> np.ndarray:
        """Person i's contacts."""
        if self.complete:
            return np.delete(np.arange(self.n), i)
        a = self.adjacency
        return a.indices[a.indptr[i] : a.indptr[i + 1]]

    @property
    def has_hierarchy(self) -> bool:
        return bool((self.manager_of >= 0).any())

    @cached_property
    def is_manager(self) -> np.ndarray:
        """Who manages: anyone with a direct report, or marked manager in a file."""
        result = np.zeros(self.n, dtype=bool)
        result[self.manager_of[self.manager_of >= 0]] = True
        if self.role_hint is not None:
            result |= self.role_hint == MANAGER
        return result

    @cached_property
    def team(self) -> np.ndarray:
        """Team each person belongs to as a member: their manager's index, else their own.

        A manager *leads* the team whose id is their own index and is a *member* of their own
        manager's team, so the two teams a middle manager bridges have different ids.
        """
        return np.where(self.manager_of >= 0, self.manager_of, np.arange(self.n))

    @cached_property
    def leaves_team(self) -> np.ndarray:
        """For each stored tie of ``adjacency``, in its order: does it leave a team?

        A tie (i, j) is within-team when i and j are in the same team or one manages the other.
        The rule is symmetric, so the ties it marks are symmetric too.
        """
        a = self.adjacency
        rows = np.repeat(np.arange(self.n), np.diff(a.indptr))
        cols = a.indices
        team, boss = self.team, self.manager_of
        return (team[rows] != team[cols]) & (boss[cols] != rows) & (boss[rows] != cols)

    @cached_property
    def cross_team(self) -> sp.csr_array:
        """The ties of ``adjacency`` that leave a team (``leaves_team``): the informal, bridging
        part. Filtering each row's sorted indices keeps them sorted."""
        a, keep = self.adjacency, self.leaves_team
        rows = np.repeat(np.arange(self.n), np.diff(a.indptr))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=self.n))])
        result = sp.csr_array((np.ones(int(keep.sum())), a.indices[keep], indptr), shape=a.shape)
        _freeze(result.data, result.indices, result.indptr)
        return result

    def validate(self) -> None:
        """Raise ValueError listing every broken invariant; the model relies on all of them."""
        problems = []
        a, n = self.adjacency, self.n
        if not isinstance(a, sp.csr_array) or a.shape != (n, n) or a.dtype != np.float64:
            problems.append("adjacency must be a square float64 csr_array")
        if a.nnz and not np.all(a.data == 1.0):
            problems.append("adjacency entries must all be 1.0")
        if a.diagonal().any():
            problems.append("adjacency has self-loops")
        if (a != a.T).nnz:
            problems.append("adjacency is not symmetric")
        if not a.has_canonical_format:
            problems.append("adjacency has unsorted or duplicate indices")
        m = self.manager_of
        if m.dtype != np.int64 or m.shape != (n,) or m.min(initial=0) < -1 or m.max(initial=0) >= n:
            problems.append("manager_of must be int64 of shape (n,) with values in -1..n-1")
        else:
            managed = np.flatnonzero(m >= 0)
            if (m[managed] == managed).any():
                problems.append("someone is their own manager")
            elif (m[climb(np.where(m >= 0, m, np.arange(n)))] >= 0).any():
                problems.append("the reporting lines contain a cycle")
            elif managed.size and not np.all(a[managed, m[managed]] == 1.0):
                problems.append("a person is not tied to their manager")
        d = self.department
        n_departments = len(self.department_names)
        if d.dtype != np.int64 or d.shape != (n,) or d.min(initial=0) < 0:
            problems.append("department must be int64 of shape (n,) with non-negative codes")
        elif d.max(initial=0) >= n_departments:
            problems.append("a department code has no name")
        if len(set(self.department_names)) != n_departments:
            problems.append("department names repeat")
        r = self.role_hint
        if r is not None and (
            r.dtype != np.int8 or r.shape != (n,) or not np.isin(r, (0, 1, 2)).all()
        ):
            problems.append("role_hint must be int8 of shape (n,) with codes 0, 1, 2")
        if self.node_ids is not None and len(set(self.node_ids)) != n:
            problems.append("node_ids must be n distinct ids")
        if problems:
            raise ValueError("invalid Organisation: " + "; ".join(problems))
