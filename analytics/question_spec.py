"""An analyst question as JSON, checked and turned into typed parts (no SQL here).

A question::

    {"layer": "buildings",
     "where": [{"field": "floors", "op": ">", "value": 18}],
     "time": {"field": "reported_at", "last_hours": 24, "until": "2026-11-01T00:00:00+08:00"},
     "within": {"area": "340104"} | {"area_id": 12} | {"polygon": <GeoJSON>} | {"bbox": [..4]},
     "near": [{"layer": "facilities", "where": [...], "time": {...},
               "distance_m": 150, "mode": "beyond"}],
     "nearest": {"point": [lon, lat], "n": 10},
     "limit": 1000}

Every part is optional except ``layer``; parts combine with AND. A date-time without an offset
(``2026-12-07 09:00``) is the city's local time (``Limits.timezone``, ``ONEMAP_TIMEZONE``).
Anything not understood is refused with :class:`QuestionError`, which names the offending part
(``path``), a problem code with zh/en titles, and what was expected.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape

from analytics.question_catalog import LAYERS, OPERATORS, LayerSpec
from geodata import city_time
from geodata.catalogue import AnalystField
from geodata.errors import OneMapError
from geodata.query import EARLIEST, LATEST, MAX_FILTER_VALUES, FeatureQueryError, in_range

MAX_TEXT = 200
MAX_FILTERS = 20
MAX_NEAR = 5
MAX_NEAREST = 1000
MAX_HOURS = 24 * 366 * 5

PROBLEMS: dict[str, dict[str, str]] = {
    "bad_spec": {"zh": "问题格式错误", "en": "Malformed question"},
    "unknown_layer": {"zh": "未知图层", "en": "Unknown layer"},
    "unknown_field": {"zh": "未知字段", "en": "Unknown field"},
    "unknown_operator": {"zh": "不支持的运算", "en": "Unsupported operator"},
    "bad_value": {"zh": "取值无效", "en": "Invalid value"},
    "bad_geometry": {"zh": "范围图形无效", "en": "Invalid area shape"},
    "too_large": {"zh": "超出限制", "en": "Over a limit"},
    "unknown_area": {"zh": "未知区域", "en": "Unknown area"},
    "disclosure": {"zh": "为保护个人隐私，不按此条件计数", "en": "Not counted this way (privacy)"},
}


class QuestionError(OneMapError, ValueError):
    """A question that cannot be asked as written: where (``path``), what (``code``, one of
    :data:`PROBLEMS`), why."""

    status = 400

    def __init__(self, path: str, code: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.code, self.detail = path, code, message

    def details(self) -> dict[str, object]:
        """The problem's code, its zh/en title and where in the question it is."""
        return {"code": self.code, "title": dict(PROBLEMS[self.code]), "path": self.path}

    def as_dict(self) -> dict[str, object]:
        """The JSON body of a 400 answer (without its ``status``)."""
        return {"error": str(self), **self.details()}


@dataclass(frozen=True)
class Limits:
    """The limits a question is checked against, and the city's zone (from the settings)."""

    max_features: int = 5000
    max_distance_m: float = 5000.0
    max_polygon_vertices: int = 2000
    extent: tuple[float, float, float, float] = (116.68, 30.93, 117.98, 32.56)
    timezone: str = city_time.DEFAULT_ZONE
    """The city's zone: a date-time written without an offset is its local time."""


@dataclass(frozen=True)
class Condition:
    """``field op value`` on a layer (value already checked against the field's kind)."""

    field: AnalystField
    op: str
    value: object


@dataclass(frozen=True)
class TimeSpan:
    """``start <= field < end`` (either end open when None)."""

    field: AnalystField
    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True)
class Within:
    """Where to look: an area (by code or id, with its sub-areas), a polygon or a bbox."""

    area_code: str | None = None
    area_id: int | None = None
    polygon_geojson: str | None = None
    bbox: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Near:
    """Within (or beyond) ``distance_m`` of some feature of another layer, with its filters."""

    layer: LayerSpec
    conditions: tuple[Condition, ...]
    time: TimeSpan | None
    distance_m: float
    beyond: bool


@dataclass(frozen=True)
class Nearest:
    """The ``n`` features nearest to a point."""

    lon: float
    lat: float
    n: int


@dataclass(frozen=True)
class Question:
    """A checked question."""

    layer: LayerSpec
    conditions: tuple[Condition, ...]
    time: TimeSpan | None
    within: Within | None
    near: tuple[Near, ...]
    nearest: Nearest | None
    limit: int
    echo: dict[str, object]
    """The question as received (for the answer)."""


