"""The 3D twin in headless Chromium (WebGL on SwiftShader) against the real app and PostGIS.

Facts checked: deck.gl comes from our own server and nothing else is requested from any other
origin; the deck's layers hold exactly what the viewport API answers; the canvas is drawn;
the heatmap for a time window weighs exactly the incidents of that window in the view (counted
in SQL); the camera controls move the view and the 2D link keeps it; zh/en switch; the base
map's names are HTML centred on their points as the camera moves; a view of aggregate cells
draws the buildings flat (no side-wall shaders to compile).
Screenshots: ``.onemap/artifacts/twin_3d.png`` and ``twin_heatmap.png``.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from geodata.engine import get_engine
from layers.deck import LABEL_SIZES, ROAD_LABEL_SIZE
from tests.ui.conftest import as_browser, launch

pytestmark = pytest.mark.slow

WEBGL_EXTRA = ("--use-angle=swiftshader", "--enable-unsafe-swiftshader")
"""Software WebGL2 (SwiftShader through ANGLE): no GPU needed, same pixels on every host."""
WALL = {"width": 1920, "height": 1080}
LOADED = "window.onemap && window.onemap.twin && window.onemap.twin.loaded > 0"
_LAYERS_JS = """() => window.onemapDeck.props.layers.map(l => ({
    id: l.id, type: l.constructor.layerName, n: (l.props.data || []).length,
    weight: (l.props.data || []).reduce((s, f) => s + (f.properties.weight || 0), 0)}))"""
_BRIGHT_JS = """async (png) => {
    const img = new Image();
    img.src = "data:image/png;base64," + png;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let bright = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (Math.max(d[i], d[i + 1], d[i + 2]) > 120) bright++;
    }
    return bright / (c.width * c.height);
}"""


@pytest.fixture(scope="module")
def gl_browser(playwright):
    """Headless Chromium with software WebGL."""
    browser = launch(playwright, WEBGL_EXTRA)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def centre(demo_url) -> tuple[float, float]:
    """lat, lon of the middle of the demo city's buildings."""
    sql = (
        "SELECT ST_Y(c), ST_X(c) "
        "FROM (SELECT ST_Centroid(ST_Extent(loc)::geometry) AS c FROM building) AS x"
    )
    with get_engine(demo_url).connect() as conn:
        return tuple(conn.execute(text(sql)).one())


@pytest.fixture
def twin_page(gl_browser, app_server, sign_in, centre) -> Iterator[tuple]:
    """The twin page at the city's middle, zoom 15.6; yields (page, requests, errors)."""
    page = sign_in(gl_browser, "analyst", WALL)
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    lat, lon = centre
    page.goto(f"{app_server}twin?lat={lat}&lon={lon}&zoom=16.2", wait_until="networkidle")
    page.wait_for_function(LOADED, timeout=30_000)
    yield page, requests, errors
    page.context.close()


def _layers(page) -> dict[str, dict]:
    return {layer["id"]: layer for layer in page.evaluate(_LAYERS_JS)}


def _meta(page, overlay: str) -> dict:
    return page.evaluate(f"window.onemap.twin.meta[{json.dumps(overlay)}]")


def _api(page, base: str, path: str) -> dict:
    """The API's answer to ``path`` for the page's signed-in account (its session cookie)."""
    request = as_browser(base.rstrip("/") + path, page.context.cookies())
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def _bright_share(page, artifacts, name: str) -> float:
    """Share of bright (drawn) pixels of the deck area; saves the screenshot."""
    path = artifacts / name
    png = page.locator("#twin-deck").screenshot(path=str(path))
    blank = page.context.browser.new_page()
    try:
        return blank.evaluate(_BRIGHT_JS, base64.b64encode(png).decode())
    finally:
        blank.close()


def test_twin_draws_buildings_hexagons_and_alarms_offline(twin_page, app_server, artifacts):
    page, requests, errors = twin_page
    layers = _layers(page)
    assert layers["buildings"]["type"] == "GeoJsonLayer"
    assert layers["hexagons"]["type"] == "H3HexagonLayer"
    assert layers["alarms"]["type"] == "ColumnLayer"
    for overlay in ("buildings", "hexagons", "alarms", "grids"):
        meta = _meta(page, overlay)
        answer = _api(page, app_server, meta["url"])
        assert layers[overlay]["n"] == answer["count"] == len(answer["features"]), overlay
        assert answer["count"] > 0, overlay
    buildings = _api(page, app_server, _meta(page, "buildings")["url"])
    assert "aggregate" not in buildings
    heights = [f["properties"].get("height") or 0 for f in buildings["features"]]
    assert max(heights) > 10

    page.wait_for_timeout(800)
    assert _bright_share(page, artifacts, "twin_3d.png") > 0.02

    bundle = [r for r in requests if "/vendor/deck.gl/" in r]
    assert len(bundle) == 1 and bundle[0].startswith(app_server)
    external = [r for r in requests if not r.startswith(app_server) and not r.startswith("data:")]
    assert external == [], f"requests to other origins: {external}"
    assert not errors, errors


