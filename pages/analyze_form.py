"""The analyst's form as a question spec (JSON) for :func:`analytics.questions.ask`.

The form holds plain text (filter values, distances, a bbox); this module turns it into the
engine's JSON question by the field kinds of :mod:`analytics.question_catalog` and nothing
else — the engine checks every part again. A coded value is picked from a list of its names
(:func:`pages.analyze_values.options`) and comes back as its code, which the question holds;
one that is not on the list is refused (:class:`pages.analyze_values.NotAnOption`). No SQL
anywhere near here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from analytics.question_catalog import LAYERS, OPERATORS, LayerSpec
from pages.analyze_values import LIST_OPERATORS, codes, is_coded
from pages.drawing import drawn_polygons

ROWS = {"subject": 2, "near": 1}
"""Filter rows on each side of the form."""
ALL_OPERATORS: tuple[str, ...] = tuple(
    dict.fromkeys(op for ops in OPERATORS.values() for op in ops)
)
RESULT_COLOR = "#f97316"
"""Stroke of the answer's features on the map."""
TABLE_ROWS = 500
"""Rows shown in the page's table (the CSV has the whole answer)."""


class FormError(ValueError):
    """A form entry that cannot become part of a question (``part`` names it)."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(f"{part}: {message}")
        self.part = part


@dataclass
class Filter:
    """One filter row as entered: field, operator, and the value typed (text) or picked (a
    code, or a list of codes for ``in``/``between``) for a coded field."""

    field: str | None = None
    op: str | None = None
    value: str | list[str] | None = None


@dataclass
class TimeWindow:
    """A time filter as typed: field, last hours, optional end."""

    field: str | None = None
    hours: float | None = None
    until: str | None = None


@dataclass
class Form:
    """Everything the form holds."""

    subject: str = "buildings"
    where: list[Filter] = field(default_factory=list)
    time: TimeWindow = field(default_factory=TimeWindow)
    area_mode: str = "any"
    area: str | None = None
    bbox: str | None = None
    drawn: dict | None = None
    near_on: bool = False
    near_layer: str | None = None
    near_mode: str = "within"
    near_distance: float | None = None
    near_where: list[Filter] = field(default_factory=list)
    near_time: TimeWindow = field(default_factory=TimeWindow)
    nearest_n: int | None = None
    nearest_point: str | None = None


def subject_layers() -> list[LayerSpec]:
    """Layers a question may ask about."""
    return [spec for spec in LAYERS.values() if spec.subject]


def reference_layers() -> list[LayerSpec]:
    """Layers a question may measure distances to."""
    return [spec for spec in LAYERS.values() if spec.reference]


def _scalar(kind: str, text: str, part: str) -> object:
    text = text.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise FormError(part, f"{text!r} is not a number") from None
    if kind == "bool":
        if text.lower() not in ("true", "false", "是", "否"):
            raise FormError(part, "expected true or false")
        return text.lower() in ("true", "是")
    return text


def _filters(layer: LayerSpec, rows: list[Filter], part: str) -> list[dict[str, object]]:
    out = []
    for i, row in enumerate(rows):
        if not row.field or row.value is None or row.value in ("", []):
            continue
        if not isinstance(row.value, list) and not str(row.value).strip():
            continue
        spec = layer.field(row.field) if isinstance(row.field, str) else None
        if spec is None:
            raise FormError(f"{part}[{i}]", f"{row.field!r} is not a field of {layer.name}")
        op = row.op if isinstance(row.op, str) and row.op else "="
        where = f"{part}[{i}].value"
        if is_coded(layer.name, row.field):
            texts = codes(layer.name, row.field, row.value)  # NotAnOption unless all offered
            if op not in LIST_OPERATORS and len(texts) > 1:
                raise FormError(where, f"{op} takes one value, not {len(texts)}")
        elif isinstance(row.value, list):
            raise FormError(where, "expected text, not a list")
        else:
            texts = str(row.value).split(",") if op in LIST_OPERATORS else [str(row.value)]
        read = [_scalar(spec.kind, text, where) for text in texts]
        value: object = read if op in LIST_OPERATORS else read[0]
        out.append({"field": row.field, "op": op, "value": value})
    return out


def _time(window: TimeWindow) -> dict[str, object] | None:
    if not window.field or not window.hours:
        return None
    spec: dict[str, object] = {"field": window.field, "last_hours": float(window.hours)}
    if window.until and window.until.strip():
        spec["until"] = window.until.strip()
    return spec


def _numbers(text: str, count: int, part: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise FormError(part, f"{text!r}: expected {count} numbers separated by commas") from None
    if len(values) != count:
        raise FormError(part, f"{text!r}: expected {count} numbers separated by commas")
    return values


def drawn_polygon(geojson: dict | None) -> dict | None:
    """The last polygon drawn on the map (a GeoJSON geometry), or None."""
    polygons = drawn_polygons(geojson)
    return polygons[-1] if polygons else None


def _within(form: Form) -> dict[str, object] | None:
    if form.area_mode == "area" and form.area:
        return {"area": form.area}
    if form.area_mode == "polygon":
        polygon = drawn_polygon(form.drawn)
        if polygon is None:
            raise FormError("within", "draw a polygon or rectangle on the map first")
        return {"polygon": polygon}
    if form.area_mode == "bbox" and form.bbox:
        return {"bbox": _numbers(form.bbox, 4, "within.bbox")}
    return None


def build_spec(form: Form) -> dict[str, object]:
    """The question spec of ``form`` (:class:`FormError` for entries that are not values)."""
    layer = LAYERS.get(form.subject)
    if layer is None:
        raise FormError("layer", f"{form.subject!r} is not a layer")
    spec: dict[str, object] = {"layer": form.subject}
    if where := _filters(layer, form.where, "where"):
        spec["where"] = where
    if time := _time(form.time):
        spec["time"] = time
    if within := _within(form):
        spec["within"] = within
    if form.near_on and form.near_layer:
        ref = LAYERS.get(form.near_layer)
        if ref is None:
            raise FormError("near.layer", f"{form.near_layer!r} is not a layer")
        near: dict[str, object] = {
            "layer": form.near_layer,
            "distance_m": float(form.near_distance or 0),
            "mode": form.near_mode or "within",
        }
        if where := _filters(ref, form.near_where, "near.where"):
            near["where"] = where
        if time := _time(form.near_time):
            near["time"] = time
        spec["near"] = [near]
    if form.nearest_n and form.nearest_point:
        lon, lat = _numbers(form.nearest_point, 2, "nearest.point")
        spec["nearest"] = {"point": [lon, lat], "n": int(form.nearest_n)}
    return spec


PRESETS: dict[str, Form] = {
    "elderly": Form(
        subject="residents",
        where=[Filter("care_tags", "has", "elderly_alone")],
        near_on=True,
        near_layer="incidents",
        near_mode="within",
        near_distance=300,
        near_where=[Filter("category", "=", "alarm.gas")],
        near_time=TimeWindow("reported_at", 24),
    ),
    "tall": Form(
        subject="buildings",
        where=[Filter("floors", ">", "18")],
        near_on=True,
        near_layer="facilities",
        near_mode="beyond",
        near_distance=150,
        near_where=[Filter("kind", "=", "hydrant")],
    ),
    "lanes": Form(
        subject="facilities",
        where=[Filter("kind", "=", "fire_lane")],
        near_on=True,
        near_layer="cameras",
        near_mode="beyond",
        near_distance=0,
    ),
}
"""The issue's three example questions, as form contents."""


def spec_text(spec: dict[str, object]) -> str:
    """The question as compact JSON (shown under the form: what was asked)."""
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
