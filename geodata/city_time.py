"""The one clock shown to people: instants in the city's time zone (``ONEMAP_TIMEZONE``).

The store keeps instants as ``timestamptz`` (UTC inside); everything a person reads — pages,
CSV reports — shows them in the city's zone through these helpers, and APIs give ISO 8601 with
the offset. No other module formats instants with ad-hoc ``strftime``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
MINUTE = "%m-%d %H:%M"
"""Short form: month-day hour:minute (task cards, tickers)."""
SECOND = "%Y-%m-%d %H:%M:%S"
"""Full form: date and time to the second (audit rows, reports)."""
CLOCK = "%H:%M:%S"
"""A wall clock."""


@lru_cache(maxsize=16)
def zone(name: str = DEFAULT_ZONE) -> ZoneInfo:
    """The IANA zone ``name`` (ValueError naming it when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: give an IANA name such as {DEFAULT_ZONE}"
        ) from None


def local(instant: datetime, name: str = DEFAULT_ZONE) -> datetime:
    """``instant`` in the zone ``name`` (a naive instant is refused: it names no moment)."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: give a timezone-aware time")
    return instant.astimezone(zone(name))


def fmt(instant: datetime | None, name: str = DEFAULT_ZONE, pattern: str = MINUTE) -> str:
    """``instant`` in the zone ``name`` as ``pattern`` ("" for None)."""
    return "" if instant is None else local(instant, name).strftime(pattern)


def iso(instant: datetime | None, name: str = DEFAULT_ZONE) -> str | None:
    """ISO 8601 with the zone's offset (``2026-12-07T18:08:00+08:00``), for APIs and CSV."""
    return None if instant is None else local(instant, name).isoformat()


def offset_label(name: str = DEFAULT_ZONE, at: datetime | None = None) -> str:
    """The zone as people read it next to a time: ``UTC+08:00`` (at ``at``, default now)."""
    when = at or datetime.now(zone(name))
    offset = local(when, name).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_note(name: str = DEFAULT_ZONE) -> str:
    """The zone and its offset, as shown beside a column of times: ``Asia/Shanghai, UTC+08:00``."""
    return f"{name}, {offset_label(name)}"
