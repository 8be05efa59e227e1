"""Controlled vocabularies of the community data standard, with zh/en labels.

The code sets the code compares against are :class:`~enum.StrEnum` s (roles, incident statuses,
handling tiers, area levels, device, resident and facility states): a member *is* its code
(``Role.admin == "admin"``, ``str``, ``format``, JSON and ``repr`` give the plain code), and
every member is named exactly as its value, so a driver that writes an Enum by its name writes
the code too. The role and status sets every package uses are defined here once, and SQL
literals are rendered from them (:func:`sql_list`), never typed by hand. The database enforces
the sets with CHECK constraints (see ``models``; not the facility states, kept as plain text);
the UI uses the zh/en labels, keyed by the same codes (:func:`labelled` checks a code set's
labels cover it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

Text = dict[str, str]
"""A UI string in every language: ``{'zh': …, 'en': …}``."""


class Code(StrEnum):
    """A code of a controlled vocabulary; members are named as their values."""

    def __repr__(self) -> str:  # messages listing codes read as before: 'admin', not <Role…>
        return repr(self.value)


def labelled(codes: type[Code], labels: Mapping[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The zh/en ``labels`` of every code of ``codes``, in its order; refuses (``ValueError``)
    a code without a label or a label of no code."""
    if set(labels) != set(codes):
        raise ValueError(
            f"{codes.__name__} labels: codes {sorted(codes)}, labelled {sorted(labels)}"
        )
    return {code: labels[code] for code in codes}


def sql_list(codes: Iterable[str]) -> str:
    """The codes as a SQL list literal: ``('reported', 'dispatched')`` (codes never hold quotes)."""
    items = [str(c) for c in codes]
    if not items or any("'" in c for c in items):
        raise ValueError(f"not a list of plain codes: {items!r}")
    return "(" + ", ".join(f"'{c}'" for c in items) + ")"


# --- who: roles ---------------------------------------------------------------------------------


class Role(Code):
    """Who a viewer reads as: the anonymous public or an account's role."""

    public = "public"
    leader = "leader"
    grid_worker = "grid_worker"
    planner = "planner"
    analyst = "analyst"
    admin = "admin"


ALL_ROLES: frozenset[Role] = frozenset(Role)
"""Every role, the public included (who may see a layer unless it says otherwise)."""
ACCOUNT_ROLES: tuple[Role, ...] = (
    Role.leader,
    Role.grid_worker,
    Role.planner,
    Role.analyst,
    Role.admin,
)
"""Roles an account may have (everyone but the public)."""
IDENTIFIER_ROLES: frozenset[Role] = frozenset({Role.grid_worker, Role.admin})
"""Roles that may see personal identifiers (a grid worker only inside their own grids)."""
SCOPED_ROLES: frozenset[Role] = frozenset({Role.grid_worker, Role.leader})
"""Roles limited to the areas of their account scope: what they read, and (at their tier) the
incidents they handle."""
UNSUPPRESSED_ROLES: frozenset[Role] = frozenset({Role.admin})
"""Roles that see small resident groups anywhere; grid workers see them inside their scope."""


# --- where: the governance hierarchy -------------------------------------------------------------


class AreaLevel(Code):
    """Levels of the governance hierarchy, from the top."""

    city = "city"
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"


AREA_LEVELS: dict[str, dict[str, str]] = {
    AreaLevel.city: {"zh": "市", "en": "City"},
    AreaLevel.district: {"zh": "区", "en": "District"},
    AreaLevel.street: {"zh": "街道", "en": "Street office"},
    AreaLevel.community: {"zh": "社区", "en": "Community"},
    AreaLevel.grid: {"zh": "网格", "en": "Grid"},
}
LEVEL_DEPTH: dict[str, int] = {name: i for i, name in enumerate(AREA_LEVELS)}
"""An area level's depth: its index from the top (city 0 … grid 4)."""

BUILDING_USES: dict[str, dict[str, str]] = {
    "residential": {"zh": "住宅", "en": "Residential"},
    "commercial": {"zh": "商业", "en": "Commercial"},
    "office": {"zh": "办公", "en": "Office"},
    "public": {"zh": "公共服务", "en": "Public service"},
    "school": {"zh": "学校", "en": "School"},
    "industrial": {"zh": "工业", "en": "Industrial"},
    "mixed": {"zh": "商住混合", "en": "Mixed use"},
    "other": {"zh": "其他", "en": "Other"},
}

OCCUPANCY: dict[str, dict[str, str]] = {
    "owner": {"zh": "自住", "en": "Owner-occupied"},
    "rented": {"zh": "出租", "en": "Rented"},
    "vacant": {"zh": "空置", "en": "Vacant"},
    "other": {"zh": "其他", "en": "Other"},
}

