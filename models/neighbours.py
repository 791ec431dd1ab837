"""Neighbour sums: what each person sees of their contacts, as sparse matrix products.

Every neighbour quantity of the weekly step (active, engaged and joined contacts, posts to read,
what contacts got out of it, engaged contacts in other teams, coaching, noise) is a sum over
one's contacts, i.e. a product of the adjacency matrix with a vector of the contacts' state.
``Network`` holds what the step needs, prepared once.

All of a week's sums over contacts come from one pass over the ties of the people who are
sources that week (``contact_sums``, compiled with Numba): every neighbour quantity comes from
active contacts, and in most weeks most people are not active, so a pass over the sources'
own ties (the matrix is symmetric) visits a fraction of them; and each tie adds every vector
at once, where SciPy's product reads the matrix once per vector (its product with a table of
vectors costs more per column than one with a vector). The sums are those of SciPy's product
``A @ v`` bit for bit: for a symmetric 0/1 matrix with sorted indices each person's sum adds
the same terms in the same order (ascending source row), bar terms that are exactly zero.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.compiled import compiled
from models.state import CHAMPION, REAL

#: Whole numbers up to 2**24 are exact in float32: the bits packed counts may fill.
EXACT_BITS = 24


@compiled
def _scatter(indptr, ends, rows, values, cross, cross_values, out):  # pragma: no cover
    """For each source ``j`` in ``rows`` (ascending) and each of its ties ``e`` to a contact
    ``i = ends[e]``: ``out[i, c] += values[c][j]`` for every vector ``c``, and, if ``cross``
    (0 or 1 a tie: does it leave a team) is not empty, ``out[i, k] += cross[e] ×
    cross_values[j]``. ``values`` is a tuple, so its length is known when compiling and the
    inner loop is unrolled. (Run compiled, so coverage cannot see it.)"""
    k = len(values)
    for j in rows:
        for e in range(indptr[j], indptr[j + 1]):
            i = ends[e]
            for c in range(k):
                out[i, c] += values[c][j]
            if cross.size:
                out[i, k] += cross[e] * cross_values[j]


@dataclass(frozen=True, eq=False)
class Ties:
    """A symmetric 0/1 adjacency matrix (CSR, sorted indices) as the pass over contacts reads
    it: each row's first tie (``indptr``) and each tie's other end (``ends``), both unsigned
    and the ends as narrow as the rows allow. Numba then indexes without the test and the
    wrap-around a signed index might need (negative from the end), and the pass streams half
    the bytes a tie: together a third of its time at 200,000 rows."""

    indptr: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, adjacency: sp.csr_array) -> "Ties":
        return cls._of(adjacency.indptr, adjacency.indices, adjacency.shape[1])

    @classmethod
    def _of(cls, indptr: np.ndarray, ends: np.ndarray, n: int) -> "Ties":
        narrow = np.uint32 if n <= np.iinfo(np.uint32).max else np.uint64
        return cls(indptr=indptr.astype(np.uint64), ends=ends.astype(narrow))

    @property
    def n(self) -> int:
        return self.indptr.size - 1

    @classmethod
    def stack(cls, ties: list["Ties"]) -> "Ties":
        """The ties of several runs of one size as one block-diagonal matrix (no tie between
        runs), each run's rows offset by its position: every row keeps its ties in order."""
        n = ties[0].n
        first = np.cumsum([0] + [t.ends.size for t in ties], dtype=np.uint64)
        indptr = np.concatenate(
            [t.indptr[:-1] + z for t, z in zip(ties, first[:-1], strict=True)] + [first[-1:]]
        )
        ends = np.concatenate([t.ends.astype(np.uint64) + r * n for r, t in enumerate(ties)])
        return cls._of(indptr, ends, n * len(ties))

    def matrix(self) -> sp.csr_array:
        """The ties as SciPy's float32 0/1 matrix (to compare the pass with its products)."""
        indices, indptr = self.ends.astype(np.int64), self.indptr.astype(np.int64)
        return sp.csr_array((np.ones(indices.size, REAL), indices, indptr), shape=(self.n,) * 2)


def contact_sums(
    ties: Ties,
    source: np.ndarray,
    values: Sequence[np.ndarray],
    cross: np.ndarray | None = None,
    cross_values: np.ndarray | None = None,
) -> list[np.ndarray]:
    """The products of the adjacency matrix ``ties`` with each of ``values`` (float32 or
    bool, zero or False outside the rows where ``source`` is True), and, if ``cross`` is given
    (0 or 1 a tie, uint8), the same product of ``cross_values`` over the ties ``cross`` marks;
    float32, the same bits as SciPy's products. With no source the sums are zeros, and no tie
    is visited."""
    if not source.any():
        return list(np.zeros((len(values) + (cross is not None), source.size), REAL))
    return sums_from(ties, np.flatnonzero(source), values, cross, cross_values)


