"""SQLAlchemy 2 + GeoAlchemy2 models of the unified community data standard.

人 (resident, resident_identity), 地 (area), 物 (device, reading, facility), 事 (event, event_log),
组织 (organization), 房屋 (building, house); plus account/account_scope and audit_log.

Every feature table shares :class:`FeatureMixin`: an SRID 4326 geometry with a GiST index, a
representative point ``loc``, H3 cells of ``loc`` at resolutions 7 and 9 (indexed), ``area_id``
(the deepest governance area covering ``loc``, assigned by a database trigger on write) and
provenance ``(source, source_id)``, unique together. ``loc`` and the H3 cells are filled from the
geometry by :mod:`geodata.cells` (an ORM hook for ORM writes; bulk loaders call it directly).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    Interval,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import event as sa_event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column

from geodata import vocab
from geodata.cells import location_columns, to_shapely

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SRID = 4326


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _in(column: str, values) -> str:
    return f"{column} IN {vocab.sql_list(values)}"


def _tags_allowed(column: str, values) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} <@ ARRAY[{quoted}]::varchar[]"


class FeatureMixin:
    """Columns every feature table has: geometry, location cells, area and provenance."""

    GEOMETRY_TYPE = "GEOMETRY"
    # area_id is written by a trigger: fetch it back with RETURNING after insert and update.
    __mapper_args__: ClassVar[dict] = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64), server_default="onemap", nullable=False)
    source_id: Mapped[str] = mapped_column(
        String(128), server_default=text("gen_random_uuid()::text"), nullable=False
    )
    loc: Mapped[object] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False), nullable=False
    )
    h3_r7: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    h3_r9: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )

    @declared_attr
    def geom(cls) -> Mapped[object]:
        return mapped_column(
            Geometry(cls.GEOMETRY_TYPE, srid=SRID, spatial_index=True), nullable=False
        )

    @declared_attr
    def area_id(cls) -> Mapped[int | None]:
        return mapped_column(
            ForeignKey("area.id", ondelete="SET NULL"),
            index=True,
            server_default=FetchedValue(),
            server_onupdate=FetchedValue(),
        )


def feature_args(*extra):
    """``__table_args__`` for a feature table: provenance uniqueness plus ``extra``."""
    return (UniqueConstraint("source", "source_id"), *extra)


# --- 地: governance areas ---------------------------------------------------------------------


class Area(FeatureMixin, Base):
    """City → district → street → community → grid. ``area_id`` is the spatially covering area
    one level up (assigned on write like every feature); ``parent_id`` is the declared parent."""

    __tablename__ = "area"
    GEOMETRY_TYPE = "MULTIPOLYGON"
    __table_args__ = feature_args(
        CheckConstraint(_in("level", vocab.AREA_LEVELS), name="level"),
        CheckConstraint("depth BETWEEN 0 AND 4", name="depth"),
        CheckConstraint("population >= 0", name="population"),
    )

    level: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    depth: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), index=True
    )
    population: Mapped[int | None] = mapped_column(
        Integer, comment="resident population (常住人口); modelled for demo areas (source 'demo')"
    )


class AreaShape(Base):
    """An area's outline as the features layers send it at a whole zoom: the GeoJSON text of
    its geometry simplified by that zoom's tolerance, with its digits. Derived data, rewritten by
    a row trigger on ``area`` whenever its ``geom`` is written (migration 0030)."""

    __tablename__ = "area_shape"

    area_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("area.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )
    tol: Mapped[float] = mapped_column(
        Float, primary_key=True, comment="simplification tolerance (deg)"
    )
    digits: Mapped[int] = mapped_column(SmallInteger, primary_key=True, comment="decimal digits")
    geojson: Mapped[str] = mapped_column(Text, nullable=False, comment="the outline's GeoJSON text")


class AreaUnit(Base):
    """Every area with each of its ancestors and itself (up by ``parent_id``, else the covering
    ``area_id``): the assessment's units and scopes without a recursive query. Derived data,
    rebuilt by a statement-level trigger on ``area`` (migration 0012); never written directly."""

    __tablename__ = "area_unit"
    __table_args__ = (
        PrimaryKeyConstraint("area_id", "unit"),
        # a level's units in order, each with its areas (the assessment reads them unit by unit)
        Index("ix_area_unit_level_unit", "level", "unit", "area_id"),
    )

    area_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unit: Mapped[int] = mapped_column(
        BigInteger, nullable=False, comment="the area itself or one of its ancestors"
    )
    level: Mapped[str] = mapped_column(String(16), nullable=False, comment="the unit's level")


class Road(FeatureMixin, Base):
    """A road or path (from OSM or a transport department), for maps and network distances."""

    __tablename__ = "road"
    GEOMETRY_TYPE = "MULTILINESTRING"
    __table_args__ = feature_args(CheckConstraint(_in("kind", vocab.ROAD_KINDS), name="kind"))

    name: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), nullable=False, server_default="other")
    oneway: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    lanes: Mapped[int | None] = mapped_column(SmallInteger)


# --- 房屋: buildings and homes ------------------------------------------------------------------


class Building(FeatureMixin, Base):
    __tablename__ = "building"
    GEOMETRY_TYPE = "MULTIPOLYGON"
    __table_args__ = feature_args(
        CheckConstraint(_in("use", vocab.BUILDING_USES), name="use"),
        CheckConstraint("floors IS NULL OR floors BETWEEN 1 AND 200", name="floors"),
    )

    name: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(256))
    floors: Mapped[int | None] = mapped_column(SmallInteger)
    height: Mapped[float | None] = mapped_column(Float, comment="metres")
    use: Mapped[str] = mapped_column(String(16), nullable=False, server_default="other")
    year_built: Mapped[int | None] = mapped_column(SmallInteger)


class House(FeatureMixin, Base):
    """A home / unit in a building (一户一房)."""

    __tablename__ = "house"
    GEOMETRY_TYPE = "POINT"
    __table_args__ = feature_args(
        CheckConstraint(_in("occupancy", vocab.OCCUPANCY), name="occupancy"),
    )

    building_id: Mapped[int] = mapped_column(
        ForeignKey("building.id", ondelete="CASCADE"), nullable=False, index=True
    )
    unit: Mapped[int | None] = mapped_column(SmallInteger, comment="单元")
    floor: Mapped[int | None] = mapped_column(SmallInteger)
    room: Mapped[str | None] = mapped_column(String(16))
    floor_area: Mapped[float | None] = mapped_column(Float, comment="m²")
    occupancy: Mapped[str] = mapped_column(String(16), nullable=False, server_default="owner")


# --- 人: residents; identifiers kept apart ------------------------------------------------------


class Resident(FeatureMixin, Base):
    """A person registered in a home. No identifiers here: see :class:`ResidentIdentity`."""

    __tablename__ = "resident"
    GEOMETRY_TYPE = "POINT"
    __table_args__ = feature_args(
        CheckConstraint(_in("sex", vocab.SEXES), name="sex"),
        CheckConstraint(_in("hukou", vocab.HUKOU), name="hukou"),
        CheckConstraint(_in("status", vocab.RESIDENT_STATUS), name="status"),
        CheckConstraint(_in("household_role", vocab.HOUSEHOLD_ROLES), name="household_role"),
        CheckConstraint(_tags_allowed("care_tags", vocab.CARE_TAGS), name="care_tags"),
        Index("ix_resident_care_tags", "care_tags", postgresql_using="gin"),
    )

    house_id: Mapped[int | None] = mapped_column(
        ForeignKey("house.id", ondelete="SET NULL"), index=True
    )
    sex: Mapped[str] = mapped_column(String(1), nullable=False)
    birth_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    household_role: Mapped[str] = mapped_column(String(16), nullable=False, server_default="other")
    hukou: Mapped[str] = mapped_column(String(16), nullable=False, server_default="local")
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=vocab.ResidentStatus.active
    )
    care_tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), nullable=False, server_default="{}"
    )


class ResidentIdentity(Base):
    """Personal identifiers of a resident, withheld from every role that may not see them.

    The ID number is never stored in clear: ``id_hash`` is HMAC-SHA256 under a server key
    (see :func:`geodata.privacy.hash_id_number`), enough to match records across sources.
    """

    __tablename__ = "resident_identity"

    resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))


# --- 组织 ------------------------------------------------------------------------------------


class Organization(FeatureMixin, Base):
    __tablename__ = "organization"
    GEOMETRY_TYPE = "POINT"
    __table_args__ = feature_args(
        CheckConstraint(_in("kind", vocab.ORGANIZATION_KINDS), name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    credit_code: Mapped[str | None] = mapped_column(
        String(18), unique=True, comment="统一社会信用代码"
    )
    address: Mapped[str | None] = mapped_column(String(256))
    employees: Mapped[int | None] = mapped_column(Integer)
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("building.id", ondelete="SET NULL"), index=True
    )


# --- 物: devices, readings, facilities ---------------------------------------------------------


_ALARM = f"status = '{vocab.DeviceStatus.alarm}'"
_CAMERA = "kind = 'camera'"
_FOV_WEDGE = f"CASE WHEN {_CAMERA} THEN onemap_camera_wedge(geom, loc, heading, fov, range_m) END"
"""A camera's field-of-view wedge (SQL function of migration 0015), stored by migration 0031."""


