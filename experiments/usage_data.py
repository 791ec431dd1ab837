"""An organisation's usage export, read, checked and turned into weekly counts for calibration
(``python -m sim experiment=calibrate data.path=usage.csv``; docs/CALIBRATION.md §5).

Two formats (``data.format``; ``auto`` tells them apart by their columns):

- ``weekly``: one row a week, ``week`` (the week's number counted from the rollout, whose
  first week is 1, as in the model's weekly records) or ``date`` (any day of the week; weeks
  are counted from ``data.launch``, or from the first date, whose week is week 1),
  ``active_users`` (people who used the network that week), and optionally
  ``posters`` (people who posted that week) and ``adopted`` (people who had ever used it).
- ``m365``: the Microsoft 365 admin-center / Graph export of Viva Engage (Yammer) activity
  user counts, one row a *day*: ``Report Refresh Date``, ``Report Date``, ``Liked``,
  ``Posted``, ``Read``, ``Report Period``. Rows may come in any order (the export lists the
  newest day first); they are sorted on reading.

Daily unique users cannot be summed into weekly unique users: someone who reads on three days
is one weekly user but three daily ones. ``m365`` weeks are therefore an approximation, stated
in the output: a day's active users are the largest of its Read, Posted and Liked counts (a
lower bound of that day's unique users, since most who post or like also read); a week's
active users are the sum over its seven days divided by ``data.visit_days``, the mean number
of days in a week on which a weekly user comes, and kept between the busiest day (a lower
bound of the weekly users) and the sum (an upper bound). Posters likewise, with
``data.post_days``. The estimate is exact when every weekly user comes on exactly
``visit_days`` days; it is too high when people come less often than that, too low when they
come more often. Only whole weeks (seven days, counted from ``data.launch`` or the first
day) are kept.

Every problem stops the calibration with one message naming the file, the line (as an editor
numbers them: the header is line 1) and what is wrong, before anything is simulated.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import InputError
from models.loaders import file_problem, read_header

#: Fewest observed weeks a fit accepts: fewer leave the dynamics unconstrained.
MIN_WEEKS = 8
WEEKLY = ("active_users",)
WEEKLY_OPTIONAL = ("posters", "adopted")
M365 = ("Report Refresh Date", "Report Date", "Liked", "Posted", "Read", "Report Period")
FORMATS = ("auto", "weekly", "m365")


@dataclass
class Usage:
    """Weekly counts of an organisation: ``week`` is the model's week number (1 = the rollout's
    first week), consecutive; ``counts`` maps ``active_users`` (and ``posters``, ``adopted``
    when given) to one count per week; ``lines`` the line(s) of the file each week came
    from."""

    path: Path
    format: str
    week: np.ndarray
    counts: dict[str, np.ndarray]
    lines: list[str]
    first_date: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.week)

    def check_size(self, people: int, org_key: str = "org") -> None:
        """Refuse counts above the organisation's size ``people``, naming the first line."""
        for name, values in self.counts.items():
            over = np.flatnonzero(values > people)
            if len(over):
                i = over[0]
                raise InputError(
                    f"{self.path}: line {self.lines[i]}: {name} = {values[i]:g} is more than the "
                    f"{people} people of the organisation ({org_key}); is this the organisation "
                    "the export is from?"
                )


