"""The viewport data API against a real PostGIS: bbox filtering, caps, simplification, errors."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import h3
import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import text

from geodata import city_time
from geodata.cells import h3_cell
from geodata.engine import get_engine
from geodata.store import refresh_resident_stats
from layers.registry import LAYERS
from tests.conftest import api_client, sql_rows, sql_scalar
from tests.integration import sdc_truth


@pytest.fixture(scope="module")
def city_url(demo_url) -> str:
    """The small demo city of the test session."""
    return demo_url


@pytest.fixture(scope="module")
def client(city_url):
    return api_client(city_url, max_features=5000)


def _get(client, path: str):
    response = client.get(path)
    return response.status_code, json.loads(response.data)


def _ids(url: str, sql: str, **params) -> set[int]:
    with get_engine(url).connect() as conn:
        return {row[0] for row in conn.execute(text(sql), params)}


def _bbox_around_first_building(url: str, half: float) -> tuple[float, float, float, float]:
    x, y = (
        sql_scalar(url, "SELECT ST_X(loc) FROM building ORDER BY id LIMIT 1"),
        sql_scalar(url, "SELECT ST_Y(loc) FROM building ORDER BY id LIMIT 1"),
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
    total = sql_scalar(city_url, "SELECT count(*) FROM building")
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
    client = api_client(city_url, max_features=3)
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
    stored = sql_scalar(
        city_url,
        "SELECT sum(ST_NPoints(geom)) FROM area WHERE level = 'district' AND id = ANY(:ids)",
        ids=[f["id"] for f in near["features"]],
    )
    assert _vertices(far) < stored


def test_buildings_zoomed_out_are_counted_in_h3_cells(client, city_url):
    bbox = _bbox_around_first_building(city_url, 0.05)
    status, body = _get(client, f"/api/layers/buildings?bbox={_param(bbox)}&zoom=13")
    assert status == 200 and body["aggregate"]["h3_resolution"] == 9
    in_box = sql_scalar(
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
    status, body = _get(client, "/api/layers/people?bbox=117.1,31.8,117.3,31.9&zoom=12")
    assert status == 404
    assert "people" in body["error"] and "residents" in body["error"]


# --- issue 4: every layer, aggregates, time window, residents, wedges ---------------------------

CITY_BBOX = "117.0,31.6,117.6,32.1"
WINDOW_SQL = (
    "SELECT count(*) FROM event WHERE ST_Intersects(geom, ST_MakeEnvelope(117.0, 31.6, 117.6, "
    "32.1, 4326)) AND (reported_at AT TIME ZONE 'Asia/Shanghai')::date "
    "BETWEEN CAST(:a AS date) AND CAST(:b AS date)"
)
"""Incidents of the city's days ``a`` to ``b`` (the map's ``time`` dates are Shanghai days)."""
PERSON_KEYS = {"name", "id_hash", "phone", "sex", "birth_year", "house_id", "resident_id"}
AGGREGATE_KEYS = {"aggregate", "h3", "building", "count", "tagged", "share", "suppressed"}
AGGREGATE_KEYS |= {"value", "level", "metric"}


def _window(url: str, days: int = 30) -> tuple[str, str]:
    last = sql_scalar(url, "SELECT max(reported_at AT TIME ZONE 'Asia/Shanghai')::date FROM event")
    first = sql_scalar(url, "SELECT (CAST(:d AS date) - :n)", d=last, n=days - 1)
    return first.isoformat(), last.isoformat()


@pytest.mark.parametrize("layer", [layer.id for layer in LAYERS])
@pytest.mark.parametrize("zoom", [10, 13, 16])
def test_every_layer_answers_every_zoom(client, layer, zoom):
    status, body = _get(client, f"/api/layers/{layer}?bbox={CITY_BBOX}&zoom={zoom}&limit=200")
    assert status == 200, body
    assert body["type"] == "FeatureCollection" and body["layer"] == layer
    assert body["count"] == len(body["features"]) <= 200


def test_incidents_are_cells_zoomed_out_and_points_zoomed_in(client, city_url):
    first, last = _window(city_url)
    time = f"&time={first}/{last}"
    _, out = _get(client, f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=11{time}")
    _, near = _get(client, f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=16{time}")
    assert out["aggregate"] == {"by": "h3", "h3_resolution": 7, "property": "count"}
    assert all(f["geometry"]["type"] == "Polygon" for f in out["features"])
    assert "aggregate" not in near and near["count"] > 0
    assert all(f["geometry"]["type"] == "Point" for f in near["features"])
    expected = sql_scalar(city_url, WINDOW_SQL, a=first, b=last)
    assert sum(f["properties"]["count"] for f in out["features"]) == near["count"] == expected


def test_time_window_counts_equal_a_direct_sql_count(client, city_url):
    first, last = _window(city_url, days=7)
    _, body = _get(client, f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=15&time={first}/{last}")
    assert body["time"][0] == f"{first}T00:00:00+08:00"  # the city's midnight
    expected = sql_scalar(city_url, WINDOW_SQL, a=first, b=last)
    assert 0 < body["count"] == expected
    for feature in body["features"]:
        at = datetime.fromisoformat(feature["properties"]["reported_at"])
        assert first <= city_time.local(at).date().isoformat() <= last
    _, heat = _get(
        client, f"/api/layers/incident_heatmap?bbox={CITY_BBOX}&zoom=12&time={first}/{last}"
    )
    assert sum(f["properties"]["weight"] for f in heat["features"]) == expected


def test_incident_cap_reports_the_total(client, city_url):
    first, last = _window(city_url, days=90)
    path = f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=16&time={first}/{last}&limit=10"
    _, body = _get(client, path)
    assert body["capped"] is True and body["count"] == 10
    assert body["total"] == sql_scalar(city_url, WINDOW_SQL, a=first, b=last)


def test_status_and_category_filters(client, city_url):
    _, body = _get(client, f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=16&status=reported,closed")
    assert {f["properties"]["status"] for f in body["features"]} <= {"reported", "closed"}
    expected = sql_scalar(
        city_url, "SELECT count(*) FROM event WHERE status IN ('reported','closed')"
    )
    assert body.get("total", body["count"]) == expected
    _, alarms = _get(client, f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=16&category=alarm")
    assert alarms["count"] > 0
    assert all(f["properties"]["category"].startswith("alarm.") for f in alarms["features"])
    _, smoke = _get(client, f"/api/layers/sensors?bbox={CITY_BBOX}&zoom=16&kind=smoke")
    assert smoke["count"] == sql_scalar(
        city_url, "SELECT count(*) FROM device WHERE kind = 'smoke'"
    )


def test_selected_area_limits_the_other_layers(client, city_url):
    # the district with the fewest incidents among those with any (the demo's detail lies in a
    # few of the nine)
    district = sql_scalar(
        city_url,
        "SELECT a.id FROM area a JOIN event e ON ST_Intersects(e.loc, a.geom) "
        "WHERE a.level = 'district' GROUP BY a.id ORDER BY count(*), a.id LIMIT 1",
    )
    _, body = _get(client, f"/api/layers/incidents?bbox={CITY_BBOX}&zoom=16&area={district}")
    inside = sql_scalar(
        city_url,
        "SELECT count(*) FROM event e, area a WHERE a.id = :d AND ST_Intersects(e.loc, a.geom)",
        d=district,
    )
    assert 0 < body["count"] == inside < sql_scalar(city_url, "SELECT count(*) FROM event")


@pytest.mark.parametrize("zoom", [10, 12, 14, 16, 18])
@pytest.mark.parametrize("care", ["", "&care=elderly_alone"])
def test_residents_are_never_individual(client, city_url, zoom, care):
    status, body = _get(client, f"/api/layers/residents?bbox={CITY_BBOX}&zoom={zoom}{care}")
    assert status == 200 and body["count"] > 0
    person_ids = _ids(city_url, "SELECT id FROM resident")
    for feature in body["features"]:
        props = feature["properties"]
        assert props["aggregate"] is True and set(props) <= AGGREGATE_KEYS
        assert not set(props) & PERSON_KEYS
        assert isinstance(feature["id"], str) and feature["id"] not in person_ids
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert props["count"] >= 5
        if care:
            assert props.get("tagged") is None or props["tagged"] == 0 or props["tagged"] >= 5
    assert body["aggregate"]["min_count"] == 5


@pytest.fixture
def three_people_alone(city_url):
    """Three residents in an H3 cell of their own (removed again after the test)."""
    lon, lat = 117.2400, 31.8400
    cells = {"r7": h3_cell(lon, lat, 7), "r9": h3_cell(lon, lat, 9)}
    insert = text(
        "INSERT INTO resident (source, source_id, geom, loc, h3_r7, h3_r9, sex, birth_year) "
        "SELECT 'test', 'alone-' || i, ST_SetSRID(ST_MakePoint(:x, :y), 4326), "
        "ST_SetSRID(ST_MakePoint(:x, :y), 4326), :r7, :r9, 'F', 1940 FROM generate_series(1, 3) i"
    )
    with get_engine(city_url).begin() as conn:
        conn.execute(insert, {"x": lon, "y": lat, **cells})
    refresh_resident_stats(city_url)  # writers of residents refresh the counts
    yield h3.int_to_str(cells["r9"])
    with get_engine(city_url).begin() as conn:
        conn.execute(text("DELETE FROM resident WHERE source = 'test'"))
    refresh_resident_stats(city_url)


def test_resident_cells_are_sums_of_shown_buildings_and_small_groups_are_suppressed(
    client, city_url, three_people_alone
):
    """A cell is the sum of its shown leaves (docs/privacy.md): the three people without a
    building are in no cell, and every cell equals the store's sum of its buildings of 5+."""
    _, body = _get(client, f"/api/layers/residents?bbox={CITY_BBOX}&zoom=14")
    assert body["aggregate"]["h3_resolution"] == 9
    own = sql_rows(city_url, "SELECT count(*) FROM resident WHERE source = 'test'")
    assert own == [(3,)]
    expected = {h3.int_to_str(c): n for c, (n, _) in sdc_truth.cell_sums(city_url).items()}
    assert three_people_alone not in expected
    assert {f["properties"]["h3"]: f["properties"]["count"] for f in body["features"]} == expected
    _, hexes = _get(client, f"/api/layers/hexagons?bbox={CITY_BBOX}&zoom=14&of=residents")
    assert {f["properties"]["h3"]: f["properties"]["count"] for f in hexes["features"]} == expected


