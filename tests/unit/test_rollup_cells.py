"""The pure parts of the rollup reader: time windows split into whole UTC days and months,
cells derived as the SQL does, and where a cell lies against a bbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import h3
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata.cells import cell_sql, h3_cell
from geodata.rollup import cell_extent, derived, derived_array, periods, place, places

CST = timezone(timedelta(hours=8))


def _utc(*args: int) -> datetime:
    return datetime(*args)  # naive: the rollup's starts are UTC timestamps


def test_a_window_of_whole_local_days_splits_into_hours_days_weeks_and_months():
    split = periods(datetime(2026, 3, 5, tzinfo=CST), datetime(2026, 5, 9, tzinfo=CST))
    assert split is not None
    found, f0, f1 = split
    # 2026-03-05 00:00 +08 is 03-04 16:00 UTC: whole hours from there, whole days from 03-05
    assert (f0, f1) == (datetime(2026, 3, 4, 16, tzinfo=UTC), datetime(2026, 5, 8, 16, tzinfo=UTC))
    assert found == [
        ("hour", _utc(2026, 3, 4, 16), _utc(2026, 3, 5)),
        ("day", _utc(2026, 3, 5), _utc(2026, 3, 9)),  # Thursday to the next Monday
        ("week", _utc(2026, 3, 9), _utc(2026, 3, 30)),
        ("day", _utc(2026, 3, 30), _utc(2026, 4, 1)),
        ("month", _utc(2026, 4, 1), _utc(2026, 5, 1)),
        ("day", _utc(2026, 5, 1), _utc(2026, 5, 8)),  # Friday to Friday: no whole week
        ("hour", _utc(2026, 5, 8), _utc(2026, 5, 8, 16)),
    ]


def test_thirty_local_days_read_about_six_periods():
    found, _, _ = periods(datetime(2026, 11, 8, tzinfo=CST), datetime(2026, 12, 8, tzinfo=CST))
    assert found == [
        ("hour", _utc(2026, 11, 7, 16), _utc(2026, 11, 8)),
        ("day", _utc(2026, 11, 8), _utc(2026, 11, 9)),
        ("week", _utc(2026, 11, 9), _utc(2026, 12, 7)),
        ("hour", _utc(2026, 12, 7), _utc(2026, 12, 7, 16)),
    ]


def test_windows_without_a_whole_hour_are_left_to_the_raw_table():
    t = datetime(2026, 3, 5, 3, 20, tzinfo=UTC)
    assert periods(t, t + timedelta(minutes=50)) is None
    assert periods(t, t + timedelta(minutes=100)) == (
        [("hour", _utc(2026, 3, 5, 4), _utc(2026, 3, 5, 5))],
        datetime(2026, 3, 5, 4, tzinfo=UTC),
        datetime(2026, 3, 5, 5, tzinfo=UTC),
    )


def test_whole_months_only_inside_the_days():
    found, _, _ = periods(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert found == [("month", _utc(2026, 1, 1), _utc(2026, 3, 1))]


@given(
    st.datetimes(datetime(2024, 1, 1), datetime(2027, 1, 1)),
    st.timedeltas(timedelta(0), timedelta(days=400)),
)
def test_periods_tile_the_whole_hours_exactly(start, length):
    """The periods are whole periods of their span, in order, without gaps or overlaps, from the
    first whole hour to the last."""
    split = periods(start.replace(tzinfo=UTC), (start + length).replace(tzinfo=UTC))
    if split is None:
        assert length < timedelta(hours=2)
        return
    found, f0, f1 = split
    assert f0 - timedelta(hours=1) < start.replace(tzinfo=UTC) <= f0
    at = f0.replace(tzinfo=None)
    for span, first, end in found:
        assert first == at < end
        assert first.minute == first.second == first.microsecond == 0
        if span != "hour":
            assert first.hour == end.hour == 0
        if span == "week":
            assert first.weekday() == end.weekday() == 0
        if span == "month":
            assert first.day == end.day == 1
        at = end
    assert at == f1.replace(tzinfo=None)


@pytest.mark.parametrize("res", [5, 6, 7, 8, 9])
def test_derived_cells_are_those_of_the_sql(res):
    lon, lat = 117.27, 31.86
    r7, r9 = h3_cell(lon, lat, 7), h3_cell(lon, lat, 9)
    cell = derived(r7, r9, res)
    assert h3.api.basic_int.get_resolution(cell) == res
    stored = r7 if res <= 7 else r9
    assert h3.api.basic_int.cell_to_parent(stored, res) == cell
    if res not in (7, 9):
        low = (1 << (3 * (15 - res))) - 1
        assert f"{low}::bigint" in cell_sql(res)


def test_place_against_a_bbox():
    cell = h3_cell(117.27, 31.86, 9)
    x0, y0, x1, y1 = cell_extent(cell)
    assert place(cell, (x0 - 1, y0 - 1, x1 + 1, y1 + 1)) == 1
    assert place(cell, (x0 + 1e-3, y0 - 1, x1 + 1, y1 + 1)) == 0  # cut on the west
    assert place(cell, (x1 + 1e-3, y0, x1 + 1, y1)) == -1
    assert place(cell, (x1 - 5e-5, y0, x1 + 1, y1)) == 0  # within the margin: not outside


def test_places_and_derived_array_agree_with_their_scalar_forms():
    rng = np.random.default_rng(3)
    pts = rng.uniform((117.0, 31.6), (117.5, 32.0), size=(300, 2))
    r7 = np.array([h3_cell(x, y, 7) for x, y in pts], dtype=np.int64)
    r9 = np.array([h3_cell(x, y, 9) for x, y in pts], dtype=np.int64)
    bbox = (117.1, 31.7, 117.33, 31.91)
    assert places(r9, bbox).tolist() == [place(c, bbox) for c in r9.tolist()]
    for res in (5, 6, 7, 8, 9):
        assert derived_array(r7, r9, res).tolist() == [
            derived(a, b, res) for a, b in zip(r7.tolist(), r9.tolist(), strict=True)
        ]
