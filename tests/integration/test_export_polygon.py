"""The ``polygon`` parameter of ``/api/export``: features intersecting a drawn polygon, exactly
the SQL count, read back by GDAL; bad polygons refused with 400 naming the parameter."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pyogrio
import pytest
from sqlalchemy import text

from geodata.engine import get_engine
from geodata.exports.query import MAX_POLYGON_BYTES, MAX_POLYGON_VERTICES
from tests.conftest import api_client, sql_scalar


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url, "planner")


@pytest.fixture(scope="module")
def polygon(demo_url) -> dict:
    """A triangle around the middle of the city's buildings (not a box: a bbox would do)."""
    minx, miny, maxx, maxy = (
        sql_scalar(demo_url, f"SELECT {f}(ST_Extent(geom)) FROM building")
        for f in ("ST_XMin", "ST_YMin", "ST_XMax", "ST_YMax")
    )
    cx, cy, dx, dy = (minx + maxx) / 2, (miny + maxy) / 2, (maxx - minx) / 4, (maxy - miny) / 4
    ring = [[cx - dx, cy - dy], [cx + dx, cy - dy], [cx, cy + dy], [cx - dx, cy - dy]]
    return {"type": "Polygon", "coordinates": [ring]}


def _url(layer: str, fmt: str, polygon: object, **extra: str) -> str:
    text_ = polygon if isinstance(polygon, str) else json.dumps(polygon)
    query = urllib.parse.urlencode({"format": fmt, "polygon": text_, **extra})
    return f"/api/export/{layer}?{query}"


def _sql_count(url: str, table: str, polygon: dict, extra: str = "", **params) -> int:
    return sql_scalar(
        url,
        f"SELECT count(*) FROM {table} t WHERE ST_Intersects(t.geom, "
        f"ST_SetSRID(ST_GeomFromGeoJSON(:p), 4326)) {extra}",
        p=json.dumps(polygon),
        **params,
    )


@pytest.mark.parametrize(("layer", "table"), [("buildings", "building"), ("devices", "device")])
def test_polygon_export_holds_exactly_the_intersecting_features(
    client, demo_url, polygon, tmp_path: Path, layer, table
):
    expected = _sql_count(demo_url, table, polygon)
    everything = sql_scalar(demo_url, f"SELECT count(*) FROM {table}")
    assert 0 < expected < everything
    response = client.get(_url(layer, "gpkg", polygon))
    assert response.status_code == 200, response.get_json()
    assert int(response.headers["X-Feature-Count"]) == expected
    path = tmp_path / f"{layer}.gpkg"
    path.write_bytes(response.data)
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == expected
    assert frame.crs.to_epsg() == 4326


def test_polygon_combines_with_an_area(client, demo_url, polygon):
    """Per district: the polygon's features in that district's subtree; together, all of them."""
    with get_engine(demo_url).connect() as conn:
        districts = conn.execute(
            text("SELECT id, code FROM area WHERE level = 'district' ORDER BY code")
        ).all()
    subtree = (
        "AND t.area_id IN (WITH RECURSIVE s AS (SELECT id FROM area WHERE id = :a "
        "UNION SELECT a.id FROM area a JOIN s ON a.parent_id = s.id) SELECT id FROM s)"
    )
    got = {}
    for area_id, code in districts:
        response = client.get(_url("buildings", "geojson", polygon, area=code))
        assert response.status_code == 200
        got[code] = len(json.loads(response.data)["features"])
        assert got[code] == _sql_count(demo_url, "building", polygon, subtree, a=area_id)
    assert sum(got.values()) == _sql_count(demo_url, "building", polygon)
    assert sum(1 for n in got.values() if n) >= 1


def _ring(n: int) -> list[list[float]]:
    """A closed ring of ``n`` vertices on a circle around the city (2 decimals: short JSON)."""
    import math

    pts = [
        [
            round(117.25 + 0.5 * math.cos(2 * math.pi * i / n), 2),
            round(31.85 + 0.5 * math.sin(2 * math.pi * i / n), 2),
        ]
        for i in range(n)
    ]
    return [*pts, pts[0]]


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[117.2, 31.8], [117.3, 31.9], [117.3, 31.8], [117.2, 31.9], [117.2, 31.8]]],
}


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"type": "Point", "coordinates": [117.2, 31.8]}), "Polygon or MultiPolygon"),
        (json.dumps({"type": "Polygon", "coordinates": "x"}), "unreadable coordinates"),
        (json.dumps(BOWTIE), "invalid polygon: Self-intersection"),
        (
            json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [[[31.8, 117.2], [31.9, 117.3], [31.8, 117.3], [31.8, 117.2]]],
                }
            ),
            "lon/lat degrees",
        ),
        (
            json.dumps({"type": "Polygon", "coordinates": [_ring(MAX_POLYGON_VERTICES + 5)]}),
            f"more than {MAX_POLYGON_VERTICES} vertices",
        ),
        (" " * (MAX_POLYGON_BYTES + 1), "too large"),
    ],
    ids=["not-json", "point", "bad-coordinates", "bowtie", "lat-lon", "vertices", "bytes"],
)
def test_bad_polygons_get_400_naming_the_parameter(client, polygon, message):
    response = client.get(_url("buildings", "csv", polygon))
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "polygon"
    assert body["error"].startswith("polygon:") and message in body["error"], body


def test_a_feature_wrapper_is_accepted(client, demo_url, polygon):
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    response = client.get(_url("buildings", "csv", feature))
    assert response.status_code == 200
    assert int(response.headers["X-Feature-Count"]) == _sql_count(demo_url, "building", polygon)
