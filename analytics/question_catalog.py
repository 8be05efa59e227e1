"""What an analyst question may name: layers, their fields and the operators per field kind.

Everything here is an allow-list. A question names layers and fields by these keys; the SQL
identifiers come only from this module, never from the question. Values are checked against
the field's kind (and vocabulary, where it has one) and then bound as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from geodata import vocab

Kind = Literal["text", "code", "int", "float", "timestamp", "tags", "bool"]
Text = dict[str, str]

OPERATORS: dict[Kind, tuple[str, ...]] = {
    "text": ("=", "!=", "in"),
    "code": ("=", "!=", "in"),
    "int": ("=", "!=", "<", "<=", ">", ">=", "between", "in"),
    "float": ("=", "!=", "<", "<=", ">", ">=", "between"),
    "timestamp": ("<", "<=", ">", ">=", "between"),
    "tags": ("has",),
    "bool": ("=",),
}
"""The operators each kind of field accepts."""


@dataclass(frozen=True)
class FieldSpec:
    """A field a question may filter on or get back: its column, kind and accepted values."""

    column: str
    kind: Kind
    label: Text
    values: tuple[str, ...] | None = None
    shown: bool = True
    """Sent back as a column of the answer's table."""


@dataclass(frozen=True)
class LayerSpec:
    """A layer a question may ask about (``subject``) or measure distances to (``reference``)."""

    name: str
    table: str
    title: Text
    fields: dict[str, FieldSpec]
    fixed: tuple[tuple[str, str], ...] = ()
    """Rows always kept: ``column = value`` (e.g. ``kind = 'camera'``)."""
    subject: bool = True
    reference: bool = True
    counts_per_building: bool = False
    """Answered as counts per building only (people), never row by row."""
    wedge: bool = False
    """Measured by the cameras' field-of-view wedge rather than the stored point."""
    scoped_reference: bool = False
    """As a reference layer, limited to the viewer's areas (case data), not city-wide."""

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name`` (None if the layer has none)."""
        return self.fields.get(name)


def _f(column: str, kind: Kind, zh: str, en: str, values=None, shown: bool = True) -> FieldSpec:
    return FieldSpec(column, kind, {"zh": zh, "en": en}, tuple(values) if values else None, shown)


_ID = _f("id", "int", "编号", "ID")
_DEVICE_FIELDS = {
    "id": _ID,
    "kind": _f("kind", "code", "类型", "Kind", vocab.DEVICE_KINDS),
    "status": _f("status", "code", "状态", "Status", vocab.DEVICE_STATUS),
    "serial": _f("serial", "text", "序列号", "Serial"),
    "model": _f("model", "text", "型号", "Model", shown=False),
    "last_seen": _f("last_seen", "timestamp", "最近上报", "Last seen"),
    "last_value": _f("last_value", "float", "最近读数", "Last value"),
    "installed_at": _f("installed_at", "timestamp", "安装时间", "Installed", shown=False),
    "building_id": _f("building_id", "int", "建筑编号", "Building ID", shown=False),
}

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "residents",
            "resident",
            {"zh": "居民（按楼栋计数）", "en": "Residents (counts per building)"},
            {
                "care_tags": _f("care_tags", "tags", "关爱标签", "Care tags", vocab.CARE_TAGS),
                "sex": _f("sex", "code", "性别", "Sex", vocab.SEXES),
                "birth_year": _f("birth_year", "int", "出生年份", "Birth year"),
                "hukou": _f("hukou", "code", "户籍", "Hukou", vocab.HUKOU),
                "household_role": _f(
                    "household_role", "code", "户内关系", "Household role", vocab.HOUSEHOLD_ROLES
                ),
            },
            fixed=(("status", "active"),),
            reference=False,
            counts_per_building=True,
        ),
        LayerSpec(
            "buildings",
            "building",
            {"zh": "建筑", "en": "Buildings"},
            {
                "id": _ID,
                "name": _f("name", "text", "名称", "Name"),
                "use": _f("use", "code", "用途", "Use", vocab.BUILDING_USES),
                "floors": _f("floors", "int", "层数", "Floors"),
                "height": _f("height", "float", "高度 (米)", "Height (m)"),
                "year_built": _f("year_built", "int", "建成年份", "Year built"),
            },
        ),
        LayerSpec(
            "houses",
            "house",
            {"zh": "房屋（户）", "en": "Homes"},
            {
                "id": _ID,
                "building_id": _f("building_id", "int", "建筑编号", "Building ID"),
                "unit": _f("unit", "int", "单元", "Unit"),
                "floor": _f("floor", "int", "楼层", "Floor"),
                "floor_area": _f("floor_area", "float", "面积 (㎡)", "Floor area (m²)"),
                "occupancy": _f("occupancy", "code", "居住状态", "Occupancy", vocab.OCCUPANCY),
            },
        ),
        LayerSpec(
            "devices",
            "device",
            {"zh": "物联设备", "en": "Devices"},
            _DEVICE_FIELDS,
        ),
        LayerSpec(
            "cameras",
            "device",
            {"zh": "视频监控（视场）", "en": "Cameras (field of view)"},
            {
                **{k: v for k, v in _DEVICE_FIELDS.items() if k != "kind"},
                "heading": _f("heading", "float", "朝向 (°)", "Heading (°)"),
                "fov": _f("fov", "float", "视场角 (°)", "Field of view (°)"),
                "range_m": _f("range_m", "float", "可视距离 (米)", "Range (m)"),
            },
            fixed=(("kind", "camera"),),
            wedge=True,
        ),
        LayerSpec(
            "facilities",
            "facility",
            {"zh": "公共设施", "en": "Facilities"},
            {
                "id": _ID,
                "kind": _f("kind", "code", "类型", "Kind", vocab.FACILITY_KINDS),
                "name": _f("name", "text", "名称", "Name"),
                "status": _f("status", "code", "状态", "Status", ("ok", "damaged", "maintenance")),
                "capacity": _f("capacity", "int", "容量", "Capacity"),
            },
        ),
        LayerSpec(
            "incidents",
            "event",
            {"zh": "事件", "en": "Incidents"},
            {
                "id": _ID,
                "category": _f("category", "text", "类别", "Category"),
                "severity": _f("severity", "int", "等级", "Severity"),
                "status": _f("status", "code", "状态", "Status", vocab.EVENT_STATUS),
                "level": _f("level", "code", "处置层级", "Tier", vocab.HANDLING_LEVELS),
                "reported_at": _f("reported_at", "timestamp", "上报时间", "Reported"),
                "due_at": _f("due_at", "timestamp", "限办时间", "Due", shown=False),
                "closed_at": _f("closed_at", "timestamp", "办结时间", "Closed", shown=False),
                "department": _f("department", "text", "处置部门", "Department", shown=False),
            },
            scoped_reference=True,
        ),
        LayerSpec(
            "organisations",
            "organization",
            {"zh": "组织", "en": "Organisations"},
            {
                "id": _ID,
                "kind": _f("kind", "code", "类型", "Kind", vocab.ORGANIZATION_KINDS),
                "name": _f("name", "text", "名称", "Name"),
                "employees": _f("employees", "int", "从业人数", "Employees"),
            },
        ),
        LayerSpec(
            "roads",
            "road",
            {"zh": "道路", "en": "Roads"},
            {
                "id": _ID,
                "name": _f("name", "text", "名称", "Name"),
                "kind": _f("kind", "code", "等级", "Class", vocab.ROAD_KINDS),
                "lanes": _f("lanes", "int", "车道数", "Lanes"),
            },
        ),
    )
}
"""Every layer a question may name, by its key."""

BUILDING_COUNT_COLUMNS: tuple[tuple[str, Text], ...] = (
    ("building_id", {"zh": "建筑编号", "en": "Building ID"}),
    ("building", {"zh": "建筑", "en": "Building"}),
    ("count", {"zh": "人数", "en": "People"}),
)
"""The table of a counts-per-building answer."""
DISTANCE_COLUMN: tuple[str, Text] = ("distance_m", {"zh": "距离 (米)", "en": "Distance (m)"})