class Device(FeatureMixin, Base):
    __tablename__ = "device"
    GEOMETRY_TYPE = "POINT"
    __table_args__ = feature_args(
        CheckConstraint(_in("kind", vocab.DEVICE_KINDS), name="kind"),
        CheckConstraint(_in("status", vocab.DEVICE_STATUS), name="status"),
        CheckConstraint("heading IS NULL OR (heading >= 0 AND heading < 360)", name="heading"),
        CheckConstraint("fov IS NULL OR (fov > 0 AND fov <= 360)", name="fov"),
        # the offline sweep: devices still counted as reporting, by last report
        Index(
            "ix_device_last_seen_reporting",
            "last_seen",
            postgresql_where=text(f"status <> '{vocab.DeviceStatus.offline}'"),
        ),
        # devices in alarm (a few among hundreds of thousands): the wall's tile and map layer
        Index(
            "ix_device_alarm_area",
            "area_id",
            postgresql_include=["kind"],
            postgresql_where=text(_ALARM),
        ),
        Index(
            "ix_device_alarm_geom",
            "geom",
            postgresql_using="gist",
            postgresql_where=text(_ALARM),
        ),
        # cameras by what they see: analyst questions near the cameras layer
        Index(
            "ix_device_fov_wedge",
            "fov_wedge",
            postgresql_using="gist",
            postgresql_where=text(_CAMERA),
        ),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    serial: Mapped[str | None] = mapped_column(String(64), unique=True)
    model: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=vocab.DeviceStatus.online
    )
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_value: Mapped[float | None] = mapped_column(Float)
    heading: Mapped[float | None] = mapped_column(Float, comment="cameras: degrees from north")
    fov: Mapped[float | None] = mapped_column(Float, comment="cameras: field of view, degrees")
    range_m: Mapped[float | None] = mapped_column(Float, comment="cameras: useful range, m")
    fov_wedge: Mapped[object | None] = mapped_column(
        Geometry(srid=SRID, spatial_index=False),
        Computed(_FOV_WEDGE, persisted=True),
        comment="cameras: the field-of-view wedge (generated)",
    )
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("building.id", ondelete="SET NULL"), index=True
    )
    house_id: Mapped[int | None] = mapped_column(
        ForeignKey("house.id", ondelete="SET NULL"), index=True
    )
    installed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    gateway_id: Mapped[int | None] = mapped_column(
        ForeignKey("gateway.id", ondelete="SET NULL"),
        index=True,
        comment="the gateway allowed to report for this device",
    )
    bound_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="when the gateway commands bound it to its gateway (offline grace)",
    )


