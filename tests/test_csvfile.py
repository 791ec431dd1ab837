"""Large tables written as CSV (``sim.csvfile``): the same bytes as pandas' ``to_csv``."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import csvfile
from sim.csvfile import write_csv

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(
    [0.0, -0.0, 1.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 9.999999999999999e-05, 5e-324, 0.1]
)
#: Names as programmes are named (written here), and any text (quoted, empty: left to pandas).
NAMES = st.text(alphabet="abcdeé_-. 0123456789", min_size=1, max_size=6) | st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=6
)


def same_as_pandas(table: pd.DataFrame, folder) -> bool:
    ours, theirs = folder / "ours.csv", folder / "theirs.csv"
    write_csv(table, ours)
    table.to_csv(theirs, index=False)
    return ours.read_bytes() == theirs.read_bytes()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(0, 30).flatmap(
        lambda n: st.tuples(
            st.lists(FLOATS, min_size=n, max_size=n),
            st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
            st.lists(NAMES, min_size=n, max_size=n),
        )
    )
)
def test_a_table_is_written_as_pandas_writes_it(tmp_path_factory, rows):
    """Floats of every kind (whole, tiny, huge, negative zero, missing, infinite), integers
    and names (quoted or not, empty, non-ASCII) give the bytes of ``to_csv``."""
    floats, ints, names = rows
    table = pd.DataFrame({"scenario": names, "week": ints, "value": floats, "share": floats})
    table["value"] = table["value"].astype(float)
    table["share"] = table["share"].astype(float)
    assert same_as_pandas(table, tmp_path_factory.mktemp("csv"))


#: A NaN with another payload than float("nan")'s: written empty like any other.
OTHER_NAN = np.array([0x7FF8000000000001], np.int64).view(np.float64)[0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.0, -0.0, 0.001, 0.002, 1 / 3, -1.5, 1e16, float("nan"), OTHER_NAN]),
        min_size=1,
        max_size=40,
    )
)
def test_numbers_repeated_many_times_are_written_as_pandas_writes_them(tmp_path_factory, floats):
    """A column of a few numbers many times over (shares of a headcount), whose texts are
    made once a number: negative and positive zero, and NaNs, kept apart as pandas does."""
    table = pd.DataFrame({"week": range(len(floats)), "share": np.array(floats, np.float64)})
    assert same_as_pandas(table, tmp_path_factory.mktemp("csv"))


def test_a_comparisons_weekly_table_is_written_here_not_by_pandas(tmp_path, monkeypatch):
    """Numbers and plain names are written by ``write_csv`` itself (pandas is not called) in
    chunks of rows, with the bytes pandas would write."""
    rng = np.random.default_rng(0)
    n = 2_500
    table = pd.DataFrame(
        {
            "scenario": np.repeat(["baseline", "mandate"], n // 2),
            "replication": np.arange(n) % 7,
            "week": np.arange(n),
            "value_total": rng.standard_normal(n) * 10.0 ** rng.integers(-6, 8, n),
            "cost": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
        }
    )
    table.to_csv(tmp_path / "theirs.csv", index=False)
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 1_000)
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda *a, **k: pytest.fail("pandas called"))
    write_csv(table, tmp_path / "ours.csv")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "theirs.csv").read_bytes()


@pytest.mark.parametrize(
    "column",
    [
        np.array([0.1, 0.25], np.float32),  # pandas writes float32 its own way
        np.array([True, False]),
        ["a,b", "c"],  # needs quotes
        ["x", None],
    ],
)
def test_other_columns_are_left_to_pandas(tmp_path, column):
    table = pd.DataFrame({"name": ["p", "q"], "other": column})
    assert same_as_pandas(table, tmp_path)


def test_tables_with_repeated_or_quoted_column_names_are_left_to_pandas(tmp_path):
    for columns in (["a", "a"], ["a,b", "c"], ["x"]):
        table = pd.DataFrame([[1.5] * len(columns)], columns=columns)
        assert same_as_pandas(table, tmp_path)


def test_numbers_are_turned_into_the_text_repr_gives():
    """``_shortest`` (Arrow's digits, in Python's notation) against ``float.__repr__`` for
    numbers of every magnitude: random bit patterns, shares, rounded hours, whole numbers,
    and the edges of each notation."""
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2**63 - 1, 100_000, dtype=np.int64).view(np.float64)
    edges = [0.0, -0.0, 1.0, 0.1, 1e-4, 9.999999999999999e-05, 1e-5, 1e15, 1e16, 5e-324]
    edges += [9999999999999998.0, 123456789.0, 2.0**60, -2.5e-7, np.inf, -np.inf]
    numbers = np.concatenate(
        [
            bits[np.isfinite(bits)],
            rng.standard_normal(100_000) * 10.0 ** rng.integers(-20, 25, 100_000),
            rng.integers(0, 1001, 10_000) / 1000,
            np.round(rng.standard_normal(10_000) * 1e6) / 1000,
            np.arange(-50.0, 50.0),
            edges,
        ]
    )
    assert csvfile._shortest(numbers) == list(map(float.__repr__, numbers.tolist()))


def test_a_text_that_would_not_read_back_as_its_number_is_not_written(monkeypatch):
    """The guard: were Arrow to give digits that read back as another number (cut here to
    six significant digits), ``repr``'s text is written instead."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cast = pc.cast

    def cut(values, target, *args, **kwargs):
        out = cast(values, target, *args, **kwargs)
        if target == pa.string():
            return pa.array([f"{float(t):.6g}" if "." in t else t for t in out.to_pylist()])
        return out

    monkeypatch.setattr(pc, "cast", cut)
    numbers = np.array([0.30582488638348876, 0.25, 1 / 3, 12.5])
    assert csvfile._shortest(numbers) == list(map(float.__repr__, numbers.tolist()))
