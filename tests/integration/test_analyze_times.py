"""The analyst's times are the city's (ONEMAP_TIMEZONE): a window typed without an offset is
local time, the answer's table, JSON and CSV give instants with the city's offset, and the
answer says which window "the last hours" meant."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from analytics.questions import ask
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.settings import Settings

STORED = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
"""07:30 on 2026-12-07 in Shanghai."""
ANALYST = Viewer(role="analyst")


@pytest.fixture
def late_url(store_url) -> Iterator[str]:
    """One incident received at :data:`STORED` (removed after)."""
    with get_engine(store_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO event (category, status, title, reported_at, geom, loc, h3_r7, "
                "h3_r9) VALUES ('test.late', 'reported', 't', :rep, "
                "ST_SetSRID(ST_MakePoint(117.25, 31.85), 4326), "
                "ST_SetSRID(ST_MakePoint(117.25, 31.85), 4326), 0, 0)"
            ),
            {"rep": STORED},
        )
    try:
        yield store_url
    finally:
        with get_engine(store_url).begin() as conn:
            conn.execute(text("DELETE FROM event WHERE category = 'test.late'"))


def question(until: str, hours: float = 1) -> dict:
    return {
        "layer": "incidents",
        "where": [{"field": "category", "op": "=", "value": "test.late"}],
        "time": {"field": "reported_at", "last_hours": hours, "until": until},
    }


def test_local_window_and_local_times_in_the_answer(late_url):
    settings = Settings(database_url=late_url)
    answer = ask(late_url, question("2026-12-07 08:00"), ANALYST, settings)
    assert answer.meta["total"] == 1  # 07:00–08:00 Shanghai holds 23:30 UTC
    assert answer.meta["timezone"] == "Asia/Shanghai"
    assert answer.meta["windows"] == [
        {"part": "time", "layer": "incidents", "field": "reported_at",
         "from": "2026-12-07T07:00:00+08:00", "to": "2026-12-07T08:00:00+08:00"}
    ]  # fmt: skip
    names = [name for name, _ in answer.columns]
    at = names.index("reported_at")
    assert answer.rows[0][at] == "2026-12-07T07:30:00+08:00"
    assert answer.features[0]["properties"]["reported_at"] == "2026-12-07T07:30:00+08:00"
    (row,) = csv.DictReader(io.StringIO(answer.to_csv()))
    assert row["reported_at"] == "2026-12-07T07:30:00+08:00"
    # the same clock time read as UTC would be 15:00–16:00 Shanghai: nothing
    assert ask(late_url, question("2026-12-07T08:00Z"), ANALYST, settings).meta["total"] == 0


def test_last_hours_end_now_in_the_citys_zone(late_url):
    settings = Settings(database_url=late_url, timezone="America/Los_Angeles")
    now = STORED + timedelta(minutes=30)
    spec = question("x")
    del spec["time"]["until"]
    answer = ask(late_url, spec, ANALYST, settings, now=now)
    assert answer.meta["windows"][0]["from"] == "2026-12-06T15:00:00-08:00"  # now - 1 h there
    assert answer.meta["windows"][0]["to"] == "2026-12-06T16:00:00-08:00"
    names = [name for name, _ in answer.columns]
    assert answer.rows[0][names.index("reported_at")] == "2026-12-06T15:30:00-08:00"