class Gateway(Base):
    """A device gateway that may post readings; authenticated by a per-gateway key."""

    __tablename__ = "gateway"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    key_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, comment="SHA-256 hex of the gateway's key"
    )
    broker_hash: Mapped[str | None] = mapped_column(
        String(200),
        nullable=True,
        comment="Mosquitto password hash ($7$) of the key; NULL: no broker account yet",
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class Reading(Base):
    """A device reading. Range-partitioned by month on ``ts`` (see the migration), primary key
    ``(device_id, ts)`` so repeated messages are idempotent, BRIN on ``ts`` for time scans."""

    __tablename__ = "reading"
    __table_args__ = (
        PrimaryKeyConstraint("device_id", "ts"),
        Index("ix_reading_ts_brin", "ts", postgresql_using="brin"),
        {"postgresql_partition_by": "RANGE (ts)"},
    )

    device_id: Mapped[int] = mapped_column(
        ForeignKey("device.id", ondelete="CASCADE"), nullable=False
    )
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    value: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ReadingReject(Base):
    """A reading message refused by the intake, with the reason (counted, never crashing it)."""

    __tablename__ = "reading_reject"
    __table_args__ = (Index("ix_reading_reject_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False, comment="http or mqtt")
    gateway: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(256), nullable=False)
    payload: Mapped[str | None] = mapped_column(Text, comment="the message, truncated")


class Facility(FeatureMixin, Base):
    """Public facilities: points (hydrant, AED …), lines (fire lane) or polygons (shelter)."""

    __tablename__ = "facility"
    GEOMETRY_TYPE = "GEOMETRY"
    __table_args__ = feature_args(
        CheckConstraint(_in("kind", vocab.FACILITY_KINDS), name="kind"),
        CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'LINESTRING', 'MULTILINESTRING', 'POLYGON', "
            "'MULTIPOLYGON')",
            name="geom_type",
        ),
        # fire lanes alone: each camera wedge's probe in "fire lanes no camera sees"
        Index(
            "ix_facility_fire_lane_geom",
            "geom",
            postgresql_using="gist",
            postgresql_where=text("kind = 'fire_lane'"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(24), nullable=False, index=True)
    name: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=vocab.FacilityStatus.ok
    )
    capacity: Mapped[int | None] = mapped_column(Integer)


# --- 事: incidents and their log ------------------------------------------------------------


class Event(FeatureMixin, Base):
    """An incident, handled in tiers (grid → street → district)."""

    __tablename__ = "event"
    GEOMETRY_TYPE = "POINT"
    __table_args__ = feature_args(
        CheckConstraint(_in("status", vocab.EVENT_STATUS), name="status"),
        CheckConstraint(_in("level", vocab.HANDLING_LEVELS), name="level"),
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        # the wall's tiles and trend count from the index alone (migration 0027)
        Index(
            "ix_event_reported_at",
            "reported_at",
            postgresql_include=["status", "closed_at", "area_id"],
        ),
        Index(
            "ix_event_closed_at",
            "closed_at",
            postgresql_include=["area_id"],
            postgresql_where=text(f"status = '{vocab.EventStatus.closed}'"),
        ),
        # the rollup reader's edge cells, counted from the index alone (migration 0030)
        Index(
            "ix_event_h3_r9_reported_at",
            "h3_r9",
            "reported_at",
            postgresql_include=["h3_r7", "severity", "geom"],
        ),
        Index("ix_event_status_due", "status", "due_at"),
        Index("ix_event_rule_subject", "rule", "subject"),  # a rule's history per subject
        # one open incident per rule and subject: no storms of duplicates
        Index(
            "ux_event_open_rule_subject",
            "rule",
            "subject",
            unique=True,
            postgresql_where=text(f"rule IS NOT NULL AND status NOT IN {vocab.CLOSED_SQL}"),
        ),
    )

    category: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    severity: Mapped[int] = mapped_column(
        SmallInteger, nullable=False, server_default="2", comment="1 low … 4 critical"
    )
    status: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=vocab.EventStatus.reported
    )
    level: Mapped[str] = mapped_column(
        String(16), nullable=False, server_default=vocab.HandlingLevel.grid
    )
    title: Mapped[str] = mapped_column(String(256), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("device.id", ondelete="SET NULL"), index=True
    )
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("building.id", ondelete="SET NULL"), index=True
    )
    rule: Mapped[str | None] = mapped_column(String(64), comment="early-warning rule, if any")
    subject: Mapped[str | None] = mapped_column(
        String(64), comment="what a rule fired about, e.g. 'device:42' or 'house:7'"
    )
    trigger: Mapped[dict | None] = mapped_column(
        JSONB, comment="the readings/detections that made a rule fire"
    )
    duplicate_of: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="SET NULL"),
        index=True,
        comment="likely duplicate of this earlier open incident",
    )
    department: Mapped[str | None] = mapped_column(String(64), comment="handling department")
    public_text_hidden: Mapped[bool] = mapped_column(
        Boolean,
        nullable=False,
        server_default="false",
        comment="an officer hid the description from the public Open311 feed (moderation)",
    )
    public_text_hidden_by: Mapped[str | None] = mapped_column(
        String(64), comment="who hid (or last showed again) the public text"
    )
    public_text_hidden_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="when the public text was hidden or shown again"
    )


