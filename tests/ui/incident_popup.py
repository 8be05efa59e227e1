"""One rule incident on the home map, and its popup opened (shared by the popup and words
tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from geodata.engine import get_engine
from geodata.incident_text import rule_title
from twin.rules.base import titled

LONE_DOOR_SENSOR = """
SELECT d.id, d.serial FROM device AS d
WHERE d.kind = 'door' AND d.serial IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM event AS e WHERE ST_DWithin(e.loc::geography, d.loc::geography, 40)
)
ORDER BY d.id LIMIT 1
"""
"""A door sensor with no incident within 40 m (a marker there is the only one under the map's
centre at zoom 18)."""

ADD_RULE_INCIDENT = """
INSERT INTO event (loc, geom, h3_r7, h3_r9, category, severity, title, reported_at, rule,
                   subject, trigger, device_id)
SELECT d.loc, d.loc, d.h3_r7, d.h3_r9, 'device.offline', 2, :title,
       (SELECT max(reported_at) FROM event), 'offline', 'device:' || d.id, CAST(:trigger AS jsonb),
       d.id
FROM device AS d WHERE d.id = :device
RETURNING id, ST_Y(loc), ST_X(loc)
"""
"""The device-offline incident of that sensor, in the newest day of the history (inside the
map's default time window)."""

POPUP = ".leaflet-popup-content"


@contextmanager
def rule_incident(url: str) -> Iterator[tuple[float, float, dict[str, str]]]:
    """lat, lon and titles by language of a rule incident added for the test (removed after)."""
    engine = get_engine(url)
    with engine.begin() as conn:
        device, serial = conn.execute(text(LONE_DOOR_SENSOR)).one()
        title, words = titled("offline.device", kind="door", serial=serial)
        trigger = {"rule": "offline", **words}
        params = {"title": title, "trigger": json.dumps(trigger), "device": device}
        event_id, lat, lon = conn.execute(text(ADD_RULE_INCIDENT), params).one()
    try:
        yield lat, lon, {lang: rule_title(trigger, lang) or "" for lang in ("zh", "en")}
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": event_id})


def open_popup(page, base: str, lat: float, lon: float) -> str:
    """Load the map at the point showing incidents only, click the marker there, return the
    popup's text."""
    with page.expect_response(lambda r: "/api/layers/incidents?bbox=" in r.url):
        page.goto(f"{base}?lat={lat}&lon={lon}&zoom=18&layers=incidents")
    return click_marker(page)


def click_marker(page) -> str:
    """Click the marker at the map's centre and return the popup's text."""
    page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
    box = page.locator(".leaflet-container").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(POPUP)
    return page.locator(POPUP).inner_text()


def popup_title(page) -> str:
    """The first row's value of the open popup (the incident's title)."""
    return page.locator(f"{POPUP} td").first.inner_text()
