"""Values a request names, parsed and checked: a lon/lat box, a time window, and the error that
says which parameter is wrong and what was expected.

The map's viewport queries (:mod:`layers.query`), exports and the OGC API all read these.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from geodata import city_time
from geodata.errors import OneMapError

MAX_BBOX_SPAN = 30.0
"""Largest bbox side in degrees: more than any city view at the map's minimum zoom."""
MAX_FILTER_VALUES = 50
"""Most values one filter parameter may list (``?status=a,b,…``)."""
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Instants a request may name lie in ``EARLIEST <= t <= LATEST`` (Python's dates end in year
9999, and a time zone offset or the day after a date can run past that)."""
MAX_ID = 2**63 - 1
"""Largest id or count a request may name (PostgreSQL's bigint)."""
WHOLE_NUMBER = re.compile(r"[0-9]{1,40}")


class FeatureQueryError(OneMapError, ValueError):
    """A feature request that cannot be answered as asked (the message says why)."""

    status = 400
    code = "InvalidParameterValue"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def details(self) -> dict[str, object]:
        """The parameter that is wrong."""
        return {"field": self.field}


def whole_number(field: str, value: str, low: int = 0, high: int = MAX_ID) -> int:
    """A whole number ``low..high`` written in ASCII digits (``"²"`` or ``"٣"`` are not)."""
    if not WHOLE_NUMBER.fullmatch(value):
        raise FeatureQueryError(field, f"{value[:40]!r} is not a whole number")
    number = int(value)
    if not low <= number <= high:
        raise FeatureQueryError(field, f"{number} is outside {low}..{high}")
    return number


def in_range(field: str, moment: datetime) -> datetime:
    """``moment`` (aware) when it lies within ``EARLIEST..LATEST``, else FeatureQueryError."""
    try:
        inside = EARLIEST <= moment.astimezone(UTC) <= LATEST
    except (OverflowError, ValueError):
        inside = False
    if not inside:
        raise FeatureQueryError(
            field, f"{moment.isoformat()} is outside {EARLIEST.year}..{LATEST.year - 1}"
        )
    return moment


@dataclass(frozen=True)
class BBox:
    """A lon/lat box in EPSG:4326."""

    minx: float
    miny: float
    maxx: float
    maxy: float

    @classmethod
    def parse(cls, value: str | None) -> BBox:
        """Read ``minx,miny,maxx,maxy``; :class:`FeatureQueryError` says what is wrong."""
        expected = "expected bbox=minx,miny,maxx,maxy in degrees (lon/lat, EPSG:4326)"
        if not value:
            raise FeatureQueryError("bbox", f"missing; {expected}")
        parts = value.split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise FeatureQueryError("bbox", f"{value!r} is not four numbers; {expected}") from None
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise FeatureQueryError("bbox", f"{value!r} is not four numbers; {expected}")
        box = cls(*numbers)
        box.check()
        return box

    def check(self) -> None:
        """Raise :class:`FeatureQueryError` unless the box is ordered, on Earth and not huge."""
        if not (-180 <= self.minx <= 180 and -180 <= self.maxx <= 180):
            raise FeatureQueryError("bbox", "longitudes must be within -180..180")
        if not (-90 <= self.miny <= 90 and -90 <= self.maxy <= 90):
            raise FeatureQueryError("bbox", "latitudes must be within -90..90")
        if self.minx >= self.maxx or self.miny >= self.maxy:
            raise FeatureQueryError("bbox", "inverted or empty: need minx < maxx and miny < maxy")
        if max(self.maxx - self.minx, self.maxy - self.miny) > MAX_BBOX_SPAN:
            raise FeatureQueryError(
                "bbox", f"too large: each side must be at most {MAX_BBOX_SPAN:g} degrees"
            )

    def params(self) -> dict[str, float]:
        """Bound parameters of the envelope."""
        return {"minx": self.minx, "miny": self.miny, "maxx": self.maxx, "maxy": self.maxy}

    def as_list(self) -> list[float]:
        return [self.minx, self.miny, self.maxx, self.maxy]


@dataclass(frozen=True)
class TimeWindow:
    """``start <= t < end`` (timezone-aware datetimes)."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, value: str | None, zone: str = city_time.DEFAULT_ZONE) -> TimeWindow | None:
        """Read ``start/end`` ISO dates or datetimes; a date-only end includes that whole day.
        Dates are days of the city's zone ``zone`` (midnight local time), as is a datetime
        without an offset."""
        if not value:
            return None
        expected = "expected time=start/end as ISO dates, e.g. 2026-01-01/2026-01-31"
        parts = value.split("/")
        if len(parts) != 2:
            raise FeatureQueryError("time", f"{value!r} is not start/end; {expected}")
        start, end = (
            _instant(p, "time", expected, end=i == 1, zone=zone) for i, p in enumerate(parts)
        )
        if start >= end:
            raise FeatureQueryError("time", f"{value!r}: the start must be before the end")
        return cls(start, end)

    def params(self) -> dict[str, datetime]:
        return {"t0": self.start, "t1": self.end}

    def as_list(self) -> list[str]:
        return [self.start.isoformat(), self.end.isoformat()]


def _instant(text: str, field: str, expected: str, *, end: bool, zone: str) -> datetime:
    """One end of a time window (a date at the end means the end of that day), local times in
    the zone ``zone``."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time()) + timedelta(days=1 if end else 0)
        else:
            moment = datetime.fromisoformat(text)
    except OverflowError:
        raise FeatureQueryError(field, f"{text!r} is past the last date; {expected}") from None
    except ValueError:
        raise FeatureQueryError(field, f"{text[:40]!r} is not an ISO date; {expected}") from None
    return in_range(field, moment if moment.tzinfo else moment.replace(tzinfo=city_time.zone(zone)))
