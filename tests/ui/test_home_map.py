"""The home map in a real browser against the real app (``python app.py``) and a real PostGIS.

Every request the page makes is recorded and must go to the app's own origin.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from geodata.engine import get_engine

PATHS = ".leaflet-overlay-pane path"
FILLED_SHARE = """() => {
    const map = document.querySelector('.leaflet-container').getBoundingClientRect();
    const boxes = [...document.querySelectorAll('.leaflet-overlay-pane path')]
        .map(p => p.getBoundingClientRect()).filter(b => b.width > 0 || b.height > 0);
    const w = Math.min(map.right, Math.max(...boxes.map(b => b.right)))
        - Math.max(map.left, Math.min(...boxes.map(b => b.left)));
    const h = Math.min(map.bottom, Math.max(...boxes.map(b => b.bottom)))
        - Math.max(map.top, Math.min(...boxes.map(b => b.top)));
    return Math.max(w / map.width, h / map.height);
}"""
"""The larger share of the map's width or height the drawn features span."""

pytestmark = pytest.mark.slow


def a_building(url: str) -> tuple[float, float]:
    """lat, lon of the building nearest the middle of all buildings."""
    sql = """
        WITH mid AS (
            SELECT ST_SetSRID(ST_Centroid(ST_Extent(loc)::geometry), 4326) AS g FROM building
        )
        SELECT ST_Y(loc), ST_X(loc) FROM building, mid ORDER BY loc <-> mid.g LIMIT 1
    """
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(text(sql)).one())


def test_home_map_loads_layers_by_viewport_offline_and_switches_language(
    app_server, browser, sign_in, demo_url, artifacts
):
    base = app_server
    page = sign_in(browser, "analyst", {"width": 1600, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    lat, lon = a_building(demo_url)

    # The first view frames the detailed core (the grids): what is drawn fills much of the map.
    page.goto(base, wait_until="networkidle")
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length > 0")
    drawn = page.evaluate(FILLED_SHARE)
    assert drawn >= 0.4, f"the city fills only {drawn:.0%} of the first view"
    page.screenshot(path=str(artifacts / "home_map_city.png"))

    # Zoom 14 near buildings: districts and grids drawn, buildings as H3 counts.
    page.goto(f"{base}?lat={lat}&lon={lon}&zoom=14", wait_until="networkidle")
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length > 0")
    for layer in ("districts", "grids", "incidents"):
        assert any(f"/api/layers/{layer}?bbox=" in r for r in requests), layer
    assert any("/api/layers/incidents?bbox=" in r and "&time=" in r for r in requests)
    assert page.locator(".leaflet-control-scale").count() == 1
    assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1
    page.screenshot(path=str(artifacts / "home_map_zh.png"))

    # One step in: building outlines are requested for the new bbox and drawn.
    with page.expect_response(
        lambda r: "/api/layers/buildings?bbox=" in r.url and "zoom=15" in r.url
    ) as info:
        page.click(".leaflet-control-zoom-in")
    buildings = json.loads(info.value.body())
    assert info.value.status == 200
    assert len(buildings["features"]) > 0 and "aggregate" not in buildings
    page.wait_for_function(
        f"document.querySelectorAll('{PATHS}').length >= {len(buildings['features'])}"
    )
    page.wait_for_load_state("networkidle")

    # The language switch changes the visible strings, layer titles and legends included.
    assert page.locator(".app-title").inner_text() == "社区一张图"
    assert "底图与区划" in page.locator(".map-panel").inner_text()
    page.click("#lang-switch label:has-text('EN')")
    page.wait_for_function("document.querySelector('.app-title').innerText === 'OneMap'")
    page.wait_for_function("document.querySelector('.map-panel').innerText.includes('Buildings')")
    panel = page.locator(".map-panel").inner_text().lower()
    for label in ("Base map & areas", "Incidents", "Whole city", "Legend", "Critical"):
        assert label.lower() in panel, label
    assert "Time window" in page.locator(".time-bar").inner_text()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(artifacts / "home_map_en.png"))

    assert not errors, errors
    external = [r for r in requests if not r.startswith(base)]
    assert external == [], f"requests to other origins: {external}"
    page.context.close()
