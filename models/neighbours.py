"""Neighbour sums: what each person sees of their contacts, as sparse matrix products.

Every neighbour quantity of the weekly step (active contacts, engaged contacts, posts to read,
coaching, noise, what contacts got out of it) is a sum over one's contacts, i.e. a product of
the adjacency matrix with a column of the contacts' state. ``Network`` holds the matrices the
step needs, prepared once; ``neighbour_sums`` chooses, week by week, the cheaper of two ways to
form a product. The choice is about speed only: both give the same sums.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.state import CHAMPION, REAL

# Above this share of people with something to pass on, a full sparse product is cheaper
# than summing over their rows alone (measured at 100k agents: the two cost the same near 0.4).
SPARSE_SOURCES = 0.35
SMALL = 10_000  # below this many agents the full product always wins (fixed costs dominate)
# ... and so it does for a product this small (stored ties × columns), whatever the agents:
# the cross-team ties of a 10k organisation (40k ties, one column) take 20 µs in full and
# 50 µs by active rows, most of it the fixed cost of slicing the rows.
SMALL_WORK = 100_000
#: Columns of the main neighbour product (``Network.columns``): active, engaged, good posts,
#: benefit, what active contacts read (for spill-over).
COLUMN_NAMES = ("active", "engaged", "good_posts", "benefit", "read")
ACTIVE, ENGAGED, GOOD_POSTS, BENEFIT, READ = range(len(COLUMN_NAMES))
COLUMNS = len(COLUMN_NAMES)


@dataclass(frozen=True, eq=False)
class Network:
    """What the step needs from the organisation and the roles, prepared once.

    The matrices are float32: they hold 0/1 ties, and the sums they produce (counts of
    contacts, posts, hours) need no more precision, while halving the memory the sparse
    products stream through. Champions' coaching comes from the adjacency's champion
    columns only, a product over a few percent of the ties.
    """

    adjacency: sp.csr_array  # (n, n) float32
    cross_team: sp.csr_array  # (n, n) float32, ties between teams
    to_champions: sp.csr_array  # (n, champions) float32, ties to each champion
    champions: np.ndarray  # rows of the champions
    degree: np.ndarray  # float, number of contacts (at least 1, to divide by)
    manager: np.ndarray  # int64, own manager's row (0 where there is none)
    has_manager: np.ndarray  # bool
    columns: np.ndarray  # (n, COLUMNS) float32 work space for the neighbour sums

    @classmethod
    def build(cls, org, role: np.ndarray) -> "Network":
        adjacency = org.adjacency.astype(np.float32)
        champions = np.flatnonzero(role == CHAMPION)
        has_manager = org.manager_of >= 0
        return cls(
            adjacency=adjacency,
            cross_team=org.cross_team.astype(np.float32),
            to_champions=sp.csr_array(adjacency[:, champions]),
            champions=champions,
            degree=np.maximum(org.degree, 1).astype(REAL),
            manager=np.where(has_manager, org.manager_of, 0),
            has_manager=has_manager,
            columns=np.empty((org.n, COLUMNS), np.float32),
        )

    def sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` over each person's contacts (``values`` zero outside ``source``)."""
        return neighbour_sums(self.adjacency, source, values)

    def cross_sums(self, source: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The same over contacts in other teams only."""
        return neighbour_sums(self.cross_team, source, values)

    def coaching(self, strength: np.ndarray) -> np.ndarray:
        """Sum of the champions' coaching strength (one value per champion) over each person's
        champion contacts."""
        return self.to_champions @ strength


def neighbour_sums(matrix: sp.csr_array, source: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``matrix @ values`` where ``values`` is zero outside the rows where ``source`` is True.

    Every neighbour quantity comes from active contacts, and in most weeks most people are
    not active; then summing over the active people's own rows of the (symmetric) matrix
    costs a fraction of the full product. When most people are active, the full product is
    cheaper, so the choice is made week by week; both give the same sums (up to the order of
    floating-point additions).
    """
    if source.size < SMALL or matrix.nnz * (values.size // source.size) < SMALL_WORK:
        return matrix @ values
    rows = np.flatnonzero(source)
    if rows.size > SPARSE_SOURCES * source.size:
        return matrix @ values
    if rows.size == 0:
        return np.zeros(values.shape, values.dtype)
    return matrix[rows].T @ values[rows]
