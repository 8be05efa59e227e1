"""What a viewport request asks of a layer: bbox, zoom, limit, time window, filters, area.

Parsing turns query-string values into a :class:`LayerQuery` or raises
:class:`FeatureQueryError` naming the parameter and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from geodata.errors import OneMapError
from layers.base import Layer

MIN_ZOOM, MAX_ZOOM = 0, 22
MAX_BBOX_SPAN = 30.0
"""Largest bbox side in degrees: more than any city view at the map's minimum zoom."""
STANDARD_PARAMS = frozenset({"bbox", "zoom", "limit", "time", "area"})
MAX_FILTER_VALUES = 50


class FeatureQueryError(OneMapError, ValueError):
    """A feature request that cannot be answered as asked (the message says why)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


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
    """``start <= t < end`` (UTC-aware datetimes)."""

    start: datetime
    end: datetime

    @classmethod
    def parse(cls, value: str | None) -> TimeWindow | None:
        """Read ``start/end`` ISO dates or datetimes; a date-only end includes that whole day."""
        if not value:
            return None
        expected = "expected time=start/end as ISO dates, e.g. 2026-01-01/2026-01-31"
        parts = value.split("/")
        if len(parts) != 2:
            raise FeatureQueryError("time", f"{value!r} is not start/end; {expected}")
        start, end = (_instant(p, "time", expected, end=i == 1) for i, p in enumerate(parts))
        if start >= end:
            raise FeatureQueryError("time", f"{value!r}: the start must be before the end")
        return cls(start, end)

    def params(self) -> dict[str, datetime]:
        return {"t0": self.start, "t1": self.end}

    def as_list(self) -> list[str]:
        return [self.start.isoformat(), self.end.isoformat()]


def _instant(text: str, field: str, expected: str, *, end: bool) -> datetime:
    """One end of a time window (a date at the end means the end of that day)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=1 if end else 0), time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise FeatureQueryError(field, f"{text!r} is not an ISO date; {expected}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_zoom(value: str | None) -> float:
    """Read a web-map zoom level (0..22, fractions allowed)."""
    if value is None or value == "":
        raise FeatureQueryError("zoom", f"missing; expected a number {MIN_ZOOM}..{MAX_ZOOM}")
    try:
        zoom = float(value)
    except ValueError:
        raise FeatureQueryError("zoom", f"{value!r} is not a number") from None
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise FeatureQueryError("zoom", f"{value} is outside {MIN_ZOOM}..{MAX_ZOOM}")
    return zoom


def parse_limit(value: str | None, max_features: int) -> int:
    """Read an optional feature limit (1..``max_features``; default ``max_features``)."""
    if value is None or value == "":
        return max_features
    try:
        limit = int(value)
    except ValueError:
        raise FeatureQueryError("limit", f"{value!r} is not a whole number") from None
    if not 1 <= limit <= max_features:
        raise FeatureQueryError("limit", f"{limit} is outside 1..{max_features}")
    return limit


def parse_area(value: str | None) -> int | None:
    """Read an optional governance-area id (the selected area)."""
    if not value:
        return None
    if not value.isdigit():
        raise FeatureQueryError("area", f"{value!r} is not an area id (a whole number)")
    return int(value)


def parse_filters(layer: Layer, args: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The layer's filter values from ``args`` (comma-separated); unknown names are refused."""
    unknown = sorted(k for k in args if k not in STANDARD_PARAMS and not layer.filter_for(k))
    if unknown:
        accepted = ", ".join(sorted(STANDARD_PARAMS | {f.param for f in layer.filters}))
        raise FeatureQueryError(
            unknown[0], f"layer {layer.id!r} takes no parameter {unknown[0]!r}; it takes {accepted}"
        )
    if args.get("time") and not layer.time_column:
        raise FeatureQueryError("time", f"layer {layer.id!r} has no time dimension")
    chosen: dict[str, tuple[str, ...]] = {}
    for spec in layer.filters:
        raw = args.get(spec.param)
        if not raw:
            continue
        values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
        bad = [v for v in values if spec.values is not None and v not in spec.values]
        if bad or not values or len(values) > MAX_FILTER_VALUES:
            allowed = ", ".join(spec.values) if spec.values else "codes"
            raise FeatureQueryError(spec.param, f"{raw!r} is not one of {allowed}")
        chosen[spec.param] = values
    return chosen


@dataclass(frozen=True)
class LayerQuery:
    """Everything a request asks of one layer (parsed and checked)."""

    bbox: BBox
    zoom: float
    limit: int
    time: TimeWindow | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    area_id: int | None = None

    @classmethod
    def from_args(cls, layer: Layer, args: Mapping[str, str], max_features: int) -> LayerQuery:
        """Parse a request's query string for ``layer``."""
        return cls(
            bbox=BBox.parse(args.get("bbox")),
            zoom=parse_zoom(args.get("zoom")),
            limit=parse_limit(
                args.get("limit"), min(max_features, layer.max_features or max_features)
            ),
            time=TimeWindow.parse(args.get("time")),
            filters=parse_filters(layer, args),
            area_id=parse_area(args.get("area")),
        )

    def option(self, param: str, default: str) -> str:
        """A single-valued provider option (``metric``, ``of``, ``care``)."""
        values = self.filters.get(param)
        return values[0] if values else default

    def echo(self) -> dict[str, object]:
        """The request as the response repeats it."""
        echo: dict[str, object] = {"bbox": self.bbox.as_list(), "zoom": self.zoom}
        if self.time:
            echo["time"] = self.time.as_list()
        if self.filters:
            echo["filters"] = {k: list(v) for k, v in self.filters.items()}
        if self.area_id is not None:
            echo["area"] = self.area_id
        return echo
