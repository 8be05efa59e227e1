"""The one catalogue of feature tables: what each holds and who may take what out of it.

Every other description of a table is derived from this one: map layers name a table here
(``Layer.source``, checked by :mod:`layers.registry`), export layers and OGC collections are
built from it (:mod:`geodata.exports.sources`, :mod:`layers.collections`), and so are the
layers an analyst question may name (:mod:`analytics.question_catalog`).

Per table: its key (the export layer id), the table name, a zh/en title, the geometry type (read
from :mod:`geodata.models`), the time column, the scope rule (how a viewer's areas narrow its
rows), the roles that may see it at all, whether the OGC API serves it, the exported columns per
role and the fields analysts may filter on. It is data, checked on import against the models: a
column that the table lacks is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from sqlalchemy import DateTime

from geodata import vocab
from geodata.errors import OneMapError
from geodata.models import Base
from geodata.vocab import ALL_ROLES, IDENTIFIER_ROLES, Text

AnalystKind = Literal["text", "code", "int", "float", "timestamp", "tags", "bool"]
"""How an analyst question compares a field (which operators it accepts)."""
EVERY_OTHER_ROLE = "*"
"""Key of the export allow-list that serves every role without an entry of its own."""


class UnknownTableError(OneMapError, KeyError):
    """No table of the catalogue has the name asked for."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Scope:
    """How a viewer's area scope narrows a table in exports, the OGC API and analyst
    questions: ``column`` holds an area id, and a row is in scope when that area is one of the
    viewer's areas or lies below one along ``parent_id`` (the viewer's area subtrees, SQL in
    :mod:`geodata.area_subtree`).

    Map layers scope the same tables by geometry instead: a row is shown when its point lies
    in one of the viewer's areas or its geometry meets one's representative point
    (:func:`geodata.spatial_sql.scope_clause`)."""

    column: str


AREA_SUBTREE = Scope("area_id")
"""Rows whose area (``area_id``) lies in the viewer's area subtrees."""
OWN_SUBTREE = Scope("id")
"""Areas themselves: the area (``id``) lies in the viewer's area subtrees."""


@dataclass(frozen=True)
class AnalystField:
    """A column an analyst question may filter on or get back: its kind and accepted values."""

    column: str
    kind: AnalystKind
    label: Text
    values: tuple[str, ...] | None = None
    shown: bool = True
    """Sent back as a column of the answer's table."""


