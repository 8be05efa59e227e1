"""Binding a register's devices to a gateway in bulk opens no offline incidents during the grace
period (``twin_offline_grace_minutes``) and the expected ones after it; a device that already
reported through its gateway still goes offline as before (real PostGIS, time moved by ``now``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.models import Device
from geodata.settings import Settings
from tests.integration.factories import point, two_grid_district
from twin.gateways import add_gateway, assign_unowned
from twin.intake import ingest
from twin.rules import sweep
from twin.taxonomy import ensure_taxonomy

SETTINGS = Settings(database_url=None, twin_offline_minutes=30, twin_offline_minutes_by_kind={})
GRACE = timedelta(minutes=SETTINGS.rules.offline_grace_minutes)
BULK = 400  # register-only devices in the west grid (under the per-sweep cap of 500)


@pytest.fixture
def db(session: Session) -> Session:
    ensure_taxonomy(session)
    two_grid_district(session)
    session.flush()
    return session


def add_register(db: Session, n: int, installed: datetime) -> list[int]:
    """``n`` devices known only from a register in the west grid, no gateway: a third installed
    long ago, a third with an old ``last_seen`` and status ``offline`` from the register, a third
    with no time at all."""
    devices = [
        Device(
            kind="smoke",
            serial=f"REG-{i}",
            status="offline" if i % 3 == 1 else "online",
            installed_at=installed if i % 3 == 0 else None,
            last_seen=installed if i % 3 == 1 else None,
            geom=point(117.21 + i * 1e-5, 31.82),
        )
        for i in range(1, n + 1)
    ]
    db.add_all(devices)
    db.flush()
    return [d.id for d in devices]


def offline_events(db: Session, ids: list[int]) -> list[int]:
    return list(
        db.scalars(
            text("SELECT device_id FROM event WHERE rule = 'offline' AND device_id = ANY(:ids)"),
            {"ids": ids},
        )
    )


def statuses(db: Session, ids: list[int]) -> dict[str, int]:
    rows = db.execute(
        text("SELECT status, count(*) FROM device WHERE id = ANY(:ids) GROUP BY status"),
        {"ids": ids},
    )
    return {status: count for status, count in rows}


def bind_bulk(db: Session) -> tuple[datetime, list[int], int]:
    """A register of ``BULK`` devices bound by ``gateway add bulk-gw --devices-of-area`` beside a
    gas sensor that reported through its own gateway 10 minutes before; (binding time, register
    ids, gas id). Sweeps until just before the grace ends open nothing for the register."""
    now = db.scalar(text("SELECT now()"))
    ids = add_register(db, BULK, now - timedelta(days=400))
    old_gw, _, _ = add_gateway(db, "old-gw")
    gas = Device(
        kind="gas", serial="STEADY-1", last_seen=now - timedelta(minutes=10), gateway_id=old_gw
    )
    gas.geom = point(117.26, 31.82)
    db.add(gas)
    db.flush()
    _, _, assigned = add_gateway(db, "bulk-gw", "T3401020010011")
    assert assigned == BULK
    bound = db.scalars(
        text("SELECT DISTINCT bound_at FROM device WHERE id = ANY(:ids)"), {"ids": ids}
    )
    assert list(bound) == [now]
    before = statuses(db, ids)
    for later in (timedelta(minutes=31), timedelta(hours=6), GRACE - timedelta(seconds=1)):
        sweep(db, now + later, SETTINGS)
        assert offline_events(db, ids) == [] and statuses(db, ids) == before, later
        assert gateway_events(db) == [], later
    # the gas sensor went silent and was judged on the first sweep, as before
    assert offline_events(db, [gas.id]) == [gas.id]
    return now, ids, gas.id


def gateway_events(db: Session) -> list[dict]:
    return list(
        db.scalars(
            text("SELECT trigger FROM event WHERE rule = 'offline' AND subject LIKE 'gateway:%'")
        )
    )


def test_after_the_grace_a_register_that_never_reported_is_one_gateway_incident(db):
    now, ids, _ = bind_bulk(db)
    assert len(sweep(db, now + GRACE, SETTINGS)) == 1
    (trigger,) = gateway_events(db)
    assert (trigger["gateway"], trigger["silent_devices"]) == ("bulk-gw", BULK)
    assert offline_events(db, ids) == [] and statuses(db, ids) == {"offline": BULK}
    assert sweep(db, now + GRACE + timedelta(hours=1), SETTINGS) == []  # open: no duplicate
    # the gateway delivers again (one device): the others are each offline on their own
    back = now + GRACE + timedelta(hours=1, minutes=10)
    reading = {"device": "REG-2", "ts": back.isoformat(), "value": 0.1}
    assert ingest(db, None, [reading], "http", back, SETTINGS).stored == 1
    created = sweep(db, back + timedelta(minutes=10), SETTINGS)
    assert len(created) == BULK - 1 and len(offline_events(db, ids)) == BULK - 1
    assert len(gateway_events(db)) == 1


def test_after_the_grace_each_device_is_offline_when_gateway_incidents_are_off(db):
    now, ids, _ = bind_bulk(db)
    rules = SETTINGS.rules.model_copy(update={"offline_gateway_devices": 0})
    per_device = SETTINGS.model_copy(update={"rules": rules})
    created = sweep(db, now + GRACE, per_device)
    assert sorted(offline_events(db, ids)) == sorted(ids) and len(created) == BULK
    assert statuses(db, ids) == {"offline": BULK} and gateway_events(db) == []
    assert sweep(db, now + GRACE + timedelta(hours=1), per_device) == []  # open: no duplicates
    trigger = db.scalar(
        text(
            "SELECT e.trigger FROM event e JOIN device d ON d.id = e.device_id "
            "WHERE e.rule = 'offline' AND d.serial = 'REG-3'"
        )
    )  # installed 400 days ago, never seen
    assert trigger["bound_at"] == now.isoformat() and trigger["last_seen"] is None
    assert trigger["silent_minutes"] == round((GRACE + timedelta(days=400)).total_seconds() / 60, 1)


def test_devices_of_one_gateway_silent_together_are_one_incident_and_a_lone_one_is_not(db):
    now = db.scalar(text("SELECT now()"))
    gw, _, _ = add_gateway(db, "block-9")
    reported = [now - timedelta(minutes=m) for m in range(12)]  # a block, reporting
    devices = [
        Device(kind="smoke", serial=f"B9-{i}", last_seen=t, gateway_id=gw)
        for i, t in enumerate(reported)
    ]
    for i, d in enumerate(devices):
        d.geom = point(117.26 + i * 1e-5, 31.83)
    db.add_all(devices)
    db.flush()
    # one stops early: its own incident, the block still reports
    db.execute(
        text("UPDATE device SET last_seen = :t WHERE id = :d"),
        {"t": now - timedelta(hours=2), "d": devices[0].id},
    )
    ids = [d.id for d in devices]
    assert len(sweep(db, now, SETTINGS)) == 1 and offline_events(db, ids) == [ids[0]]
    # then the whole block goes quiet: one gateway incident, none per device
    assert len(sweep(db, now + timedelta(minutes=30), SETTINGS)) == 1
    (trigger,) = gateway_events(db)
    assert (trigger["gateway_id"], trigger["silent_devices"]) == (gw, 12)
    assert offline_events(db, ids) == [ids[0]] and statuses(db, ids) == {"offline": 12}


def test_a_bound_device_that_reports_is_judged_by_its_readings_not_the_grace(db):
    now = db.scalar(text("SELECT now()"))
    ids = add_register(db, 3, now - timedelta(days=30))
    add_gateway(db, "bulk-gw", "T3401020010011")
    reported = now + timedelta(hours=2)
    result = ingest(
        db,
        None,
        [{"device": "REG-1", "ts": reported.isoformat(), "value": 0.1}],
        "http",
        reported,
        SETTINGS,
    )
    assert result.stored == 1
    (reg1,) = db.scalars(text("SELECT id FROM device WHERE serial = 'REG-1'"))
    assert sweep(db, reported + timedelta(minutes=29), SETTINGS) == []
    sweep(db, reported + timedelta(minutes=30), SETTINGS)
    assert offline_events(db, ids) == [reg1]  # the two silent ones are still in their grace


def test_the_grace_period_is_a_setting(db):
    now = db.scalar(text("SELECT now()"))
    ids = add_register(db, 6, now - timedelta(days=30))
    assert assign_unowned(db, add_gateway(db, "sim-gw")[0]) == 6
    rules = SETTINGS.rules.model_copy(update={"offline_grace_minutes": 90.0})
    short = SETTINGS.model_copy(update={"rules": rules})
    assert sweep(db, now + timedelta(minutes=89), short) == []
    assert len(sweep(db, now + timedelta(minutes=90), short)) == 6
    assert sorted(offline_events(db, ids)) == sorted(ids)
