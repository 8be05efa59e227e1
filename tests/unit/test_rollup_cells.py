"""The pure parts of the rollup reader: time windows split into whole UTC days and months,
stored-cell ranges of a derived cell, and where a cell lies against a bbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import h3
import pytest

from geodata.cells import cell_sql, h3_cell
from geodata.rollup import cell_extent, descendant_range, periods, place

CST = timezone(timedelta(hours=8))


def test_a_window_of_whole_local_days_splits_at_utc_midnight():
    split = periods(datetime(2026, 3, 5, tzinfo=CST), datetime(2026, 5, 9, tzinfo=CST))
    assert split is not None
    found, f0, f1 = split
    # 2026-03-05 00:00 +08 is 03-04 16:00 UTC: the whole UTC days start on 03-05
    assert (f0, f1) == (datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 5, 8, tzinfo=UTC))
    assert found == [
        ("day", date(2026, 3, 5), date(2026, 4, 1)),
        ("month", date(2026, 4, 1), date(2026, 5, 1)),
        ("day", date(2026, 5, 1), date(2026, 5, 8)),
    ]


def test_windows_without_a_whole_day_are_left_to_the_raw_table():
    t = datetime(2026, 3, 5, 3, tzinfo=UTC)
    assert periods(t, t + timedelta(hours=30)) is None
    assert periods(t.replace(hour=0), t.replace(hour=0) + timedelta(days=1)) == (
        [("day", date(2026, 3, 5), date(2026, 3, 6))],
        t.replace(hour=0),
        t.replace(hour=0) + timedelta(days=1),
    )


def test_whole_months_only_inside_the_days():
    found, _, _ = periods(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC))
    assert found == [("month", date(2026, 1, 1), date(2026, 3, 1))]


def _derived(stored: int, res: int) -> int:
    """What :func:`geodata.cells.cell_sql` computes, in Python."""
    assert "&" in cell_sql(res) or res in (7, 9)
    if res in (7, 9):
        return stored
    low = (1 << (3 * (15 - res))) - 1
    return (stored & ~(15 << 52)) | (res << 52) | low


@pytest.mark.parametrize("res", [5, 6, 7, 8, 9])
def test_the_stored_cells_of_a_derived_cell_are_one_range(res):
    lon, lat = 117.27, 31.86
    stored_res = 7 if res <= 7 else 9
    stored = h3_cell(lon, lat, stored_res)
    cell = _derived(stored, res)
    lo, hi = descendant_range(cell)
    kids = h3.api.basic_int.cell_to_children(cell, stored_res)
    assert lo <= min(kids) and max(kids) <= hi and lo <= stored <= hi
    for neighbour in h3.api.basic_int.grid_ring(cell, 1):  # no neighbour's cells in the range
        for kid in h3.api.basic_int.cell_to_children(neighbour, stored_res):
            assert not lo <= kid <= hi


def test_place_against_a_bbox():
    cell = h3_cell(117.27, 31.86, 8)
    x0, y0, x1, y1 = cell_extent(cell)
    assert place(cell, (x0 - 1, y0 - 1, x1 + 1, y1 + 1)) == 1
    assert place(cell, (x0 + 1e-3, y0 - 1, x1 + 1, y1 + 1)) == 0  # cut on the west
    assert place(cell, (x1 + 1e-3, y0, x1 + 1, y1)) == -1
    assert place(cell, (x1 - 5e-5, y0, x1 + 1, y1)) == 0  # within the margin: not outside
