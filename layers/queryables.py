"""Queryables of an OGC collection (OGC API – Features Part 3): a JSON Schema of the properties
a viewer may filter on.

They are exactly the fields the viewer may take out of the store (the export allow-list,
:func:`geodata.exports.fields.allowed_fields`) plus the geometry, so a filter can name nothing
the response would not show. Titles come in Chinese and English (``title`` in the page's
language, ``description`` in the other, both in ``x-title``); coded values list their ``enum``
and each value's zh/en label (``x-value-titles``) from the layer's ``value_labels`` and
:mod:`geodata.code_labels`. Incident categories carry no ``enum``: the taxonomy is kept in the store
and may grow.
"""

from __future__ import annotations

from collections.abc import Mapping

from geodata import code_labels
from geodata.accounts.viewer import Viewer
from geodata.exports.fields import Field, Kind
from geodata.exports.sources import Source
from geodata.vocab import Text
from layers.base import Layer
from layers.cql_filter import GEOMETRY
from layers.registry import LAYERS

SCHEMA = "https://json-schema.org/draft/2020-12/schema"
GEOMETRY_FORMATS = {
    "Point": "geometry-point",
    "MultiPolygon": "geometry-multipolygon",
    "MultiLineString": "geometry-multilinestring",
    "Unknown": "geometry-any",
}
JSON_TYPES: Mapping[Kind, dict[str, str]] = {
    "int16": {"type": "integer"},
    "int32": {"type": "integer"},
    "int64": {"type": "integer"},
    "float": {"type": "number"},
    "text": {"type": "string"},
    "bool": {"type": "boolean"},
    "timestamp": {"type": "string", "format": "date-time"},
}
TITLES: Mapping[str, Text] = {
    "id": {"zh": "编号", "en": "ID"},
    "code": {"zh": "区划代码", "en": "Area code"},
    "name": {"zh": "名称", "en": "Name"},
    "name_en": {"zh": "英文名称", "en": "Name (English)"},
    "level": {"zh": "层级", "en": "Level"},
    "depth": {"zh": "层级深度", "en": "Depth"},
    "parent_code": {"zh": "上级代码", "en": "Parent code"},
    "area_code": {"zh": "所属区划代码", "en": "Area code"},
    "area_name": {"zh": "所属区划", "en": "Area"},
    "h3_r7": {"zh": "H3 网格（7级）", "en": "H3 cell (res 7)"},
    "h3_r9": {"zh": "H3 网格（9级）", "en": "H3 cell (res 9)"},
    "source": {"zh": "数据来源", "en": "Source"},
    "source_id": {"zh": "来源编号", "en": "Source ID"},
    "kind": {"zh": "类型", "en": "Kind"},
    "status": {"zh": "状态", "en": "Status"},
    "oneway": {"zh": "单行", "en": "One-way"},
    "lanes": {"zh": "车道数", "en": "Lanes"},
    "address": {"zh": "地址", "en": "Address"},
    "use": {"zh": "用途", "en": "Use"},
    "floors": {"zh": "层数", "en": "Floors"},
    "height": {"zh": "高度（米）", "en": "Height (m)"},
    "year_built": {"zh": "建成年份", "en": "Year built"},
    "capacity": {"zh": "容量", "en": "Capacity"},
    "credit_code": {"zh": "统一社会信用代码", "en": "Credit code"},
    "employees": {"zh": "从业人数", "en": "Employees"},
    "building_id": {"zh": "楼栋编号", "en": "Building ID"},
    "house_id": {"zh": "房屋编号", "en": "Home ID"},
    "device_id": {"zh": "设备编号", "en": "Device ID"},
    "serial": {"zh": "序列号", "en": "Serial"},
    "model": {"zh": "型号", "en": "Model"},
    "last_seen": {"zh": "最近上报", "en": "Last seen"},
    "last_value": {"zh": "最近读数", "en": "Last reading"},
    "heading": {"zh": "朝向（度）", "en": "Heading (°)"},
    "fov": {"zh": "视场角（度）", "en": "Field of view (°)"},
    "range_m": {"zh": "视距（米）", "en": "Range (m)"},
    "installed_at": {"zh": "安装时间", "en": "Installed"},
    "category": {"zh": "类别", "en": "Category"},
    "severity": {"zh": "等级", "en": "Severity"},
    "title": {"zh": "事件", "en": "Incident"},
    "reported_at": {"zh": "上报时间", "en": "Reported"},
    "due_at": {"zh": "处置时限", "en": "Due"},
    "resolved_at": {"zh": "办结时间", "en": "Resolved"},
    "closed_at": {"zh": "关闭时间", "en": "Closed"},
    "rule": {"zh": "预警规则", "en": "Warning rule"},
    "unit": {"zh": "单元", "en": "Unit"},
    "floor": {"zh": "楼层", "en": "Floor"},
    "room": {"zh": "房号", "en": "Room"},
    "floor_area": {"zh": "面积（平方米）", "en": "Floor area (m²)"},
    "occupancy": {"zh": "居住状态", "en": "Occupancy"},
    GEOMETRY: {"zh": "几何", "en": "Geometry"},
}
"""zh/en titles of exported columns (a layer's popup label wins where it has one)."""
OPEN_CODE_LISTS = frozenset({"category"})
"""Coded columns whose list lives in the store and may grow: no ``enum``."""
_LAYERS: Mapping[str, Layer] = {layer.id: layer for layer in LAYERS}


