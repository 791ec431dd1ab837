"""Neighbour sums: what each person sees of their contacts, as sparse matrix products.

Every neighbour quantity of the weekly step (active contacts, engaged contacts, posts to read,
coaching, noise, what contacts got out of it) is a sum over one's contacts, i.e. a product of
the adjacency matrix with a vector of the contacts' state. ``Network`` holds the matrices the
step needs, prepared once; ``neighbour_sums`` chooses, week by week, the cheaper of two ways to
form a product. The choice is about speed only: both give the same sums.

Each vector gets a product of its own (SciPy's product with one vector costs a third of its
product with a table of several: ``csr_matvecs`` pays per tie and column what ``csr_matvec``
pays per tie), and counts of contacts share one: several 0/1 flags are packed as the digits of
one number per person (``Network.contacts``).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.state import CHAMPION, REAL

# Above this share of people with something to pass on, a full sparse product is cheaper
# than summing over their rows alone (measured at 100k agents: the two cost the same near 0.4).
SPARSE_SOURCES = 0.35
SMALL = 10_000  # below this many agents the full product always wins (fixed costs dominate)
# ... and so it does for a product this small (stored ties × vectors), whatever the agents:
# the cross-team ties of a 10k organisation (40k ties, one vector) take 20 µs in full and
# 50 µs by active rows, most of it the fixed cost of slicing the rows.
SMALL_WORK = 100_000
#: Whole numbers up to 2**24 are exact in float32: the bits packed counts may fill.
EXACT_BITS = 24


def digit_bits(adjacency: sp.csr_array) -> int:
    """Bits per packed count (``Network.contacts``): enough for the largest degree, as no one
    has more contacts with a flag than contacts."""
    return max(int(np.diff(adjacency.indptr).max(initial=0)).bit_length(), 1)


@dataclass(frozen=True, eq=False)
class Network:
    """What the step needs from the organisation and the roles, prepared once.

    The matrices are float32: they hold 0/1 ties, and the sums they produce (counts of
    contacts, posts, hours) need no more precision, while halving the memory the sparse
    products stream through. Champions' coaching comes from the adjacency's champion
    columns only, a product over a few percent of the ties, kept column by column (CSC): the
    product then visits the champions' ties alone, not every person's row.
    """

    adjacency: sp.csr_array  # (n, n) float32
    cross_team: sp.csr_array  # (n, n) float32, ties between teams
    to_champions: sp.csc_array  # (n, champions) float32, ties to each champion
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
        adjacency = org.adjacency.astype(np.float32)
        champions = np.flatnonzero(role == CHAMPION)
        has_manager = org.manager_of >= 0
        return cls(
            adjacency=adjacency,
            cross_team=org.cross_team.astype(np.float32),
            to_champions=sp.csr_array(adjacency[champions]).T,  # symmetric: its columns
            champions=champions,
            degree=np.maximum(org.degree, 1).astype(REAL),
            manager=np.where(has_manager, org.manager_of, 0),
            has_manager=has_manager,
            bits=digit_bits(adjacency),
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
        adjacency = _block_diagonal([x.adjacency for x in networks], offsets)
        return cls(
            adjacency=adjacency,
            cross_team=_block_diagonal([x.cross_team for x in networks], offsets),
            # the champions' rows (the transposes) side by side, transposed back
            to_champions=_block_diagonal(
                [x.to_champions.T for x in networks], offsets, n * len(networks)
            ).T,
            champions=np.concatenate(
                [x.champions + o for x, o in zip(networks, offsets, strict=True)]
            ),
            degree=np.concatenate([x.degree for x in networks]),
            manager=manager,
            has_manager=np.concatenate([x.has_manager for x in networks]),
            bits=digit_bits(adjacency),
            runs=len(networks),
        )

    def contacts(
        self, source: np.ndarray, flags: Sequence[np.ndarray], values: Sequence[np.ndarray]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Over each person's contacts: how many have each of ``flags`` (bool), and the sum of
        each of ``values`` (float32); all are False or zero outside ``source``.

        The counts take few products: the flags are packed as the digits, base 2**bits, of one
        float32 number a person, as many as ``EXACT_BITS`` hold, and the product sums the
        digits separately (no digit can carry: a count is at most one's degree, below
        2**bits). The packed sums are whole numbers below 2**24, so exact in float32 whatever
        the order of the additions: the counts are those of one product per flag."""
        per = max(EXACT_BITS // self.bits, 1)  # one flag a vector at the very least
        groups = [flags[i : i + per] for i in range(0, len(flags), per)]
        sums = neighbour_sums(
            self.adjacency, source, [_packed(g, self.bits) for g in groups] + list(values)
        )
        packed, sums = sums[: len(groups)], sums[len(groups) :]
        counts = [
            c for s, g in zip(packed, groups, strict=True) for c in _digits(s, len(g), self.bits)
        ]
        return counts, sums

    def sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each person's contacts (``values`` zero outside ``source``)."""
        return neighbour_sums(self.adjacency, source, [values])[0]

    def everyone(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over everyone else in one's run (one's organisation)."""
        return run_totals(values, self.runs) - values

    def cross_sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The same over contacts in other teams only."""
        return neighbour_sums(self.cross_team, source, [values])[0]

    def coaching(self, strength: np.ndarray) -> np.ndarray:
        """Sum of the champions' coaching strength (one value per champion) over each person's
        champion contacts."""
        return self.to_champions @ strength


def _packed(flags: Sequence[np.ndarray], bits: int) -> np.ndarray:
    """The flags as the digits of one float32 number a person: Σ flag_k · 2**(bits·k)."""
    code = flags[0].astype(np.float32)
    for k, flag in enumerate(flags[1:], 1):
        code += flag * np.float32(1 << bits * k)
    return code


def _digits(packed_sums: np.ndarray, k: int, bits: int) -> list[np.ndarray]:
    """The ``k`` counts held in the digits of ``packed_sums`` (float32, as ``REAL``). Every
    step is exact in float32 (whole numbers below 2**24, scaled by powers of two)."""
    base, rest, counts = REAL(1 << bits), packed_sums, []
    for _ in range(k - 1):
        higher = np.floor(rest * (1 / base))
        counts.append(rest - higher * base)
        rest = higher
    return [*counts, rest]


def neighbour_sums(
    matrix: sp.csr_array, source: np.ndarray, values: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """``matrix @ v`` for each vector ``v`` of ``values``, all zero outside the rows where
    ``source`` is True.

    Every neighbour quantity comes from active contacts, and in most weeks most people are
    not active; then summing over the active people's own rows of the (symmetric) matrix
    costs a fraction of the full product. When most people are active, the full product is
    cheaper, so the choice is made week by week; both give the same sums (for a symmetric 0/1
    matrix with sorted indices, each sum adds the same terms in the same order, bar terms that
    are exactly zero). With no source at all the sums are zeros, and no product is made.
    """
    if not source.any():
        return [np.zeros(v.shape, v.dtype) for v in values]
    if source.size < SMALL or matrix.nnz * len(values) < SMALL_WORK:
        return [matrix @ v for v in values]
    rows = np.flatnonzero(source)
    if rows.size > SPARSE_SOURCES * source.size:
        return [matrix @ v for v in values]
    # one slice of the sources' rows, transposed (a view), serves every vector; over the few
    # rows of a slice, one product with a table of the vectors costs less than one a vector
    sliced = matrix[rows].T
    table = np.empty((rows.size, len(values)), np.result_type(*values))
    for k, v in enumerate(values):
        v.take(rows, out=table[:, k])
    return list(np.ascontiguousarray((sliced @ table).T))


def run_totals(values: np.ndarray, runs: int) -> np.ndarray:
    """Each row's run total of ``values`` (rows stacked run by run, ``runs`` runs of equal
    size), summed in float64 and cast back to the values' type."""
    n = values.shape[0] // runs
    totals = values.reshape((runs, n) + values.shape[1:]).sum(axis=1, dtype=np.float64)
    return np.repeat(totals, n, axis=0).astype(values.dtype)


def _block_diagonal(matrices: list, offsets, columns: int | None = None) -> sp.csr_array:
    """CSR matrices side by side on the diagonal, the k-th one's columns shifted by
    ``offsets[k]``: each row keeps its entries in the same order (so products sum them in the
    same order as the matrix alone)."""
    nnz = np.cumsum([0] + [m.nnz for m in matrices])
    indptr = np.concatenate(
        [m.indptr[:-1] + z for m, z in zip(matrices, nnz[:-1], strict=True)] + [nnz[-1:]]
    )
    indices = np.concatenate([m.indices + o for m, o in zip(matrices, offsets, strict=True)])
    data = np.concatenate([m.data for m in matrices])
    rows = sum(m.shape[0] for m in matrices)
    width = sum(m.shape[1] for m in matrices) if columns is None else columns
    return sp.csr_array(
        (data, indices.astype(np.int64), indptr.astype(np.int64)), shape=(rows, width)
    )


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

    def contacts(self, source, flags, values) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """As ``Network.contacts``: with everyone a contact, each count and sum is one's run's
        total less one's own."""
        return [self.sums(f, f.astype(REAL)) for f in flags], [self.sums(source, v) for v in values]

    def sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        return (run_totals(values, self.runs) - values).astype(values.dtype)

    def everyone(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over everyone else in one's run: everyone is a contact here."""
        return self.sums(values, values)

    def cross_sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        """With no teams, every tie leaves one's team: the same as ``sums``."""
        return self.sums(source, values)

    def coaching(self, strength: np.ndarray) -> np.ndarray:
        if strength.size == 0:
            return np.zeros(self.runs * self.n, REAL)
        totals = np.bincount(self.champion_run, weights=strength, minlength=self.runs)
        per_row = np.repeat(totals, self.n)
        mine = np.where(self.own >= 0, strength[np.maximum(self.own, 0)], 0)
        return (per_row - mine).astype(REAL)