@dataclass(frozen=True)
class Table:
    """A feature table: what it is called, how it is scoped, what may leave it and how."""

    key: str
    """The export layer id (plural, English), e.g. ``buildings``."""
    name: str
    """The SQL table (a model of :mod:`geodata.models` with a geometry)."""
    title: Text
    scope: Scope = AREA_SUBTREE
    time_column: str | None = None
    """The timestamp column a time filter (OGC ``datetime``) applies to, if any."""
    roles: frozenset[str] = ALL_ROLES
    """Roles that may see it at all (which fields: :attr:`export`)."""
    collection: bool = True
    """Served by the OGC API (people are not: exports only, under the allow-list)."""
    export: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Exported columns per role (:data:`EVERY_OTHER_ROLE`: every role without its own entry)."""
    analyst: Mapping[str, AnalystField] = field(default_factory=dict)
    """Fields an analyst question may name, by key, in the order the /analyze page lists them."""

    @property
    def geometry_type(self) -> str:
        """The model's geometry type: ``POINT``, ``MULTIPOLYGON``, … or ``GEOMETRY`` (mixed)."""
        return _model(self.name).GEOMETRY_TYPE

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the entry names (checked against the model)."""
        names = [self.scope.column, self.time_column]
        names += [c for columns in self.export.values() for c in columns]
        names += [f.column for f in self.analyst.values()]
        return tuple(dict.fromkeys(n for n in names if n and n not in AREA_COLUMNS))


@cache
def _model(name: str) -> Any:
    """The mapped class of table ``name`` (a feature model: ``GEOMETRY_TYPE``, ``__table__``)."""
    for mapper in Base.registry.mappers:
        if getattr(mapper.local_table, "name", None) == name:
            return mapper.class_
    raise UnknownTableError(f"catalogue: no model has table {name!r}")


def _t(zh: str, en: str) -> Text:
    return {"zh": zh, "en": en}


def _f(
    column: str,
    kind: AnalystKind,
    zh: str,
    en: str,
    values: Iterable[str] | None = None,
    shown: bool = True,
) -> AnalystField:
    return AnalystField(column, kind, _t(zh, en), tuple(values) if values else None, shown)


def _fields(*fields: AnalystField) -> dict[str, AnalystField]:
    return {f.column: f for f in fields}


AREA_COLUMNS: dict[str, str] = {
    # The official area (行政区划) code and name of the row's area, never the internal row id.
    "area_code": "(SELECT a.code FROM area a WHERE a.id = t.area_id)",
    "area_name": "(SELECT a.name FROM area a WHERE a.id = t.area_id)",
    # For areas: the official code of the area above (parent, else the covering area).
    "parent_code": "(SELECT a.code FROM area a WHERE a.id = COALESCE(t.parent_id, t.area_id))",
}
"""Exported columns not stored on the table, as SQL over row ``t``: the official code and name
of the row's area, looked up in ``area`` (an internal id such as ``area_id = 71`` means nothing
outside the store)."""

_COMMON = ("id", "area_code", "area_name", "h3_r7", "h3_r9")
"""Exported with every feature: its id, its area's official code and name (not the internal
``area_id``), its H3 cells."""
_PROVENANCE = ("source", "source_id")
_ID = _f("id", "int", "编号", "ID")

_TABLES = (
    Table(
        "areas",
        "area",
        _t("治理区域", "Governance areas"),
        scope=OWN_SUBTREE,
        export={
            EVERY_OTHER_ROLE: (
                "id",
                "code",
                "name",
                "name_en",
                "level",
                "depth",
                "parent_code",
                "population",
                "h3_r7",
                "h3_r9",
                *_PROVENANCE,
            )
        },
    ),
    Table(
        "roads",
        "road",
        _t("道路", "Roads"),
        export={
            EVERY_OTHER_ROLE: (*_COMMON, "name", "kind", "oneway", "lanes", *_PROVENANCE),
        },
        analyst=_fields(
            _ID,
            _f("name", "text", "名称", "Name"),
            _f("kind", "code", "等级", "Class", vocab.ROAD_KINDS),
            _f("lanes", "int", "车道数", "Lanes"),
        ),
    ),
    Table(
        "buildings",
        "building",
        _t("建筑", "Buildings"),
        export={
            EVERY_OTHER_ROLE: (
                *_COMMON,
                "name",
                "address",
                "use",
                "floors",
                "height",
                "year_built",
                *_PROVENANCE,
            )
        },
        analyst=_fields(
            _ID,
            _f("name", "text", "名称", "Name"),
            _f("use", "code", "用途", "Use", vocab.BUILDING_USES),
            _f("floors", "int", "层数", "Floors"),
            _f("height", "float", "高度 (米)", "Height (m)"),
            _f("year_built", "int", "建成年份", "Year built"),
        ),
    ),
    Table(
        "houses",
        "house",
        _t("房屋", "Homes"),
        export={
            EVERY_OTHER_ROLE: (
                *_COMMON,
                "building_id",
                "unit",
                "floor",
                "room",
                "floor_area",
                "occupancy",
                *_PROVENANCE,
            )
        },
        analyst=_fields(
            _ID,
            _f("building_id", "int", "建筑编号", "Building ID"),
            _f("unit", "int", "单元", "Unit"),
            _f("floor", "int", "楼层", "Floor"),
            _f("floor_area", "float", "面积 (㎡)", "Floor area (m²)"),
            _f("occupancy", "code", "居住状态", "Occupancy", vocab.OCCUPANCY),
        ),
    ),
    Table(
        "residents",
        "resident",
        _t("居民", "Residents"),
        roles=IDENTIFIER_ROLES,
        collection=False,
        # No provenance for people: a departmental source_id is itself a personal key.
        export={
            EVERY_OTHER_ROLE: (
                *_COMMON,
                "house_id",
                "sex",
                "birth_year",
                "household_role",
                "hukou",
                "status",
                "care_tags",
            )
        },
        analyst=_fields(
            _f("care_tags", "tags", "关爱标签", "Care tags", vocab.CARE_TAGS),
            _f("sex", "code", "性别", "Sex", vocab.SEXES),
            _f("birth_year", "int", "出生年份", "Birth year"),
            _f("hukou", "code", "户籍", "Hukou", vocab.HUKOU),
            _f("household_role", "code", "户内关系", "Household role", vocab.HOUSEHOLD_ROLES),
        ),
    ),
    Table(
        "organizations",
        "organization",
        _t("组织", "Organisations"),
        export={
            EVERY_OTHER_ROLE: (
                *_COMMON,
                "kind",
                "name",
                "credit_code",
                "address",
                "employees",
                "building_id",
                *_PROVENANCE,
            )
        },
        analyst=_fields(
            _ID,
            _f("kind", "code", "类型", "Kind", vocab.ORGANIZATION_KINDS),
            _f("name", "text", "名称", "Name"),
            _f("employees", "int", "从业人数", "Employees"),
        ),
    ),
    Table(
        "devices",
        "device",
        _t("设备", "Devices"),
        export={
            EVERY_OTHER_ROLE: (
                *_COMMON,
                "kind",
                "serial",
                "model",
                "status",
                "last_seen",
                "last_value",
                "heading",
                "fov",
                "range_m",
                "building_id",
                "house_id",
                "installed_at",
                *_PROVENANCE,
            )
        },
        analyst=_fields(
            _ID,
            _f("kind", "code", "类型", "Kind", vocab.DEVICE_KINDS),
            _f("status", "code", "状态", "Status", vocab.DEVICE_STATUS),
            _f("serial", "text", "序列号", "Serial"),
            _f("model", "text", "型号", "Model", shown=False),
            _f("last_seen", "timestamp", "最近上报", "Last seen"),
            _f("last_value", "float", "最近读数", "Last value"),
            _f("installed_at", "timestamp", "安装时间", "Installed", shown=False),
            _f("building_id", "int", "建筑编号", "Building ID", shown=False),
            # The field of view (cameras only).
            _f("heading", "float", "朝向 (°)", "Heading (°)"),
            _f("fov", "float", "视场角 (°)", "Field of view (°)"),
            _f("range_m", "float", "可视距离 (米)", "Range (m)"),
        ),
    ),
    Table(
        "facilities",
        "facility",
        _t("公共设施", "Public facilities"),
        export={
            EVERY_OTHER_ROLE: (*_COMMON, "kind", "name", "status", "capacity", *_PROVENANCE),
        },
        analyst=_fields(
            _ID,
            _f("kind", "code", "类型", "Kind", vocab.FACILITY_KINDS),
            _f("name", "text", "名称", "Name"),
            _f("status", "code", "状态", "Status", vocab.FACILITY_STATUS),
            _f("capacity", "int", "容量", "Capacity"),
        ),
    ),
    Table(
        "events",
        "event",
        _t("事件", "Incidents"),
        time_column="reported_at",
        # No free-text description: reporters write names and phone numbers into it.
        export={
            EVERY_OTHER_ROLE: (
                *_COMMON,
                "category",
                "severity",
                "status",
                "level",
                "title",
                "reported_at",
                "due_at",
                "resolved_at",
                "closed_at",
                "device_id",
                "building_id",
                "rule",
                *_PROVENANCE,
            )
        },
        analyst=_fields(
            _ID,
            _f("category", "text", "类别", "Category"),
            _f("severity", "int", "等级", "Severity"),
            _f("status", "code", "状态", "Status", vocab.EVENT_STATUS),
            _f("level", "code", "处置层级", "Tier", vocab.HANDLING_LEVELS),
            _f("reported_at", "timestamp", "上报时间", "Reported"),
            _f("due_at", "timestamp", "限办时间", "Due", shown=False),
            _f("closed_at", "timestamp", "办结时间", "Closed", shown=False),
            _f("department", "text", "处置部门", "Department", shown=False),
        ),
    ),
)


def _check(tables: tuple[Table, ...]) -> dict[str, Table]:
    """The tables by name, after checking them against the models (raises ``ValueError``)."""
    for attribute in ("key", "name"):
        values = [getattr(t, attribute) for t in tables]
        if len(set(values)) != len(values):
            raise ValueError(f"catalogue: duplicate table {attribute}s: {values}")
    for entry in tables:
        model = _model(entry.name)
        if getattr(model, "GEOMETRY_TYPE", None) is None:
            raise ValueError(f"catalogue: table {entry.name!r} has no geometry")
        missing = [c for c in entry.columns if c not in model.__table__.c]
        if missing:
            raise ValueError(f"catalogue: table {entry.name!r} has no columns {missing}")
        time = model.__table__.c[entry.time_column].type if entry.time_column else DateTime()
        if not isinstance(time, DateTime):
            raise ValueError(f"catalogue: {entry.name!r}: time column is not a timestamp")
    return {t.name: t for t in tables}


TABLES: dict[str, Table] = _check(_TABLES)
"""Every feature table, by table name, in export order."""


def table(name: str) -> Table:
    """The catalogue entry of table ``name``; :class:`UnknownTableError` names the known ones."""
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTableError(
            f"no feature table {name!r} in the catalogue; known: {', '.join(TABLES)}"
        ) from None