def test_care_share_per_cell(client, city_url):
    path = f"/api/layers/hexagons?bbox={CITY_BBOX}&zoom=12&of=residents&metric=share&care=elderly"
    status, body = _get(client, path)
    assert status == 200 and body["aggregate"]["property"] == "share"
    shown = [f["properties"] for f in body["features"] if f["properties"].get("tagged")]
    assert shown and all(p["share"] == round(p["tagged"] / p["count"], 4) for p in shown)
    status, body = _get(client, f"/api/layers/hexagons?bbox={CITY_BBOX}&zoom=12&metric=share")
    assert status == 400 and body["field"] == "metric"


def test_hexagon_density_is_count_per_square_kilometre(client):
    _, body = _get(
        client, f"/api/layers/hexagons?bbox={CITY_BBOX}&zoom=14&of=organisations&metric=density"
    )
    area = body["aggregate"]["cell_area_km2"]
    for f in body["features"]:
        assert f["properties"]["value"] == pytest.approx(f["properties"]["count"] / area, rel=1e-3)


def test_camera_wedges_are_polygons_with_the_cameras_opening_angle(client, city_url):
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    _, body = _get(client, f"/api/layers/cameras?bbox={CITY_BBOX}&zoom=17")
    assert body["count"] == sql_scalar(
        city_url, "SELECT count(*) FROM device WHERE kind = 'camera'"
    )
    checked = 0
    for feature in body["features"]:
        p = feature["properties"]
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]
        assert shape(feature["geometry"]).is_valid
        if p["fov"] >= 360:
            continue
        (ax, ay), (bx, by), (cx, cy) = ring[0], ring[1], ring[-2]
        left, _, d1 = geod.inv(ax, ay, bx, by)
        right, _, d2 = geod.inv(ax, ay, cx, cy)
        opening = (right - left) % 360
        assert opening == pytest.approx(p["fov"], abs=1.0)
        assert ((left + opening / 2) % 360) == pytest.approx(p["heading"] % 360, abs=1.0)
        assert d1 == pytest.approx(p["range_m"], rel=0.02) and d2 == pytest.approx(
            p["range_m"], rel=0.02
        )
        checked += 1
    assert checked > 10


