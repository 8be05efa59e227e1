"""The one clock: instants shown in the city's zone, with the zone's offset in ISO text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from geodata import city_time
from geodata.settings import Settings

INSTANT = datetime(2026, 12, 7, 10, 8, 30, tzinfo=UTC)


def test_an_instant_is_shown_in_china_time_by_default():
    assert city_time.fmt(INSTANT) == "12-07 18:08"
    assert city_time.fmt(INSTANT, pattern=city_time.SECOND) == "2026-12-07 18:08:30"
    assert city_time.iso(INSTANT) == "2026-12-07T18:08:30+08:00"
    assert city_time.offset_label() == "UTC+08:00"


def test_the_same_instant_from_another_offset_shows_the_same_local_time():
    elsewhere = INSTANT.astimezone(timezone(timedelta(hours=-5)))
    assert city_time.fmt(elsewhere, "Asia/Shanghai", city_time.CLOCK) == "18:08:30"


def test_another_zone_and_its_offset():
    assert city_time.fmt(INSTANT, "Europe/Helsinki") == "12-07 12:08"
    summer = datetime(2026, 7, 1, tzinfo=UTC)
    assert city_time.offset_label("Europe/Helsinki", summer) == "UTC+03:00"
    assert city_time.offset_label("America/St_Johns", summer) == "UTC-02:30"


def test_naive_instants_and_unknown_zones_are_refused():
    with pytest.raises(ValueError, match="naive"):
        city_time.fmt(datetime(2026, 12, 7, 10, 8))
    with pytest.raises(ValueError, match="Mars/Olympus"):
        city_time.zone("Mars/Olympus")
    assert city_time.fmt(None) == "" and city_time.iso(None) is None


def test_the_setting_defaults_to_shanghai_and_checks_the_zone(monkeypatch):
    assert Settings().city.timezone == "Asia/Shanghai"
    monkeypatch.setenv("ONEMAP_TIMEZONE", "Europe/Helsinki")
    assert Settings().city.timezone == "Europe/Helsinki"
    monkeypatch.setenv("ONEMAP_TIMEZONE", "Mars/Olympus")
    with pytest.raises(Exception, match="Mars/Olympus"):
        Settings()