# --- small readers ------------------------------------------------------------------------------


def _mapping(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise QuestionError(path, "bad_spec", f"expected a JSON object, got {_kind(value)}")
    return value


def _keys(value: Mapping[str, object], path: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise QuestionError(
            f"{path}.{unknown[0]}" if path else unknown[0],
            "bad_spec",
            f"unknown key {unknown[0][:40]!r}; expected some of {', '.join(allowed)}",
        )


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), "null" if value is None else "a number"
    )


def _number(value: object, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QuestionError(path, "bad_value", f"expected a number, got {_kind(value)}")
    return float(value)


def _int(value: object, path: str, low: int, high: int) -> int:
    number = _number(value, path)
    if number != int(number) or not low <= number <= high:
        raise QuestionError(path, "bad_value", f"expected a whole number {low}..{high}")
    return int(number)


def _text(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise QuestionError(path, "bad_value", f"expected text, got {_kind(value)}")
    if len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise QuestionError(path, "bad_value", f"text must be 1..{MAX_TEXT} printable characters")
    return value


def _instant(value: object, path: str, tz: str) -> dt.datetime:
    """An ISO 8601 date-time; one without an offset is the city's local time (zone ``tz``)."""
    text = _text(value, path)
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise QuestionError(
            path, "bad_value", f"{text[:40]!r} is not an ISO date-time (2026-11-01T08:00:00+08:00)"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=city_time.zone(tz))
    try:
        return in_range(path, moment)
    except FeatureQueryError:
        raise QuestionError(
            path, "bad_value", f"{text[:40]!r} is outside {EARLIEST.year}..{LATEST.year - 1}"
        ) from None


# --- parts --------------------------------------------------------------------------------------


def _layer(value: object, path: str, role: str) -> LayerSpec:
    name = value if isinstance(value, str) else None
    spec = LAYERS.get(name) if name else None
    if spec is None:
        shown = repr(value)[:40]
        raise QuestionError(
            path, "unknown_layer", f"{shown} is not a layer; expected one of {', '.join(LAYERS)}"
        )
    if not (spec.subject if role == "subject" else spec.reference):
        raise QuestionError(path, "unknown_layer", f"layer {name!r} cannot be used as a {role}")
    return spec


def _field(layer: LayerSpec, value: object, path: str) -> AnalystField:
    spec = layer.field(value) if isinstance(value, str) else None
    if spec is None:
        raise QuestionError(
            path,
            "unknown_field",
            f"{repr(value)[:40]} is not a field of {layer.name}; "
            f"expected one of {', '.join(layer.fields)}",
        )
    return spec


def _scalar(spec: AnalystField, value: object, path: str, tz: str) -> object:
    """One value of ``spec``'s kind (and vocabulary)."""
    if spec.kind == "int":
        return _int(value, path, -(2**31), 2**31 - 1)
    if spec.kind == "float":
        return _number(value, path)
    if spec.kind == "timestamp":
        return _instant(value, path, tz)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise QuestionError(path, "bad_value", "expected true or false")
        return value
    text = _text(value, path)
    if spec.values is not None and text not in spec.values:
        raise QuestionError(
            path,
            "bad_value",
            f"{text[:40]!r} is not a value of {spec.column}; expected one of "
            f"{', '.join(spec.values)}",
        )
    return text


def _value(spec: AnalystField, op: str, value: object, path: str, tz: str) -> object:
    if op in ("in", "between"):
        if not isinstance(value, list):
            raise QuestionError(path, "bad_value", f"{op!r} needs a list of values")
        if op == "between" and len(value) != 2:
            raise QuestionError(path, "bad_value", "'between' needs [low, high]")
        if not 1 <= len(value) <= MAX_FILTER_VALUES:
            raise QuestionError(path, "too_large", f"1..{MAX_FILTER_VALUES} values, please")
        # Values of one kind (spec.kind), so 'between' can compare low and high.
        values: list[Any] = [_scalar(spec, v, f"{path}[{i}]", tz) for i, v in enumerate(value)]
        if op == "between" and values[0] > values[1]:
            raise QuestionError(path, "bad_value", "'between': low is above high")
        return values
    return _scalar(spec, value, path, tz)


def _condition(layer: LayerSpec, value: object, path: str, tz: str) -> Condition:
    item = _mapping(value, path)
    _keys(item, path, ("field", "op", "value"))
    spec = _field(layer, item.get("field"), f"{path}.field")
    op = item.get("op", "=")
    allowed = OPERATORS[spec.kind]
    if not isinstance(op, str) or op not in allowed:
        raise QuestionError(
            f"{path}.op",
            "unknown_operator",
            f"{repr(op)[:40]} is not an operator for {spec.column}; expected one of "
            f"{', '.join(allowed)}",
        )
    if "value" not in item:
        raise QuestionError(f"{path}.value", "bad_value", "missing")
    return Condition(spec, op, _value(spec, op, item["value"], f"{path}.value", tz))


def _conditions(layer: LayerSpec, value: object, path: str, tz: str) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise QuestionError(path, "bad_spec", "expected a list of {field, op, value}")
    if len(value) > MAX_FILTERS:
        raise QuestionError(path, "too_large", f"at most {MAX_FILTERS} conditions")
    return tuple(_condition(layer, v, f"{path}[{i}]", tz) for i, v in enumerate(value))


def _time(layer: LayerSpec, value: object, path: str, now: dt.datetime, tz: str) -> TimeSpan | None:
    if value is None:
        return None
    item = _mapping(value, path)
    _keys(item, path, ("field", "last_hours", "until", "from", "to"))
    spec = _field(layer, item.get("field"), f"{path}.field")
    if spec.kind != "timestamp":
        raise QuestionError(f"{path}.field", "unknown_field", f"{spec.column} is not a time")
    if "last_hours" in item:
        if "from" in item or "to" in item:
            raise QuestionError(path, "bad_spec", "give last_hours (and until) or from/to")
        hours = _number(item["last_hours"], f"{path}.last_hours")
        if not 0 < hours <= MAX_HOURS:
            raise QuestionError(f"{path}.last_hours", "bad_value", f"expected 0 < h ≤ {MAX_HOURS}")
        until = _instant(item["until"], f"{path}.until", tz) if "until" in item else now
        return TimeSpan(spec, until - dt.timedelta(hours=hours), until)
    if "until" in item:
        raise QuestionError(f"{path}.until", "bad_spec", "until goes with last_hours")
    start = _instant(item["from"], f"{path}.from", tz) if "from" in item else None
    end = _instant(item["to"], f"{path}.to", tz) if "to" in item else None
    if start is None and end is None:
        raise QuestionError(path, "bad_spec", "give last_hours, or from and/or to")
    if start and end and start >= end:
        raise QuestionError(path, "bad_value", "from must be before to")
    return TimeSpan(spec, start, end)


def _polygon(value: object, path: str, limits: Limits) -> str:
    item = _mapping(value, path)
    if item.get("type") == "Feature":
        item = _mapping(item.get("geometry"), f"{path}.geometry")
    if item.get("type") not in ("Polygon", "MultiPolygon"):
        raise QuestionError(path, "bad_geometry", "expected a GeoJSON Polygon or MultiPolygon")
    if len(json.dumps(item)) > limits.max_polygon_vertices * 60:
        raise QuestionError(path, "too_large", "the polygon's JSON is too long")
    try:
        geom = shape(item)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise QuestionError(path, "bad_geometry", f"unreadable coordinates ({exc})") from None
    if shapely.get_num_coordinates(geom) > limits.max_polygon_vertices:
        raise QuestionError(
            path, "too_large", f"more than {limits.max_polygon_vertices} vertices; simplify it"
        )
    if geom.is_empty or not geom.is_valid:
        why = shapely.is_valid_reason(geom) if not geom.is_empty else "empty"
        raise QuestionError(path, "bad_geometry", f"invalid polygon: {why}")
    minx, miny, maxx, maxy = limits.extent
    if not shapely.box(minx, miny, maxx, maxy).contains(geom):
        raise QuestionError(
            path,
            "bad_geometry",
            f"the polygon leaves the city extent {limits.extent} (lon/lat order, WGS84 degrees)",
        )
    return json.dumps(shapely.geometry.mapping(geom))


def _bbox(value: object, path: str, limits: Limits) -> tuple[float, float, float, float]:
    if not isinstance(value, list) or len(value) != 4:
        raise QuestionError(path, "bad_value", "expected [minx, miny, maxx, maxy] in degrees")
    box = tuple(_number(v, f"{path}[{i}]") for i, v in enumerate(value))
    minx, miny, maxx, maxy = limits.extent
    if not (box[0] < box[2] and box[1] < box[3]):
        raise QuestionError(path, "bad_value", "need minx < maxx and miny < maxy")
    if box[0] > maxx or box[2] < minx or box[1] > maxy or box[3] < miny:
        raise QuestionError(
            path, "bad_geometry", f"the bbox misses the city extent {limits.extent}"
        )
    return box  # type: ignore[return-value]


def _within(value: object, path: str, limits: Limits) -> Within | None:
    if value is None:
        return None
    item = _mapping(value, path)
    _keys(item, path, ("area", "area_id", "polygon", "bbox"))
    if len(item) != 1:
        raise QuestionError(path, "bad_spec", "give exactly one of area, area_id, polygon, bbox")
    if "area" in item:
        code = _text(item["area"], f"{path}.area").strip()
        if not code or len(code) > 32:
            raise QuestionError(f"{path}.area", "bad_value", "an area code has 1..32 characters")
        return Within(area_code=code)
    if "area_id" in item:
        return Within(area_id=_int(item["area_id"], f"{path}.area_id", 1, 2**62))
    if "polygon" in item:
        return Within(polygon_geojson=_polygon(item["polygon"], f"{path}.polygon", limits))
    return Within(bbox=_bbox(item["bbox"], f"{path}.bbox", limits))


def _near(value: object, path: str, limits: Limits, now: dt.datetime) -> Near:
    item = _mapping(value, path)
    _keys(item, path, ("layer", "where", "time", "distance_m", "mode"))
    layer = _layer(item.get("layer"), f"{path}.layer", "reference")
    if "distance_m" not in item:
        raise QuestionError(f"{path}.distance_m", "bad_value", "missing (metres, ≥ 0)")
    distance = _number(item["distance_m"], f"{path}.distance_m")
    if distance < 0:
        raise QuestionError(f"{path}.distance_m", "bad_value", "a distance cannot be negative")
    if distance > limits.max_distance_m:
        raise QuestionError(
            f"{path}.distance_m", "too_large", f"at most {limits.max_distance_m:g} m"
        )
    mode = item.get("mode", "within")
    if mode not in ("within", "beyond"):
        raise QuestionError(f"{path}.mode", "unknown_operator", "expected 'within' or 'beyond'")
    return Near(
        layer,
        _conditions(layer, item.get("where"), f"{path}.where", limits.timezone),
        _time(layer, item.get("time"), f"{path}.time", now, limits.timezone),
        distance,
        mode == "beyond",
    )


def _nearest(value: object, path: str, limits: Limits, layer: LayerSpec) -> Nearest | None:
    if value is None:
        return None
    if layer.counts_per_building:
        raise QuestionError(path, "bad_spec", f"{layer.name} are answered as counts, not nearest")
    item = _mapping(value, path)
    _keys(item, path, ("point", "n"))
    point = item.get("point")
    if not isinstance(point, list) or len(point) != 2:
        raise QuestionError(f"{path}.point", "bad_value", "expected [lon, lat]")
    lon, lat = (_number(v, f"{path}.point[{i}]") for i, v in enumerate(point))
    minx, miny, maxx, maxy = limits.extent
    if not (minx <= lon <= maxx and miny <= lat <= maxy):
        raise QuestionError(f"{path}.point", "bad_geometry", "the point is outside the city")
    n = _int(item.get("n", 10), f"{path}.n", 1, min(MAX_NEAREST, limits.max_features))
    return Nearest(lon, lat, n)


def parse_question(
    value: object, limits: Limits | None = None, now: dt.datetime | None = None
) -> Question:
    """The checked :class:`Question` of JSON ``value``; :class:`QuestionError` if it is not one."""
    limits = limits or Limits()
    now = now or dt.datetime.now(dt.UTC)
    item = _mapping(value, "question")
    _keys(item, "", ("layer", "where", "time", "within", "near", "nearest", "limit"))
    layer = _layer(item.get("layer"), "layer", "subject")
    near = item.get("near") or []
    if isinstance(near, Mapping):
        near = [near]
    if not isinstance(near, list) or len(near) > MAX_NEAR:
        raise QuestionError("near", "bad_spec", f"expected a list of at most {MAX_NEAR} clauses")
    return Question(
        layer=layer,
        conditions=_conditions(layer, item.get("where"), "where", limits.timezone),
        time=_time(layer, item.get("time"), "time", now, limits.timezone),
        within=_within(item.get("within"), "within", limits),
        near=tuple(_near(v, f"near[{i}]", limits, now) for i, v in enumerate(near)),
        nearest=_nearest(item.get("nearest"), "nearest", limits, layer),
        limit=_int(item.get("limit", limits.max_features), "limit", 1, limits.max_features),
        echo=dict(item),
    )
