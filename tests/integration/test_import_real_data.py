"""Importing real public data (../shared/data) into a real PostGIS: exact counts and values."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from geodata.engine import get_engine
from geodata.ingest import import_file
from geodata.settings import Settings
from tests.conftest import _fresh_database, shared_data
from tests.integration.import_support import emptied


@pytest.fixture(scope="module")
def db(cluster) -> Iterator[str]:
    """A fresh migrated database for this module (imports commit)."""
    with _fresh_database(cluster, "import_real") as url:
        yield url


@pytest.fixture
def url(db) -> str:
    """The module database, emptied before the test."""
    return emptied(db)


def scalar(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def ogr_count(path, sql: str, dialect: str | None = None) -> int:
    """A count reported by ``ogrinfo -sql`` on the same file."""
    cmd = ["ogrinfo", "-ro", "-q", str(path), "-sql", sql]
    if dialect:
        cmd += ["-dialect", dialect]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return int(re.search(r"COUNT\S*\s*\(Integer\)\s*=\s*(\d+)", out).group(1))


def test_hefei_buildings_exact_count_two_repaired(url):
    path = shared_data("hefei-buildings", "hefei_buildings_mars3d_wgs84.geojson")
    report = import_file(url, path, "buildings", Settings())
    assert report.counts["read"] == 23_193
    assert report.counts["inserted"] == 23_193
    assert report.counts["repaired"] == 2
    assert report.counts["rejected"] == 0
    assert scalar(url, "SELECT count(*) FROM building") == 23_193
    assert scalar(url, "SELECT bool_and(ST_IsValid(geom)) FROM building") is True
    assert (
        scalar(url, "SELECT count(*) FROM building WHERE GeometryType(geom) <> 'MULTIPOLYGON'") == 0
    )
    # storeys ("floor", text 1–38) → floors; height estimated as 3 m a storey
    assert scalar(url, "SELECT min(floors) FROM building") == 1
    assert scalar(url, "SELECT max(floors) FROM building") == 38
    assert scalar(url, "SELECT count(*) FROM building WHERE height <> 3.0 * floors") == 0
    assert scalar(url, "SELECT count(*) FROM building WHERE h3_r9 IS NULL OR loc IS NULL") == 0
    run = scalar(url, "SELECT counts FROM import_run ORDER BY id DESC LIMIT 1")
    assert run["inserted"] == 23_193 and run["repaired"] == 2


def test_hefei_districts_and_bd09_accidents_in_their_district(url):
    settings = Settings()
    districts = shared_data("hefei-admin", "hefei_districts_amap_wgs84.geojson")
    report = import_file(url, districts, "areas", settings, level="district",
                         mapping={"id": "district_adcode", "name": "district_name",
                                  "code": "district_adcode"})  # fmt: skip
    assert report.counts["inserted"] == 9
    assert scalar(url, "SELECT name FROM area WHERE code = '340104'") == "蜀山区"
    assert scalar(url, "SELECT count(*) FROM area WHERE level = 'district' AND depth = 1") == 9

    accidents = shared_data("hefei-traffic-accidents", "hefei_accident_locations.csv")
    report = import_file(url, accidents, "events", settings, crs="bd09",
                         mapping={"lon": "lng_bd09", "lat": "lat_bd09", "title": "location_desc",
                                  "description": "district"},
                         constants={"category": "traffic_accident"})  # fmt: skip
    assert report.crs == "bd09"
    assert report.counts["inserted"] == 4_714
    with get_engine(url).connect() as conn:
        labelled, inside = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE a.name = e.description) FROM event e "
                "LEFT JOIN area a ON a.id = e.area_id "
                "WHERE e.description IN (SELECT name FROM area)"
            )
        ).one()
    assert labelled == 4_575  # the rest are labelled 高速 (expressways) or 市辖区
    # The same share as the source's own published WGS84 conversion on these polygons
    # (SOURCE.md: 99.2 % inside the AMap boundaries).
    assert inside / labelled == pytest.approx(reference_share(url, accidents), abs=0.001)
    assert inside / labelled >= 0.99


def reference_share(url: str, accidents) -> float:
    """Share of labelled accidents inside their district using the file's lng/lat_wgs84."""
    import pandas as pd
    import shapely

    with get_engine(url).connect() as conn:
        areas = dict(conn.execute(text("SELECT name, ST_AsBinary(geom) FROM area")).all())
    polys = {name: shapely.from_wkb(bytes(wkb)) for name, wkb in areas.items()}
    df = pd.read_csv(accidents)
    df = df[df["district"].isin(polys)]
    hits = [
        polys[d].covers(shapely.Point(x, y))
        for d, x, y in zip(df["district"], df["lng_wgs84"], df["lat_wgs84"], strict=True)
    ]
    return sum(hits) / len(hits)


