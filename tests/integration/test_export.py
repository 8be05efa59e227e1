"""Exports against a real PostGIS, read back by GDAL's own tools: counts, CRS, RFC 7946,
filters, the download API — and no personal identifier in any file, in any format."""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import psycopg
import pyogrio
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geodata import city_time
from geodata.accounts.viewer import PUBLIC, Viewer
from geodata.engine import get_engine, normalize_url
from geodata.exports import Filters, export_format, export_layer_to
from geodata.exports.cli import operator
from geodata.exports.fields import POLICY, allowed_fields
from geodata.exports.sources import EXPORT_LAYERS
from geodata.exports.writers import FORMATS
from geodata.models import Base
from geodata.query import BBox, FeatureQueryError
from geodata.settings import PROJECT_ROOT, get_settings
from layers.registry import LAYERS
from tests.conftest import api_client, sql_rows, sql_scalar
from twin.live import stop_hub

PII_NAMES = ("隐私测试员甲", "隐私测试员乙")
PII_PHONES = ("19900001111", "19900002222")
PII_HASH = "e" * 64
PII_SOURCE_ID = "PII-SOURCE-KEY-"
CW_BUILDING = "顺时针测试楼"


def _add_fixtures(url: str) -> None:
    """Residents with identities, and a clockwise building with a hole (stored CW on purpose)."""
    with get_engine(url).begin() as conn:
        for i, (name, phone) in enumerate(zip(PII_NAMES, PII_PHONES, strict=True)):
            rid = conn.execute(
                text(
                    "INSERT INTO resident (house_id, sex, birth_year, household_role, hukou, "
                    "status, care_tags, geom, loc, h3_r7, h3_r9, source, source_id) "
                    "SELECT id, 'F', 1950, 'head', 'local', 'active', '{elderly_alone}', geom, "
                    "loc, h3_r7, h3_r9, 'pii-test', :sid FROM house ORDER BY id LIMIT 1 "
                    "RETURNING id"
                ),
                {"sid": f"{PII_SOURCE_ID}{i}"},
            ).scalar_one()
            conn.execute(
                text("INSERT INTO resident_identity VALUES (:r, :n, :h, :p)"),
                {"r": rid, "n": name, "h": PII_HASH, "p": phone},
            )
        conn.execute(
            text(
                "INSERT INTO building (name, use, geom, loc, h3_r7, h3_r9, source, source_id) "
                "SELECT :name, 'other', ST_Multi(ST_ForcePolygonCW(ST_Difference("
                "ST_Buffer(loc, 0.0006, 8), ST_Buffer(loc, 0.0002, 8)))), loc, h3_r7, h3_r9, "
                "'test', 'cw-1' FROM building ORDER BY id LIMIT 1"
            ),
            {"name": CW_BUILDING},
        )


def _admin(url: str, statement: str) -> None:
    admin = make_url(normalize_url(url)).set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="module")