CARE_TAGS: dict[str, dict[str, str]] = {
    "elderly_alone": {"zh": "独居老人", "en": "Elderly living alone"},
    "elderly": {"zh": "老年人", "en": "Elderly (60+)"},
    "disabled": {"zh": "残疾人", "en": "Disabled"},
    "minor": {"zh": "未成年人", "en": "Minor"},
    "left_behind_child": {"zh": "留守儿童", "en": "Left-behind child"},
    "floating": {"zh": "流动人口", "en": "Floating population"},
    "low_income": {"zh": "低保户", "en": "Low-income household"},
    "needs_care": {"zh": "重点关爱", "en": "Needs care"},
}

ROAD_KINDS: dict[str, dict[str, str]] = {
    "motorway": {"zh": "高速公路", "en": "Motorway"},
    "trunk": {"zh": "快速路", "en": "Trunk road"},
    "primary": {"zh": "主干路", "en": "Primary road"},
    "secondary": {"zh": "次干路", "en": "Secondary road"},
    "tertiary": {"zh": "支路", "en": "Tertiary road"},
    "residential": {"zh": "小区道路", "en": "Residential street"},
    "service": {"zh": "服务道路", "en": "Service road"},
    "footway": {"zh": "步行道", "en": "Footway"},
    "cycleway": {"zh": "自行车道", "en": "Cycleway"},
    "other": {"zh": "其他道路", "en": "Other road"},
}

HOUSEHOLD_ROLE_LABELS: dict[str, dict[str, str]] = {
    "head": {"zh": "户主", "en": "Head of household"},
    "spouse": {"zh": "配偶", "en": "Spouse"},
    "child": {"zh": "子女", "en": "Child"},
    "parent": {"zh": "父母", "en": "Parent"},
    "other": {"zh": "其他", "en": "Other"},
}
HOUSEHOLD_ROLES = tuple(HOUSEHOLD_ROLE_LABELS)
SEX_LABELS: dict[str, dict[str, str]] = {
    "F": {"zh": "女", "en": "Female"},
    "M": {"zh": "男", "en": "Male"},
}
SEXES = tuple(SEX_LABELS)
HUKOU_LABELS: dict[str, dict[str, str]] = {
    "local": {"zh": "本地户籍", "en": "Local hukou"},
    "floating": {"zh": "流动人口", "en": "Floating population"},
}
HUKOU = tuple(HUKOU_LABELS)


class ResidentStatus(Code):
    """Whether a resident still lives in the city (only active residents are counted or visited)."""

    active = "active"
    moved_out = "moved_out"
    deceased = "deceased"


RESIDENT_STATUS: tuple[ResidentStatus, ...] = tuple(ResidentStatus)

ORGANIZATION_KINDS: dict[str, dict[str, str]] = {
    "enterprise": {"zh": "企业", "en": "Enterprise"},
    "shop": {"zh": "商户", "en": "Shop"},
    "social": {"zh": "社会组织", "en": "Social organisation"},
    "party": {"zh": "党组织", "en": "Party organisation"},
    "property": {"zh": "物业公司", "en": "Property company"},
    "government": {"zh": "政府机构", "en": "Government office"},
    "school": {"zh": "学校", "en": "School"},
    "medical": {"zh": "医疗机构", "en": "Medical"},
}

DEVICE_KINDS: dict[str, dict[str, str]] = {
    "camera": {"zh": "摄像头", "en": "Camera"},
    "smoke": {"zh": "烟感", "en": "Smoke detector"},
    "gas": {"zh": "燃气报警器", "en": "Gas detector"},
    "door": {"zh": "门磁", "en": "Door sensor"},
    "water": {"zh": "水表/水压", "en": "Water meter"},
    "access_gate": {"zh": "门禁", "en": "Access gate"},
    "electric": {"zh": "电气火灾监测", "en": "Electrical fire monitor"},
    "manhole": {"zh": "井盖监测", "en": "Manhole cover sensor"},
}


class DeviceStatus(Code):
    """A device's state, as the intake and the offline rule keep it."""

    online = "online"
    offline = "offline"
    alarm = "alarm"


DEVICE_STATUS: tuple[DeviceStatus, ...] = tuple(DeviceStatus)
DEVICE_STATUS_LABELS = labelled(
    DeviceStatus,
    {
        DeviceStatus.online: {"zh": "正常", "en": "Normal"},
        DeviceStatus.alarm: {"zh": "报警", "en": "Alarm"},
        DeviceStatus.offline: {"zh": "离线", "en": "Offline"},
    },
)