def test_sf311_cases_as_events(url):
    sf = Settings(city_extent=(-122.53, 37.69, -122.35, 37.84), city_name="San Francisco")
    path = shared_data("sf311-sample", "sf311_cases_sample_2008_2016.csv")
    report = import_file(url, path, "events", sf, timezone="America/Los_Angeles",
                         mapping={"id": "CaseID", "title": "Request.Type",
                                  "description": "Request.Details"})  # fmt: skip
    assert report.counts == {**report.counts, "read": 4_984, "inserted": 4_984, "rejected": 0}
    assert any("no CRS" in n for n in report.notes)
    assert scalar(url, "SELECT count(*) FROM event") == 4_984
    assert scalar(url, "SELECT count(*) FROM event WHERE status = 'closed'") == 4_762
    assert scalar(url, "SELECT count(*) FROM event WHERE status = 'reported'") == 222
    assert scalar(url, "SELECT count(DISTINCT category) FROM event") == 26
    assert (
        scalar(url, "SELECT count(*) FROM event WHERE category = 'Street and Sidewalk Cleaning'")
        == 1_758
    )
    with get_engine(url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT category, title, to_char(reported_at AT TIME ZONE 'America/Los_Angeles', "
                "'YYYY-MM-DD HH24:MI'), to_char(closed_at AT TIME ZONE 'America/Los_Angeles', "
                "'YYYY-MM-DD HH24:MI'), ST_Y(geom), ST_X(geom) "
                "FROM event WHERE source_id = '1757188'"
            )
        ).one()
    expected = ("Street Defects", "Utility_Excavation", "2012-12-04 15:21", "2012-12-06 04:39")
    assert tuple(row[:4]) == expected
    assert (row[4], row[5]) == (pytest.approx(37.797838468), pytest.approx(-122.446243791))


def test_helsinki_osm_buildings_and_roads_match_ogrinfo(url):
    helsinki = Settings(city_extent=(24.80, 60.10, 25.10, 60.25), city_name="Helsinki")
    path = shared_data("osm-sample-pbf", "Helsinki.osm.pbf")
    tagged = ogr_count(path, "SELECT COUNT(*) FROM multipolygons WHERE building IS NOT NULL")
    with_area = ogr_count(
        path,
        "SELECT COUNT(*) FROM multipolygons WHERE building IS NOT NULL AND ST_Area(GEOMETRY) > 0",
        dialect="SQLite",
    )
    roads = ogr_count(path, "SELECT COUNT(*) FROM lines WHERE highway IS NOT NULL")
    report = import_file(url, path, "buildings", helsinki)
    assert report.source == "Helsinki"
    # every building with an area is stored; the rest were cut to nothing by the extract's edge
    assert scalar(url, "SELECT count(*) FROM building") == with_area == report.counts["inserted"]
    assert report.counts["inserted"] + report.counts["skipped"] == tagged
    assert scalar(url, "SELECT bool_and(ST_IsValid(geom)) FROM building") is True
    assert scalar(url, "SELECT count(*) FROM building WHERE source_id LIKE 'way/%'") > 0

    report = import_file(url, path, "roads", helsinki)
    assert scalar(url, "SELECT count(*) FROM road") == roads == report.counts["inserted"]
    assert scalar(url, "SELECT count(*) FROM road WHERE kind = 'primary'") == ogr_count(
        path, "SELECT COUNT(*) FROM lines WHERE highway IN ('primary', 'primary_link')"
    )

    report = import_file(url, path, "facilities", helsinki)
    assert scalar(url, "SELECT count(*) FROM facility") == report.counts["inserted"] > 0