def city(demo_url) -> str:
    """A copy of the session's demo city (CREATE DATABASE … TEMPLATE), plus the fixtures."""
    get_engine(demo_url).dispose()  # a template must have no open connections: not the
    stop_hub(demo_url)  # pool's, not the live listener's (restarted by the next request)
    template = make_url(demo_url).database
    name = f"onemap_test_export_{os.getpid()}"
    _admin(demo_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(demo_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = make_url(demo_url).set(database=name).render_as_string(hide_password=False)
    try:
        _add_fixtures(url)
        yield url
    finally:
        get_engine(url).dispose()
        stop_hub(url)  # its listener would keep retrying the dropped copy
        _admin(demo_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def client(city):
    return api_client(city, "planner")


def _export(url: str, layer: str, fmt: str, path: Path, **filters) -> Path:
    export_layer_to(url, layer, export_format(fmt), path, Filters(**filters), operator())
    return path


def _gdal_name(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix == ".zip" else str(path)


def _ogrinfo(path: Path) -> str:
    cmd = ["ogrinfo", "-ro", "-so", "-al", _gdal_name(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def _count(path: Path) -> int:
    return sum(int(n) for n in re.findall(r"Feature Count: (\d+)", _ogrinfo(path)))


def _table_count(url: str, table: str) -> int:
    return sql_scalar(url, f'SELECT count(*) FROM "{table}"')


def _file_bytes(path: Path) -> bytes:
    """Everything written, uncompressed (zip members are read one by one)."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            return b"".join(zf.read(n) for n in zf.namelist())
    return path.read_bytes()


# --- counts and CRS ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("layer", ["areas", "buildings", "houses", "facilities", "events"])
def test_every_format_reads_back_with_the_database_count(city, tmp_path, layer, fmt):
    path = _export(city, layer, fmt, tmp_path / f"{layer}{FORMATS[fmt].suffix}")
    assert _count(path) == _table_count(city, EXPORT_LAYERS[layer].table)
    info = _ogrinfo(path)
    if fmt != "csv":  # CSV carries no CRS: WKT and lon/lat are EPSG:4326 by contract
        assert info.count('ID["EPSG",4326]') == info.count("Layer name:") >= 1


def test_geojson_is_rfc7946(city, tmp_path):
    path = _export(city, "buildings", "geojson", tmp_path / "b.geojson")
    raw = path.read_text(encoding="utf-8")
    doc = json.loads(raw)
    assert "crs" not in doc
    assert not re.search(r"\d\.\d{8,}", raw), "coordinates beyond 7 decimals"
    polygons = [shapely.geometry.shape(f["geometry"]) for f in doc["features"]]
    assert len(polygons) == _table_count(city, "building")
    rings = [(p.exterior, p.interiors) for mp in polygons for p in mp.geoms]
    assert all(shapely.is_ccw(ext) for ext, _ in rings)
    assert all(not shapely.is_ccw(hole) for _, holes in rings for hole in holes)
    lon, lat = polygons[0].centroid.x, polygons[0].centroid.y
    assert 116 < lon < 118.5 and 30.5 < lat < 33, "lon/lat order"
    cw = next(f for f in doc["features"] if f["properties"]["name"] == CW_BUILDING)
    stored_ccw = sql_scalar(
        city, "SELECT ST_IsPolygonCCW(geom) FROM building WHERE name = :n", n=CW_BUILDING
    )
    assert not stored_ccw and len(cw["geometry"]["coordinates"][0]) == 2  # exterior + hole
    ids = {f["id"] for f in doc["features"]}
    assert ids == set(_ids(city, "SELECT id FROM building"))


def test_geopackage_polygons_are_counter_clockwise_with_our_ids(city, tmp_path):
    path = _export(city, "areas", "gpkg", tmp_path / "a.gpkg")
    df = pyogrio.read_dataframe(path, fid_as_index=True)
    assert df.crs.to_epsg() == 4326
    assert set(df.index) == set(_ids(city, "SELECT id FROM area"))
    exteriors = [p.exterior for mp in df.geometry for p in mp.geoms]
    assert exteriors and all(shapely.is_ccw(r) for r in exteriors)


def _ids(url: str, sql: str, **params) -> list[int]:
    with get_engine(url).connect() as conn:
        return [r[0] for r in conn.execute(text(sql), params)]


def test_csv_has_wkt_and_lon_lat_for_points(city, tmp_path):
    path = _export(city, "houses", "csv", tmp_path / "h.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM for Excel/WPS
    header, first = raw.decode("utf-8-sig").splitlines()[:2]
    assert header.split(",")[0] == "WKT" and header.endswith("lon,lat")
    point = shapely.from_wkt(first.split('"')[1])
    lon, lat = (float(v) for v in first.rsplit(",", 2)[1:])
    assert (point.x, point.y) == pytest.approx((lon, lat), abs=1e-7)


def test_shapefile_zip_is_utf8_with_a_documented_field_mapping(city, tmp_path):
    path = _export(city, "events", "shp", tmp_path / "e.shp.zip")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {f"events.{e}" for e in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert zf.read("events.cpg").strip() == b"UTF-8"
        mapping = zf.read("FIELDS.txt").decode()
    assert "reported   -> reported_at" in mapping and "bldg_id    -> building_id" in mapping
    df = pyogrio.read_dataframe(_gdal_name(path))
    assert all(len(c) <= 10 for c in df.columns)
    assert {"reported", "bldg_id"} <= set(df.columns)
    title = sql_scalar(city, "SELECT title FROM event ORDER BY id LIMIT 1")
    assert title in set(df["title"])  # Chinese text survives the dBASE round trip


def test_mixed_geometry_layer_becomes_one_shapefile_per_kind(city, tmp_path):
    out = _export(city, "facilities", "shp", tmp_path / "fac")  # not .zip: a folder
    shp = sorted(p.name for p in out.glob("*.shp"))
    assert shp and set(shp) <= {
        "facilities_point.shp",
        "facilities_line.shp",
        "facilities_polygon.shp",
    }
    assert _count(out) == _table_count(city, "facility")


# --- personal identifiers ---------------------------------------------------------------------


def test_the_policy_never_names_an_identifier_column():
    identity = set(Base.metadata.tables["resident_identity"].c.keys()) - {"resident_id"}
    for tables in POLICY.values():
        for table, columns in tables.items():
            assert table != "resident_identity"
            assert not (set(columns) & {"id_hash", "phone"})
            if table == "resident":
                assert not (set(columns) & (identity | {"source_id"}))
    for role in ("public", "planner", "admin"):
        fields = allowed_fields("resident", Viewer(role=role))
        assert fields and all("identity" not in f.sql for f in fields)


def test_map_layers_show_nothing_the_export_policy_withholds():
    """The viewport API (popups) and the exports draw from the same allow-list."""
    for layer in LAYERS:
        allowed = {f.name for f in allowed_fields(layer.source, PUBLIC)}
        assert set(layer.columns) <= allowed, layer.id


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_no_personal_identifier_leaves_in_any_format(city, tmp_path, fmt):
    demo_phones = _ids(
        city,
        "SELECT phone FROM resident_identity WHERE phone IS NOT NULL ORDER BY resident_id LIMIT 50",
    )
    demo_names = _ids(
        city,
        "SELECT name FROM resident_identity WHERE char_length(name) >= 3 "
        "ORDER BY resident_id LIMIT 50",
    )
    secrets = [*PII_NAMES, *PII_PHONES, PII_HASH, PII_SOURCE_ID, *demo_phones, *demo_names]
    for layer in ("residents", "houses", "events"):
        path = _export(city, layer, fmt, tmp_path / f"{layer}{FORMATS[fmt].suffix}")
        blob = _file_bytes(path)
        leaked = [s for s in secrets if s.encode() in blob]
        assert not leaked, f"{layer}.{fmt} contains {leaked[:3]}"
    residents = tmp_path / f"residents{FORMATS[fmt].suffix}"
    columns = set(pyogrio.read_info(_gdal_name(residents), layer=0)["fields"])
    assert {"sex", "birth_year"} <= columns
    assert not columns & {"name", "phone", "id_hash", "source_id"}
    assert _count(residents) == _table_count(city, "resident")


def test_people_records_go_only_to_personal_data_roles_and_are_audited(client, city, tmp_path):
    refused = client.get("/api/export/residents?format=csv")  # the planner's client
    assert refused.status_code == 403
    before = sql_scalar(city, "SELECT count(*) FROM audit_log WHERE object_type = 'residents'")
    _export(city, "residents", "csv", tmp_path / "r.csv")
    rows = sql_scalar(
        city,
        "SELECT json_agg(json_build_array(username, action, detail->>'rows') ORDER BY id) "
        "FROM audit_log "
        "WHERE object_type = 'residents'",
    )
    assert len(rows) == before + 1
    assert rows[-1] == [f"cli:{getpass.getuser()}", "export", str(_table_count(city, "resident"))]


# --- filters ----------------------------------------------------------------------------------


def _street(url: str) -> tuple[int, str]:
    return sql_scalar(
        url,
        "SELECT json_build_array(id, code) FROM area WHERE level = 'street' ORDER BY id LIMIT 1",
    )


def test_area_filter_takes_the_area_and_all_its_descendants(city, tmp_path):
    street_id, code = _street(city)
    # Independently of the recursive CTE: the street, its communities, their grids.
    expected = sql_scalar(
        city,
        "SELECT count(*) FROM house WHERE area_id = :s OR area_id IN (SELECT id FROM area "
        "WHERE parent_id = :s) OR area_id IN (SELECT g.id FROM area g JOIN area c "
        "ON g.parent_id = c.id WHERE c.parent_id = :s)",
        s=street_id,
    )
    assert 0 < expected < _table_count(city, "house")
    path = _export(city, "houses", "gpkg", tmp_path / "h.gpkg", area=code)
    assert _count(path) == expected
    areas = _export(city, "areas", "geojson", tmp_path / "a.geojson", area=code, level="grid")
    grids = sql_scalar(
        city,
        "SELECT count(*) FROM area g JOIN area c ON g.parent_id = c.id "
        "WHERE g.level = 'grid' AND c.parent_id = :s",
        s=street_id,
    )
    assert _count(areas) == grids > 0


def test_bbox_filter_keeps_what_intersects(city, tmp_path):
    x, y = sql_scalar(
        city, "SELECT json_build_array(ST_X(loc), ST_Y(loc)) FROM building ORDER BY id LIMIT 1"
    )
    box = BBox(x - 0.004, y - 0.004, x + 0.004, y + 0.004)
    expected = sql_scalar(
        city,
        "SELECT count(*) FROM building WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(:a, :b, :c, :d, 4326))",
        a=box.minx,
        b=box.miny,
        c=box.maxx,
        d=box.maxy,
    )
    assert 0 < expected < _table_count(city, "building")
    path = _export(city, "buildings", "csv", tmp_path / "b.csv", bbox=box)
    assert _count(path) == expected


def test_bad_filters_are_refused_before_writing(city, tmp_path):
    with pytest.raises(FeatureQueryError, match="no area has code"):
        _export(city, "houses", "gpkg", tmp_path / "x.gpkg", area="000000")
    with pytest.raises(FeatureQueryError, match="areas layer only"):
        _export(city, "houses", "gpkg", tmp_path / "x.gpkg", level="grid")
    assert not list(tmp_path.iterdir()) or not (tmp_path / "x.gpkg").exists()


# --- HTTP and CLI -----------------------------------------------------------------------------


def test_download_endpoint_streams_an_attachment(client, city, tmp_path):
    _, code = _street(city)
    response = client.get(f"/api/export/houses?format=gpkg&area={code}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/geopackage+sqlite3"
    assert response.headers["Content-Disposition"] == f"attachment; filename=houses_{code}.gpkg"
    path = tmp_path / "dl.gpkg"
    path.write_bytes(response.data)
    assert _count(path) == int(response.headers["X-Feature-Count"]) > 0
    response = client.get("/api/export/buildings?format=geojson")
    assert response.headers["Content-Type"] == "application/geo+json"
    doc = json.load(io.BytesIO(response.data))
    assert len(doc["features"]) == _table_count(city, "building")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "format"),
        ("format=xls", "format"),
        ("format=csv&bbox=1,2,3", "bbox"),
        ("format=csv&bbox=118,31,117,32", "bbox"),
        ("format=csv&area=nope", "area"),
        ("format=csv&level=grid", "level"),
        ("format=csv&colour=red", "colour"),
    ],
)
def test_bad_download_parameters_get_400_with_the_field(client, query, field):
    response = client.get(f"/api/export/houses?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and body["error"].startswith(field)


def test_unknown_layer_gets_404_listing_the_known_ones(client):
    response = client.get("/api/export/people?format=csv")
    assert response.status_code == 404
    assert "residents" in response.get_json()["error"]


def test_cli_exports(city, tmp_path):
    env = {**os.environ, "DATABASE_URL": city}
    cmd = [sys.executable, "-m", "geodata", "export", "--layer", "buildings", "--format", "shp"]
    done = subprocess.run(
        [*cmd, "-o", str(tmp_path / "b.zip")],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert _count(tmp_path / "b.zip") == _table_count(city, "building")


def test_cli_explains_bad_input(city, tmp_path, monkeypatch, capsys):
    from geodata.__main__ import main

    monkeypatch.setenv("DATABASE_URL", city)
    get_settings.cache_clear()
    try:
        args = ["export", "--layer", "houses", "--format", "csv", "-o", str(tmp_path / "x.csv")]
        assert main([*args, "--area", "nope"]) == 2
        assert "no area has code 'nope'" in capsys.readouterr().err
        assert main([*args, "--bbox", "117,31"]) == 2
        assert "bbox" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
    assert not (tmp_path / "x.csv").exists()


# --- official area codes ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "geojson", "gpkg"])
def test_exports_carry_the_official_area_code_and_name_not_the_internal_id(city, tmp_path, fmt):
    path = _export(city, "buildings", fmt, tmp_path / f"b{FORMATS[fmt].suffix}")
    df = pyogrio.read_dataframe(path, fid_as_index=fmt != "csv")
    assert "area_id" not in df.columns and {"area_code", "area_name"} <= set(df.columns)
    with get_engine(city).connect() as conn:
        expected = {
            (r.code, r.name): r.n
            for r in conn.execute(
                text(
                    "SELECT a.code, a.name, count(*) AS n FROM building b "
                    "JOIN area a ON a.id = b.area_id GROUP BY a.code, a.name"
                )
            )
        }
    got = df.dropna(subset=["area_code"]).groupby(["area_code", "area_name"]).size().to_dict()
    assert got == expected and expected
    assert all(str(code).isdigit() and len(str(code)) >= 6 for code, _ in got)


def test_exported_areas_name_their_parent_by_official_code(city, tmp_path):
    df = pyogrio.read_dataframe(_export(city, "areas", "gpkg", tmp_path / "a.gpkg"))
    assert "parent_id" not in df.columns and "area_id" not in df.columns
    with get_engine(city).connect() as conn:
        pairs = set(
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT c.code, p.code FROM area c "
                    "JOIN area p ON p.id = COALESCE(c.parent_id, c.area_id)"
                )
            )
        )
    got = {(r.code, r.parent_code) for r in df.itertuples() if isinstance(r.parent_code, str)}
    assert got == pairs and pairs


def test_times_are_city_time_in_csv_and_utc_in_geojson(city, tmp_path):
    """CSV (read in spreadsheets) and Shapefile text give each instant with the city's offset;
    GeoJSON keeps UTC (``Z``); both name the same instants as the store."""
    stored = {
        r[0]: r[1] for r in sql_rows(city, "SELECT id, reported_at FROM event ORDER BY id LIMIT 50")
    }
    csv_rows = pyogrio.read_dataframe(_export(city, "events", "csv", tmp_path / "e.csv"))
    geojson = json.loads(_export(city, "events", "geojson", tmp_path / "e.geojson").read_text())
    local = {
        int(r["id"]): r["reported_at"] for _, r in csv_rows.iterrows() if int(r["id"]) in stored
    }
    utc = {
        f["id"]: f["properties"]["reported_at"] for f in geojson["features"] if f["id"] in stored
    }
    assert len(local) == len(utc) == len(stored) > 10
    for event_id, at in stored.items():
        assert local[event_id] == city_time.iso(at.replace(microsecond=0), "Asia/Shanghai")
        assert local[event_id].endswith("+08:00") and utc[event_id].endswith("Z")
        assert datetime.fromisoformat(utc[event_id]) == at.replace(microsecond=0)
    shp = _export(city, "events", "shp", tmp_path / "e.shp.zip")
    assert "+08:00" in str(pyogrio.read_dataframe(_gdal_name(shp))["reported"].iloc[0])
    with zipfile.ZipFile(shp) as zf:
        assert "city's" in zf.read("FIELDS.txt").decode()
