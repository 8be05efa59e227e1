"""Pure parts of the early-warning rules: encodings, runs, windows (no database)."""

from datetime import UTC, datetime, timedelta

from geodata.settings import Settings
from twin.rules import EVENT_RULES, RULE_NAMES, SWEEP_RULES
from twin.rules.base import ReadingIn, as_reading, cap_readings
from twin.rules.dogs import dense_window, is_large_dog, sightings
from twin.rules.fire_lane import blocked_run, is_fire_lane_vehicle
from twin.rules.smoke_gas import is_alarm

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
S = Settings(database_url=None, twin_alarm_thresholds={"gas": 20.0, "smoke": 10.0})


def at(minutes, track=None, device=1):
    payload = {"detection": "vehicle", "zone": "fire_lane"} | ({"track": track} if track else {})
    return ReadingIn(device, T0 + timedelta(minutes=minutes), 0.9, payload)


def test_registry_lists_every_rule_once():
    assert RULE_NAMES == ("smoke_gas", "fire_lane", "dogs", "offline", "welfare", "stale_source")
    assert len(EVENT_RULES) == 3 and len(SWEEP_RULES) == 3


def test_alarm_threshold_is_inclusive_and_payload_flag_counts():
    assert is_alarm("gas", 20.0, None, S) and not is_alarm("gas", 19.99, None, S)
    assert is_alarm("smoke", None, {"alarm": True}, S)
    assert not is_alarm("smoke", 0, {"alarm": "yes"}, S) and not is_alarm("door", 99, None, S)


def test_readings_from_dicts_and_objects():
    r = as_reading({"device_id": "7", "ts": T0, "value": 1, "payload": {"event": "open"}})
    assert r == ReadingIn(7, T0, 1, {"event": "open"})
    assert as_reading(r) is r


def test_trigger_keeps_first_and_last_readings():
    rows = [at(m) for m in range(30)]
    capped = cap_readings(rows, cap=4)
    assert [c["ts"] for c in capped] == [rows[i].ts.isoformat() for i in (0, 1, 28, 29)]


def test_one_track_spanning_x_minutes_blocks_the_lane():
    rows = [at(0, "a"), at(9, "a"), at(9.5, "b")]
    assert blocked_run(rows, 10, 3) is None
    how, run = blocked_run([*rows, at(10, "a")], 10, 3)
    assert how == "track:a" and [r.ts for r in run] == [at(m).ts for m in (0, 9, 10)]


def test_continuous_presence_of_any_vehicles_blocks_the_lane():
    rows = [at(m, track=f"t{m}") for m in range(0, 11, 2)]  # a new track every 2 minutes
    how, run = blocked_run(rows, 10, 3)
    assert how == "continuous" and len(run) == 6
    gappy = [at(m) for m in (0, 3, 6.5, 9, 12, 15)]  # 3.5-minute gap at 3 → 6.5
    assert blocked_run(gappy, 10, 3) is None
    assert not is_fire_lane_vehicle({"detection": "vehicle", "zone": "road"})


def test_dog_sightings_one_per_track_and_dense_window():
    dog = {"detection": "dog", "size": "large"}
    rows = [
        ReadingIn(1, T0, 0.9, dog | {"track": "x"}),
        ReadingIn(1, T0 + timedelta(minutes=1), 0.9, dog | {"track": "x"}),
        ReadingIn(2, T0 + timedelta(minutes=1), 0.9, dog | {"track": "x"}),  # another camera
        ReadingIn(1, T0 + timedelta(hours=5), 0.9, dog),
    ]
    seen = sightings(rows)
    assert [(r.device_id, r.ts) for r in seen] == [
        (1, T0),
        (2, T0 + timedelta(minutes=1)),
        (1, T0 + timedelta(hours=5)),
    ]
    assert dense_window(seen, 3, timedelta(hours=5)) == seen
    assert dense_window(seen, 3, timedelta(hours=4, minutes=59)) is None
    assert is_large_dog(dog) and not is_large_dog({"detection": "dog", "size": "small"})
