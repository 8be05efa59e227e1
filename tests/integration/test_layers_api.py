"""The viewport data API against a real PostGIS: bbox filtering, caps, simplification, errors."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import text

from app import create_app
from geodata.engine import get_engine
from geodata.settings import Settings
from layers.registry import LAYERS


@pytest.fixture(scope="module")
def city_url(demo_url) -> str:
    """The small demo city of the test session."""
    return demo_url


@pytest.fixture(scope="module")
def client(city_url):
    app = create_app(Settings(database_url=city_url, max_features=5000), city_url)
    return app.server.test_client()


def _get(client, path: str):
    response = client.get(path)
    return response.status_code, json.loads(response.data)


def _scalar(url: str, sql: str, **params):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _ids(url: str, sql: str, **params) -> set[int]:
    with get_engine(url).connect() as conn:
        return {row[0] for row in conn.execute(text(sql), params)}


def _bbox_around_first_building(url: str, half: float) -> tuple[float, float, float, float]:
    x, y = (
        _scalar(url, "SELECT ST_X(loc) FROM building ORDER BY id LIMIT 1"),
        _scalar(url, "SELECT ST_Y(loc) FROM building ORDER BY id LIMIT 1"),
    )
    return (x - half, y - half, x + half, y + half)


def _param(bbox) -> str:
    return ",".join(f"{v:.6f}" for v in bbox)


def _vertices(collection: dict) -> int:
    return sum(shapely.get_num_coordinates(shape(f["geometry"])) for f in collection["features"])


INTERSECTING = (
    "SELECT id FROM building WHERE ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))"
)


def test_layer_list_names_every_layer_in_both_languages(client):
    status, body = _get(client, "/api/layers")
    assert status == 200
    assert [layer["id"] for layer in body["layers"]] == [layer.id for layer in LAYERS]
    for layer in body["layers"]:
        assert layer["title"]["zh"] and layer["title"]["en"]
        assert layer["legend"] and all(item["color"].startswith("#") for item in layer["legend"])
    buildings = next(layer for layer in body["layers"] if layer["id"] == "buildings")
    assert {item["value"] for item in buildings["legend"]} >= {"residential", "commercial"}


def test_buildings_are_exactly_those_intersecting_the_bbox(client, city_url):
    bbox = _bbox_around_first_building(city_url, 0.004)
    status, body = _get(client, f"/api/layers/buildings?bbox={_param(bbox)}&zoom=17")
    assert status == 200
    assert body["type"] == "FeatureCollection" and body["capped"] is False
    expected = _ids(city_url, INTERSECTING, a=bbox[0], b=bbox[1], c=bbox[2], d=bbox[3])
    returned = {f["id"] for f in body["features"]}
    assert returned == expected and len(returned) > 0
    total = _scalar(city_url, "SELECT count(*) FROM building")
    assert total > len(returned), "some buildings must lie outside the bbox"
    window = box(*bbox).buffer(1e-5)
    for feature in body["features"]:
        assert shape(feature["geometry"]).intersects(window)
        assert set(feature["properties"]) >= {"name", "use", "floors"}


def test_area_layers_keep_their_own_level(client, city_url):
    bbox = _bbox_around_first_building(city_url, 0.05)
    status, body = _get(client, f"/api/layers/grids?bbox={_param(bbox)}&zoom=14")
    assert status == 200 and body["count"] > 0
    ids = [f["id"] for f in body["features"]]
    levels = _ids(city_url, "SELECT DISTINCT level FROM area WHERE id = ANY(:ids)", ids=ids)
    assert levels == {"grid"}


def test_many_features_are_capped_at_the_limit_with_the_total(client, city_url):
    bbox = _bbox_around_first_building(city_url, 0.05)
    expected = _ids(city_url, INTERSECTING, a=bbox[0], b=bbox[1], c=bbox[2], d=bbox[3])
    assert len(expected) > 5
    status, body = _get(client, f"/api/layers/buildings?bbox={_param(bbox)}&zoom=16&limit=5")
    assert status == 200
    assert body["capped"] is True
    assert body["count"] == len(body["features"]) == 5
    assert body["total"] == len(expected)
    assert {f["id"] for f in body["features"]} <= expected


def test_settings_max_features_caps_every_request(city_url):
    app = create_app(Settings(database_url=city_url, max_features=3), city_url)
    client = app.server.test_client()
    bbox = _param(_bbox_around_first_building(city_url, 0.05))
    status, body = _get(client, f"/api/layers/buildings?bbox={bbox}&zoom=16")
    assert status == 200 and body["capped"] is True and len(body["features"]) == 3
    status, body = _get(client, f"/api/layers/buildings?bbox={bbox}&zoom=16&limit=4")
    assert status == 400 and body["field"] == "limit"


def test_polygons_are_simplified_when_zoomed_out(client, city_url):
    bbox = _param(_bbox_around_first_building(city_url, 0.2))
    _, near = _get(client, f"/api/layers/districts?bbox={bbox}&zoom=17")
    _, far = _get(client, f"/api/layers/districts?bbox={bbox}&zoom=9")
    assert near["count"] == far["count"] > 0
    assert _vertices(far) < _vertices(near) * 0.8
    stored = _scalar(
        city_url,
        "SELECT sum(ST_NPoints(geom)) FROM area WHERE level = 'district' AND id = ANY(:ids)",
        ids=[f["id"] for f in near["features"]],
    )
    assert _vertices(far) < stored


def test_buildings_zoomed_out_are_counted_in_h3_cells(client, city_url):
    bbox = _bbox_around_first_building(city_url, 0.05)
    status, body = _get(client, f"/api/layers/buildings?bbox={_param(bbox)}&zoom=13")
    assert status == 200 and body["aggregate"]["h3_resolution"] == 9
    in_box = _scalar(
        city_url,
        "SELECT count(*) FROM building WHERE geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)",
        a=bbox[0],
        b=bbox[1],
        c=bbox[2],
        d=bbox[3],
    )
    assert sum(f["properties"]["count"] for f in body["features"]) == in_box
    assert all(f["geometry"]["type"] == "Polygon" for f in body["features"])


def test_buildings_below_min_zoom_are_an_empty_collection_with_a_note(client, city_url):
    bbox = _param(_bbox_around_first_building(city_url, 0.2))
    status, body = _get(client, f"/api/layers/buildings?bbox={bbox}&zoom=9")
    assert status == 200
    assert body["features"] == [] and "zoom" in body["note"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=a,b,c,d&zoom=12", "bbox"),
        ("bbox=117.1,31.8,117.3&zoom=12", "bbox"),
        ("bbox=117.3,31.8,117.1,31.9&zoom=12", "bbox"),
        ("bbox=100,20,140,50&zoom=12", "bbox"),
        ("bbox=117.1,31.8,117.3,95&zoom=12", "bbox"),
        ("bbox=117.1,31.8,117.3,nan&zoom=12", "bbox"),
        ("zoom=12", "bbox"),
        ("bbox=117.1,31.8,117.3,31.9&zoom=23", "zoom"),
        ("bbox=117.1,31.8,117.3,31.9&zoom=high", "zoom"),
        ("bbox=117.1,31.8,117.3,31.9", "zoom"),
        ("bbox=117.1,31.8,117.3,31.9&zoom=12&limit=0", "limit"),
    ],
)
def test_bad_input_is_a_400_saying_what_is_wrong(client, query, field):
    status, body = _get(client, f"/api/layers/districts?{query}")
    assert status == 400
    assert body["field"] == field and body["error"].startswith(f"{field}:")


def test_unknown_layer_is_a_404_listing_the_known_ones(client):
    status, body = _get(client, "/api/layers/residents?bbox=117.1,31.8,117.3,31.9&zoom=12")
    assert status == 404
    assert "residents" in body["error"] and "buildings" in body["error"]
