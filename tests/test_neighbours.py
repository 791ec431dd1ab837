"""Neighbour sums (``models.neighbours.neighbour_sums``): the row-sliced sparse path gives the
same sums as the full product, and the model takes it (issue 12, item 7); counts of contacts
packed as digits (``Network.contacts``) are those of one product per flag.

From 10,000 agents on, when few people are sources (active, engaged, posting noise), the sums
are formed over the sources' own rows of the symmetric adjacency, ``A[rows].T @ v[rows]``,
instead of ``A @ v``. For a symmetric 0/1 matrix each person's sum then adds the same products
in the same order (ascending source row: the sorted column order of the full product, minus
terms that are exactly zero), so the two paths agree bit for bit — not merely to rounding.
Which path ran is seen by spying on row slicing of the sparse matrix (``csr_array[rows]``),
which only the sliced path does.
"""

from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from models import neighbours
from models.model import AdoptionModel
from models.neighbours import SMALL, SPARSE_SOURCES, Network, neighbour_sums

VECTORS = 4  # vectors in one call, as the step makes (packed counts and three sums)


@contextmanager
def row_slices():
    """Count the row slices taken of any ``csr_array`` (the sliced path's ``matrix[rows]``)
    while the block runs; yields the mock, whose ``call_count`` says how many."""
    with mock.patch.object(
        sp.csr_array, "__getitem__", autospec=True, side_effect=sp.csr_array.__getitem__
    ) as spy:
        yield spy


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


def sources_and_values(rng, n: int, share: float, vectors: int) -> tuple:
    """A random source mask with about ``share`` of ``n`` rows, and ``vectors`` float32
    vectors that are not whole numbers and zero elsewhere."""
    source = rng.random(n) < share
    values = rng.normal(0.0, 3.0, (vectors, n)).astype(np.float32)
    values[:, ~source] = 0
    return source, list(values)


def assert_products(matrix, values, sums) -> None:
    """Each sum is float32 and equals the full product ``matrix @ v`` bit for bit."""
    assert len(sums) == len(values)
    for v, s in zip(values, sums, strict=True):
        assert s.dtype == np.float32 and s.shape == v.shape
        np.testing.assert_array_equal(s, matrix @ v)


def random_graph(rng, n: int, mean_degree: float) -> sp.csr_array:
    ties = int(n * mean_degree / 2)
    return symmetric_01(n, rng.integers(0, n, ties), rng.integers(0, n, ties))


LARGE = 12_000


@pytest.fixture(scope="module")
def large_graph() -> sp.csr_array:
    """Above ``SMALL`` agents, with enough ties that even one column is worth slicing."""
    matrix = random_graph(np.random.default_rng(0), LARGE, 12.0)
    assert LARGE >= SMALL and matrix.nnz >= neighbours.SMALL_WORK
    return matrix


@pytest.mark.parametrize("vectors", [1, VECTORS], ids=["one", "several"])
@pytest.mark.parametrize("share", [0.001, 0.05, 0.3])
def test_sliced_path_gives_the_full_product_bit_for_bit(large_graph, share, vectors):
    """At 12,000 agents with a few sources (up to 30%, below ``SPARSE_SOURCES``), the rows are
    sliced, once for all the vectors, and the sums equal ``A @ v`` exactly.

    Mutation tried: the sliced path leaving out the first source row (``rows[1:]``): every
    sliced case fails, here, in the hypothesis test and in the model test."""
    source, values = sources_and_values(np.random.default_rng(1), LARGE, share, vectors)
    assert 0 < source.mean() <= SPARSE_SOURCES
    with row_slices() as spy:
        sums = neighbour_sums(large_graph, source, values)
    assert spy.call_count == 1, "the row-sliced path did not run"
    assert_products(large_graph, values, sums)


@pytest.mark.parametrize("n", [50, LARGE])
def test_no_source_gives_zeros_of_the_right_shape_and_type(large_graph, n):
    """With nobody a source, zeros of the values' shape and float32 type, without a product.

    Mutation tried: ``np.zeros(v.shape)`` (float64) for this case."""
    matrix = large_graph if n == LARGE else random_graph(np.random.default_rng(4), n, 4.0)
    source, values = sources_and_values(np.random.default_rng(2), n, 0.0, VECTORS)
    assert not source.any()
    with (
        row_slices() as spy,
        mock.patch.object(sp.csr_array, "__matmul__", side_effect=AssertionError) as product,
    ):
        sums = neighbour_sums(matrix, source, values)
    assert spy.call_count == 0 and product.call_count == 0
    assert_products(matrix, values, sums)


