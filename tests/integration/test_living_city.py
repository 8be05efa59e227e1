"""A city that is alive now: a demo built now is current, a demo reopened days later catches up,
the heartbeat keeps it going, and the simulator's scenario opens only its own incidents."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from analytics.wall_kpis import figures
from geodata.accounts.viewer import Viewer
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import _fresh_database, sql_rows, sql_scalar
from twin import heartbeat, rules, simulate
from twin.clock import FixedClock
from twin.taxonomy import ensure_taxonomy

NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = Settings(database_url="postgresql://unused/none")
ADMIN = Viewer(role="admin")


def _city(cluster, label: str, anchor: datetime) -> Iterator[str]:
    with _fresh_database(cluster, label) as url:
        build_demo(url, scale=0.25, seed=5, anchor=anchor)
        with get_engine(url).begin() as conn:
            ensure_taxonomy(conn)
        yield url


@pytest.fixture(scope="module")
def fresh_city(cluster) -> Iterator[tuple[str, heartbeat.CatchUp]]:
    """A demo built now, started (caught up) a minute later."""
    for url in _city(cluster, "alive_now", NOW):
        yield url, heartbeat.catch_up(url, NOW + timedelta(minutes=1), SETTINGS)


@pytest.fixture(scope="module")
def old_city(cluster) -> Iterator[tuple[str, heartbeat.CatchUp]]:
    """A demo built six days ago (by a fake clock), reopened now."""
    clock = FixedClock(NOW - timedelta(days=6))
    for url in _city(cluster, "alive_old", clock.now()):
        clock.set(NOW)
        yield url, heartbeat.catch_up(url, clock.now(), SETTINGS)


def test_a_demo_built_now_has_history_up_to_now(fresh_city):
    url, _ = fresh_city
    newest = sql_scalar(url, "SELECT max(reported_at) FROM event")
    assert NOW - timedelta(days=2) < newest <= NOW
    day = sql_scalar(url, "SELECT count(*) FROM event WHERE reported_at > :t", t=NOW - timedelta(1))
    month = sql_scalar(
        url, "SELECT count(*) FROM event WHERE reported_at > :t", t=NOW - timedelta(30)
    )
    assert day > 0 and month > 20 * day / 10
    future = sql_scalar(url, "SELECT count(*) FROM event_log WHERE at > :t", t=NOW)
    assert future == 0


def test_the_wall_figures_are_current_and_match_sql(fresh_city):
    url, _ = fresh_city
    now = NOW + timedelta(minutes=1)
    fig = figures(url, ADMIN, None, now)
    received = sql_scalar(  # the city's last 30 days: today and the 29 before, to now
        url,
        "SELECT count(*) FROM event WHERE reported_at <= :now AND reported_at >= "
        "(date_trunc('day', :now AT TIME ZONE 'Asia/Shanghai') - interval '29 days') "
        "AT TIME ZONE 'Asia/Shanghai'",
        now=now,
    )
    assert fig.kpis.received_30d > 0 and fig.kpis.closed_30d > 0
    assert fig.kpis.received_30d == received
    assert sum(d.received for d in fig.trend) > 0
    assert fig.ticker and fig.ticker[0].reported_at > now - timedelta(days=2)


def test_every_door_sensor_has_opened_recently_and_devices_are_fresh(fresh_city):
    url, done = fresh_city
    now = NOW + timedelta(minutes=1)
    doors = sql_scalar(
        url, "SELECT count(*) FROM device WHERE kind = 'door' AND status <> 'offline'"
    )
    opened = sql_scalar(
        url,
        "SELECT count(DISTINCT device_id) FROM reading r JOIN device d ON d.id = r.device_id "
        "WHERE d.kind = 'door' AND r.payload ->> 'event' = 'open' AND r.ts > :t",
        t=now - timedelta(hours=12),
    )
    assert doors > 0 and opened == doors == done.door_openings
    stale = sql_scalar(
        url,
        "SELECT count(*) FROM device WHERE status <> 'offline' AND last_seen < :t",
        t=now - timedelta(minutes=SETTINGS.twin.heartbeat_refresh_minutes),
    )
    assert stale == 0


def test_a_store_built_days_ago_catches_up_on_start(old_city):
    url, done = old_city
    assert done.since is not None and NOW - done.since > timedelta(days=5)
    gap = sql_scalar(
        url, "SELECT count(*) FROM event WHERE reported_at > :t", t=NOW - timedelta(days=6)
    )
    assert gap == done.incidents > 0
    day = sql_scalar(url, "SELECT count(*) FROM event WHERE reported_at > :t", t=NOW - timedelta(1))
    assert day > 0
    # the staff handled the gap's incidents, each step stamped in the gap, none in the future
    handled = sql_rows(
        url,
        "SELECT min(l.at), max(l.at), count(*) FROM event_log l WHERE l.actor LIKE '模拟%'",
    )[0]
    assert handled[2] == done.steps > 0
    assert done.since <= handled[0] and handled[1] <= NOW
    # only the gap's incidents: the backlog the city held when it stopped is left to its users
    touched_old = sql_scalar(
        url,
        "SELECT count(*) FROM event_log l JOIN event e ON e.id = l.event_id "
        "WHERE l.actor LIKE '模拟%' AND e.reported_at < :t",
        t=done.since,
    )
    assert touched_old == 0
    fig = figures(url, ADMIN, None, NOW)
    assert fig.kpis.received_today + fig.kpis.received_30d > 0
    assert fig.ticker[0].reported_at > NOW - timedelta(days=2)
    fresh = sql_scalar(
        url,
        "SELECT count(*) FROM device WHERE status <> 'offline' AND last_seen < :t",
        t=NOW - timedelta(minutes=20),
    )
    assert fresh == 0


def test_a_tick_refreshes_alarms_reports_and_works(old_city):
    url, _ = old_city
    beat = heartbeat.Heartbeat(url, SETTINGS, random.Random(1), heartbeat.Rates(1e9, 1e9))
    later = NOW + timedelta(minutes=30)
    before = sql_scalar(url, "SELECT count(*) FROM event")
    out = beat.tick(later)
    assert out["alarms"] == 1 and out["reports"] == 1
    assert sql_scalar(url, "SELECT count(*) FROM event") == before + 2
    kinds = {
        r[0] for r in sql_rows(url, "SELECT category FROM event WHERE reported_at = :t", t=later)
    }
    assert any(k.startswith("alarm.") for k in kinds)
    assert out["readings"] == beat.per_tick() > 0


def test_staff_delays_are_deterministic_and_realistic():
    d = [heartbeat.step_delay(i, "accept", 2) for i in range(400)]
    assert d == [heartbeat.step_delay(i, "accept", 2) for i in range(400)]
    mean = sum(x.total_seconds() for x in d) / len(d) / 3600
    assert 0.35 < mean < 0.7


def test_the_heartbeat_is_on_in_demo_mode_only():
    assert heartbeat.enabled(Settings(database_url=None))
    assert not heartbeat.enabled(Settings(database_url="postgresql://x/y"))
    assert heartbeat.enabled(Settings(database_url="postgresql://x/y", twin_heartbeat=True))
    assert not heartbeat.enabled(Settings(database_url=None, twin_heartbeat=False))


def test_a_scenario_opens_only_its_own_incidents(fresh_city):
    """The simulator binds only the devices it drives; with the city's heartbeat going, a sweep
    40 minutes later opens no offline incident: the gas alarm is the only new incident."""
    url, _ = fresh_city
    devices = sql_scalar(url, "SELECT count(*) FROM device")
    t0 = datetime.now(UTC)
    res = simulate.run(SETTINGS, url, "gas-leak", rate=100, duration=1.6, via="direct", seed=4)
    bound = sql_scalar(url, "SELECT count(*) FROM device WHERE gateway_id IS NOT NULL")
    assert bound == simulate.POOL + 1 < devices
    later = t0 + timedelta(minutes=40)
    with Session(get_engine(url)) as s, s.begin():  # the city's heartbeat, 40 minutes on
        heartbeat.refresh_devices(s, later, SETTINGS, random.Random(2), 10**9)
    with Session(get_engine(url)) as s, s.begin():
        rules.sweep(s, later, SETTINGS)
    new = sql_rows(url, "SELECT category, device_id FROM event WHERE reported_at >= :t", t=t0)
    assert [(c, d) for c, d in new if c.startswith("alarm.")] == [
        ("alarm.gas", res.focus["device_id"])
    ]
    assert not [c for c, _ in new if c == "device.offline"]
