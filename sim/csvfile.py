"""Large tables as CSV: the bytes ``DataFrame.to_csv(path, index=False)`` writes, in a third
of the time for tables of numbers.

A comparison's weekly table (78,000 rows × 33 columns, most of them float64) takes pandas
1.15 s to write, longer than the analysis of the runs, and this module 0.38 s; nearly all of
either is turning floats into text. pandas writes a float64 as NumPy's ``astype(str)`` does,
the shortest text that reads back as the same number (``repr``). Here a column with many
repeats (shares of a headcount, counts: 60% of that table's numbers) has each distinct number
turned into text once, and the texts come from Arrow's cast to strings, which finds the same
shortest digits three times faster than ``float.__repr__``, in Python's notation
(``_shortest``); the rows are joined with ``str.join`` instead of the ``csv`` module's writer.
The result is the same file to the byte (``tests/test_csvfile.py`` checks it against pandas
for every kind of float64, repeated or not, whole numbers and names, and the texts against
``repr`` for numbers of every magnitude). Tables with columns of any other kind (float32,
booleans, dates, text that would need quotes, missing names) are left to pandas.
"""

from pathlib import Path

import numpy as np
import pandas as pd

#: Characters that make the ``csv`` module quote a field (QUOTE_MINIMAL, pandas' default).
_QUOTED = (",", '"', "\n", "\r")
#: Rows turned into text at a time (bounds the memory of the text to a few tens of MB).
CHUNK_ROWS = 50_000


def write_csv(table: pd.DataFrame, path: str | Path) -> None:
    """Write ``table`` as ``table.to_csv(path, index=False)`` would, byte for byte."""
    names = list(table.columns)
    plain = (
        table.columns.is_unique
        and len(names) > 1  # one column: the csv module quotes an empty field, "", alone on a row
        and all(isinstance(name, str) and _unquoted(name) for name in names)
    )
    kinds = [_kind(table[name]) for name in names] if plain else []
    if not plain or None in kinds:
        table.to_csv(path, index=False)
        return
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(names) + "\n")
        for start in range(0, len(table), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            columns = [
                _texts(table[name].to_numpy()[rows], kind)
                for name, kind in zip(names, kinds, strict=True)
            ]
            out.write("".join(row + "\n" for row in map(",".join, zip(*columns, strict=True))))


def write_csv_and_parquet(table: pd.DataFrame, stem: Path) -> None:
    """``table`` as ``<stem>.csv`` (``write_csv``) and ``<stem>.parquet``: how a study writes
    its large tables, in a worker while it goes on (``sim.workers.in_a_worker``)."""
    write_csv(table, stem.with_name(f"{stem.name}.csv"))
    table.to_parquet(stem.with_name(f"{stem.name}.parquet"), index=False)


def _unquoted(text: str) -> bool:
    """Whether the csv module writes ``text`` as it is (nothing in it to quote)."""
    return not any(c in text for c in _QUOTED)


def _kind(column: pd.Series) -> str | None:
    """How a column is written here: "float" (float64), "int" (integers), "text" (strings
    that need no quotes); None for anything else (left to pandas)."""
    dtype = column.dtype
    if dtype == np.float64:
        return "float"
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return "int"
    if pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        # each distinct value once: a column of names holds a few, many times over
        values = set(column.to_numpy(dtype=object).tolist())
        if all(isinstance(v, str) and _unquoted(v) for v in values):
            return "text"
    return None


def _texts(values: np.ndarray, kind: str) -> list[str]:
    """A column's fields as pandas writes them: floats as their ``repr`` (missing: empty),
    integers as digits, strings as they are."""
    if kind == "float":
        # by bit pattern: a column of shares of a headcount holds a few hundred numbers many
        # times over, each turned into text once (-0.0 and 0.0 apart, as their texts are)
        where, bits = pd.factorize(np.ascontiguousarray(values).view(np.int64))
        if 2 * len(bits) > len(values):  # mostly distinct numbers: each in turn
            bits, where = values, None
        numbers = bits.view(np.float64)
        texts = _shortest(numbers)
        for i in np.flatnonzero(np.isnan(numbers)).tolist():
            texts[i] = ""  # pandas' na_rep
        return texts if where is None else np.array(texts, dtype=object)[where].tolist()
    if kind == "int":
        return list(map(int.__repr__, values.tolist()))
    return values.astype(object).tolist()


def _shortest(numbers: np.ndarray) -> list[str]:
    """``float.__repr__`` of each number, three times faster: Arrow's cast to text gives the
    same shortest digits that read back as the number, in its own notation — no ``.0`` after
    a whole number, an exponent without a leading zero (``1e-9``), fixed notation down to
    1e-5 and an exponent from 1e15 — so every text with an exponent, without a point, or
    below 1e-4 in fixed notation (a few in a thousand here) is ``repr``'s own, as is any text
    that would not read back as its number (a guard: none seen in 8 million numbers of every
    magnitude, ``tests/test_csvfile.py``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = pa.array(numbers)
    texts = pc.cast(arrow, pa.string())
    notation = pc.or_(
        pc.or_(pc.match_substring(texts, "e"), pc.invert(pc.match_substring(texts, "."))),
        pc.or_(pc.starts_with(texts, "0.0000"), pc.starts_with(texts, "-0.0000")),
    )
    back = pc.cast(texts, pa.float64()).to_numpy(zero_copy_only=False)
    lost = (back.view(np.int64) != numbers.view(np.int64)) & ~np.isnan(numbers)
    redo = np.flatnonzero(notation.to_numpy(zero_copy_only=False) | lost)
    out = texts.to_pylist()
    for i, number in zip(redo.tolist(), numbers[redo].tolist(), strict=True):
        out[i] = float.__repr__(number)
    return out
