"""The own base map's API (``/api/basemap/shapes`` and ``/labels``) against a real PostGIS: which
names and shapes a view gets at each zoom, in each language, within the viewer's scope."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box, shape
from sqlalchemy import text

from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.query import BBox
from layers import cartography
from layers.cartography import BaseQuery
from tests.conftest import api_client

ENV = "ST_MakeEnvelope(:a, :b, :c, :d, 4326)"
NAMED_ROADS_IN_VIEW = (
    "SELECT DISTINCT name FROM road WHERE name IS NOT NULL AND kind = ANY(:kinds) "
    f"AND ST_Length(ST_Intersection(geom, {ENV})) > 0"
)


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url)


@pytest.fixture(scope="module")
def city(demo_url) -> tuple[float, float, float, float]:
    """The city's box, a little larger."""
    with get_engine(demo_url).connect() as conn:
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                "(SELECT ST_Extent(geom) AS e FROM area) AS x"
            )
        ).one()
    return (x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01)


@pytest.fixture(scope="module")
def middle(demo_url) -> tuple[float, float, float, float]:
    """A street-zoom view (about 1 km across) around the middle of the roads."""
    with get_engine(demo_url).connect() as conn:
        x, y = conn.execute(
            text(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) "
                "AS c FROM road) AS x"
            )
        ).one()
    return (x - 0.006, y - 0.004, x + 0.006, y + 0.004)


def _rows(url: str, sql: str, bbox, **params) -> set:
    a, b, c, d = bbox
    with get_engine(url).connect() as conn:
        return {tuple(r) for r in conn.execute(text(sql), dict(a=a, b=b, c=c, d=d, **params))}


def _get(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.data
    return json.loads(response.data)


def _param(bbox) -> str:
    return ",".join(f"{v:.6f}" for v in bbox)


def _names(body: dict, role: str) -> list[str]:
    return [f["properties"]["name"] for f in body["features"] if f["properties"]["role"] == role]


def _area_names(url: str, bbox, level: str, column: str = "name") -> set[str]:
    sql = f"SELECT {column} FROM area WHERE level = :level AND ST_Intersects(loc, {ENV})"
    return {r[0] for r in _rows(url, sql, bbox, level=level)}


def test_zoomed_out_only_district_names_and_no_road_names(client, demo_url, city):
    body = _get(client, f"/api/basemap/labels?bbox={_param(city)}&zoom=11")
    kinds = {f["properties"]["kind"] for f in body["features"]}
    assert kinds == {"district"}
    assert sorted(_names(body, "area")) == sorted(_area_names(demo_url, city, "district"))


@pytest.mark.parametrize(("zoom", "level"), [(13.5, "street"), (15.2, "community")])
def test_each_zoom_band_names_one_level(client, demo_url, city, zoom, level):
    body = _get(client, f"/api/basemap/labels?bbox={_param(city)}&zoom={zoom}")
    assert sorted(_names(body, "area")) == sorted(_area_names(demo_url, city, level))
    areas = [f for f in body["features"] if f["properties"]["role"] == "area"]
    assert {f["properties"]["kind"] for f in areas} == {level}
    assert len(_names(body, "area")) > 1


def test_street_zoom_names_each_road_once_inside_the_view(client, demo_url, middle):
    body = _get(client, f"/api/basemap/labels?bbox={_param(middle)}&zoom=16")
    roads = _names(body, "road")
    kinds = list(cartography.road_label_kinds(16))
    expected = {r[0] for r in _rows(demo_url, NAMED_ROADS_IN_VIEW, middle, kinds=kinds)}
    assert roads and len(roads) == len(set(roads))
    assert set(roads) == expected
    view = box(*middle)
    for feature in body["features"]:
        assert view.covers(shape(feature["geometry"])), feature
    bearings = [
        f["properties"]["angle"] for f in body["features"] if f["properties"]["role"] == "road"
    ]
    assert all(0 <= a <= 360 for a in bearings)


def test_english_names_are_the_areas_english_names(client, demo_url, middle):
    body = _get(client, f"/api/basemap/labels?bbox={_param(middle)}&zoom=16&lang=en")
    assert sorted(_names(body, "area")) == sorted(
        _area_names(demo_url, middle, "community", "coalesce(name_en, name)")
    )
    assert all(n.isascii() for n in _names(body, "area"))


def test_a_grid_worker_gets_the_names_around_their_grid_only(demo_url, city):
    with get_engine(demo_url).connect() as conn:
        grid, community = conn.execute(
            text(
                "SELECT g.id, c.name FROM area g JOIN area c ON c.id = g.parent_id "
                "WHERE g.level = 'grid' ORDER BY g.id LIMIT 1"
            )
        ).one()
        touching = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT a.name FROM area a, area g WHERE g.id = :g "
                    "AND ST_Intersects(a.geom, g.geom)"
                ),
                {"g": grid},
            )
        }
    query = BaseQuery(BBox(*city), 15.5)
    everyone = _names(json.loads(cartography.labels(demo_url, query, Viewer("admin"))), "area")
    worker = Viewer("grid_worker", area_ids=(grid,))
    mine = _names(json.loads(cartography.labels(demo_url, query, worker)), "area")
    assert community in mine
    assert set(mine) <= touching
    assert len(mine) < len(everyone)
    shapes = json.loads(cartography.shapes(demo_url, query, worker))
    blocks = [f for f in shapes["features"] if f["properties"]["role"] == "block"]
    assert [f["properties"]["id"] for f in blocks] == [grid]


def test_shapes_by_zoom_come_from_the_store(client, demo_url, city, middle):
    far = _get(client, f"/api/basemap/shapes?bbox={_param(city)}&zoom=12")
    assert {f["properties"]["role"] for f in far["features"]} == {"road"}
    assert {f["properties"]["kind"] for f in far["features"]} <= set(cartography.MAIN_ROADS)
    near = _get(client, f"/api/basemap/shapes?bbox={_param(middle)}&zoom=16")
    by_role: dict[str, int] = {}
    for f in near["features"]:
        by_role[f["properties"]["role"]] = by_role.get(f["properties"]["role"], 0) + 1
    grids = _rows(demo_url, f"SELECT id FROM area WHERE level = 'grid' AND geom && {ENV}", middle)
    shelters = _rows(
        demo_url, f"SELECT id FROM facility WHERE kind = 'shelter' AND geom && {ENV}", middle
    )
    roads = _rows(demo_url, f"SELECT id FROM road WHERE geom && {ENV}", middle)
    assert by_role.get("block", 0) == len(grids) > 0
    assert by_role.get("open", 0) == len(shelters)
    assert by_role.get("road", 0) == len(roads) > 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3&zoom=12", "bbox"),
        ("bbox=117,31,117.1,31.1&zoom=x", "zoom"),
        ("bbox=117,31,117.1,31.1&zoom=12&lang=fr", "lang"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, query, field):
    response = client.get(f"/api/basemap/labels?{query}")
    assert response.status_code == 400
    assert field in json.loads(response.data)["error"]
