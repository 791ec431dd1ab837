"""Reading organisations' usage exports (experiments/usage_data.py): both formats, the
conversion of daily Microsoft 365 counts to weeks, and a message naming the file, line and
problem for every kind of bad data."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import usage_data
from models.errors import InputError


def weekly_csv(path, weeks=10, start=1, **columns):
    data = {"week": range(start, start + weeks), "active_users": [10 + w for w in range(weeks)]}
    data |= columns
    pd.DataFrame(data).to_csv(path, index=False)
    return path


def m365_csv(path, days=21, first="2024-01-01", newest_first=True):
    dates = pd.date_range(first, periods=days, freq="D")
    table = pd.DataFrame(
        {
            "Report Refresh Date": dates[-1].date().isoformat(),
            "Report Date": [d.date().isoformat() for d in dates],
            "Liked": 1,
            "Posted": [1 + (i % 2) for i in range(days)],
            "Read": [10 + (i % 7) for i in range(days)],
            "Report Period": 30,
        }
    )
    (table.iloc[::-1] if newest_first else table).to_csv(path, index=False)
    return path


def test_weekly_file_is_read_in_any_order(tmp_path):
    path = weekly_csv(tmp_path / "u.csv", posters=[1] * 10, adopted=[30 + w for w in range(10)])
    pd.read_csv(path).sample(frac=1, random_state=1).to_csv(path, index=False)
    usage = usage_data.read(path)
    assert usage.format == "weekly"
    assert usage.week.tolist() == list(range(1, 11))
    assert usage.counts["active_users"].tolist() == [10 + w for w in range(10)]
    assert set(usage.counts) == {"active_users", "posters", "adopted"}


def test_dates_become_week_numbers_from_the_launch(tmp_path):
    dates = pd.date_range("2024-03-04", periods=9, freq="7D")
    path = tmp_path / "u.csv"
    pd.DataFrame({"date": dates.date, "active_users": 5}).to_csv(path, index=False)
    assert usage_data.read(path).week.tolist() == list(range(1, 10))
    launched = usage_data.read(path, launch="2024-02-26")  # one week before the first date
    assert launched.week.tolist() == list(range(2, 11))


def test_m365_daily_counts_become_whole_weeks(tmp_path):
    path = m365_csv(tmp_path / "m.csv", days=59)  # newest day first, 8 whole weeks + 3 days
    usage = usage_data.read(path, visit_days=2.0, post_days=1.0)
    assert usage.format == "m365"
    assert usage.week.tolist() == list(range(1, 9))
    # each week: Read 10..16 → sum 91, busiest day 16; 91 / 2 = 45.5 → 46 (between 16 and 91)
    assert usage.counts["active_users"].tolist() == [46] * 8
    # Posted alternates 1, 2 by day: a week sums to 10 or 11 (÷ 1 day)
    assert usage.counts["posters"].tolist() == [10, 11] * 4
    assert any("3 days of partial weeks" in note for note in usage.notes)


def test_m365_estimate_stays_between_the_busiest_day_and_the_sum(tmp_path):
    path = m365_csv(tmp_path / "m.csv", days=70)
    low = usage_data.read(path, visit_days=7.0).counts["active_users"]
    high = usage_data.read(path, visit_days=1.0).counts["active_users"]
    assert (low == 16).all() and (high == 91).all()


@settings(max_examples=25, deadline=None)
@given(
    order=st.permutations(range(12)),
    counts=st.lists(st.integers(0, 500), min_size=12, max_size=12),
)
def test_row_order_never_changes_what_is_read(tmp_path_factory, order, counts):
    folder = tmp_path_factory.mktemp("order")
    table = pd.DataFrame({"week": range(1, 13), "active_users": counts})
    table.iloc[list(order)].to_csv(folder / "u.csv", index=False)
    usage = usage_data.read(folder / "u.csv")
    assert usage.counts["active_users"].tolist() == counts
    # and each week keeps the line it came from
    line = {w: int(usage.lines[i]) for i, w in enumerate(usage.week)}
    assert all(order[line[w] - 2] == w - 1 for w in line)


BAD = {
    "missing column": ("week,users\n1,3\n", r"line 1: missing column\(s\) 'active_users'"),
    "no week or date": ("active_users\n3\n", r"line 1: missing column 'week' or 'date'"),
    "unparsable date": (
        "date,active_users\n2024-01-01,3\n2024-13-45,4\n",
        r"line 3: date = '2024-13-45' is not a date",
    ),
    "duplicated week": ("week,active_users\n1,3\n2,4\n2,5\n", r"lines 3 and 4: the same week"),
    "gap": ("week,active_users\n1,3\n2,4\n5,5\n", r"lines 3 and 4: 2 week\(s\) missing"),
    "negative count": ("week,active_users\n1,3\n2,-4\n", r"line 3: active_users = -4 is negative"),
    "not a number": ("week,active_users\n1,3\n2,many\n", r"line 3: active_users = 'many' is not"),
    "fraction": ("week,active_users\n1,3.5\n", r"line 2: active_users = 3.5 is not a whole"),
    "week zero": ("week,active_users\n0,3\n1,3\n", r"line 2: week = 0: weeks count from 1"),
    "posters above active": (
        "week,active_users,posters\n1,3,1\n2,4,9\n",
        r"line 3: posters exceed active_users",
    ),
    "too few weeks": ("week,active_users\n1,3\n2,4\n", r"2 whole weeks of data; .* at least 8"),
    "empty": ("", r"the file is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_weekly_data_is_refused_naming_file_line_and_problem(tmp_path, case):
    text, pattern = BAD[case]
    path = tmp_path / "usage.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        usage_data.read(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert re.search(pattern, message), message


def test_m365_duplicated_and_missing_days_are_refused(tmp_path):
    path = m365_csv(tmp_path / "m.csv", days=30)
    table = pd.read_csv(path)
    pd.concat([table, table.iloc[[3]]]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"lines 5 and 32: the same Report Date"):
        usage_data.read(path)
    table.drop(index=[10, 11]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"2 day\(s\) missing between 2024-01-18 and 2024-01-21"):
        usage_data.read(path)


def test_m365_missing_column_names_the_report(tmp_path):
    path = m365_csv(tmp_path / "m.csv")
    pd.read_csv(path).drop(columns=["Posted"]).to_csv(path, index=False)
    with pytest.raises(InputError, match=r"line 1: missing column\(s\) 'Posted' \(the Viva"):
        usage_data.read(path, fmt="m365")


def test_counts_above_the_organisation_are_refused(tmp_path):
    usage = usage_data.read(weekly_csv(tmp_path / "u.csv"))
    usage.check_size(100)
    with pytest.raises(InputError, match=r"u.csv: line 5: active_users = 13 is more than the 12"):
        usage.check_size(12)


def test_bad_settings_are_refused(tmp_path):
    path = weekly_csv(tmp_path / "u.csv")
    with pytest.raises(InputError, match=r"data.format='xls' is not allowed"):
        usage_data.read(path, fmt="xls")
    with pytest.raises(InputError, match=r"data.visit_days=0 is not allowed"):
        usage_data.read(path, visit_days=0)
    with pytest.raises(InputError, match=r"data.launch='soon' is not a date"):
        usage_data.read(path, launch="soon")
    with pytest.raises(InputError, match=r"data.path=.*: no such file"):
        usage_data.read(tmp_path / "nothing.csv")
    assert np.all(usage_data.read(path).week == np.arange(1, 11))
