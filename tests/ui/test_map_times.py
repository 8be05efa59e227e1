"""One clock on the home map: an incident popup's 上报时间 is the stored instant in the city's
zone (``ONEMAP_TIMEZONE``), converted by PostgreSQL (``AT TIME ZONE``), not by the app — with
the default Asia/Shanghai and with Europe/Helsinki on a second app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.conftest import sql_scalar
from tests.ui.conftest import csp_safe, log_in, running_app, watched

pytestmark = pytest.mark.slow

TIMEOUT = 30_000
ALONE = """
    SELECT e.id, ST_Y(e.geom), ST_X(e.geom) FROM event e
    WHERE e.reported_at > (SELECT max(reported_at) FROM event) - interval '20 days'
    ORDER BY (
        SELECT min(ST_Distance(o.geom::geography, e.geom::geography)) FROM event o
        WHERE o.id <> e.id
          AND o.reported_at > (SELECT max(reported_at) FROM event) - interval '30 days'
    ) DESC NULLS FIRST, e.id LIMIT 1
"""
"""The recent incident (inside the map's default 30-day window) farthest from any other shown
incident: one marker at the map's centre."""
PATHS = ".leaflet-overlay-pane path"
NEAREST_MARKER = """(() => {
    const map = document.querySelector('.leaflet-container').getBoundingClientRect();
    const cx = map.left + map.width / 2, cy = map.top + map.height / 2;
    let best = -1, distance = Infinity;
    document.querySelectorAll('.leaflet-overlay-pane path').forEach((p, i) => {
        const b = p.getBoundingClientRect();
        const d = Math.hypot(b.left + b.width / 2 - cx, b.top + b.height / 2 - cy);
        if (b.width > 0 && b.width < 24 && b.height < 24 && d < distance) {
            best = i; distance = d;
        }
    });
    return distance < 12 ? best : -1;
})()"""
"""Index of the circle marker drawn at the map's centre (-1: none yet)."""
SHOWN = "to_char(reported_at AT TIME ZONE :z, 'YYYY-MM-DD HH24:MI') FROM event WHERE id = :i"


@pytest.fixture(scope="module")
def helsinki_app(demo_url, tmp_path_factory) -> Iterator[str]:
    """A second ``python app.py`` on the test city whose clock is Europe/Helsinki."""
    log = tmp_path_factory.mktemp("helsinki") / "app.log"
    with running_app(demo_url, log, ONEMAP_TIMEZONE="Europe/Helsinki") as base:
        yield base


def popup_time(page: Page, base: str, lat: float, lon: float) -> str:
    """The 上报时间 of the popup of the marker nearest the map's centre at lat/lon (clicked
    through a DOM event: a building drawn over it must not take the click)."""
    page.goto(f"{base}?lat={lat}&lon={lon}&zoom=18", wait_until="networkidle")
    page.wait_for_function(f"{NEAREST_MARKER} >= 0")
    page.locator(PATHS).nth(page.evaluate(NEAREST_MARKER)).dispatch_event("click")
    row = page.locator(".onemap-popup tr", has_text="上报时间")
    row.wait_for(timeout=TIMEOUT)
    return row.locator("td").inner_text()


def a_lone_incident(url: str) -> tuple[int, float, float]:
    """id, lat, lon of :data:`ALONE`."""
    return (
        sql_scalar(url, f"SELECT id FROM ({ALONE}) x"),
        sql_scalar(url, f"SELECT st_y FROM ({ALONE}) x"),
        sql_scalar(url, f"SELECT st_x FROM ({ALONE}) x"),
    )


def test_popup_time_is_china_time(browser, sign_in, app_server, demo_url):
    event_id, lat, lon = a_lone_incident(demo_url)
    with watched(sign_in(browser, "analyst", {"width": 1600, "height": 900}), app_server) as page:
        shown = popup_time(page, app_server, lat, lon)
    china = sql_scalar(demo_url, "SELECT " + SHOWN, z="Asia/Shanghai", i=event_id)
    utc = sql_scalar(demo_url, "SELECT " + SHOWN, z="UTC", i=event_id)
    assert shown == china and china != utc


def test_popup_time_follows_the_setting(browser, demo_accounts, helsinki_app, demo_url):
    event_id, lat, lon = a_lone_incident(demo_url)
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = csp_safe(context.new_page())
    log_in(page, helsinki_app, "analyst", demo_accounts["analyst"])
    with watched(page, helsinki_app):
        shown = popup_time(page, helsinki_app, lat, lon)
    helsinki = sql_scalar(demo_url, "SELECT " + SHOWN, z="Europe/Helsinki", i=event_id)
    china = sql_scalar(demo_url, "SELECT " + SHOWN, z="Asia/Shanghai", i=event_id)
    assert shown == helsinki and helsinki != china
