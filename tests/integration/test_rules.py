"""Early-warning rules against a real PostGIS: each fires exactly at its threshold, records
the readings that triggered it, stays single while open and fires again after closure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from geodata.models import Device, Event, House, Resident
from geodata.settings import Settings
from tests.integration.factories import add_building, point
from twin.clock import FixedClock
from twin.rules import dogs, on_readings, sweep
from twin.rules.base import ReadingIn
from twin.taxonomy import ensure_taxonomy
from twin.workflow import Actor, transition

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADMIN = Actor(name="admin", role="admin")
SETTINGS = Settings(
    database_url=None,
    twin_alarm_thresholds={"gas": 20.0, "smoke": 10.0},
    twin_alarm_max_age_minutes=60,
    twin_door_inactive_hours=24,
    twin_door_out_hours=12,
    twin_fire_lane_minutes=10,
    twin_fire_lane_gap_minutes=3,
    twin_dog_sightings=3,
    twin_dog_window_hours=24,
    twin_offline_minutes=30,
)
LON, LAT = 117.2205, 31.8205
# door sensors heartbeat hourly: keep the offline rule out of the welfare tests
WELFARE = SETTINGS.model_copy(
    update={
        "rules": SETTINGS.rules.model_copy(
            update={"offline_minutes": 14 * 24 * 60, "offline_minutes_by_kind": {}}
        )
    }
)


@pytest.fixture
def db(session):
    ensure_taxonomy(session)
    session.flush()
    return session


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def building(db):
    return add_building(db, (117.220, 31.820, 117.221, 31.821))


def add_house(db, building, residents=(("elderly_alone",),)):
    house = House(building_id=building.id, geom=point(LON, LAT), floor=3, room="302")
    db.add(house)
    db.flush()
    people = [
        Resident(
            house_id=house.id, sex="F", birth_year=1940, care_tags=list(tags), geom=point(LON, LAT)
        )
        for tags in residents
    ]
    db.add_all(people)
    db.flush()
    return house, people


def rules_gateway(db) -> int:
    """The gateway the test devices report through (devices without one are not monitored)."""
    gid = db.scalar(text("SELECT id FROM gateway WHERE name = 'rules-test'"))
    if gid is None:
        gid = db.scalar(text("INSERT INTO gateway (name, key_hash) VALUES ('rules-test', "
                             "repeat('0', 64)) RETURNING id"))  # fmt: skip
    return gid


def add_device(db, kind, *, building=None, house=None, lon=LON, lat=LAT, **kw):
    kw.setdefault("last_seen", T0)
    kw.setdefault("gateway_id", rules_gateway(db))
    d = Device(
        kind=kind,
        geom=point(lon, lat),
        building_id=building and building.id,
        house_id=house and house.id,
        **kw,
    )
    db.add(d)
    db.flush()
    return d


def store(db, device, ts, value=None, payload=None) -> ReadingIn:
    """Insert a reading (as the intake does) and return what the rules are given."""
    db.execute(
        text(
            "INSERT INTO reading (device_id, ts, value, payload) "
            "VALUES (:d, :ts, :v, CAST(:p AS jsonb)) ON CONFLICT DO NOTHING"
        ),
        {"d": device.id, "ts": ts, "v": value, "p": None if payload is None else _json(payload)},
    )
    db.execute(
        text("UPDATE device SET last_seen = GREATEST(last_seen, :ts) WHERE id = :d"),
        {"d": device.id, "ts": ts},
    )
    return ReadingIn(device.id, ts, value, payload)


def _json(p):
    import json

    return json.dumps(p)


def events(db, rule):
    db.expire_all()
    return db.scalars(select(Event).where(Event.rule == rule).order_by(Event.id)).all()


def close(db, event_id, now):
    for action in ("dispatch", "accept", "start", "resolve", "close"):
        transition(db, event_id, action, ADMIN, now=now)
    db.flush()


def fire(db, readings, now):
    return on_readings(db, readings, now, SETTINGS)


# --- smoke and gas ----------------------------------------------------------------------------


def test_gas_over_threshold_opens_one_incident_with_building_residents(db, building, clock):
    _house, people = add_house(db, building, [("elderly_alone",), ()])
    gas = add_device(db, "gas", building=building)
    now = clock.now()
    assert fire(db, [store(db, gas, now - timedelta(seconds=5), 19.9)], now) == []
    r = store(db, gas, now - timedelta(seconds=1), 20.0)
    created = fire(db, [r], now)
    assert len(created) == 1
    (ev,) = events(db, "smoke_gas")
    assert ev.id == created[0]
    assert (ev.category, ev.severity, ev.subject, ev.device_id, ev.building_id) == (
        "alarm.gas",
        4,
        f"device:{gas.id}",
        gas.id,
        building.id,
    )
    trig = ev.trigger
    assert trig["readings"] == [
        {"device_id": gas.id, "ts": r.ts.isoformat(), "value": 20.0, "payload": None}
    ]
    assert trig["residents"] == {
        "count": 2,
        "ids": [p.id for p in people],
        "care": {"elderly_alone": 1},
    }
    assert "name" not in str(trig) and "phone" not in str(trig)
    # still alarming: no second incident while the first is open
    assert (
        fire(db, [store(db, gas, now + timedelta(seconds=30), 45.0)], now + timedelta(seconds=31))
        == []
    )
    assert len(events(db, "smoke_gas")) == 1


def test_smoke_payload_alarm_flag_fires_and_again_only_after_closure(db, building, clock):
    smoke = add_device(db, "smoke", building=building)
    now = clock.now()
    assert len(fire(db, [store(db, smoke, now, 0, {"alarm": True})], now)) == 1
    (first,) = events(db, "smoke_gas")
    assert first.category == "alarm.smoke"
    later = clock.advance(timedelta(minutes=10))
    close(db, first.id, later)
    # a late alarm from before the closure does not reopen it
    assert (
        fire(db, [store(db, smoke, later - timedelta(minutes=1), 0, {"alarm": True})], later) == []
    )
    again = clock.advance(timedelta(minutes=1))
    assert len(fire(db, [store(db, smoke, again, 12.0)], again)) == 1
    assert [e.status for e in events(db, "smoke_gas")] == ["closed", "reported"]


def test_stale_or_normal_smoke_readings_raise_nothing(db, building, clock):
    smoke = add_device(db, "smoke", building=building)
    now = clock.now()
    rows = [
        store(db, smoke, now - timedelta(minutes=61), 50.0),
        store(db, smoke, now - timedelta(minutes=5), 9.9, {"alarm": False}),
    ]
    assert fire(db, rows, now) == []


# --- welfare ------------------------------------------------------------------------------------


def test_silent_door_triggers_the_welfare_check_after_n_hours(db, building, clock):
    house, (elder,) = add_house(db, building)
    door = add_device(db, "door", building=building, house=house)
    store(db, door, T0, 1, {"event": "open"})
    store(db, door, T0 + timedelta(seconds=20), 0, {"event": "close"})
    for h in range(1, 24):  # heartbeats are not activity
        store(db, door, T0 + timedelta(hours=h), 0, {"event": "heartbeat"})
    assert sweep(db, T0 + timedelta(hours=24) - timedelta(seconds=1), WELFARE) == []
    created = sweep(db, T0 + timedelta(hours=24), WELFARE)
    assert len(created) == 1
    (ev,) = events(db, "welfare")
    assert (ev.category, ev.subject, ev.building_id) == (
        "care.welfare_check",
        f"house:{house.id}",
        building.id,
    )
    assert ev.trigger["reason"] == "inactive"
    assert ev.trigger["last_opening"] == {
        "device_id": door.id,
        "ts": T0.isoformat(),
        "value": 1.0,
        "direction": None,
    }
    assert ev.trigger["residents"] == {"count": 1, "ids": [elder.id]}
    assert sweep(db, T0 + timedelta(hours=30), WELFARE) == []  # open: no duplicate
    # closed after a visit at 31 h; silence again counts from the closure
    close(db, ev.id, T0 + timedelta(hours=31))
    assert sweep(db, T0 + timedelta(hours=31 + 24) - timedelta(seconds=1), WELFARE) == []
    assert len(sweep(db, T0 + timedelta(hours=31 + 24), WELFARE)) == 1


def test_out_without_return_after_m_hours_and_late_return(db, building, clock):
    house, _ = add_house(db, building)
    door = add_device(db, "door", building=building, house=house)
    out = T0 + timedelta(hours=1)
    store(db, door, T0, 1, {"event": "open", "direction": "in"})
    store(db, door, out, 1, {"event": "open", "direction": "out"})
    assert sweep(db, out + timedelta(hours=12) - timedelta(seconds=1), WELFARE) == []
    # a return that arrives late (out of order) but happened before the deadline counts
    store(db, door, out + timedelta(hours=11), 1, {"event": "open", "direction": "in"})
    assert sweep(db, out + timedelta(hours=12), WELFARE) == []
    # out again, never back
    out2 = out + timedelta(hours=13)
    store(db, door, out2, 1, {"event": "open", "direction": "out"})
    assert len(sweep(db, out2 + timedelta(hours=12), WELFARE)) == 1
    (ev,) = events(db, "welfare")
    assert ev.trigger["reason"] == "away"
    assert ev.trigger["last_opening"]["ts"] == out2.isoformat()


def test_welfare_skips_homes_not_alone_unwatched_or_offline_sensors(db, building):
    family, _ = add_house(db, building, [("elderly",), ()])
    store(db, add_device(db, "door", building=building, house=family), T0, 1, {"event": "open"})
    never, _ = add_house(db, building)
    add_device(db, "door", building=building, house=never, installed_at=T0 - timedelta(days=9))
    dead, _ = add_house(db, building)
    store(db, add_device(db, "door", building=building, house=dead, status="offline"), T0, 1)
    assert [
        e
        for e in sweep(db, T0 + timedelta(days=3), WELFARE)
        if e in {x.id for x in events(db, "welfare")}
    ] == []


# --- fire lane ----------------------------------------------------------------------------------


def lane(track=None):
    p = {"detection": "vehicle", "zone": "fire_lane"}
    return p | ({"track": track} if track else {})


def test_vehicle_in_fire_lane_for_x_minutes(db, building):
    cam = add_device(db, "camera")
    sent = [store(db, cam, T0 + timedelta(minutes=m), 0.9, lane("t1")) for m in range(0, 10)]
    assert fire(db, sent, T0 + timedelta(minutes=9, seconds=59)) == []
    last = store(db, cam, T0 + timedelta(minutes=10), 0.9, lane("t1"))
    assert len(fire(db, [last], T0 + timedelta(minutes=10))) == 1
    (ev,) = events(db, "fire_lane")
    assert (ev.category, ev.subject) == ("fire_safety.blocked_lane", f"device:{cam.id}")
    assert ev.trigger["evidence"] == "track:t1" and ev.trigger["minutes"] == 10.0
    assert ev.trigger["detections"] == 11 and len(ev.trigger["readings"]) == 11
    more = store(db, cam, T0 + timedelta(minutes=11), 0.9, lane("t1"))
    assert fire(db, [more], T0 + timedelta(minutes=11)) == []


def test_fire_lane_gaps_split_presence_and_out_of_order_fill_them(db):
    cam = add_device(db, "camera")
    at = [0, 2, 4, 8, 10, 12]  # a 4-minute gap at 4 → 8: not continuous
    rows = [store(db, cam, T0 + timedelta(minutes=m), 0.8, lane()) for m in at]
    now = T0 + timedelta(minutes=13)
    assert fire(db, rows, now) == []
    late = store(db, cam, T0 + timedelta(minutes=6), 0.8, lane())  # arrives late, fills the gap
    assert len(fire(db, [late], now)) == 1
    (ev,) = events(db, "fire_lane")
    assert ev.trigger["evidence"] == "continuous" and ev.trigger["minutes"] == 10.0


def test_fire_lane_fires_again_only_for_presence_after_closure(db):
    cam = add_device(db, "camera")
    rows = [store(db, cam, T0 + timedelta(minutes=m), 0.9, lane()) for m in range(11)]
    assert len(fire(db, rows, T0 + timedelta(minutes=10))) == 1
    (ev,) = events(db, "fire_lane")
    closed_at = T0 + timedelta(minutes=12)
    close(db, ev.id, closed_at)
    rows = [store(db, cam, closed_at + timedelta(minutes=m), 0.9, lane()) for m in range(1, 11)]
    assert fire(db, rows, closed_at + timedelta(minutes=10)) == []  # 9 minutes since closure
    last = store(db, cam, closed_at + timedelta(minutes=11), 0.9, lane())
    assert len(fire(db, [last], closed_at + timedelta(minutes=11))) == 1


# --- dogs ---------------------------------------------------------------------------------------

DOG = {"detection": "dog", "size": "large"}


def test_large_dog_seen_k_times_in_a_cell_within_a_day(db):
    a = add_device(db, "camera")
    b = add_device(db, "camera", lon=LON + 0.0002)
    far = add_device(db, "camera", lon=LON + 0.01)
    assert a.h3_r9 == b.h3_r9 != far.h3_r9
    rows = [
        store(db, a, T0, 0.9, DOG | {"track": "d1"}),
        store(db, a, T0 + timedelta(seconds=2), 0.9, DOG | {"track": "d1"}),  # same sighting
        store(db, a, T0 + timedelta(hours=3), 0.9, {"detection": "dog", "size": "small"}),
        store(db, far, T0 + timedelta(hours=4), 0.9, DOG),  # another cell
        store(db, b, T0 + timedelta(hours=12), 0.9, DOG),
        store(db, b, T0 + timedelta(hours=24, seconds=1), 0.9, DOG),  # a day + 1 s after T0
    ]
    assert fire(db, rows, T0 + timedelta(hours=25)) == []
    late = store(db, b, T0 + timedelta(hours=24), 0.9, DOG)  # late: exactly a day after T0
    assert len(fire(db, [late], T0 + timedelta(hours=25))) == 1
    (ev,) = events(db, "dogs")
    assert ev.subject == dogs.cell_subject(a.h3_r9)
    assert ev.trigger["sightings"] == 3 and ev.trigger["device_ids"] == sorted([a.id, b.id])
    assert [r["ts"] for r in ev.trigger["readings"]] == [
        T0.isoformat(),
        (T0 + timedelta(hours=12)).isoformat(),
        (T0 + timedelta(hours=24)).isoformat(),
    ]
    more = store(db, a, T0 + timedelta(hours=25), 0.9, DOG)
    assert fire(db, [more], T0 + timedelta(hours=25)) == []  # open: no duplicate


# --- offline ------------------------------------------------------------------------------------


def test_silent_device_goes_offline_with_one_maintenance_incident(db, building):
    gas = add_device(db, "gas", building=building, last_seen=T0, status="online")
    never = add_device(
        db, "smoke", building=building, last_seen=None, installed_at=T0 + timedelta(minutes=15)
    )
    fresh = add_device(db, "smoke", building=building, last_seen=T0 + timedelta(minutes=20))
    assert sweep(db, T0 + timedelta(minutes=30) - timedelta(seconds=1), SETTINGS) == []
    db.refresh(gas)
    assert gas.status == "online"
    created = sweep(db, T0 + timedelta(minutes=30), SETTINGS)
    assert len(created) == 1
    (ev,) = events(db, "offline")
    assert (ev.category, ev.subject, ev.device_id) == ("device.offline", f"device:{gas.id}", gas.id)
    assert ev.trigger["last_seen"] == T0.isoformat() and ev.trigger["silent_minutes"] == 30.0
    for d in (gas, never, fresh):
        db.refresh(d)
    assert (gas.status, never.status, fresh.status) == ("offline", "online", "online")
    assert sweep(db, T0 + timedelta(minutes=44), SETTINGS) == []  # gas: open, no duplicate

    def subjects(ids):
        return [db.get(Event, i).subject for i in ids]

    # never seen: counted from its installation (15 + 30)
    assert subjects(sweep(db, T0 + timedelta(minutes=45), SETTINGS)) == [f"device:{never.id}"]
    assert subjects(sweep(db, T0 + timedelta(minutes=50), SETTINGS)) == [f"device:{fresh.id}"]
    close(db, ev.id, T0 + timedelta(hours=1))  # still silent: back after another 30 minutes
    assert sweep(db, T0 + timedelta(hours=1, minutes=29), SETTINGS) == []
    assert subjects(sweep(db, T0 + timedelta(hours=1, minutes=30), SETTINGS)) == [
        f"device:{gas.id}"
    ]


def test_each_kind_has_its_own_offline_timeout(db, building):
    rules = SETTINGS.rules.model_copy(update={"offline_minutes_by_kind": {"door": 180.0}})
    settings = SETTINGS.model_copy(update={"rules": rules})
    door = add_device(db, "door", building=building, last_seen=T0, status="online")
    smoke = add_device(db, "smoke", building=building, last_seen=T0, status="online")
    first = sweep(db, T0 + timedelta(minutes=90), settings)  # an hourly heartbeat is not late
    assert [db.get(Event, i).subject for i in first] == [f"device:{smoke.id}"]
    db.refresh(door)
    assert door.status == "online"
    (late,) = sweep(db, T0 + timedelta(minutes=180), settings)
    event = db.get(Event, late)
    assert event.subject == f"device:{door.id}" and event.trigger["threshold_minutes"] == 180.0


def test_devices_without_a_gateway_are_not_judged_offline(db, building):
    registered = add_device(db, "smoke", building=building, last_seen=T0, gateway_id=None)
    assert sweep(db, T0 + timedelta(days=30), SETTINGS) == []
    db.refresh(registered)
    assert registered.status == "online"


def test_device_back_online_through_the_intake(db, building):
    from twin.intake import ingest

    gas = add_device(db, "gas", building=building, last_seen=T0, serial="GAS-T1")
    sweep(db, T0 + timedelta(hours=1), SETTINGS)
    db.refresh(gas)
    assert gas.status == "offline"
    now = T0 + timedelta(hours=2)
    ingest(
        db, None, [{"device": gas.id, "ts": now.isoformat(), "value": 1.0}], "http", now, SETTINGS
    )
    db.refresh(gas)
    assert (gas.status, gas.last_seen) == ("online", now)


def test_sweep_over_the_demo_city_is_set_based_and_capped(demo_url):
    """The demo's offline devices get one incident each (capped per sweep), in one pass."""
    from sqlalchemy.orm import Session as OrmSession

    from geodata.engine import get_engine

    with get_engine(demo_url).connect() as conn:
        trans = conn.begin()
        try:
            db = OrmSession(bind=conn, join_transaction_mode="create_savepoint")
            ensure_taxonomy(db)
            db.execute(text("UPDATE data_source SET active = false"))  # devices only here
            db.execute(text("UPDATE device SET gateway_id = :g"), {"g": rules_gateway(db)})
            now = db.scalar(text("SELECT max(last_seen) FROM device")) + timedelta(minutes=1)
            silent = db.scalar(
                text("SELECT count(*) FROM device WHERE last_seen <= :c"),
                {"c": now - timedelta(minutes=30)},
            )
            rules = SETTINGS.rules.model_copy(update={"offline_minutes_by_kind": {}})  # 30 min
            flat = SETTINGS.model_copy(update={"rules": rules})
            rules = flat.rules.model_copy(update={"sweep_max_incidents": 25})
            capped = flat.model_copy(update={"rules": rules})
            created = sweep(db, now, capped)
            assert silent > 25 and len(created) == 25
            offline = db.scalar(text("SELECT count(*) FROM device WHERE status = 'offline'"))
            assert offline == silent
            assert len(sweep(db, now, flat)) == silent - 25  # the rest, none twice
            assert sweep(db, now, flat) == []
        finally:
            trans.rollback()
