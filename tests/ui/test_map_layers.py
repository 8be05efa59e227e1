"""Each layer switched on draws features; the time slider changes the incidents drawn; a
click on an area selects it; screenshots of the main views (``.onemap/artifacts``)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from analytics.forecast_store import refresh_forecast
from layers.registry import LAYERS
from tests.ui.test_home_map import PATHS, a_building

pytestmark = pytest.mark.slow

ZOOMS = {"residents": 14, "hexagons": 13, "incident_heatmap": 13, "buildings": 16}
"""Zoom at which each layer is checked (16 unless named)."""
SCREENSHOTS = {"incident_heatmap", "residents", "cameras", "hexagons", "facilities"}


INCIDENTS = "/api/layers/incidents?bbox="


def _window(url: str) -> str | None:
    """The ``time`` parameter of a layer request."""
    return parse_qs(urlsplit(url).query).get("time", [None])[0]


def _open(page, base: str, center: tuple[float, float], zoom: float, layers: str, wait: str):
    """Load the map showing only ``layers`` and return the JSON answer for layer ``wait``."""
    lat, lon = center
    with page.expect_response(lambda r: f"/api/layers/{wait}?bbox=" in r.url) as info:
        page.goto(f"{base}?lat={lat}&lon={lon}&zoom={zoom}&layers={layers}")
    assert info.value.status == 200
    return json.loads(info.value.body())


def _drawn_at_least(page, n: int) -> int:
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length >= {n}")
    return page.locator(PATHS).count()


@pytest.mark.parametrize("layer", [layer.id for layer in LAYERS], ids=str)
def test_each_layer_switched_on_draws_its_features(page, app_server, demo_url, artifacts, layer):
    zoom = ZOOMS.get(layer, 16)
    if layer == "risk_forecast":  # a store has a forecast once the app has run a day
        refresh_forecast(demo_url, timedelta(days=3650))
    body = _open(page, app_server, a_building(demo_url), zoom, layer, layer)
    assert len(body["features"]) > 0, body
    drawn = _drawn_at_least(page, len(body["features"]))
    assert drawn == len(body["features"])
    legend = page.locator(f'[id=\'{{"layer":"{layer}","type":"layer-legend"}}\']')
    assert legend.is_visible()
    if layer in SCREENSHOTS:
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(artifacts / f"layer_{layer}.png"))


def test_switching_a_layer_on_in_the_panel_fetches_and_draws_it(page, app_server, demo_url):
    _open(page, app_server, a_building(demo_url), 16, "districts", "districts")
    before = page.locator(PATHS).count()
    with page.expect_response(lambda r: "/api/layers/sensors?bbox=" in r.url) as info:
        page.locator(".layer-toggles label", has_text="感知设备").click()
    sensors = json.loads(info.value.body())
    assert _drawn_at_least(page, before + sensors["count"]) == before + sensors["count"]


def test_time_slider_changes_the_incidents_drawn(page, app_server, demo_url, artifacts):
    asked: set[str] = set()  # incident requests so far (refetches may repeat a window)
    page.on("request", lambda r: asked.add(r.url) if INCIDENTS in r.url else None)

    def new_window(response) -> bool:
        """An incidents answer for a time window not asked before (not a refetch)."""
        return INCIDENTS in response.url and _window(response.url) not in {
            _window(u) for u in before
        }

    first = _open(page, app_server, a_building(demo_url), 15, "incidents", "incidents")
    assert "aggregate" not in first
    assert _drawn_at_least(page, first["count"]) == first["count"]
    assert page.locator("#incident-count").inner_text() == str(first["count"])

    # Play: the window moves one day per tick (from the last day it wraps to the first).
    before = set(asked)
    with page.expect_response(new_window) as info:
        page.click("#time-play")
    played = json.loads(info.value.body())
    assert played["time"] != first["time"]
    assert "playing" in page.locator("#time-play").get_attribute("class")
    page.click("#time-play")
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length === {played['count']}")

    # Drag the end handle to the right end: the window grows to most of the year.
    handle = page.locator("#time-slider [role=slider]").last.bounding_box()
    track = page.locator("#time-slider .dash-slider-track").bounding_box()
    y = handle["y"] + handle["height"] / 2
    before = set(asked)
    with page.expect_response(new_window) as info:
        page.mouse.move(handle["x"] + handle["width"] / 2, y)
        page.mouse.down()
        page.mouse.move(track["x"] + track["width"] + 20, y, steps=8)
        page.mouse.up()
    year = json.loads(info.value.body())
    assert year["time"][1] > played["time"][1] and year["count"] > played["count"]
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length === {year['count']}")
    # the counter says how many incidents the window holds, also when the markers are capped
    in_window = year["total"] if year.get("capped") else year["count"]
    page.wait_for_function(f"document.querySelector('#incident-count').innerText === '{in_window}'")
    page.screenshot(path=str(artifacts / "time_slider.png"))


def test_clicking_an_area_selects_it_and_filters_the_incidents(page, app_server, demo_url):
    _open(page, app_server, a_building(demo_url), 13, "grids", "grids")
    page.wait_for_load_state("networkidle")
    box = page.locator(".home-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "document.querySelector('#selected-area-chip').className.includes('selected')"
    )
    assert page.locator("#selected-area-name").inner_text() not in ("", "全市")
    with page.expect_response(
        lambda r: "/api/layers/incidents?bbox=" in r.url and "&area=" in r.url
    ) as info:
        page.locator(".layer-toggles label", has_text="事件").first.click()
    assert info.value.status == 200
    with page.expect_response(
        lambda r: "/api/layers/incidents?bbox=" in r.url and "&area=" not in r.url
    ):
        page.click("#selected-area-clear")
    assert page.locator("#selected-area-name").inner_text() == "全市"