class EventCategory(Base):
    """The incident taxonomy (modelled on GB/T 30428 urban-management events), with SLAs."""

    __tablename__ = "event_category"
    __table_args__ = (CheckConstraint("default_severity BETWEEN 1 AND 4", name="default_severity"),)

    code: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="dotted code, e.g. fire_safety.blocked_lane"
    )
    parent: Mapped[str | None] = mapped_column(String(64), index=True, comment="group code")
    name_zh: Mapped[str] = mapped_column(String(64), nullable=False)
    name_en: Mapped[str] = mapped_column(String(64), nullable=False)
    default_severity: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="2")
    sla_hours: Mapped[dict] = mapped_column(
        JSONB, nullable=False, comment='hours to close by severity: {"1": 72, …, "4": 4}'
    )
    department: Mapped[str | None] = mapped_column(String(64))
    standard_code: Mapped[str | None] = mapped_column(String(16), comment="GB/T 30428 code")
    open311: Mapped[bool] = mapped_column(
        Boolean,
        nullable=False,
        server_default="true",
        comment="offered to residents as an Open311 service",
    )
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")


class EventReporter(Base):
    """Who reported an incident (Open311 and the like): personal data, withheld and audited."""

    __tablename__ = "event_reporter"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    first_name: Mapped[str | None] = mapped_column(String(64))
    last_name: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64), comment="Open311 device_id / app")