def sums_from(ties: Ties, rows: np.ndarray, values, cross=None, cross_values=None) -> list:
    """``contact_sums`` with the sources given as their rows, ascending."""
    n = ties.indptr.size - 1
    out = np.zeros((n, len(values) + (cross is not None)), REAL)
    _scatter(
        ties.indptr,
        ties.ends,
        rows.astype(np.uint64, copy=False),
        tuple(np.asarray(v, REAL) for v in values),
        np.zeros(0, np.uint8) if cross is None else cross,
        np.zeros(0, REAL) if cross_values is None else np.asarray(cross_values, REAL),
        out,
    )
    return list(np.ascontiguousarray(out.T))


@dataclass(frozen=True, eq=False)
class Network:
    """What the step needs from the organisation and the roles, prepared once.

    The ties are kept as the pass over contacts reads them (``Ties``): the sums they produce
    (counts of contacts, posts, hours) are float32, which needs no more precision. ``cross``
    marks, tie by tie in the ties' order, the ties that leave a team
    (``Organisation.leaves_team``), so that the sums over cross-team contacts come from the
    same pass as the others. Champions' coaching comes from a pass over the coaching
    champions' ties alone, a few percent of the ties.
    """

    ties: Ties  # the adjacency as the pass over contacts reads it
    cross: np.ndarray  # uint8, one a stored tie of ``ties``: 1 if it leaves a team
    champions: np.ndarray  # rows of the champions
    degree: np.ndarray  # float, number of contacts (at least 1, to divide by)
    manager: np.ndarray  # int64, own manager's row (0 where there is none)
    has_manager: np.ndarray  # bool
    bits: int  # bits per packed count (``digit_bits``)
    runs: int = 1  # stacked runs of equal size (``stack``)

    @classmethod
    def build(cls, org, role: np.ndarray) -> "Network | MeanField":
        """The network of ``org``; a complete organisation gets the mean-field form (no ties
        stored)."""
        if org.complete:
            return MeanField.build(org, role)
        champions = np.flatnonzero(role == CHAMPION)
        has_manager = org.manager_of >= 0
        return cls(
            ties=Ties.of(org.adjacency),
            cross=org.leaves_team.astype(np.uint8),
            champions=champions,
            degree=np.maximum(org.degree, 1).astype(REAL),
            manager=np.where(has_manager, org.manager_of, 0),
            has_manager=has_manager,
            bits=digit_bits(org.adjacency),
        )

    @classmethod
    def stack(cls, networks: list) -> "Network | MeanField":
        """The networks of several runs of one size as one: block-diagonal matrices (no tie
        between runs), each run's rows and columns offset by its position."""
        if len(networks) == 1:
            return networks[0]
        complete = {isinstance(x, MeanField) for x in networks}
        if len(complete) > 1:
            raise ValueError(
                "runs of one ensemble must all be complete organisations (whose sums come "
                "from totals, no ties stored) or none: stack them in separate ensembles"
            )
        if complete.pop():
            return MeanField.stack(networks)
        n = networks[0].degree.size
        offsets = np.arange(len(networks)) * n
        manager = np.concatenate(
            [
                np.where(x.has_manager, x.manager + o, 0)
                for x, o in zip(networks, offsets, strict=True)
            ]
        )
        return cls(
            ties=Ties.stack([x.ties for x in networks]),
            # each row keeps its ties in order, so the ties' marks follow run after run
            cross=np.concatenate([x.cross for x in networks]),
            champions=np.concatenate(
                [x.champions + o for x, o in zip(networks, offsets, strict=True)]
            ),
            degree=np.concatenate([x.degree for x in networks]),
            manager=manager,
            has_manager=np.concatenate([x.has_manager for x in networks]),
            bits=max(x.bits for x in networks),
            runs=len(networks),
        )

    def contacts(
        self,
        source: np.ndarray,
        flags: Sequence[np.ndarray],
        values: Sequence[np.ndarray],
        engaged: np.ndarray,
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Over each person's contacts: how many have each of ``flags`` (bool), the sum of
        each of ``values`` (float32), all False or zero outside ``source``; and how many are
        ``engaged`` and in another team (``engaged`` within ``source``). One pass over the
        sources' ties.

        The counts take few columns of the pass: the flags are packed as the digits, base
        2**bits, of one float32 number a person, as many as ``EXACT_BITS`` hold, and the pass
        sums the digits separately (no digit can carry: a count is at most one's degree,
        below 2**bits). The packed sums are whole numbers below 2**24, so exact in float32:
        the counts are those of one product per flag."""
        per = max(EXACT_BITS // self.bits, 1)  # one flag a column at the very least
        groups = [flags[i : i + per] for i in range(0, len(flags), per)]
        columns = [_packed(g, self.bits) for g in groups] + list(values)
        *sums, cross = contact_sums(self.ties, source, columns, self.cross, engaged)
        packed, sums = sums[: len(groups)], sums[len(groups) :]
        counts = [
            c for p, g in zip(packed, groups, strict=True) for c in _digits(p, len(g), self.bits)
        ]
        return counts, sums, cross

    def sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each person's contacts (``values`` zero outside ``source``)."""
        return contact_sums(self.ties, source, [values])[0]

    def everyone(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over everyone else in one's run (one's organisation)."""
        return run_totals(values, self.runs) - values

    def coaching(self, strength: np.ndarray) -> np.ndarray:
        """Sum of the champions' coaching strength (one value per champion) over each person's
        champion contacts: a pass over the ties of the champions who coach this week."""
        coaching = strength != 0
        if not coaching.any():
            return np.zeros(self.degree.size, REAL)
        values = np.zeros(self.degree.size, REAL)
        values[self.champions] = strength
        return sums_from(self.ties, self.champions[coaching], [values])[0]


def digit_bits(adjacency: sp.csr_array) -> int:
    """Bits per packed count (``Network.contacts``): enough for the largest degree, as no one
    has more contacts with a flag than contacts."""
    return max(int(np.diff(adjacency.indptr).max(initial=0)).bit_length(), 1)


def _packed(flags: Sequence[np.ndarray], bits: int) -> np.ndarray:
    """The flags as the digits of one float32 number a person: Σ flag_k · 2**(bits·k)."""
    code = flags[0].astype(REAL)
    for k, flag in enumerate(flags[1:], 1):
        code += flag * REAL(1 << bits * k)
    return code


def _digits(packed_sums: np.ndarray, k: int, bits: int) -> list[np.ndarray]:
    """The ``k`` counts held in the digits of ``packed_sums`` (float32). Every step is exact
    in float32 (whole numbers below 2**24, scaled by powers of two)."""
    base, rest, counts = REAL(1 << bits), packed_sums, []
    for _ in range(k - 1):
        higher = np.floor(rest * (1 / base))
        counts.append(rest - higher * base)
        rest = higher
    return [*counts, rest]


def run_totals(values: np.ndarray, runs: int) -> np.ndarray:
    """Each row's run total of ``values`` (rows stacked run by run, ``runs`` runs of equal
    size), summed in float64 and cast back to the values' type."""
    n = values.shape[0] // runs
    totals = values.reshape((runs, n) + values.shape[1:]).sum(axis=1, dtype=np.float64)
    return np.repeat(totals, n, axis=0).astype(values.dtype)


