"""A day of demo readings generated in PostgreSQL: how many, when, for which devices, in which
partitions (the full-size city's 200,000 devices use the same code)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from geodata.demo import build_demo
from geodata.engine import get_engine
from tests.conftest import DEMO_TEST_ANCHOR, DEMO_TEST_SEED, _fresh_database

DEVICES = 300
STEP = timedelta(minutes=20)


@pytest.fixture(scope="module")
def readings_url(cluster):
    with _fresh_database(cluster, "readings") as url:
        counts = build_demo(
            url, scale=0.15, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR, reading_devices=DEVICES
        )
        yield url, counts


def query(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def test_count_is_what_the_build_reported_and_each_device_reports_every_step(readings_url):
    url, counts = readings_url
    per_device = query(
        url,
        """SELECT r.device_id, count(*), min(r.ts), max(r.ts), d.last_seen, d.kind
           FROM reading r JOIN device d ON d.id = r.device_id
           GROUP BY r.device_id, d.last_seen, d.kind""",
    )
    assert sum(n for _, n, *_ in per_device) == counts["reading"] > 0
    assert 0 < len(per_device) <= DEVICES
    start = DEMO_TEST_ANCHOR - timedelta(days=1)
    for _, n, first, last, last_seen, kind in per_device:
        assert kind != "camera"
        assert start <= first < start + STEP
        assert last <= min(last_seen, DEMO_TEST_ANCHOR)
        assert last > min(last_seen, DEMO_TEST_ANCHOR) - STEP
        assert n == (last - first) // STEP + 1  # no gap, no duplicate
    # devices reporting up to the anchor have the whole day
    assert max(n for _, n, *_ in per_device) == 72


def test_devices_are_spread_over_the_city_and_stop_when_offline(readings_url):
    url, _ = readings_url
    chosen = query(url, "SELECT DISTINCT device_id FROM reading")
    areas = query(
        url,
        "SELECT count(DISTINCT area_id) FROM device WHERE id IN (SELECT device_id FROM reading)",
    )[0][0]
    all_areas = query(url, "SELECT count(DISTINCT area_id) FROM device WHERE kind <> 'camera'")[0][
        0
    ]
    assert areas >= 0.8 * all_areas  # a hash of ids, not the first street's devices
    silent = query(
        url,
        """SELECT count(*) FROM device d
           WHERE d.last_seen < :since AND d.id IN (SELECT device_id FROM reading)""",
        since=DEMO_TEST_ANCHOR - timedelta(days=1),
    )[0][0]
    assert silent == 0
    assert len(chosen) > 0


def test_values_as_the_heartbeat_sends_them(readings_url):
    url, _ = readings_url
    doors = query(
        url,
        """SELECT r.value, r.payload->>'event' FROM reading r JOIN device d ON d.id = r.device_id
           WHERE d.kind = 'door'""",
    )
    assert doors, "the sample holds door sensors"
    assert {(v, e) for v, e in doors} <= {(1.0, "open"), (0.0, "heartbeat")}
    assert any(e == "open" for _, e in doors)
    backwards = query(
        url,
        """SELECT count(*) FROM (
               SELECT r.value < lag(r.value) OVER (PARTITION BY r.device_id ORDER BY r.ts) AS back
               FROM reading r JOIN device d ON d.id = r.device_id WHERE d.kind = 'water') w
           WHERE back""",
    )[0][0]
    assert backwards == 0  # a water meter only counts up
    assert query(url, "SELECT count(*) FROM reading_default")[0][0] == 0  # monthly partitions
