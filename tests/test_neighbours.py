"""Neighbour sums (``models.neighbours.neighbour_sums``): the row-sliced sparse path gives the
same sums as the full product, and the model takes it (issue 12, item 7).

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
from models.neighbours import COLUMNS, SMALL, SPARSE_SOURCES, neighbour_sums


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


def sources_and_values(rng, n: int, share: float, columns: int | None) -> tuple:
    """A random source mask with about ``share`` of ``n`` rows, and float32 values (one column
    if ``columns`` is None, else that many) that are not whole numbers and zero elsewhere."""
    source = rng.random(n) < share
    shape = (n,) if columns is None else (n, columns)
    values = rng.normal(0.0, 3.0, shape).astype(np.float32)
    values[~source] = 0
    return source, values


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


@pytest.mark.parametrize("columns", [None, 1, COLUMNS], ids=["vector", "one", "all"])
@pytest.mark.parametrize("share", [0.001, 0.05, 0.3])
def test_sliced_path_gives_the_full_product_bit_for_bit(large_graph, share, columns):
    """At 12,000 agents with a few sources (up to 30%, below ``SPARSE_SOURCES``), the rows are
    sliced, and the sums equal ``A @ v`` exactly, for a vector and for float32 columns.

    Mutation tried: the sliced path leaving out the first source row (``rows[1:]``): every
    sliced case fails, here, in the hypothesis test and in the model test."""
    source, values = sources_and_values(np.random.default_rng(1), LARGE, share, columns)
    assert 0 < source.mean() <= SPARSE_SOURCES
    with row_slices() as spy:
        sums = neighbour_sums(large_graph, source, values)
    assert spy.call_count == 1, "the row-sliced path did not run"
    assert sums.dtype == np.float32 and sums.shape == values.shape
    np.testing.assert_array_equal(sums, large_graph @ values)


@pytest.mark.parametrize("columns", [None, COLUMNS], ids=["vector", "columns"])
def test_no_source_gives_zeros_of_the_right_shape_and_type(large_graph, columns):
    """With nobody a source, zeros of the values' shape and float32 type, without a product.

    Mutation tried: ``np.zeros(values.shape)`` (float64) for this case."""
    source, values = sources_and_values(np.random.default_rng(2), LARGE, 0.0, columns)
    assert not source.any()
    with row_slices() as spy:
        sums = neighbour_sums(large_graph, source, values)
    assert spy.call_count == 0
    assert sums.dtype == np.float32 and sums.shape == values.shape and not sums.any()


def test_many_sources_take_the_full_product(large_graph):
    """Above ``SPARSE_SOURCES`` of people as sources the full product is used (no slicing)."""
    source, values = sources_and_values(np.random.default_rng(3), LARGE, 0.6, COLUMNS)
    with row_slices() as spy:
        sums = neighbour_sums(large_graph, source, values)
    assert spy.call_count == 0
    np.testing.assert_array_equal(sums, large_graph @ values)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 60),
    degree=st.floats(0.0, 8.0),
    share=st.floats(0.0, 1.0),
    columns=st.sampled_from([None, 1, 3, COLUMNS]),
    seed=st.integers(0, 2**32 - 1),
)
def test_both_paths_agree_on_any_small_symmetric_graph(n, degree, share, columns, seed):
    """Any symmetric 0/1 graph, any sources, float32 values: with the size thresholds lowered so
    that small graphs take the sliced path too, ``neighbour_sums`` equals ``A @ v`` exactly —
    including graphs with isolated people, no ties at all, and no source."""
    rng = np.random.default_rng(seed)
    matrix = random_graph(rng, n, degree)
    source, values = sources_and_values(rng, n, share, columns)
    sliced = 0 < source.sum() <= SPARSE_SOURCES * n
    with (
        mock.patch.object(neighbours, "SMALL", 0),
        mock.patch.object(neighbours, "SMALL_WORK", 0),
        row_slices() as spy,
    ):
        sums = neighbour_sums(matrix, source, values)
    assert spy.call_count == int(sliced)
    assert sums.dtype == np.float32 and sums.shape == values.shape
    np.testing.assert_array_equal(sums, matrix @ values)


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
        np.testing.assert_array_equal(sums, matrix @ values)
        return sums

    with mock.patch.object(neighbours, "neighbour_sums", side_effect=checked):
        model.run(4)
    assert any(sliced), "the row-sliced path never ran at 10,000 agents"
    assert model.state.active.mean() < SPARSE_SOURCES