def _titles(source: Source, name: str) -> Text:
    layer = _LAYERS.get(source.id)
    popup = {f.name: f.label for f in layer.popup} if layer else {}
    return popup.get(name) or TITLES.get(name) or {"zh": name, "en": name}


def _codes(source: Source, field: Field) -> dict[str, Text] | None:
    """The coded values of ``field`` in ``source`` with their labels: the map layer's own,
    else the store's (:data:`geodata.code_labels.CODE_LABELS`)."""
    if field.name in OPEN_CODE_LISTS:
        return None
    layer = _LAYERS.get(source.id)
    labelled = dict(layer.value_labels.get(field.name, {})) if layer else {}
    codes = labelled or dict(code_labels.labels(source.table, field.name))
    if not codes:
        return None
    fixed = [value for column, value in source.where if column == field.name]
    dropped = {value for column, value in source.exclude if column == field.name}
    return {k: v for k, v in codes.items() if (not fixed or k in fixed) and k not in dropped}


def _property(source: Source, field: Field, lang: str) -> dict[str, object]:
    titles = _titles(source, field.name)
    other = "en" if lang == "zh" else "zh"
    prop: dict[str, object] = {
        "title": titles.get(lang) or titles["en"],
        "description": titles.get(other) or titles["en"],
        "x-title": dict(titles),
        **JSON_TYPES[field.kind],
    }
    if field.name == "id":
        prop["x-ogc-role"] = "id"
    if field.name == source.temporal:
        prop["x-ogc-role"] = "primary-instant"
    codes = _codes(source, field)
    if codes:
        whole = field.kind in ("int16", "int32", "int64")
        prop["enum"] = [int(c) if whole else c for c in codes]
        titled = {code: dict(text) for code, text in codes.items() if text}
        if titled:
            prop["x-value-titles"] = titled
    return prop


def queryables(
    source: Source,
    fields: tuple[Field, ...],
    viewer: Viewer,
    lang: str,
    url: str,
    *,
    draft: bool = False,
) -> dict[str, object]:
    """The JSON Schema of what ``viewer`` may filter ``source`` on (``fields``: its
    allow-list), published at ``url``. ``draft`` adds the 2020 draft's ``queryables`` list
    (``[{"id", "type"}]``), which GDAL before 3.7 reads instead of ``properties``."""
    geometry = _titles(source, GEOMETRY)
    properties: dict[str, object] = {
        GEOMETRY: {
            "title": geometry[lang],
            "description": geometry["en" if lang == "zh" else "zh"],
            "x-title": dict(geometry),
            "format": GEOMETRY_FORMATS[source.geometry_type],
            "x-ogc-role": "primary-geometry",
        }
    }
    properties |= {f.name: _property(source, f, lang) for f in fields}
    title = source.title.get(lang) or source.title["en"]
    doc: dict[str, object] = {
        "$schema": SCHEMA,
        "$id": url,
        "type": "object",
        "title": title,
        "description": f"Queryables of {source.id} for role {viewer.role}",
        "properties": properties,
        "additionalProperties": False,
    }
    if draft:
        doc["queryables"] = [
            {"id": f.name, "type": JSON_TYPES[f.kind].get("format", JSON_TYPES[f.kind]["type"])}
            for f in fields
        ]
    return doc
