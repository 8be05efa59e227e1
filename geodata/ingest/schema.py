"""What each importable layer expects: target table, geometry family, fields and their checks.

A :class:`Field` names a column of the target table (or of ``resident_identity``), its type,
whether it is required, its vocabulary with synonyms, a default used on insert, and the column
names a file commonly uses for it (``aliases``, matched case-insensitively when the user did not
``--map`` the field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geodata import vocab

POINT, LINE, POLYGON = "point", "line", "polygon"


@dataclass(frozen=True)
class Field:
    """One target field of a layer."""

    name: str
    kind: str  # text | int | float | bool | datetime | vocab | tags | secret
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    max_exclusive: bool = False
    values: tuple[str, ...] = ()
    synonyms: dict[str, str] = field(default_factory=dict)
    fallback: str | None = None  # vocab value for unknown input instead of a rejection
    default: object = None  # inserted when the file has no value
    sql_type: str = "text"
    identity: bool = False  # stored in resident_identity, not the feature table

    @property
    def stored(self) -> bool:
        """False for values that never reach the store as given (ID numbers are hashed)."""
        return self.kind != "secret"


@dataclass(frozen=True)
class LayerSchema:
    """An importable layer."""

    name: str
    table: str
    geometry: tuple[str, ...]
    multi: bool
    fields: tuple[Field, ...]
    natural_key: str | None = None  # serial, credit_code, code, id_hash, footprint_overlap

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _vocab(name: str, values, *, synonyms=None, labels=None, **kw) -> Field:
    """A vocabulary field; zh/en labels of ``labels`` are accepted as synonyms."""
    syn = {}
    for key, label in (labels or {}).items():
        syn[label["zh"].lower()] = key
        syn[label["en"].lower()] = key
    syn.update({k.lower(): v for k, v in (synonyms or {}).items()})
    return Field(name, "vocab", values=tuple(values), synonyms=syn, **kw)


def _text(name: str, max_length: int | None = None, **kw) -> Field:
    return Field(name, "text", max_length=max_length, **kw)


def _int(name: str, lo: float | None = None, hi: float | None = None, **kw) -> Field:
    return Field(name, "int", min=lo, max=hi, sql_type="bigint", **kw)


def _float(name: str, lo: float | None = None, hi: float | None = None, **kw) -> Field:
    return Field(name, "float", min=lo, max=hi, sql_type="double precision", **kw)


def _time(name: str, **kw) -> Field:
    return Field(name, "datetime", sql_type="timestamptz", **kw)


ID_ALIASES = ("id", "source_id", "objectid", "osm_id", "uid", "uuid", "编号", "序号")

ROAD_SYNONYMS = {
    "motorway_link": "motorway", "trunk_link": "trunk", "primary_link": "primary",
    "secondary_link": "secondary", "tertiary_link": "tertiary", "unclassified": "tertiary",
    "living_street": "residential", "track": "service", "pedestrian": "footway",
    "path": "footway", "steps": "footway", "corridor": "footway", "bridleway": "footway",
    "高速": "motorway", "快速路": "trunk", "主干道": "primary", "次干道": "secondary",
}  # fmt: skip
BUILDING_SYNONYMS = {
    "apartments": "residential", "house": "residential", "detached": "residential",
    "dormitory": "residential", "terrace": "residential", "retail": "commercial",
    "supermarket": "commercial", "hotel": "commercial", "university": "school",
    "kindergarten": "school", "college": "school", "warehouse": "industrial",
    "factory": "industrial", "civic": "public", "government": "public", "hospital": "public",
    "church": "public", "train_station": "public", "住宅": "residential", "商住": "mixed",
}  # fmt: skip
EVENT_STATUS_SYNONYMS = {
    "open": "reported", "new": "reported", "submitted": "reported", "assigned": "dispatched",
    "in progress": "in_progress", "processing": "in_progress", "completed": "resolved",
    "done": "resolved", "cancelled": "rejected", "canceled": "rejected",
    "上报": "reported", "待处理": "reported", "已派单": "dispatched", "处理中": "in_progress",
    "已办结": "closed", "已解决": "resolved", "已关闭": "closed", "驳回": "rejected",
}  # fmt: skip
SEX_SYNONYMS = {"男": "M", "女": "F", "male": "M", "female": "F", "m": "M", "f": "F"}

_AREA = LayerSchema(
    "areas", "area", (POLYGON,), True,
    (
        _text("name", 128, required=True, aliases=("name", "名称", "NAME")),
        _text("name_en", 128, aliases=("name_en", "english_name")),
        _text("code", 32, aliases=("code", "adcode", "区划代码", "代码")),
        _vocab("level", vocab.AREA_LEVELS, labels=vocab.AREA_LEVELS, required=True,
               aliases=("level", "级别")),
    ),
    natural_key="code",
)  # fmt: skip
_ROAD = LayerSchema(
    "roads", "road", (LINE,), True,
    (
        _text("name", 128, aliases=("name", "名称", "路名")),
        _vocab("kind", vocab.ROAD_KINDS, labels=vocab.ROAD_KINDS, synonyms=ROAD_SYNONYMS,
               fallback="other", default="other", aliases=("kind", "highway", "class", "等级")),
        Field("oneway", "bool", default=False, aliases=("oneway", "单行"), sql_type="boolean"),
        _int("lanes", 1, 50, aliases=("lanes", "车道数")),
    ),
)  # fmt: skip
_BUILDING = LayerSchema(
    "buildings", "building", (POLYGON,), True,
    (
        _text("name", 128, aliases=("name", "名称", "建筑名称")),
        _text("address", 256, aliases=("address", "addr", "地址")),
        _int("floors", 1, 200, aliases=("floors", "floor", "storeys", "stories", "levels",
                                         "building:levels", "层数")),
        _float("height", 0, 1000, aliases=("height", "高度")),
        _vocab("use", vocab.BUILDING_USES, labels=vocab.BUILDING_USES,
               synonyms=BUILDING_SYNONYMS, fallback="other", default="other",
               aliases=("use", "usage", "building", "用途")),
        _int("year_built", 1000, 2100, aliases=("year_built", "year", "建成年份")),
    ),
    natural_key="footprint_overlap",
)  # fmt: skip
_HOUSE = LayerSchema(
    "houses", "house", (POINT,), False,
    (
        _int("unit", 0, 1000, aliases=("unit", "单元")),
        _int("floor", -10, 200, aliases=("floor", "楼层")),
        _text("room", 16, aliases=("room", "房号")),
        _float("floor_area", 0, 100000, aliases=("floor_area", "area", "面积")),
        _vocab("occupancy", vocab.OCCUPANCY, labels=vocab.OCCUPANCY, default="owner",
               aliases=("occupancy", "居住状态")),
    ),
)  # fmt: skip
_RESIDENT = LayerSchema(
    "residents", "resident", (POINT,), False,
    (
        _vocab("sex", vocab.SEXES, synonyms=SEX_SYNONYMS, required=True,
               aliases=("sex", "gender", "性别")),
        _int("birth_year", 1880, 2100, required=True, aliases=("birth_year", "出生年份")),
        _vocab("household_role", vocab.HOUSEHOLD_ROLES, default="other",
               synonyms={"户主": "head", "配偶": "spouse", "子女": "child", "父母": "parent"},
               aliases=("household_role", "与户主关系")),
        _vocab("hukou", vocab.HUKOU, default="local",
               synonyms={"户籍": "local", "本地": "local", "流动": "floating", "外来": "floating"},
               aliases=("hukou", "户籍类型")),
        _vocab("status", vocab.RESIDENT_STATUS, default="active", aliases=("status", "状态")),
        Field("care_tags", "tags", values=tuple(vocab.CARE_TAGS), default=[],
              synonyms={v["zh"]: k for k, v in vocab.CARE_TAGS.items()},
              aliases=("care_tags", "tags", "关爱标签"), sql_type="varchar[]"),
        _text("name", 64, required=True, identity=True, aliases=("name", "姓名")),
        Field("id_number", "secret", identity=True,
              aliases=("id_number", "id_no", "idcard", "身份证号", "身份证号码", "证件号码")),
        _text("phone", 32, identity=True, aliases=("phone", "mobile", "电话", "手机号")),
    ),
    natural_key="id_hash",
)  # fmt: skip
_ORGANIZATION = LayerSchema(
    "organizations", "organization", (POINT,), False,
    (
        _vocab("kind", vocab.ORGANIZATION_KINDS, labels=vocab.ORGANIZATION_KINDS, required=True,
               aliases=("kind", "type", "类型")),
        _text("name", 256, required=True, aliases=("name", "名称", "单位名称")),
        _text("credit_code", 18, aliases=("credit_code", "统一社会信用代码")),
        _text("address", 256, aliases=("address", "地址")),
        _int("employees", 0, 10_000_000, aliases=("employees", "员工数")),
    ),
    natural_key="credit_code",
)  # fmt: skip
_DEVICE = LayerSchema(
    "devices", "device", (POINT,), False,
    (
        _vocab("kind", vocab.DEVICE_KINDS, labels=vocab.DEVICE_KINDS, required=True,
               aliases=("kind", "type", "类型")),
        _text("serial", 64, aliases=("serial", "serial_no", "sn", "设备编号", "序列号")),
        _text("model", 64, aliases=("model", "型号")),
        _vocab("status", vocab.DEVICE_STATUS, default="online",
               synonyms={"在线": "online", "离线": "offline", "告警": "alarm"},
               aliases=("status", "状态")),
        _time("last_seen", aliases=("last_seen",)),
        _float("last_value", aliases=("last_value", "value")),
        _float("heading", 0, 360, max_exclusive=True, aliases=("heading", "方向")),
        _float("fov", 0.001, 360, aliases=("fov",)),
        _float("range_m", 0, 100000, aliases=("range_m", "range")),
        _time("installed_at", aliases=("installed_at", "安装时间")),
    ),
    natural_key="serial",
)  # fmt: skip
_FACILITY = LayerSchema(
    "facilities", "facility", (POINT, LINE, POLYGON), False,
    (
        _vocab("kind", vocab.FACILITY_KINDS, labels=vocab.FACILITY_KINDS, required=True,
               aliases=("kind", "type", "类型")),
        _text("name", 128, aliases=("name", "名称")),
        _text("status", 16, default="ok", aliases=("status", "状态")),
        _int("capacity", 0, 10_000_000, aliases=("capacity", "容量")),
    ),
)  # fmt: skip
_EVENT = LayerSchema(
    "events", "event", (POINT,), False,
    (
        _text("category", 64, required=True, aliases=("category", "类别", "事件类型")),
        _int("severity", 1, 4, default=2, aliases=("severity", "等级")),
        _vocab("status", vocab.EVENT_STATUS, synonyms=EVENT_STATUS_SYNONYMS, default="reported",
               aliases=("status", "状态")),
        _vocab("level", vocab.HANDLING_LEVELS, default="grid",
               synonyms={"网格": "grid", "街道": "street", "区": "district"},
               aliases=("level", "处置层级")),
        _text("title", 256, aliases=("title", "标题")),
        _text("description", aliases=("description", "details", "描述")),
        _time("reported_at", aliases=("reported_at", "opened", "created_at", "上报时间")),
        _time("due_at", aliases=("due_at",)),
        _time("resolved_at", aliases=("resolved_at",)),
        _time("closed_at", aliases=("closed_at", "closed", "办结时间")),
    ),
)  # fmt: skip

LAYERS: dict[str, LayerSchema] = {
    s.name: s
    for s in (_AREA, _ROAD, _BUILDING, _HOUSE, _RESIDENT, _ORGANIZATION, _DEVICE, _FACILITY,
              _EVENT)
}  # fmt: skip