def read(
    path: str | Path,
    fmt: str = "auto",
    launch: str | None = None,
    visit_days: float = 2.0,
    post_days: float = 1.0,
) -> Usage:
    """Read and check a usage export (see the module's docstring)."""
    path = Path(path).expanduser()
    if fmt not in FORMATS:
        raise InputError(f"data.format={fmt!r} is not allowed: choose one of {', '.join(FORMATS)}")
    for key, days in (("data.visit_days", visit_days), ("data.post_days", post_days)):
        if not 1 <= days <= 7:
            raise InputError(f"{key}={days} is not allowed: it must be between 1 and 7 days")
    problem = file_problem(f"data.path={str(path)!r}", path, "a usage export (CSV)")
    if problem:
        raise InputError(problem)
    read_header(str(path), str(path))  # an endless first line is read no further than a header
    try:
        table = pd.read_csv(path, dtype=str, encoding="utf-8-sig", skipinitialspace=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as e:
        raise InputError(f"{path}: not a readable CSV file: {e}") from e
    except pd.errors.EmptyDataError as e:
        raise InputError(f"{path}: the file is empty") from e
    table.columns = [str(c).strip() for c in table.columns]
    start = _launch(launch)
    if fmt == "auto":
        fmt = "m365" if {"Report Date", "Read"} <= set(table.columns) else "weekly"
    if fmt == "m365":
        usage = _m365(path, table, start, visit_days, post_days)
    else:
        usage = _weekly(path, table, start)
    if len(usage) < MIN_WEEKS:
        raise InputError(
            f"{path}: {len(usage)} whole weeks of data; the calibration needs at least "
            f"{MIN_WEEKS} weeks to fit the dynamics"
        )
    return usage


def _launch(launch: str | None) -> pd.Timestamp | None:
    if launch in (None, ""):
        return None
    try:
        return pd.Timestamp(str(launch)).normalize()
    except ValueError as e:
        raise InputError(
            f"data.launch={launch!r} is not a date: give the rollout's date as YYYY-MM-DD"
        ) from e


def _require(path: Path, table: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: line 1: missing column(s) {', '.join(map(repr, missing))} ({what}); "
            f"the header has {', '.join(map(repr, table.columns))}"
        )


def _line(row: int) -> str:
    return str(row + 2)  # the header is line 1


def _counts(path: Path, table: pd.DataFrame, column: str, unit: str = "people") -> np.ndarray:
    """A column of whole, non-negative counts."""
    values = pd.to_numeric(table[column].str.strip(), errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if len(bad):
        raw = table[column].iloc[bad[0]]
        raise InputError(f"{path}: line {_line(bad[0])}: {column} = {raw!r} is not a number")
    values = values.to_numpy(float)
    negative = np.flatnonzero(values < 0)
    if len(negative):
        i = negative[0]
        raise InputError(f"{path}: line {_line(i)}: {column} = {values[i]:g} is negative")
    fractional = np.flatnonzero(values != np.round(values))
    if len(fractional):
        i = fractional[0]
        raise InputError(
            f"{path}: line {_line(i)}: {column} = {values[i]:g} is not a whole number of {unit}"
        )
    return values


def _dates(path: Path, table: pd.DataFrame, column: str) -> pd.Series:
    dates = pd.to_datetime(table[column].str.strip(), errors="coerce", format="ISO8601")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        raw = table[column].iloc[bad[0]]
        raise InputError(
            f"{path}: line {_line(bad[0])}: {column} = {raw!r} is not a date (YYYY-MM-DD)"
        )
    return dates.dt.normalize()


def _no_duplicates(path: Path, keys: pd.Series, what: str) -> None:
    repeated = keys.duplicated(keep=False).to_numpy()
    if repeated.any():
        rows = np.flatnonzero(repeated)
        first = keys.iloc[rows[0]]
        same = rows[(keys.iloc[rows] == first).to_numpy()]
        label = first.date() if isinstance(first, pd.Timestamp) else f"{first:g}"
        raise InputError(
            f"{path}: lines {' and '.join(_line(r) for r in same[:2])}: the same {what} "
            f"({label}) appears twice"
        )


def _no_gaps(path: Path, index: np.ndarray, lines: list[str], unit: str, label) -> None:
    """``index`` sorted whole numbers: refuse a step larger than one."""
    jumps = np.flatnonzero(np.diff(index) > 1)
    if len(jumps):
        i = jumps[0]
        raise InputError(
            f"{path}: lines {lines[i]} and {lines[i + 1]}: {int(index[i + 1] - index[i] - 1)} "
            f"{unit}(s) missing between {label(index[i])} and {label(index[i + 1])}; "
            f"the data must cover every {unit}"
        )


def _weekly(path: Path, table: pd.DataFrame, launch: pd.Timestamp | None) -> Usage:
    if "week" not in table.columns and "date" not in table.columns:
        raise InputError(
            f"{path}: line 1: missing column 'week' or 'date' (a weekly usage export needs one "
            f"of them, and 'active_users'); the header has {', '.join(map(repr, table.columns))}"
        )
    _require(path, table, WEEKLY, "people who used the network each week")
    first_date = None
    if "week" in table.columns:
        week = _counts(path, table, "week", "weeks")
        if (week < 1).any():
            i = int(np.flatnonzero(week < 1)[0])
            raise InputError(
                f"{path}: line {_line(i)}: week = {week[i]:g}: weeks count from 1 (the "
                "rollout's first week)"
            )
    else:
        dates = _dates(path, table, "date")
        first_date = launch if launch is not None else dates.min()
        days = (dates - first_date).dt.days.to_numpy()
        if (days < 0).any():
            i = int(np.flatnonzero(days < 0)[0])
            raise InputError(
                f"{path}: line {_line(i)}: date is before data.launch ({launch.date()})"
            )
        week = np.floor_divide(days, 7).astype(float) + 1
    _no_duplicates(path, pd.Series(week), "week")
    order = np.argsort(week, kind="stable")
    lines = [_line(i) for i in order]
    week = week[order].astype(int)
    _no_gaps(path, week, lines, "week", lambda w: f"week {w}")
    counts = {
        c: _counts(path, table, c)[order] for c in (*WEEKLY, *WEEKLY_OPTIONAL) if c in table.columns
    }
    usage = Usage(path, "weekly", week, counts, lines, first_date)
    _consistent(usage)
    return usage


def _consistent(usage: Usage) -> None:
    """Posters are among the active users; ever-adopted never falls and includes them."""
    c = usage.counts
    checks = []
    if "posters" in c:
        checks.append((c["posters"] > c["active_users"], "posters exceed active_users"))
    if "adopted" in c:
        checks.append((c["adopted"] < c["active_users"], "adopted is below active_users"))
        falls = np.r_[False, np.diff(c["adopted"]) < 0]
        checks.append((falls, "adopted (people who ever used it) falls from the week before"))
    for bad, what in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{usage.path}: line {usage.lines[i]}: {what}")


def _m365(path: Path, table: pd.DataFrame, launch, visit_days: float, post_days: float) -> Usage:
    _require(path, table, M365, "the Viva Engage activity user counts report")
    dates = _dates(path, table, "Report Date")
    _no_duplicates(path, dates, "Report Date")
    daily = pd.DataFrame({k: _counts(path, table, k) for k in ("Read", "Posted", "Liked")})
    order = np.argsort(dates.to_numpy(), kind="stable")
    dates = dates.iloc[order].reset_index(drop=True)
    daily = daily.iloc[order].reset_index(drop=True)
    lines = [_line(i) for i in order]
    start = launch if launch is not None else dates.iloc[0]
    if dates.iloc[0] < start:
        raise InputError(
            f"{path}: line {lines[0]}: Report Date {dates.iloc[0].date()} is before data.launch "
            f"({start.date()})"
        )
    day = (dates - start).dt.days.to_numpy()
    _no_gaps(path, day, lines, "day", lambda d: (start + pd.Timedelta(days=int(d))).date())
    active = daily[["Read", "Posted", "Liked"]].max(axis=1).to_numpy()
    week_of = day // 7 + 1
    weeks, rows = [], []
    for w in np.unique(week_of):
        mine = np.flatnonzero(week_of == w)
        if len(mine) == 7:  # a whole week; partial ones at the ends are dropped
            weeks.append(int(w))
            rows.append(mine)

    def weekly(values: np.ndarray, days: float) -> np.ndarray:
        sums = np.array([values[r].sum() for r in rows], float)
        peaks = np.array([values[r].max() for r in rows], float)
        return np.round(np.clip(sums / days, peaks, sums))

    counts = {"active_users": weekly(active, visit_days)}
    counts["posters"] = np.minimum(
        weekly(daily["Posted"].to_numpy(), post_days), counts["active_users"]
    )
    dropped = len(day) - 7 * len(weeks)
    notes = [
        f"daily counts of {len(day)} days ({dates.iloc[0].date()} to {dates.iloc[-1].date()}) "
        f"turned into {len(weeks)} whole weeks counted from {start.date()}"
        + (f"; {dropped} days of partial weeks at the ends left out" if dropped else ""),
        f"weekly active users ≈ the week's sum of daily active users (the largest of Read, "
        f"Posted, Liked) ÷ {visit_days:g} days a weekly user comes (data.visit_days), between "
        "the busiest day and the sum; weekly posters likewise ÷ "
        f"{post_days:g} (data.post_days)",
    ]
    week_lines = [f"{lines[r[0]]}–{lines[r[-1]]}" for r in rows]
    return Usage(path, "m365", np.array(weeks), counts, week_lines, start, notes)
