"""Live updates in a real browser: a change committed in the store shows on the open map and
the open 3D twin within 2 s, without reloading the page and without other origins."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import text

from geodata.engine import get_engine
from tests.ui.conftest import launch
from tests.ui.test_home_map import a_building

PATHS = ".leaflet-overlay-pane path"
LIVE_ON = "document.querySelector('#live-indicator.live-on') !== null"
NAVIGATIONS = "performance.getEntriesByType('navigation').length"
COPY_EVENT = """
    INSERT INTO event (category, severity, title, loc, geom, h3_r7, h3_r9, reported_at, source)
    SELECT category, 4, 'live test alarm', loc, geom, h3_r7, h3_r9, reported_at, 'live-ui-test'
    FROM event WHERE id = :id RETURNING id
"""

pytestmark = pytest.mark.slow


@pytest.fixture
def cleanup(demo_url):
    yield
    with get_engine(demo_url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE source = 'live-ui-test'"))


def _wait_ms(page, condition: str, timeout_ms: int = 2000) -> float:
    """Milliseconds until ``condition`` holds in the page (fails after ``timeout_ms``)."""
    start = time.monotonic()
    page.wait_for_function(condition, timeout=timeout_ms, polling="raf")
    return (time.monotonic() - start) * 1000


def test_a_new_alarm_appears_on_the_open_map_within_2s(page, app_server, demo_url, cleanup):
    lat, lon = a_building(demo_url)
    with page.expect_response(lambda r: "/api/layers/incidents?bbox=" in r.url) as info:
        page.goto(f"{app_server}?lat={lat}&lon={lon}&zoom=15&layers=incidents")
    drawn = json.loads(info.value.body())
    assert drawn["count"] > 0 and "aggregate" not in drawn
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length === {drawn['count']}")
    page.wait_for_function(LIVE_ON, timeout=5000)
    shown = page.locator("#incident-count").inner_text()

    with get_engine(demo_url).begin() as conn:
        conn.execute(text(COPY_EVENT), {"id": drawn["features"][0]["id"]})
    ms = _wait_ms(page, f"document.querySelectorAll('{PATHS}').length === {drawn['count'] + 1}")
    print(f"new alarm on the 2D map after {ms:.0f} ms")
    assert ms < 2000
    assert page.evaluate(NAVIGATIONS) == 1  # no reload
    page.wait_for_function(
        f"document.querySelector('#incident-count').innerText !== {json.dumps(shown)}"
    )
    assert page.evaluate("window.onemap.live.received") >= 1
    fetched = [r for r in page.requests if "/api/layers/" in r]
    assert all("/api/layers/incidents?" in r for r in fetched), fetched  # only that layer


def test_a_device_state_change_refetches_the_sensors_in_view(page, app_server, demo_url):
    lat, lon = a_building(demo_url)
    with page.expect_response(lambda r: "/api/layers/sensors?bbox=" in r.url) as info:
        page.goto(f"{app_server}?lat={lat}&lon={lon}&zoom=16&layers=sensors")
    sensors = json.loads(info.value.body())
    assert sensors["count"] > 0 and "aggregate" not in sensors
    page.wait_for_function(LIVE_ON, timeout=5000)
    device = sensors["features"][0]
    old = device["properties"]["status"]
    new = "alarm" if old != "alarm" else "online"
    engine = get_engine(demo_url)
    try:
        with (
            page.expect_response(
                lambda r: "/api/layers/sensors?bbox=" in r.url, timeout=2000
            ) as again,
            engine.begin() as conn,
        ):
            conn.execute(
                text("UPDATE device SET status = :s WHERE id = :i"), {"s": new, "i": device["id"]}
            )
        after = {f["id"]: f for f in json.loads(again.value.body())["features"]}
        assert after[device["id"]]["properties"]["status"] == new
        assert page.evaluate(NAVIGATIONS) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE device SET status = :s WHERE id = :i"), {"s": old, "i": device["id"]}
            )


def test_a_new_alarm_reaches_the_open_3d_twin(playwright, app_server, sign_in, demo_url, cleanup):
    browser = launch(playwright, ("--use-angle=swiftshader", "--enable-unsafe-swiftshader"))
    page = sign_in(browser, "analyst", {"width": 1280, "height": 800})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        lat, lon = a_building(demo_url)
        page.goto(f"{app_server}twin?lat={lat}&lon={lon}&zoom=16.2", wait_until="networkidle")
        page.wait_for_function("window.onemap && window.onemap.twin && window.onemap.twin.loaded")
        page.wait_for_function(LIVE_ON, timeout=5000)
        with get_engine(demo_url).connect() as conn:
            event_id = conn.execute(
                text("SELECT id FROM event ORDER BY loc <-> ST_Point(:lon, :lat, 4326) LIMIT 1"),
                {"lon": lon, "lat": lat},
            ).scalar_one()
        refetched = page.expect_request(lambda r: "/api/layers/" in r.url, timeout=2000)
        with refetched, get_engine(demo_url).begin() as conn:
            conn.execute(text(COPY_EVENT), {"id": event_id})
        assert page.evaluate(NAVIGATIONS) == 1
        assert [r for r in requests if not r.startswith(app_server)] == []
    finally:
        page.context.close()
        browser.close()