def test_risk_forecast_is_an_empty_slot_with_a_note(client):
    _, body = _get(client, f"/api/layers/risk_forecast?bbox={CITY_BBOX}&zoom=12")
    assert body["features"] == [] and body["pending"] is True
    assert body["note"]["zh"] and body["note"]["en"]


def test_answers_are_gzipped_for_clients_that_accept_it(client):
    path = f"/api/layers/buildings?bbox={CITY_BBOX}&zoom=16"
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.data) < len(plain.data) / 3
    assert json.loads(gzip.decompress(packed.data)) == json.loads(plain.data)
    assert plain.headers["Server-Timing"].startswith("db;dur=")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("incidents?bbox=117,31,118,32&zoom=12&time=2026-02-01/2026-01-01", "time"),
        ("incidents?bbox=117,31,118,32&zoom=12&status=lost", "status"),
        ("buildings?bbox=117,31,118,32&zoom=12&time=2026-01-01/2026-01-02", "time"),
        ("buildings?bbox=117,31,118,32&zoom=12&colour=red", "colour"),
        ("incidents?bbox=117,31,118,32&zoom=12&area=x", "area"),
        ("hexagons?bbox=117,31,118,32&zoom=12&of=secrets", "of"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(client, query, field):
    status, body = _get(client, f"/api/layers/{query}")
    assert status == 400 and body["field"] == field