@dataclass(frozen=True, eq=False)
class MeanField:
    """A complete organisation (everyone tied to everyone), with no tie stored: each person's
    neighbour sum is the total of their run minus their own value. Memory O(n), not O(n²).

    Same interface as ``Network``; the sums are accumulated in float64 per run and cast to
    float32, so they equal the sparse product's up to the order of additions.
    """

    runs: int
    n: int
    champions: np.ndarray  # rows of the champions
    champion_run: np.ndarray  # run of each champion
    own: np.ndarray  # (n·runs,) index of a person's own champion column, -1 if not one
    degree: np.ndarray
    manager: np.ndarray
    has_manager: np.ndarray

    @classmethod
    def build(cls, org, role: np.ndarray) -> "MeanField":
        champions = np.flatnonzero(role == CHAMPION)
        own = np.full(org.n, -1, np.int64)
        own[champions] = np.arange(champions.size)
        return cls(
            runs=1,
            n=org.n,
            champions=champions,
            champion_run=np.zeros(champions.size, np.int64),
            own=own,
            degree=np.full(org.n, max(org.n - 1, 1), REAL),
            manager=np.zeros(org.n, np.int64),
            has_manager=np.zeros(org.n, bool),
        )

    @classmethod
    def stack(cls, fields_: list) -> "MeanField":
        n = fields_[0].n
        sizes = np.cumsum([0] + [x.champions.size for x in fields_])
        own = np.concatenate(
            [np.where(x.own >= 0, x.own + z, -1) for x, z in zip(fields_, sizes[:-1], strict=True)]
        )
        return cls(
            runs=len(fields_),
            n=n,
            champions=np.concatenate([x.champions + r * n for r, x in enumerate(fields_)]),
            champion_run=np.repeat(np.arange(len(fields_)), [x.champions.size for x in fields_]),
            own=own,
            degree=np.concatenate([x.degree for x in fields_]),
            manager=np.zeros(n * len(fields_), np.int64),
            has_manager=np.zeros(n * len(fields_), bool),
        )

    def contacts(self, source, flags, values, engaged):
        """As ``Network.contacts``: with everyone a contact, each count and sum is one's run's
        total less one's own; with no teams, every tie leaves one's team."""
        counts = [self.sums(f, f) for f in flags]
        return counts, [self.sums(source, v) for v in values], self.sums(source, engaged)

    def sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, REAL)
        return run_totals(values, self.runs) - values

    def everyone(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over everyone else in one's run: everyone is a contact here."""
        return self.sums(values, values)

    def coaching(self, strength: np.ndarray) -> np.ndarray:
        if strength.size == 0:
            return np.zeros(self.runs * self.n, REAL)
        totals = np.bincount(self.champion_run, weights=strength, minlength=self.runs)
        per_row = np.repeat(totals, self.n)
        mine = np.where(self.own >= 0, strength[np.maximum(self.own, 0)], 0)
        return (per_row - mine).astype(REAL)
