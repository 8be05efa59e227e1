"""OGC API – Features on the demo city: the JSON structure, paging, filters and errors, then
GDAL's OAPIF driver (ogrinfo, ogr2ogr) against the real app served on a free port."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pyogrio
import pytest
from sqlalchemy import text
from werkzeug.serving import make_server

from api.ogc import CONFORMANCE, CRS84, MAX_LIMIT
from app import create_app
from geodata.engine import get_engine
from geodata.settings import Settings
from layers.collections import COLLECTIONS
from tests.conftest import api_token, signed_in

GEOJSON = "application/geo+json"
EXPECTED = [s.id for s in COLLECTIONS.values()]
# Each collection's rows, independently of the provider's SQL.
COLLECTION_SQL = {
    "districts": "SELECT id FROM area WHERE level = 'district'",
    "grids": "SELECT id FROM area WHERE level = 'grid'",
    "buildings": "SELECT id FROM building",
    "houses": "SELECT id FROM house",
    "sensors": "SELECT id FROM device WHERE kind <> 'camera'",
    "cameras": "SELECT id FROM device WHERE kind = 'camera'",
    "incidents": "SELECT id FROM event",
}


@pytest.fixture(scope="module")
def app(demo_url):
    return create_app(Settings(database_url=demo_url), demo_url)


@pytest.fixture(scope="module")
def client(app, demo_url):
    return signed_in(app.server.test_client(), api_token(demo_url, "planner"))


def _ids(url: str, sql: str, **params) -> list[int]:
    with get_engine(url).connect() as conn:
        return [r[0] for r in conn.execute(text(sql), params)]


def _get(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.data[:300]
    return response.get_json(force=True)


def _rels(body: dict) -> dict[str, dict]:
    return {link["rel"]: link for link in body["links"]}


def _path(href: str) -> str:
    parsed = urlparse(href)
    return parsed.path + ("?" + parsed.query if parsed.query else "")


def test_landing_page_links_the_parts(client):
    response = client.get("/ogc")
    assert response.status_code == 200 and response.mimetype == "application/json"
    rels = _rels(response.get_json())
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    api = client.get(_path(rels["service-desc"]["href"]))
    assert api.status_code == 200 and api.get_json(force=True)["openapi"].startswith("3.0")
    assert _get(client, _path(rels["data"]["href"]))["collections"]


def test_conformance_declares_core_geojson_and_oas30(client):
    classes = _get(client, "/ogc/conformance?f=json")["conformsTo"]
    assert set(classes) == set(CONFORMANCE)
    assert all(any(c.endswith(f"/conf/{k}") for c in classes) for k in ("core", "geojson", "oas30"))


def test_collections_are_the_registry_layers_and_tables_without_residents(client, demo_url):
    body = _get(client, "/ogc/collections")
    ids = [c["id"] for c in body["collections"]]
    assert ids == EXPECTED
    assert "residents" not in ids and {"districts", "buildings", "houses"} <= set(ids)
    for c in body["collections"]:
        assert c["itemType"] == "feature" and c["title"]
        assert _rels(c)["items"]["type"] == GEOJSON
        if "extent" in c:
            assert c["extent"]["spatial"]["crs"] == CRS84
            minx, miny, maxx, maxy = c["extent"]["spatial"]["bbox"][0]
            assert 116 < minx <= maxx < 118.5 and 30.5 < miny <= maxy < 33
    one = _get(client, "/ogc/collections/buildings")
    assert one["id"] == "buildings" and "extent" in one


@pytest.mark.parametrize("collection", sorted(COLLECTION_SQL))
def test_number_matched_is_the_database_count(client, demo_url, collection):
    body = _get(client, f"/ogc/collections/{collection}/items?limit=5")
    assert body["numberMatched"] == len(_ids(demo_url, COLLECTION_SQL[collection]))
    assert body["numberReturned"] == len(body["features"]) == min(5, body["numberMatched"])


def test_next_links_walk_every_feature_once_and_prev_goes_back(client, demo_url):
    expected = _ids(demo_url, "SELECT id FROM building ORDER BY id")
    url, seen, pages = "/ogc/collections/buildings/items?limit=50", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == GEOJSON
        body = response.get_json(force=True)
        seen += [f["id"] for f in body["features"]]
        rels = _rels(body)
        if pages:
            assert "prev" in rels
        url = _path(rels["next"]["href"]) if "next" in rels else None
        pages += 1
    assert seen == expected and pages == -(-len(expected) // 50)
    page2 = _get(client, "/ogc/collections/buildings/items?limit=50&offset=50")
    assert [f["id"] for f in page2["features"]] == expected[50:100]
    prev = _get(client, _path(_rels(page2)["prev"]["href"]))
    assert [f["id"] for f in prev["features"]] == expected[:50]


def test_limit_defaults_to_100_and_is_capped(client):
    body = _get(client, "/ogc/collections/houses/items")
    assert body["numberReturned"] == 100
    big = client.get(f"/ogc/collections/houses/items?limit={MAX_LIMIT * 10}")
    assert big.status_code == 200
    next_link = _rels(big.get_json(force=True)).get("next")
    if next_link:
        assert parse_qs(urlparse(next_link["href"]).query)["limit"] == [str(MAX_LIMIT)]


def test_bbox_returns_exactly_the_intersecting_features(client, demo_url):
    x, y = _ids(
        demo_url, "SELECT json_build_array(ST_X(loc), ST_Y(loc)) FROM building ORDER BY id LIMIT 1"
    )[0]
    box = (x - 0.003, y - 0.003, x + 0.003, y + 0.003)
    expected = _ids(
        demo_url,
        "SELECT id FROM building WHERE ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, "
        "4326)) ORDER BY id",
        a=box[0],
        b=box[1],
        c=box[2],
        d=box[3],
    )
    bbox = ",".join(f"{v:.6f}" for v in box)
    body = _get(client, f"/ogc/collections/buildings/items?bbox={bbox}&limit=1000")
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected) > 0


def test_datetime_filters_incidents_by_report_time(client, demo_url):
    start, end = _ids(
        demo_url,
        'SELECT json_build_array(to_char(q[1], \'YYYY-MM-DD"T"HH24:MI:SS"Z"\'), '
        'to_char(q[2], \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')) FROM (SELECT percentile_disc('
        "ARRAY[0.4, 0.6]) WITHIN GROUP (ORDER BY reported_at AT TIME ZONE 'UTC') AS q "
        "FROM event) AS x",
    )[0]
    window = "SELECT id FROM event WHERE reported_at >= CAST(:a AS timestamptz) "
    expected = _ids(demo_url, window + "AND reported_at <= CAST(:b AS timestamptz)", a=start, b=end)
    body = _get(client, f"/ogc/collections/incidents/items?datetime={start}/{end}&limit=1")
    assert body["numberMatched"] == len(expected) > 0
    open_end = _get(client, f"/ogc/collections/incidents/items?datetime={start}/..")
    assert open_end["numberMatched"] == len(_ids(demo_url, window, a=start))


def test_single_feature_with_its_properties(client, demo_url):
    fid, name, floors = _ids(
        demo_url, "SELECT json_build_array(id, name, floors) FROM building ORDER BY id LIMIT 1"
    )[0]
    response = client.get(f"/ogc/collections/buildings/items/{fid}")
    assert response.status_code == 200 and response.mimetype == GEOJSON
    feature = response.get_json(force=True)
    assert feature["type"] == "Feature" and feature["id"] == fid
    assert feature["properties"]["name"] == name and feature["properties"]["floors"] == floors
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert {"self", "collection"} <= set(_rels(feature))


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/ogc/collections/nope", 404),
        ("/ogc/collections/nope/items", 404),
        ("/ogc/collections/residents/items", 404),
        ("/ogc/collections/buildings/items/999999999", 404),
        ("/ogc/collections/buildings/items/abc", 404),
        ("/ogc/collections/buildings/items?limit=0", 400),
        ("/ogc/collections/buildings/items?limit=ten", 400),
        ("/ogc/collections/buildings/items?offset=-1", 400),
        ("/ogc/collections/buildings/items?bbox=1,2,3", 400),
        ("/ogc/collections/buildings/items?bbox=118,31,117,32", 400),
        ("/ogc/collections/buildings/items?datetime=yesterday", 400),
        ("/ogc/collections/buildings/items?colour=red", 400),
        ("/ogc/collections?f=html", 400),
    ],
)
def test_errors_follow_the_spec(client, url, status):
    response = client.get(url)
    assert response.status_code == status
    body = response.get_json(force=True)
    assert body["code"] in ("NotFound", "InvalidParameterValue") and body["description"]


# --- GDAL as the judge ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(app) -> Iterator[str]:
    """The real app on a free port, served by a thread for GDAL to talk to."""
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/ogc"
    finally:
        srv.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def gdal_env(demo_url) -> dict[str, str]:
    """GDAL's environment with a planner's API token (as a QGIS/GDAL user would set it)."""
    token = api_token(demo_url, "planner")
    return {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}


def _run(env: dict[str, str], *cmd: str) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gdal_without_a_token_is_refused(server):
    done = subprocess.run(
        ["ogrinfo", "-ro", f"OAPIF:{server}"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "401" in done.stderr


def test_ogrinfo_lists_every_collection(server, gdal_env):
    listing = _run(gdal_env, "ogrinfo", "-ro", f"OAPIF:{server}")
    names = re.findall(r"^\d+: (\S+)", listing, flags=re.M)
    assert names == EXPECTED


@pytest.mark.parametrize("collection", ["buildings", "incidents"])
def test_ogr2ogr_copies_a_collection_page_by_page(server, gdal_env, demo_url, tmp_path, collection):
    out = tmp_path / f"{collection}.gpkg"
    _run(gdal_env, "ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server}", collection)
    expected = _ids(demo_url, COLLECTION_SQL[collection] + " ORDER BY id")
    assert len(expected) > 100  # GDAL 3.6 pages by 10: many pages
    copied = pyogrio.read_dataframe(out, read_geometry=False)
    assert sorted(copied["id"]) == expected
    info = _run(gdal_env, "ogrinfo", "-ro", "-so", str(out), collection)
    assert f"Feature Count: {len(expected)}" in info and 'ID["EPSG",4326]' in info