def test_many_sources_take_the_full_product(large_graph):
    """Above ``SPARSE_SOURCES`` of people as sources the full product is used (no slicing)."""
    source, values = sources_and_values(np.random.default_rng(3), LARGE, 0.6, VECTORS)
    with row_slices() as spy:
        sums = neighbour_sums(large_graph, source, values)
    assert spy.call_count == 0
    assert_products(large_graph, values, sums)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 60),
    degree=st.floats(0.0, 8.0),
    share=st.floats(0.0, 1.0),
    vectors=st.sampled_from([1, 3, VECTORS]),
    seed=st.integers(0, 2**32 - 1),
)
def test_both_paths_agree_on_any_small_symmetric_graph(n, degree, share, vectors, seed):
    """Any symmetric 0/1 graph, any sources, float32 values: with the size thresholds lowered so
    that small graphs take the sliced path too, ``neighbour_sums`` equals ``A @ v`` exactly —
    including graphs with isolated people, no ties at all, and no source."""
    rng = np.random.default_rng(seed)
    matrix = random_graph(rng, n, degree)
    source, values = sources_and_values(rng, n, share, vectors)
    sliced = 0 < source.sum() <= SPARSE_SOURCES * n
    with (
        mock.patch.object(neighbours, "SMALL", 0),
        mock.patch.object(neighbours, "SMALL_WORK", 0),
        row_slices() as spy,
    ):
        sums = neighbour_sums(matrix, source, values)
    assert spy.call_count == int(sliced)
    assert_products(matrix, values, sums)


def test_the_model_at_ten_thousand_takes_the_sliced_path_and_gets_the_same_sums():
    """A 10,000-person organisation for a few weeks: in some week the step's neighbour sums take
    the row-sliced path (few people active), and every sum of every week — sliced or not —
    equals the full product exactly.

    Mutation tried: ``SPARSE_SOURCES = 0`` (the path never runs: the spy sees no slice)."""
    model = AdoptionModel(org={"generator": "hierarchy", "size": 10_000}, rng=0)
    assert model.org.n >= SMALL
    sliced = []

    def checked(matrix, source, values):
        with row_slices() as spy:
            sums = neighbour_sums(matrix, source, values)
        sliced.append(spy.call_count > 0)
        assert_products(matrix, values, sums)
        return sums

    with mock.patch.object(neighbours, "neighbour_sums", side_effect=checked):
        model.run(4)
    assert any(sliced), "the row-sliced path never ran at 10,000 agents"
    assert model.state.active.mean() < SPARSE_SOURCES


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(2, 80),
    degree=st.floats(0.0, 30.0),
    flags=st.integers(1, 7),
    seed=st.integers(0, 2**32 - 1),
)
def test_packed_counts_are_the_counts_of_one_product_per_flag(n, degree, flags, seed):
    """Any symmetric 0/1 graph (dense ones too, whose degrees need more bits a digit: several
    packed vectors) and any 0/1 flags: ``Network.contacts`` counts each flag's contacts as
    its own product would, and sums the values as ``A @ v``.

    Mutation tried: one bit fewer a digit (``digit_bits`` without the largest degree's top
    bit): counts carry into the next digit and fail."""
    rng = np.random.default_rng(seed)
    matrix = random_graph(rng, n, degree)
    source = rng.random(n) < 0.7
    marks = [source & (rng.random(n) < 0.6) for _ in range(flags)]
    _, values = sources_and_values(rng, n, 0.5, 2)
    values = [np.where(source, v, 0).astype(np.float32) for v in values]
    counts, sums = bare_network(matrix).contacts(source, marks, values)
    assert_counts(matrix, marks, counts)
    assert_products(matrix, values, sums)


def bare_network(matrix: sp.csr_array) -> Network:
    """A ``Network`` of the adjacency ``matrix`` alone (no teams, managers or champions)."""
    n = matrix.shape[0]
    return Network(
        adjacency=matrix,
        cross_team=matrix,
        to_champions=matrix[:, :0],
        champions=np.zeros(0, np.int64),
        degree=np.ones(n, np.float32),
        manager=np.zeros(n, np.int64),
        has_manager=np.zeros(n, bool),
        bits=neighbours.digit_bits(matrix),
    )


def assert_counts(matrix, flags, counts) -> None:
    """Each count is float32 and equals the product with its flag bit for bit."""
    assert len(counts) == len(flags)
    for flag, count in zip(flags, counts, strict=True):
        assert count.dtype == np.float32
        np.testing.assert_array_equal(count, matrix @ flag.astype(np.float32))


def test_degrees_beyond_a_packed_digit_take_one_vector_per_flag():
    """A hub with 5,000 contacts needs 13 bits a digit: one flag a float32 vector (24 bits),
    and the counts are still exact."""
    n = 5_001
    matrix = symmetric_01(n, np.zeros(n - 1, np.int64), np.arange(1, n))
    net = bare_network(matrix)
    assert net.bits == 13 and neighbours.EXACT_BITS // net.bits == 1
    flags = [np.ones(n, bool), np.arange(n) % 2 == 0, np.arange(n) % 3 == 0]
    with mock.patch.object(neighbours, "neighbour_sums", wraps=neighbour_sums) as product:
        counts, sums = net.contacts(flags[0], flags, [])
    assert len(product.call_args.args[2]) == len(flags) and sums == []
    assert_counts(matrix, flags, counts)