FACILITY_KINDS: dict[str, dict[str, str]] = {
    "hydrant": {"zh": "消防栓", "en": "Hydrant"},
    "fire_lane": {"zh": "消防通道", "en": "Fire lane"},
    "aed": {"zh": "AED", "en": "AED"},
    "service_centre": {"zh": "社区服务中心", "en": "Community service centre"},
    "waste_station": {"zh": "垃圾分类站", "en": "Waste station"},
    "ev_charger": {"zh": "电动车充电桩", "en": "E-bike charger"},
    "shelter": {"zh": "应急避难场所", "en": "Emergency shelter"},
    "elderly_canteen": {"zh": "老年食堂", "en": "Elderly canteen"},
}


class FacilityStatus(Code):
    """A facility's state (kept as text: the database has no CHECK on it)."""

    ok = "ok"
    damaged = "damaged"
    maintenance = "maintenance"


FACILITY_STATUS: tuple[FacilityStatus, ...] = tuple(FacilityStatus)
FACILITY_STATUS_LABELS = labelled(
    FacilityStatus,
    {
        FacilityStatus.ok: {"zh": "正常", "en": "In service"},
        FacilityStatus.damaged: {"zh": "损坏", "en": "Damaged"},
        FacilityStatus.maintenance: {"zh": "维护中", "en": "Under maintenance"},
    },
)


# --- incidents: statuses and handling tiers ------------------------------------------------------


class EventStatus(Code):
    """An incident's status in the workflow (see :mod:`twin.workflow`)."""

    reported = "reported"
    dispatched = "dispatched"
    accepted = "accepted"
    in_progress = "in_progress"
    resolved = "resolved"
    closed = "closed"
    rejected = "rejected"


EVENT_STATUS: tuple[EventStatus, ...] = tuple(EventStatus)
EVENT_STATUS_LABELS = labelled(
    EventStatus,
    {
        EventStatus.reported: {"zh": "已上报", "en": "Reported"},
        EventStatus.dispatched: {"zh": "已派单", "en": "Dispatched"},
        EventStatus.accepted: {"zh": "已受理", "en": "Accepted"},
        EventStatus.in_progress: {"zh": "处置中", "en": "In progress"},
        EventStatus.resolved: {"zh": "已办结", "en": "Resolved"},
        EventStatus.closed: {"zh": "已关闭", "en": "Closed"},
        EventStatus.rejected: {"zh": "已驳回", "en": "Rejected"},
    },
)
OPEN_STATUSES: tuple[EventStatus, ...] = (
    EventStatus.reported,
    EventStatus.dispatched,
    EventStatus.accepted,
    EventStatus.in_progress,
)
"""Statuses of an open incident (as the one-open-per-rule-and-subject index counts them)."""
CLOSED_STATUSES: tuple[EventStatus, ...] = (
    EventStatus.resolved,
    EventStatus.closed,
    EventStatus.rejected,
)
"""Statuses of an incident done with (resolved, closed or rejected)."""
OPEN_SQL = sql_list(OPEN_STATUSES)
"""``('reported', 'dispatched', 'accepted', 'in_progress')`` for ``status IN …``."""
CLOSED_SQL = sql_list(CLOSED_STATUSES)
"""``('resolved', 'closed', 'rejected')`` for ``status IN …``."""


class HandlingLevel(Code):
    """The tier an incident is handled at, from the bottom; escalation moves one up."""

    grid = "grid"
    street = "street"
    district = "district"


SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "1": {"zh": "一般", "en": "Low"},
    "2": {"zh": "较重", "en": "Moderate"},
    "3": {"zh": "严重", "en": "Serious"},
    "4": {"zh": "特别严重", "en": "Critical"},
}
"""An incident's severity, 1 (low) … 4 (critical), by its text (the column is an integer)."""

HANDLING_LEVELS: tuple[HandlingLevel, ...] = tuple(HandlingLevel)
HANDLING_LEVEL_LABELS = labelled(
    HandlingLevel,
    {
        HandlingLevel.grid: {"zh": "网格", "en": "Grid"},
        HandlingLevel.street: {"zh": "街道", "en": "Street"},
        HandlingLevel.district: {"zh": "区", "en": "District"},
    },
)


PHOTO_KINDS: dict[str, dict[str, str]] = {
    "before": {"zh": "处置前", "en": "before"},
    "after": {"zh": "处置后", "en": "after"},
}
"""Kinds of an incident photo: taken before handling (处置前) or after it (处置后)."""
ACTOR_KINDS: tuple[str, ...] = ("account", "system", "simulated", "open311", "resident")
"""What wrote an ``event_log`` step: a signed-in account, the workflow itself (escalation,
rules), the demo heartbeat's simulated staff, an Open311 client, a resident's report."""