class EventLog(Base):
    """Every transition of an incident: who, when, from → to, note."""

    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_event_at", "event_id", "at"),
        # assessment: the few escalations and reopenings among millions of log rows
        Index(
            "ix_event_log_escalate_reopen",
            "action",
            "event_id",
            postgresql_where=text("action IN ('escalate', 'reopen')"),
        ),
        # the same rows with their time: read without visiting the table (migration 0012)
        Index(
            "ix_event_log_escalate_reopen_event_at",
            "event_id",
            "at",
            postgresql_include=["action"],
            postgresql_where=text("action IN ('escalate', 'reopen')"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64), nullable=False, comment="name or 'system'")
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    from_level: Mapped[str | None] = mapped_column(String(16))
    to_level: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    actor_kind: Mapped[str | None] = mapped_column(
        String(16), comment="account, system, simulated, open311 or resident (migration 0022)"
    )


class Photo(Base):
    """A photo taken while handling an incident (migration 0022): stored re-encoded without
    EXIF under the data folder, with a thumbnail; served only to viewers of the incident."""

    __tablename__ = "photo"
    __table_args__ = (
        CheckConstraint(_in("kind", vocab.PHOTO_KINDS), name="kind"),
        Index("ix_photo_event", "event_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("event.id", ondelete="CASCADE"), nullable=False
    )
    log_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("event_log.id", ondelete="SET NULL")
    )
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="SET NULL")
    )
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False, comment="before / after")
    size: Mapped[int] = mapped_column(Integer, nullable=False, comment="stored bytes")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    path: Mapped[str] = mapped_column(String(200), nullable=False, comment="under the data folder")
    thumb_path: Mapped[str] = mapped_column(String(200), nullable=False)


# --- accounts and audit ------------------------------------------------------------------------


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (CheckConstraint(_in("role", vocab.ACCOUNT_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    failed_logins: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class AccountScope(Base):
    """The areas an account may work in (a grid worker's grids, a leader's district …)."""

    __tablename__ = "account_scope"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), primary_key=True
    )


class WebSession(Base):
    """A browser session: the cookie holds a random token, the store only its SHA-256."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    client: Mapped[str | None] = mapped_column(String(64), comment="IP address at login")


class ApiToken(Base):
    """A bearer token for scripts and GIS clients (QGIS, ogr2ogr); stored as its SHA-256."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")


