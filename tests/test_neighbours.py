"""Neighbour sums (``models.neighbours.contact_sums``): one compiled pass over the sources'
ties gives SciPy's sparse products bit for bit, and the model's step takes it.

The pass visits only the ties of people who are sources this week (active, or users) and adds
every vector at once, where SciPy reads the whole matrix once per vector. For a symmetric 0/1
matrix with sorted indices each person's sum then adds the same terms in the same order
(ascending source row: the sorted column order of the full product, minus terms that are
exactly zero), so the two agree bit for bit, not merely to rounding. The same holds for the sum
over contacts in other teams, a product with the cross-team ties alone
(``Organisation.cross_team``), which the pass forms from a mark on each tie.
"""

from unittest import mock

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from models import neighbours
from models.model import AdoptionModel
from models.neighbours import Network, Ties, contact_sums

VECTORS = 5  # vectors in one pass, as the step makes (three counts and two sums)


def symmetric_01(n: int, src: np.ndarray, dst: np.ndarray) -> sp.csr_array:
    """The symmetric 0/1 float32 adjacency of the ties ``src``–``dst`` (self-ties and repeats
    dropped), with sorted indices, as ``models.neighbours.Network`` holds it."""
    keep = src != dst
    rows = np.concatenate([src[keep], dst[keep]])
    cols = np.concatenate([dst[keep], src[keep]])
    matrix = sp.csr_array((np.ones(rows.size, np.float32), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def random_graph(rng, n: int, mean_degree: float) -> sp.csr_array:
    ties = int(n * mean_degree / 2)
    return symmetric_01(n, rng.integers(0, n, ties), rng.integers(0, n, ties))


def symmetric_marks(rng, matrix: sp.csr_array, share: float) -> np.ndarray:
    """A 0/1 mark (uint8) on each stored tie, the same on (i, j) and (j, i), as
    ``Organisation.leaves_team`` gives: a tie is marked when a hash of its two ends is."""
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    lo, hi = np.minimum(rows, matrix.indices), np.maximum(rows, matrix.indices)
    keys = rng.random(matrix.shape[0] ** 2 or 1)
    return (keys[lo * matrix.shape[0] + hi] < share).astype(np.uint8)


def marked(matrix: sp.csr_array, marks: np.ndarray) -> sp.csr_array:
    """The matrix of the marked ties alone (what ``Organisation.cross_team`` is)."""
    keep = marks > 0
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return sp.csr_array(
        (np.ones(int(keep.sum()), np.float32), (rows[keep], matrix.indices[keep])),
        shape=matrix.shape,
    )


def sources_and_values(rng, n: int, share: float, vectors: int) -> tuple:
    """A random source mask with about ``share`` of ``n`` rows; ``vectors`` vectors, zero
    outside the sources: 0/1 flags (bool) for the first two, float32 values that are not whole
    numbers (some negative) for the rest."""
    source = rng.random(n) < share
    values = [source & (rng.random(n) < 0.6) for _ in range(min(2, vectors))]
    for _ in range(vectors - len(values)):
        values.append(np.where(source, rng.normal(0.0, 3.0, n), 0).astype(np.float32))
    return source, values


def assert_products(matrix, values, sums) -> None:
    """Each sum is float32 and equals SciPy's product ``matrix @ v`` bit for bit."""
    assert len(sums) == len(values)
    for v, s in zip(values, sums, strict=True):
        assert s.dtype == np.float32 and s.shape == v.shape
        np.testing.assert_array_equal(s, matrix @ np.asarray(v, np.float32))


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 60),
    degree=st.floats(0.0, 30.0),
    share=st.floats(0.0, 1.0),
    vectors=st.sampled_from([1, 3, VECTORS]),
    wide=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_pass_gives_the_sparse_products_bit_for_bit(n, degree, share, vectors, wide, seed):
    """Any symmetric 0/1 graph (isolated people, no ties, dense ones), any sources, flags and
    float32 values, 32- or 64-bit indices: each sum equals ``A @ v``, and the sum over marked
    ties equals the product with the marked ties alone.

    Mutations tried: the pass leaving out each source's first tie (``indptr[j] + 1``) and
    adding every tie to the cross-team sum (``cross`` ignored): both fail here."""
    rng = np.random.default_rng(seed)
    matrix = random_graph(rng, n, degree)
    if wide:
        matrix.indices = matrix.indices.astype(np.int64)
        matrix.indptr = matrix.indptr.astype(np.int64)
    source, values = sources_and_values(rng, n, share, vectors)
    marks = symmetric_marks(rng, matrix, 0.4)
    engaged = values[0]
    *sums, cross = contact_sums(Ties.of(matrix), source, values, marks, engaged)
    assert_products(matrix, values, sums)
    assert_products(marked(matrix, marks), [engaged], [cross])
    assert_products(matrix, values, contact_sums(Ties.of(matrix), source, values))  # no cross


def test_no_source_gives_zeros_of_the_right_shape_and_type_without_a_pass():
    """With nobody a source, float32 zeros of the values' shape, and no tie is visited.

    Mutation tried: ``np.zeros(..., float)`` (float64) for this case."""
    rng = np.random.default_rng(2)
    matrix = random_graph(rng, 50, 4.0)
    source, values = sources_and_values(rng, 50, 0.0, VECTORS)
    assert not source.any()
    with mock.patch.object(neighbours, "_scatter", side_effect=AssertionError) as scatter:
        sums = contact_sums(Ties.of(matrix), source, values)
    assert scatter.call_count == 0
    assert_products(matrix, values, sums)


def test_the_model_visits_only_the_sources_ties_and_gets_the_products():
    """A 10,000-person organisation for a few weeks: every week the step's sums over contacts
    visit the ties of that week's sources alone (the active, and users who are idle while
    their sign-up counts), and every sum equals SciPy's product, the cross-team sum that of
    the organisation's cross-team ties.

    Mutation tried: passing every row to the pass (``np.arange(source.size)``): the sums are
    the same, the spy sees the extra rows."""
    model = AdoptionModel(org={"generator": "hierarchy", "size": 10_000}, rng=0)
    net, cross_team = model.network, model.org.cross_team
    visited = []

    adjacency = net.ties.matrix()

    def checked(ties, source, values, cross=None, cross_values=None):
        with mock.patch.object(neighbours, "_scatter", wraps=neighbours._scatter) as scatter:
            sums = contact_sums(ties, source, values, cross, cross_values)
        if scatter.call_count:
            rows = scatter.call_args.args[2]
            visited.append(np.array_equal(rows, np.flatnonzero(source)))
        if cross is None:
            assert_products(adjacency, values, sums)
        else:
            assert_products(adjacency, values, sums[:-1])
            assert_products(cross_team, [cross_values], sums[-1:])
        return sums

    with mock.patch.object(neighbours, "contact_sums", side_effect=checked):
        model.run(4)
    assert visited and all(visited), "a pass visited rows that were not sources"
    assert 0 < model.state.active.mean() < 0.5
    assert net.cross.sum() == cross_team.nnz


def test_the_stacked_network_marks_each_runs_cross_team_ties():
    """Runs stacked into one network keep each run's ties and their marks in order: the
    stacked pass gives each run's own sums."""
    models = [AdoptionModel(org={"generator": "hierarchy", "size": 300}, rng=r) for r in (1, 2)]
    stacked = Network.stack([m.network for m in models])
    rng = np.random.default_rng(5)
    source, values = sources_and_values(rng, 600, 0.5, VECTORS)
    engaged = values[1]
    together = contact_sums(stacked.ties, source, values, stacked.cross, engaged)
    for r, m in enumerate(models):
        rows = slice(300 * r, 300 * (r + 1))
        alone = contact_sums(
            m.network.ties,
            source[rows],
            [v[rows] for v in values],
            m.network.cross,
            engaged[rows],
        )
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_array_equal(a, b[rows])


def bare_network(matrix: sp.csr_array) -> Network:
    """A ``Network`` of the adjacency ``matrix`` alone (no teams, managers or champions)."""
    n = matrix.shape[0]
    return Network(
        ties=Ties.of(matrix),
        cross=np.zeros(matrix.nnz, np.uint8),
        champions=np.zeros(0, np.int64),
        degree=np.ones(n, np.float32),
        manager=np.zeros(n, np.int64),
        has_manager=np.zeros(n, bool),
        bits=neighbours.digit_bits(matrix),
    )


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(2, 80),
    degree=st.floats(0.0, 30.0),
    flags=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_packed_counts_are_the_counts_of_one_product_per_flag(n, degree, flags, seed):
    """Any symmetric 0/1 graph (dense ones too, whose degrees need more bits a digit: several
    packed columns) and any 0/1 flags: ``Network.contacts`` counts each flag's contacts as its
    own product would, and sums the values as ``A @ v``.

    Mutation tried: one bit fewer a digit (``digit_bits`` without the largest degree's top
    bit): counts carry into the next digit and fail."""
    rng = np.random.default_rng(seed)
    matrix = random_graph(rng, n, degree)
    source, values = sources_and_values(rng, n, 0.7, 4)
    marks = [source & (rng.random(n) < 0.6) for _ in range(flags)]
    counts, sums, cross = bare_network(matrix).contacts(source, marks, values[2:], marks[0])
    assert_products(matrix, marks, counts)
    assert_products(matrix, values[2:], sums)
    assert not cross.any()  # no tie leaves a team


def test_degrees_beyond_a_packed_digit_take_one_column_per_flag():
    """A hub with 5,000 contacts needs 13 bits a digit: one flag a float32 column (24 bits),
    and the counts are still exact."""
    n = 5_001
    matrix = symmetric_01(n, np.zeros(n - 1, np.int64), np.arange(1, n))
    net = bare_network(matrix)
    assert net.bits == 13 and neighbours.EXACT_BITS // net.bits == 1
    flags = [np.ones(n, bool), np.arange(n) % 2 == 0, np.arange(n) % 3 == 0]
    with mock.patch.object(neighbours, "_scatter", wraps=neighbours._scatter) as scatter:
        counts, sums, _ = net.contacts(flags[0], flags, [], flags[1])
    assert len(scatter.call_args.args[3]) == len(flags) and sums == []
    assert_products(matrix, flags, counts)
