"""The assessment's days are the city's (ONEMAP_TIMEZONE): an incident stored at 23:30 UTC is
received the next local day in Shanghai, counted in that day's bucket and period, and the report's
CSV gives its period with the city's offset."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from analytics import assessment_report as ar
from analytics.assessment import trend
from geodata.engine import get_engine

STORED = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
"""07:30 on 2026-12-07 in Shanghai; still 2026-12-06 in UTC and in Los Angeles."""


@pytest.fixture
def late_url(store_url) -> Iterator[str]:
    """One grid in a street and one closed incident received at :data:`STORED` (removed after)."""
    with get_engine(store_url).begin() as conn:
        conn.execute(text("SET LOCAL onemap.area_assigned = 'on'"))
        ids: dict[str, int] = {}
        for key, level, depth, parent in (("s", "street", 2, None), ("g", "grid", 4, "s")):
            ids[key] = conn.execute(
                text(
                    "INSERT INTO area (level, depth, name, parent_id, geom, loc, h3_r7, h3_r9) "
                    "VALUES (:level, :depth, :name, :parent, "
                    "ST_Multi(ST_MakeEnvelope(0, 0, 1, 1, 4326)), "
                    "ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 0, 0) RETURNING id"
                ),
                {"level": level, "depth": depth, "name": f"late-{key}", "parent": ids.get(parent)},
            ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO event (category, status, title, reported_at, closed_at, area_id, "
                "geom, loc, h3_r7, h3_r9) VALUES ('test.late', 'closed', 't', :rep, "
                ":rep + interval '2 hours', :area, ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), "
                "ST_SetSRID(ST_MakePoint(0.5, 0.5), 4326), 0, 0)"
            ),
            {"rep": STORED, "area": ids["g"]},
        )
    try:
        yield store_url
    finally:
        with get_engine(store_url).begin() as conn:
            conn.execute(text("DELETE FROM event WHERE category = 'test.late'"))
            conn.execute(text("DELETE FROM area WHERE name LIKE 'late-%'"))


def received(url: str, day: date, tz: str) -> int:
    """Incidents of the test category received on the local ``day`` of zone ``tz``."""
    report = ar.build_report(url, "grid", *ar.day_range(day, day, tz), category="test", tz=tz)
    return sum(r["received"] for r in report.rows)


def test_received_on_the_citys_day(late_url):
    shanghai, la = "Asia/Shanghai", "America/Los_Angeles"
    assert received(late_url, date(2026, 12, 7), shanghai) == 1
    assert received(late_url, date(2026, 12, 6), shanghai) == 0
    assert received(late_url, date(2026, 12, 6), la) == 1  # 15:30 on the 6th there
    assert received(late_url, date(2026, 12, 7), la) == 0
    start, end = ar.day_range(date(2026, 12, 7), date(2026, 12, 7))
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-07T00:00:00+08:00",
        "2026-12-08T00:00:00+08:00",
    )
    assert start == datetime(2026, 12, 6, 16, tzinfo=UTC)


def test_day_bucket_and_csv_times(late_url):
    week = ar.day_range(date(2026, 12, 1), date(2026, 12, 10))
    days = trend(late_url, *week, period="day", category="test")  # the city's zone by default
    assert [(r["bucket"], r["received"]) for r in days] == [(datetime(2026, 12, 7), 1)]
    utc_days = trend(late_url, *week, period="day", category="test", tz="UTC")
    assert [r["bucket"] for r in utc_days] == [datetime(2026, 12, 6)]

    report = ar.build_report(late_url, "grid", *week, category="test")
    assert [(r["bucket"], r["received"]) for r in report.trend] == [(datetime(2026, 12, 7), 1)]
    (row,) = csv.DictReader(io.StringIO(ar.report_csv(report)))
    assert (row["period_start"], row["period_end"]) == (
        "2026-12-01T00:00:00+08:00",
        "2026-12-11T00:00:00+08:00",
    )
    assert (row["name"], row["received"], row["median_hours"]) == ("late-g", "1", "2.0")
    assert ar.latest_day(late_url, today=date(2030, 1, 1)) >= date(2026, 12, 7)