class ApiTokenUse(Base):
    """When an API token was last used (its own table: see migration 0021)."""

    __tablename__ = "api_token_use"

    token_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True
    )
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuditLog(Base):
    """Who saw or exported what, when, in which scope."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), index=True
    )
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    object_type: Mapped[str] = mapped_column(String(32), nullable=False)
    scope: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONB)
    client: Mapped[str | None] = mapped_column(String(64), comment="IP address or process")


class ReportKey(Base):
    """One per report form shown: the key its submit carries, and the incident it made, so a
    double tap or a retried submit makes exactly one incident."""

    __tablename__ = "report_key"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("event.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ActionKey(Base):
    """One per task action the grid worker's offline queue sends: the key the page made when
    the button was pressed, per account, and the status the first request left, so a replay
    applies nothing and gets the same answer."""

    __tablename__ = "action_key"

    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("event.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


# --- provenance of fused records ----------------------------------------------------------


class SourceLink(Base):
    """Every (source, source_id) a stored entity was fused from, beyond its own provenance.

    When records of one real thing arrive from several departmental systems (a building
    surveyed by housing and by the fire brigade), they become one row; each further source's
    key is linked here so that re-importing that source updates the same entity.
    """

    __tablename__ = "source_link"
    __table_args__ = (
        UniqueConstraint("entity_table", "source", "source_id"),
        Index("ix_source_link_entity", "entity_table", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entity_table: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    source_id: Mapped[str] = mapped_column(String(128), nullable=False)
    matched_by: Mapped[str] = mapped_column(
        String(32), nullable=False, comment="footprint_overlap, id_hash, serial …"
    )
    linked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ImportRun(Base):
    """One import of a file into a layer: what it did, for the record."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    layer: Mapped[str] = mapped_column(String(32), nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    file_name: Mapped[str] = mapped_column(String(256), nullable=False)
    crs: Mapped[str | None] = mapped_column(String(64))
    counts: Mapped[dict] = mapped_column(
        JSONB, nullable=False, comment="inserted, updated, merged, repaired, rejected"
    )
    actor: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows_written: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16), server_default="ok", nullable=False)
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'failed')", name="outcome"),
        Index("ix_import_run_source_at", "source", "at"),
    )


