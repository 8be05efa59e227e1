"""The home map in a real browser against the real app (``python app.py``) and a real PostGIS.

Headless Chromium (the Debian package) driven by Playwright; every request the page makes is
recorded and must go to the app's own origin.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path("/tmp/onemap_home_map.png")
PATHS = ".leaflet-overlay-pane path"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city_url(demo_url) -> str:
    """The small demo city of the test session."""
    return demo_url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_serving(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "api/layers", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"app.py did not serve {base} within {timeout} s")


@pytest.fixture(scope="module")
def app_server(city_url, tmp_path_factory) -> Iterator[str]:
    """``python app.py`` on a free port against the test city; stopped with SIGTERM."""
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "DATABASE_URL": city_url, "ONEMAP_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(base, proc)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert code == 0, log.read_text()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise FileNotFoundError("chromium is required in CI")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _a_building(url: str) -> tuple[float, float]:
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
    app_server, browser, city_url
):
    base = app_server
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    lat, lon = _a_building(city_url)

    # Zoom 14 near buildings: districts and grids drawn, buildings as H3 counts.
    page.goto(f"{base}?lat={lat}&lon={lon}&zoom=14", wait_until="networkidle")
    page.wait_for_function(f"document.querySelectorAll('{PATHS}').length > 0")
    for layer in ("districts", "grids"):
        assert any(f"/api/layers/{layer}?bbox=" in r for r in requests), layer
    before = page.locator(PATHS).count()
    assert before > 0

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
    page.screenshot(path=str(SCREENSHOT))

    # The language switch changes the visible strings.
    assert page.locator(".app-title").inner_text() == "社区一张图"
    page.click("#lang-switch label:has-text('EN')")
    page.wait_for_function("document.querySelector('.app-title').innerText === 'OneMap'")
    assert page.locator(".map-panel").inner_text().count("Buildings") == 1
    assert page.evaluate("document.documentElement.lang") == "en"

    assert not errors, errors
    external = [r for r in requests if not r.startswith(base)]
    assert external == [], f"requests to other origins: {external}"
    page.close()
