"""The schema of the community data standard, against a real PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime

import h3
import pytest
import shapely
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, Point
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from geodata import models as m
from geodata.migration_rules import include_object
from geodata.privacy import hash_id_number
from tests.integration.factories import add_building, multipolygon, point, two_grid_district


def test_migrations_match_models(conn):
    """The migrated schema is exactly what the models declare (no drift)."""
    ctx = MigrationContext.configure(
        conn, opts={"include_object": include_object, "compare_type": True}
    )
    assert compare_metadata(ctx, m.Base.metadata) == []


def test_every_feature_table_has_gist_index_and_h3_indexes(conn):
    insp = inspect(conn)
    for model in m.FEATURE_MODELS:
        table = model.__tablename__
        indexes = {tuple(ix["column_names"]): ix for ix in insp.get_indexes(table)}
        assert ("h3_r7",) in indexes and ("h3_r9",) in indexes, table
        gist = (
            conn.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = :t AND indexdef ILIKE "
                    "'%USING gist (geom)%'"
                ),
                {"t": table},
            )
            .scalars()
            .all()
        )
        assert gist, f"{table} lacks a GiST index on geom"
        srid = conn.execute(text("SELECT Find_SRID('public', :t, 'geom')"), {"t": table})
        assert srid.scalar_one() == 4326


def _round_trip(session, obj):
    session.add(obj)
    session.flush()
    key = inspect(obj).identity
    session.expunge_all()
    return session.get(type(obj), key)


def test_round_trip_of_every_table(session):
    areas = two_grid_district(session)
    bldg = add_building(
        session,
        (117.21, 31.81, 117.211, 31.8105),
        floors=18,
        height=54.0,
        year_built=2005,
        name="1栋",
        address="测试路1号",
    )
    house = _round_trip(
        session,
        m.House(
            building_id=bldg.id,
            unit=2,
            floor=5,
            room="502",
            floor_area=89.5,
            occupancy="rented",
            geom=point(117.2105, 31.8102),
        ),
    )
    assert (house.unit, house.floor, house.room, house.occupancy) == (2, 5, "502", "rented")
    resident = _round_trip(
        session,
        m.Resident(
            house_id=house.id,
            sex="F",
            birth_year=1941,
            household_role="head",
            hukou="local",
            care_tags=["elderly", "elderly_alone"],
            geom=point(117.2105, 31.8102),
        ),
    )
    assert resident.care_tags == ["elderly", "elderly_alone"] and resident.birth_year == 1941
    ident = _round_trip(
        session,
        m.ResidentIdentity(
            resident_id=resident.id,
            name="王秀英",
            id_hash=hash_id_number("34010219410101002X", "k"),
            phone="13800000000",
        ),
    )
    assert ident.name == "王秀英" and len(ident.id_hash) == 64
    org = _round_trip(
        session,
        m.Organization(
            kind="property",
            name="物业公司",
            credit_code="91340100MA2N0XXXX1",
            geom=point(117.215, 31.815),
        ),
    )
    assert org.kind == "property"
    cam = _round_trip(
        session,
        m.Device(
            kind="camera",
            serial="CAM-1",
            heading=90.0,
            fov=60.0,
            range_m=40.0,
            geom=point(117.212, 31.812),
        ),
    )
    assert (cam.heading, cam.fov, cam.range_m, cam.status) == (90.0, 60.0, 40.0, "online")
    ts = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    session.execute(text("SELECT onemap_reading_partition(:d)"), {"d": ts.date()})
    reading = _round_trip(
        session, m.Reading(device_id=cam.id, ts=ts, value=1.5, payload={"motion": True})
    )
    assert reading.value == 1.5 and reading.payload == {"motion": True}
    lane = _round_trip(
        session,
        m.Facility(
            kind="fire_lane",
            geom=from_shape(LineString([(117.21, 31.81), (117.22, 31.81)]), srid=4326),
        ),
    )
    assert to_shape(lane.geom).equals(LineString([(117.21, 31.81), (117.22, 31.81)]))
    event = _round_trip(
        session,
        m.Event(
            category="fire_safety.blocked_lane",
            severity=3,
            title="消防通道占用",
            geom=point(117.215, 31.81),
            due_at=ts,
            device_id=cam.id,
        ),
    )
    assert (event.status, event.level, event.severity) == ("reported", "grid", 3)
    account = _round_trip(session, m.Account(username="w1", password_hash="x", role="grid_worker"))
    scope = _round_trip(session, m.AccountScope(account_id=account.id, area_id=areas["west"].id))
    assert scope.area_id == areas["west"].id
    log = _round_trip(
        session,
        m.EventLog(
            event_id=event.id,
            actor_id=account.id,
            actor="w1",
            action="dispatch",
            from_status="reported",
            to_status="dispatched",
            note="派单",
        ),
    )
    assert (log.from_status, log.to_status, log.note) == ("reported", "dispatched", "派单")
    audit = _round_trip(
        session,
        m.AuditLog(
            account_id=account.id,
            username="w1",
            action="view_pii",
            object_type="resident",
            detail={"ids": [resident.id]},
        ),
    )
    assert audit.detail == {"ids": [resident.id]}
    # every feature got its grid and its H3 cells on write
    for obj in (house, resident, org, cam, lane, event):
        row = session.get(type(obj), obj.id)
        assert row.area_id == areas["west"].id, type(obj).__name__
        assert row.h3_r7 and row.h3_r9


def test_area_assigned_spatially_on_insert_and_update(session):
    areas = two_grid_district(session)
    b = add_building(session, (117.21, 31.81, 117.211, 31.811))
    assert b.area_id == areas["west"].id
    b.geom = multipolygon(117.26, 31.81, 117.261, 31.811)
    session.flush()
    session.refresh(b)
    assert b.area_id == areas["east"].id
    # inside the district but outside every street: the district
    north = add_building(session, (117.26, 31.87, 117.261, 31.871))
    assert north.area_id == areas["district"].id
    # outside everything: no area
    far = add_building(session, (118.5, 32.5, 118.501, 32.501))
    assert far.area_id is None


def test_area_rows_get_the_covering_area_one_level_up(session):
    areas = two_grid_district(session)
    assert areas["west"].area_id == areas["community"].id
    assert areas["street"].area_id == areas["district"].id
    assert areas["district"].area_id is None


def test_written_area_id_is_overruled_by_geometry(session):
    """A writer cannot file a feature under the wrong grid: the trigger recomputes it."""
    areas = two_grid_district(session)
    ev = m.Event(category="x.y", title="t", geom=point(117.21, 31.81), area_id=areas["east"].id)
    session.add(ev)
    session.flush()
    session.refresh(ev)
    assert ev.area_id == areas["west"].id


def test_h3_columns_are_the_cells_of_the_stored_point(session):
    two_grid_district(session)
    b = add_building(session, (117.21, 31.81, 117.2112, 31.8104))
    dev = m.Device(kind="smoke", geom=point(117.2234, 31.8321))
    session.add(dev)
    session.flush()
    for table, oid in (("building", b.id), ("device", dev.id)):
        x, y, r7, r9, inside = session.execute(
            text(
                f"SELECT ST_X(loc), ST_Y(loc), h3_r7, h3_r9, ST_Covers(geom, loc) FROM {table} "
                "WHERE id = :id"
            ),
            {"id": oid},
        ).one()
        assert inside
        assert r7 == h3.str_to_int(h3.latlng_to_cell(y, x, 7))
        assert r9 == h3.str_to_int(h3.latlng_to_cell(y, x, 9))


def test_h3_follows_a_moved_geometry(session):
    dev = m.Device(kind="gas", geom=point(117.21, 31.81))
    session.add(dev)
    session.flush()
    before = dev.h3_r9
    dev.geom = point(117.29, 31.89)
    session.flush()
    assert dev.h3_r9 != before
    assert dev.h3_r9 == h3.str_to_int(h3.latlng_to_cell(31.89, 117.29, 9))


def test_provenance_is_unique_per_source(session):
    session.add(
        m.Device(kind="smoke", source="fire_dept", source_id="S-1", geom=point(117.21, 31.81))
    )
    session.add(
        m.Device(kind="smoke", source="housing", source_id="S-1", geom=point(117.21, 31.81))
    )
    session.flush()
    session.add(
        m.Device(kind="smoke", source="fire_dept", source_id="S-1", geom=point(117.22, 31.82))
    )
    with pytest.raises(IntegrityError, match="uq_device_source_source_id"):
        session.flush()


def test_records_without_provenance_get_distinct_source_ids(session):
    a, b = (m.Facility(kind="hydrant", geom=point(117.21, 31.81)) for _ in range(2))
    session.add_all([a, b])
    session.flush()
    session.refresh(a)
    session.refresh(b)
    assert a.source == b.source == "onemap" and a.source_id != b.source_id


def test_vocabulary_is_enforced(session):
    session.add(m.Area(level="village", depth=3, name="x", geom=multipolygon(117, 31, 117.1, 31.1)))
    with pytest.raises(IntegrityError, match="ck_area_level"):
        session.flush()


def test_unknown_care_tag_is_refused(session):
    session.add(m.Resident(sex="M", birth_year=1990, care_tags=["vip"], geom=point(117.21, 31.81)))
    with pytest.raises(IntegrityError, match="ck_resident_care_tags"):
        session.flush()


def test_readings_land_in_monthly_partitions_and_are_idempotent(session):
    dev = m.Device(kind="door", geom=point(117.21, 31.81))
    session.add(dev)
    session.flush()
    name = session.execute(text("SELECT onemap_reading_partition('2026-10-15')")).scalar_one()
    assert name == "reading_202610"
    insert = text(
        "INSERT INTO reading (device_id, ts, value) VALUES (:d, :ts, :v) "
        "ON CONFLICT (device_id, ts) DO NOTHING"
    )
    ts = datetime(2026, 10, 20, 6, 30, tzinfo=UTC)
    session.execute(insert, {"d": dev.id, "ts": ts, "v": 1})
    session.execute(insert, {"d": dev.id, "ts": ts, "v": 2})  # a duplicate message
    session.execute(insert, {"d": dev.id, "ts": datetime(2025, 1, 1, tzinfo=UTC), "v": 3})
    rows = session.execute(
        text(
            "SELECT tableoid::regclass::text, value FROM reading WHERE device_id = :d ORDER BY ts"
        ),
        {"d": dev.id},
    ).all()
    assert rows == [("reading_default", 3.0), ("reading_202610", 1.0)]


def test_identifiers_live_apart_from_resident_rows(conn):
    resident_cols = {c["name"] for c in inspect(conn).get_columns("resident")}
    assert not resident_cols & {"name", "id_number", "id_hash", "phone"}
    ident_cols = {c["name"] for c in inspect(conn).get_columns("resident_identity")}
    assert ident_cols == {"resident_id", "name", "id_hash", "phone"}


def test_facility_accepts_points_and_lines_but_not_collections(session):
    session.add(m.Facility(kind="hydrant", geom=point(117.21, 31.81)))
    session.flush()
    bad = shapely.GeometryCollection([Point(117.21, 31.81)])
    session.add(m.Facility(kind="aed", geom=from_shape(bad, srid=4326)))
    with pytest.raises(IntegrityError, match="ck_facility_geom_type"):
        session.flush()


def test_close_bin_and_event_planning_work_with_an_empty_search_path(conn):
    """pg_restore plans queries on ``event`` with ``search_path = ''``: the statistics' function
    must name its helper with its schema (migration 0017)."""
    conn.execute(text("SET LOCAL search_path = ''"))
    closed = conn.execute(
        text(
            "SELECT public.onemap_close_bin('closed', now() - interval '1 hour', now()), "
            "public.onemap_close_bin('reported', now() - interval '1 hour', now())"
        )
    ).one()
    assert closed[0] is not None and closed[0] > 0 and closed[1] is None
    assert (
        conn.execute(text("SELECT count(*) FROM public.event WHERE status = 'closed'")).scalar()
        == 0
    )