class DataSource(Base):
    """A department's import source and how often it should be refreshed (its runs are the
    ``import_run`` rows whose ``source`` is its ``name``)."""

    __tablename__ = "data_source"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(
        String(64), unique=True, nullable=False, comment="import_run.source of its runs"
    )
    title_zh: Mapped[str] = mapped_column(String(128), nullable=False)
    title_en: Mapped[str] = mapped_column(String(128), nullable=False)
    department: Mapped[str] = mapped_column(
        String(128), nullable=False, comment="owning department"
    )
    area_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey("area.id", ondelete="SET NULL"),
        comment="area its incidents go to",
    )
    account: Mapped[str | None] = mapped_column(String(64), comment="owning account, if any")
    cadence: Mapped[timedelta] = mapped_column(
        Interval(native=True), nullable=False, comment="expected update"
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    __table_args__ = (CheckConstraint("cadence > interval '0'", name="cadence"),)


FEATURE_MODELS: tuple[type[FeatureMixin], ...] = (
    Area,
    Road,
    Building,
    House,
    Resident,
    Organization,
    Device,
    Facility,
    Event,
)


@sa_event.listens_for(Session, "before_flush")
def _fill_location_columns(session: Session, _ctx, _instances) -> None:
    """Fill ``loc`` and the H3 cells of new features and of features whose geometry changed."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, FeatureMixin) or obj.geom is None:
            continue
        state = sa_inspect(obj)
        if state.pending or state.attrs.geom.history.has_changes():
            for column, value in location_columns(to_shapely(obj.geom)).items():
                setattr(obj, column, value)


# --- risk forecast (analytics): runs and their expected counts ---------------------------------


class ForecastRun(Base):
    """One run of ``python -m analytics forecast``: model version, time, history used."""

    __tablename__ = "forecast_run"
    __table_args__ = (CheckConstraint("cell_res IN (8, 9)", name="cell_res"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    model_version: Mapped[str] = mapped_column(String(64), nullable=False)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, index=True
    )
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    cell_res: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    horizons: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), nullable=False)
    groups: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    history_from: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, comment="start of the incident history used"
    )
    origin: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        nullable=False,
        comment="end of the history = start of every forecast period",
    )
    incidents: Mapped[int] = mapped_column(Integer, nullable=False)
    config: Mapped[dict] = mapped_column(
        JSONB, nullable=False, comment="model, interval and executor of the run"
    )


class Forecast(Base):
    """Expected incidents of one H3 cell or grid over one horizon, for one category group."""

    __tablename__ = "forecast"
    __table_args__ = (
        PrimaryKeyConstraint("run_id", "horizon_days", "category_group", "unit", "unit_id"),
        CheckConstraint("unit IN ('h3', 'grid')", name="unit"),
        CheckConstraint("expected >= 0 AND low <= high", name="interval"),
    )

    run_id: Mapped[int] = mapped_column(
        ForeignKey("forecast_run.id", ondelete="CASCADE"), nullable=False
    )
    horizon_days: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    category_group: Mapped[str] = mapped_column(
        String(64), nullable=False, comment="event_category.parent, or 'all'"
    )
    unit: Mapped[str] = mapped_column(String(8), nullable=False, comment="h3 or grid")
    unit_id: Mapped[int] = mapped_column(
        BigInteger, nullable=False, comment="H3 cell (64-bit) or area.id"
    )
    lon: Mapped[float] = mapped_column(Float, nullable=False, comment="centre of the cell or grid")
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    expected: Mapped[float] = mapped_column(Float, nullable=False)
    low: Mapped[int] = mapped_column(Integer, nullable=False, comment="lower end of the interval")
    high: Mapped[int] = mapped_column(Integer, nullable=False, comment="upper end of the interval")
    feature: Mapped[str | None] = mapped_column(
        Text,
        nullable=True,
        comment="GeoJSON feature of an H3 row as the layer serves it (NULL: grid, older run)",
    )


# --- camera coverage gaps (analytics.coverage): precomputed per line, and their freshness -------


class CoverageGap(Base):
    """One fire lane or road: its length, the length cameras see and the uncovered part
    (``python -m analytics coverage --refresh``; the ``coverage_gaps`` layer reads it)."""

    __tablename__ = "coverage_gap"
    __table_args__ = (
        PrimaryKeyConstraint("kind", "line_id"),
        CheckConstraint("kind IN ('fire_lanes', 'roads')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False, comment="fire_lanes or roads")
    line_id: Mapped[int] = mapped_column(
        BigInteger, nullable=False, comment="facility.id or road.id"
    )
    length_m: Mapped[float] = mapped_column(
        Float, nullable=False, comment="geodesic length of the line"
    )
    covered_m: Mapped[float] = mapped_column(
        Float, nullable=False, comment="length inside any camera's view"
    )
    geom: Mapped[object | None] = mapped_column(
        Geometry(srid=SRID, spatial_index=True),
        nullable=True,
        comment="the uncovered part (empty when all is covered)",
    )


class CoverageGapState(Base):
    """The one row saying whether ``coverage_gap`` is current: triggers on device, facility
    and road bump ``version``; a refresh stores the version it computed at."""

    __tablename__ = "coverage_gap_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        server_default=text("0"),
        comment="bumped by every change of cameras, fire lanes or roads",
    )
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    refreshed_version: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, comment="the version coverage_gap was computed at (NULL: never)"
    )
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class EventCell(Base):
    """Incidents per stored cell pair and UTC hour, day, week, month or all time, with their
    severity sum: the zoomed-out map's rollup, kept exact by triggers on ``event`` (migrations
    0028, 0030; read by :mod:`geodata.rollup`)."""

    __tablename__ = "event_cell"
    __table_args__ = (
        CheckConstraint("span IN ('hour', 'day', 'week', 'month', 'all')", name="span"),
    )

    span: Mapped[str] = mapped_column(
        String(8), primary_key=True, comment="hour, day, week, month or all"
    )
    start: Mapped[datetime] = mapped_column(
        DateTime,
        primary_key=True,
        comment="UTC hour, day, week (Monday) or month it starts; -infinity: all",
    )
    h3_r7: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    h3_r9: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False, comment="incidents")
    s: Mapped[int] = mapped_column(BigInteger, nullable=False, comment="sum of their severity")


class FeatureCell(Base):
    """Rows of device, organization, facility and building per kind and stored cell pair: the
    zoomed-out map's rollup, kept exact by triggers on those tables (migration 0028)."""

    __tablename__ = "feature_cell"

    source: Mapped[str] = mapped_column(String(32), primary_key=True, comment="the table counted")
    kind: Mapped[str] = mapped_column(String(64), primary_key=True, comment="its kind ('' if none)")
    h3_r7: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    h3_r9: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class ResidentCellStale(Base):
    """A row per change of ``building`` that moved a leaf of the materialized ``resident_cell``
    (migration 0029) since its refresh: while any row is here the residents layer reads the raw
    SQL; :func:`geodata.store.refresh_resident_stats` empties it."""

    __tablename__ = "resident_cell_stale"
    __table_args__ = (
        {"comment": "a row: building changed since resident_cell's refresh (readers use raw SQL)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    reason: Mapped[str] = mapped_column(
        String(16), nullable=False, comment="insert, update, delete, …"
    )