_LABELS_JS = """() => {
    const t = window.onemap.twin, v = t.deck.getViewports()[0];
    const box = t.el.getBoundingClientRect();
    return (t.labels.base_labels || []).filter(l => l.el.style.display !== "none").map(l => {
        const r = l.el.getBoundingClientRect(), xy = v.project(l.at);
        return {name: l.el.textContent, dx: r.left + r.width / 2 - box.left - xy[0],
                dy: r.top + r.height / 2 - box.top - xy[1], x: xy[0], y: xy[1],
                size: parseFloat(getComputedStyle(l.el).fontSize)};
    });
}"""
_POLYGON_MODELS_JS = """id => window.onemapDeck.layerManager.getLayers()
    .filter(l => l.id.startsWith(id + "-") && l.constructor.layerName === "SolidPolygonLayer")
    .map(l => ({top: !!l.state.topModel, side: !!l.state.sideModel, extruded: l.props.extruded}))"""


def _shown_names(page) -> list[dict]:
    return page.evaluate(_LABELS_JS)


def test_names_are_html_over_the_view_on_their_points(gl_browser, app_server, sign_in):
    page = sign_in(gl_browser, "leader", WALL)  # the wall's 3D panel has the base map's names
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{app_server}wall", wait_until="domcontentloaded")
    page.wait_for_function(LOADED, timeout=30_000)
    assert "TextLayer" not in {layer["type"] for layer in _layers(page).values()}
    answer = _api(page, app_server, _meta(page, "base_labels")["url"])
    sizes = {**LABEL_SIZES, "": ROAD_LABEL_SIZE}
    wanted = {f["properties"]["name"]: sizes.get(f["properties"]["kind"], ROAD_LABEL_SIZE)
              for f in answer["features"]}  # fmt: skip
    shown = _shown_names(page)
    assert shown, answer["features"][:3]
    for label in shown:  # each name is the API's, at its size, centred on its point
        assert wanted[label["name"]] == label["size"], label
        assert abs(label["dx"]) < 1.5 and abs(label["dy"]) < 1.5, label
    assert page.locator(".twin-veil").count() == 0  # the warm-up's veil is lifted
    # the GPU's fence after the first frame with data (what bench/wall.py waits for)
    page.wait_for_function("(t => t.timing.drawn >= t.timing.data)(window.onemap.twin)")

    box = page.locator(".wall-twin-deck canvas").bounding_box()
    assert box
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 60, steps=8)
    page.mouse.up()
    page.wait_for_timeout(800)
    before = {label["name"]: label for label in shown}
    after = _shown_names(page)
    assert all(abs(a["dx"]) < 1.5 and abs(a["dy"]) < 1.5 for a in after), after
    moved = [a for a in after if a["name"] in before and abs(a["y"] - before[a["name"]]["y"]) > 20]
    assert moved, (before, after)  # they followed the camera

    page.click("#lang-switch label:has-text('EN')")
    page.wait_for_function(
        "() => { const l = window.onemap.twin.labels.base_labels || [];"
        " return l.length > 0 && l.every(x => /^[\\x00-\\x7f]*$/.test(x.el.textContent)); }",
        timeout=30_000,
    )
    assert not errors, errors
    page.context.close()


def test_a_view_of_aggregate_cells_draws_buildings_flat(gl_browser, app_server, sign_in, centre):
    page = sign_in(gl_browser, "analyst", WALL)
    lat, lon = centre
    page.goto(f"{app_server}twin?lat={lat}&lon={lon}&zoom=13", wait_until="networkidle")
    page.wait_for_function(LOADED, timeout=30_000)
    answer = _api(page, app_server, _meta(page, "buildings")["url"])
    assert answer["count"] > 0 and all(f["properties"]["aggregate"] for f in answer["features"])
    # cells at height 0: drawn flat, with no side-wall model (no shaders compiled for it)
    assert page.evaluate(_POLYGON_MODELS_JS, "buildings") == [
        {"top": True, "side": False, "extruded": False}
    ]
    # zoomed in to single buildings, the same layer is extruded again
    page.goto(f"{app_server}twin?lat={lat}&lon={lon}&zoom=16.2", wait_until="networkidle")
    page.wait_for_function(LOADED, timeout=30_000)
    assert page.evaluate(_POLYGON_MODELS_JS, "buildings") == [
        {"top": True, "side": True, "extruded": True}
    ]
    page.context.close()


