"""The wall's days are the city's (``ONEMAP_TIMEZONE``), not UTC's or a fixed zone's."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from analytics.wall_kpis import local_midnight

NOW = datetime(
    2026, 11, 1, 18, 0, tzinfo=UTC
)  # 02:00 on 2 Nov in Hefei, 20:00 on 1 Nov in Helsinki


def test_today_starts_at_midnight_in_the_given_zone():
    assert local_midnight(NOW, ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 1, 16, tzinfo=UTC)
    assert local_midnight(NOW, ZoneInfo("Europe/Helsinki")) == datetime(
        2026, 10, 31, 22, tzinfo=UTC
    )


def test_the_default_zone_is_the_citys_default():
    assert local_midnight(NOW) == local_midnight(NOW, ZoneInfo("Asia/Shanghai"))
