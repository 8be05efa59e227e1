"""The pure parts of the rollup reader: time windows split into whole UTC days and months,
cells derived as the SQL does, and where a cell lies against a bbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import h3
import numpy as np
import pytest

from geodata.cells import cell_sql, h3_cell
from geodata.rollup import cell_extent, derived, derived_array, periods, place, places

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
