"""Intake validation without a database: timestamps, values, kind checks, topics, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from geodata.settings import Settings
from twin.gateways import hash_key, new_key
from twin.intake import IntakeResult, Rejected, _number, _status, check_kind, parse_ts
from twin.mqtt import gateway_of

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
S = Settings()


def test_ts_needs_iso_with_zone_within_the_window():
    assert parse_ts("2026-11-27T17:59:00+08:00", NOW, S) == NOW - timedelta(minutes=1)
    assert parse_ts("2026-11-27T09:59:00Z", NOW, S) == NOW - timedelta(minutes=1)
    for raw, reason in [
        ("2026-11-27T09:59:00", "no time zone"),
        ("27/11/2026", "not ISO-8601"),
        (1732700000, "ISO-8601 string"),
        (None, "ISO-8601 string"),
        ("2026-11-27T10:06:00Z", "future"),
        ("2024-01-01T00:00:00Z", "too old"),
    ]:
        with pytest.raises(Rejected, match=reason):
            parse_ts(raw, NOW, S)
    assert parse_ts("2026-11-27T10:04:00Z", NOW, S)  # within the allowed clock skew


def test_values_are_finite_numbers_not_booleans():
    assert _number(3) == 3.0 and _number(None) is None
    for bad in (True, "1", float("nan"), float("inf"), [1]):
        with pytest.raises(Rejected):
            _number(bad)


@pytest.mark.parametrize(
    ("kind", "value", "payload", "fragment"),
    [
        ("gas", -1.0, None, "below"),
        ("gas", 101.0, None, "above"),
        ("camera", 0.9, None, "need a payload"),
        ("camera", 0.9, {"detection": "unicorn"}, "detection"),
        ("door", None, {"event": "ajar"}, "open, close or heartbeat"),
        ("door", 0.0, {"event": "open"}, "contradicts"),
    ],
)
def test_kind_checks_refuse(kind, value, payload, fragment):
    with pytest.raises(Rejected, match=fragment):
        check_kind(kind, value, payload)


def test_kind_checks_accept_the_rules_contracts():
    check_kind("door", 1.0, {"event": "open", "direction": "out"})
    check_kind("door", 0.0, {"event": "heartbeat"})
    check_kind("camera", 0.93, {"detection": "vehicle", "zone": "fire_lane", "track": "t-1"})
    check_kind("camera", 0.88, {"detection": "dog", "size": "large"})
    check_kind("water", 1234.5, None)
    check_kind("unknown_kind", 5.0, None)


def test_status_follows_thresholds_and_payload_alarm():
    assert _status("gas", 25.0, None, S) == "alarm"
    assert _status("gas", 2.0, None, S) == "online"
    assert _status("smoke", None, {"alarm": True}, S) == "alarm"
    assert _status("water", 1e6, None, S) == "online"


def test_keys_and_topics():
    key = new_key()
    assert key != new_key() and len(hash_key(key)) == 64
    assert gateway_of("onemap/gw/readings", "onemap/+/readings") == "gw"
    assert gateway_of("other/gw/x/readings", "onemap/+/readings") is None


def test_result_as_dict_caps_reasons():
    r = IntakeResult(stored=1, rejected=100, reasons=[(i, "bad") for i in range(100)])
    assert len(r.as_dict()["reasons"]) == 50
