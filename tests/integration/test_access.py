"""Who sees what: every role against the pages and the data routes, and a grid worker trying
to read other grids by bbox, area, feature id and export parameters.

Facts checked (against SQL on the same store): a grid worker's map layers, OGC items and exports
hold exactly the features of their grid, whatever bbox or area they ask for; a feature of another
grid is "not found"; pages limited to some roles answer 403 to the others; residents reach no
role as individual records over the map API, and no answer of any role carries an ID number or
a phone number.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from app import create_app
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import api_token, signed_in

ROLES = ("leader", "grid_worker", "planner", "analyst", "admin")
PAGES = {
    "/": set(ROLES),
    "/twin": set(ROLES),
    "/wall": {"leader", "admin"},
    "/grid": {"grid_worker", "admin"},
    "/export": {"planner", "analyst", "admin"},
    "/analyze": {"analyst", "planner", "leader", "admin"},
    "/audit": {"admin"},
    "/assessment": {"leader", "analyst", "admin"},
}
ID_NUMBER = re.compile(rb"(?<!\d)\d{17}[\dXx](?!\d)")
PHONE = re.compile(rb"(?<!\d)1[3-9]\d{9}(?!\d)")


def _rows(url: str, sql: str, **params) -> list:
    with get_engine(url).connect() as conn:
        return [r[0] for r in conn.execute(text(sql), params)]


@pytest.fixture(scope="module")
def app(demo_url):
    return create_app(Settings(database_url=demo_url, max_features=100_000), demo_url)


@pytest.fixture(scope="module")
def grids(demo_url) -> tuple[str, str]:
    """Two grids with buildings: the worker's and another one."""
    found = _rows(
        demo_url,
        "SELECT a.code FROM area a WHERE a.level = 'grid' AND EXISTS "
        "(SELECT 1 FROM building b WHERE b.area_id = a.id) ORDER BY a.code LIMIT 2",
    )
    return found[0], found[1]


@pytest.fixture(scope="module")
def clients(app, demo_url, grids) -> dict[str, object]:
    """A signed-in test client per role (the grid worker works the first grid)."""
    return {
        role: signed_in(
            app.server.test_client(),
            api_token(demo_url, role, (grids[0],) if role == "grid_worker" else ()),
        )
        for role in ROLES
    }


@pytest.fixture(scope="module")
def city_bbox(demo_url) -> str:
    box = _rows(
        demo_url,
        "SELECT json_build_array(ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)) "
        "FROM (SELECT ST_Extent(geom) AS e FROM area) x",
    )[0]
    return ",".join(f"{v:.5f}" for v in box)


def _buildings_of(url: str, code: str) -> list[int]:
    return _rows(
        url,
        "SELECT b.id FROM building b JOIN area a ON a.id = b.area_id WHERE a.code = :c "
        "ORDER BY b.id",
        c=code,
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_opens_for_its_roles_only(clients, role, path):
    response = clients[role].get(path, headers={"Accept": "text/html"})
    assert response.status_code == (200 if role in PAGES[path] else 403), (role, path)


def test_grid_worker_map_layer_holds_exactly_their_grid(clients, demo_url, grids, city_bbox):
    body = clients["grid_worker"].get(f"/api/layers/buildings?bbox={city_bbox}&zoom=18").get_json()
    ids = sorted(f["id"] for f in body["features"])
    assert ids == _buildings_of(demo_url, grids[0]) and ids


def test_grid_worker_asking_for_another_grid_gets_nothing(clients, demo_url, grids, city_bbox):
    other = _rows(demo_url, "SELECT id FROM area WHERE code = :c", c=grids[1])[0]
    path = f"/api/layers/buildings?bbox={city_bbox}&zoom=18&area={other}"
    assert clients["grid_worker"].get(path).get_json()["features"] == []
    assert clients["analyst"].get(path).get_json()["features"]  # not empty for the city's roles


def test_grid_worker_ogc_items_and_single_features_stay_in_the_grid(
    clients, demo_url, grids, city_bbox
):
    worker = clients["grid_worker"]
    page = worker.get(f"/ogc/collections/buildings/items?bbox={city_bbox}&limit=10000").get_json()
    mine = _buildings_of(demo_url, grids[0])
    assert page["numberMatched"] == len(mine)
    assert sorted(f["id"] for f in page["features"]) == mine
    foreign = _buildings_of(demo_url, grids[1])[0]
    assert worker.get(f"/ogc/collections/buildings/items/{foreign}").status_code == 404
    assert worker.get(f"/ogc/collections/buildings/items/{mine[0]}").status_code == 200


def test_grid_worker_exports_only_their_grid_whatever_the_parameters(
    clients, demo_url, grids, city_bbox
):
    worker = clients["grid_worker"]
    mine = _buildings_of(demo_url, grids[0])
    for query in ("", f"&bbox={city_bbox}", f"&area={grids[1]}", f"&area={grids[0]}"):
        response = worker.get(f"/api/export/buildings?format=geojson{query}")
        assert response.status_code == 200, query
        ids = sorted(f["id"] for f in json.loads(response.data)["features"])
        assert ids == (mine if grids[1] not in query else []), query


def test_grid_worker_resident_export_is_their_grid_and_audited(clients, demo_url, grids):
    before = _rows(demo_url, "SELECT count(*) FROM audit_log WHERE object_type = 'residents'")[0]
    response = clients["grid_worker"].get("/api/export/residents?format=csv")
    assert response.status_code == 200
    lines = response.data.decode().strip().splitlines()
    expected = _rows(
        demo_url,
        "SELECT count(*) FROM resident r JOIN area a ON a.id = r.area_id WHERE a.code = :c",
        c=grids[0],
    )[0]
    assert len(lines) - 1 == expected
    audit = _rows(
        demo_url,
        "SELECT json_build_array(username, action, scope) FROM audit_log "
        "WHERE object_type = 'residents' ORDER BY id DESC LIMIT 1",
    )[0]
    count = _rows(demo_url, "SELECT count(*) FROM audit_log WHERE object_type = 'residents'")[0]
    grid_id = _rows(demo_url, "SELECT id FROM area WHERE code = :c", c=grids[0])[0]
    assert count == before + 1
    assert audit == [f"test_grid_worker_{grids[0]}", "export", str(grid_id)]


@pytest.mark.parametrize("role", ROLES)
def test_no_answer_carries_an_id_number_or_a_phone(clients, role, city_bbox):
    client = clients[role]
    paths = [f"/api/layers/residents?bbox={city_bbox}&zoom={z}" for z in (12, 16, 18)] + [
        f"/api/layers/hexagons?bbox={city_bbox}&zoom=13&of=residents",
        "/ogc/collections/houses/items?limit=500",
        "/api/export/houses?format=csv",
    ]
    if role in ("grid_worker", "admin"):
        paths.append("/api/export/residents?format=csv")
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (role, path)
        assert not ID_NUMBER.search(response.data), (role, path)
        assert not PHONE.search(response.data), (role, path)
    residents = client.get(f"/api/layers/residents?bbox={city_bbox}&zoom=18").get_json()
    assert all(f["properties"].get("count", 5) >= 5 for f in residents["features"])