def _incidents_in(url: str, api_url: str) -> int:
    """Incidents in the request's bbox and time window (the city's days), counted in SQL."""
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(api_url).query))
    minx, miny, maxx, maxy = map(float, query["bbox"].split(","))
    start, end = query["time"].split("/")
    sql = """SELECT count(*) FROM event
             WHERE geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
               AND reported_at >= CAST(:t0 AS date) AND reported_at < CAST(:t1 AS date)"""
    params = {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}
    params |= {"t0": start, "t1": (date.fromisoformat(end) + timedelta(days=1)).isoformat()}
    with get_engine(url).connect() as conn:
        conn.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
        return conn.execute(text(sql), params).scalar_one()


def test_heatmap_for_a_time_window_weighs_the_windows_incidents(
    twin_page, app_server, artifacts, demo_url
):
    page, requests, errors = twin_page
    page.click("#twin-toggles label:has-text('事件热力')")
    page.click("#twin-toggles label:has-text('六边形统计')")
    page.click("#twin-preset label:has-text('30天')")
    page.wait_for_function(
        "(() => { const m = window.onemap.twin.meta.incident_heatmap;"
        " return m && m.url.includes('time=') && !window.onemap.twin.meta.hexagons; })()"
    )
    page.wait_for_timeout(300)
    meta = _meta(page, "incident_heatmap")
    start, end = urllib.parse.unquote(meta["url"].split("time=")[1].split("&")[0]).split("/")
    assert (date.fromisoformat(end) - date.fromisoformat(start)).days == 29

    heat = _layers(page)["incident_heatmap"]
    answer = _api(page, app_server, meta["url"])
    assert heat["type"] == "HeatmapLayer"
    assert heat["n"] == answer["count"] == len(answer["features"]) > 0
    weights = sum(f["properties"]["weight"] for f in answer["features"])
    assert heat["weight"] == weights == _incidents_in(demo_url, meta["url"])
    status = page.inner_text("#twin-status")
    assert f"{weights:,}" in status or str(weights) in status

    page.wait_for_timeout(800)
    assert _bright_share(page, artifacts, "twin_heatmap.png") > 0.01
    assert not errors, errors
    assert all(r.startswith(app_server) or r.startswith("data:") for r in requests)


def test_camera_controls_2d_link_and_language(twin_page, app_server):
    page, _requests, errors = twin_page
    page.evaluate("window.dash_clientside.set_props('twin-pitch', {value: 10})")
    # The camera eases to the new pitch over 600 ms; wait for the transition's last frame.
    page.wait_for_function("!window.onemap.twin.moving && window.onemap.twin.view.pitch === 10")
    href = page.get_attribute("#twin-link-2d", "href")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(href).query))
    view = page.evaluate("window.onemap.twin.view")
    assert abs(float(query["lat"]) - view["latitude"]) < 1e-5
    assert abs(float(query["zoom"]) - (view["zoom"] + 1)) < 0.01  # 2D zoom = deck zoom + 1
    assert "pitch=10" in page.url

    assert page.inner_text(".twin-title") == "三维数字孪生"
    page.click("#lang-switch label:has-text('EN')")
    page.wait_for_function("document.querySelector('.twin-title').innerText === '3D digital twin'")
    page.wait_for_function("window.onemap.twin.spec.lang === 'en'")
    assert "Buildings" in page.inner_text("#twin-toggles")
    page.wait_for_function("document.querySelector('#twin-status').innerText.includes('In view')")
    assert page.inner_text("#twin-status").endswith("incidents")
    assert _layers(page)["buildings"]["n"] > 0  # data kept, no reload
    assert not errors, errors


def test_links_between_2d_and_3d_keep_the_view(gl_browser, app_server, sign_in, centre):
    page = sign_in(gl_browser, "analyst", WALL)
    lat, lon = centre
    page.goto(f"{app_server}?lat={lat:.6f}&lon={lon:.6f}&zoom=15", wait_until="networkidle")
    page.click(".app-nav a:has-text('三维孪生')")
    page.wait_for_url("**/twin?lat=*")
    page.wait_for_function(LOADED, timeout=30_000)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
    assert abs(float(query["lat"]) - lat) < 1e-4 and abs(float(query["lon"]) - lon) < 1e-4
    view = page.evaluate("window.onemap.twin.view")
    assert view["zoom"] == pytest.approx(14, abs=0.01)  # deck zoom = 2D zoom − 1

    page.click("#twin-link-2d")
    page.wait_for_url(lambda url: "/twin" not in url and "lat=" in url)
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
    assert float(back["zoom"]) == pytest.approx(15, abs=0.01)
    assert abs(float(back["lat"]) - lat) < 1e-4
    page.context.close()
