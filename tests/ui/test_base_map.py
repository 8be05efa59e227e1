"""The own base map in Chromium against the real app and PostGIS: names by zoom on the home
map in both languages (equal to the store's), district names only when zoomed out, names set as
text (never HTML), the wall's 3D base with the store's names, and nothing from other origins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page
from sqlalchemy import text

from geodata.engine import get_engine
from layers import cartography
from tests.ui.conftest import watched

pytestmark = pytest.mark.slow

FULL_HD = {"width": 1920, "height": 1080}
TIMEOUT = 30_000
ENV = "ST_MakeEnvelope(:a, :b, :c, :d, 4326)"
DOM_LABELS = """() => [...document.querySelectorAll('.base-label')].map(e => ({
    role: e.classList.contains('base-label-road') ? 'road' : 'area',
    kind: [...e.classList].filter(c => /^base-label-[a-z_]+$/.test(c))
        .map(c => c.slice(11)).find(c => !['area', 'road', 'hidden'].includes(c)),
    text: e.textContent, hidden: e.classList.contains('base-label-hidden')}))"""


def _view(url: str) -> tuple[tuple[float, ...], float, str]:
    """bbox, zoom and language of a base-map request."""
    q = parse_qs(urlparse(url).query)
    return tuple(float(v) for v in q["bbox"][0].split(",")), float(q["zoom"][0]), q["lang"][0]


def _names(url: str, sql: str, bbox, **params) -> list[str]:
    a, b, c, d = bbox
    with get_engine(url).connect() as conn:
        return sorted(r[0] for r in conn.execute(text(sql), dict(a=a, b=b, c=c, d=d, **params)))


def area_names(url: str, bbox, zoom: float, lang: str) -> list[str]:
    """Names (in ``lang``) of the areas of the zoom's level whose point lies in ``bbox``."""
    column = "coalesce(name_en, name)" if lang == "en" else "name"
    sql = f"SELECT {column} FROM area WHERE level = :level AND ST_Intersects(loc, {ENV})"
    return _names(url, sql, bbox, level=cartography.area_level(zoom))


def road_names(url: str, bbox, zoom: float) -> list[str]:
    """Distinct names of the roads of the zoom's labelled classes that run inside ``bbox``."""
    sql = (
        "SELECT DISTINCT name FROM road WHERE name IS NOT NULL AND kind = ANY(:kinds) "
        f"AND ST_Length(ST_Intersection(geom, {ENV})) > 0"
    )
    return _names(url, sql, bbox, kinds=list(cartography.road_label_kinds(zoom)))


def middle_of_roads(url: str) -> tuple[float, float]:
    with get_engine(url).connect() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) "
                    "AS c FROM road) AS x"
                )
            ).one()
        )


def last_labels(page: Page, answers: list, zoom: float) -> tuple[dict, str]:
    """The newest labels answer for ``zoom``, once the DOM holds all its labels."""
    page.wait_for_load_state("networkidle")
    answer = [a for a in answers if "/api/basemap/labels?" in a.url and f"zoom={zoom:g}&" in a.url]
    assert answer, [a.url for a in answers]
    body = answer[-1].json()
    page.wait_for_function(
        f"document.querySelectorAll('.base-label').length === {len(body['features'])}",
        timeout=TIMEOUT,
    )
    return body, answer[-1].url


def show(page: Page, base: str, lat: float, lon: float, zoom: float) -> tuple[dict, str]:
    """Open the home map there; the labels answer and its URL once the DOM holds them all."""
    answers: list = []

    def keep(response) -> None:
        answers.append(response)

    page.on("response", keep)
    try:
        page.goto(f"{base}?lat={lat}&lon={lon}&zoom={zoom}", wait_until="domcontentloaded")
        page.wait_for_function(
            "() => document.querySelectorAll('.base-label').length > 0", timeout=TIMEOUT
        )
        return last_labels(page, answers, zoom)
    finally:
        page.remove_listener("response", keep)


def texts(labels: list[dict], role: str) -> list[str]:
    return sorted(label["text"] for label in labels if label["role"] == role)


def test_home_base_names_by_zoom_in_both_languages(page, app_server, demo_url, artifacts):
    lat, lon = middle_of_roads(demo_url)

    # Street zoom: community names and road names, each the store's, once per view.
    body, url = show(page, app_server, lat, lon, 16)
    bbox, zoom, lang = _view(url)
    assert lang == "zh"
    labels = page.evaluate(DOM_LABELS)
    assert texts(labels, "area") == area_names(demo_url, bbox, zoom, "zh")
    assert texts(labels, "road") == road_names(demo_url, bbox, zoom)
    assert {label["kind"] for label in labels if label["role"] == "area"} == {"community"}
    roads = texts(labels, "road")
    assert roads and len(roads) == len(set(roads))
    shown = [label for label in labels if not label["hidden"]]
    assert {label["role"] for label in shown} == {"area", "road"}
    assert page.locator(".leaflet-onemap-base-pane path").count() > len(roads)
    page.screenshot(path=str(artifacts / "home_base_z16_zh_community_and_road_names.png"))

    # The language switch: the same view's names in English.
    with page.expect_response(
        lambda r: "/api/basemap/labels?" in r.url and "lang=en" in r.url, timeout=TIMEOUT
    ) as info:
        page.click("#lang-switch label:has-text('EN')")
    en_bbox, en_zoom, _ = _view(info.value.url)
    expected_en = area_names(demo_url, en_bbox, en_zoom, "en")
    as_js = json.dumps(json.dumps(expected_en, separators=(",", ":")))
    page.wait_for_function(
        f"""() => JSON.stringify([...document.querySelectorAll('.base-label-area')]
            .map(e => e.textContent).sort()) === {as_js}""",
        timeout=TIMEOUT,
    )
    labels = page.evaluate(DOM_LABELS)
    assert texts(labels, "area") == expected_en and all(t.isascii() for t in expected_en)
    assert texts(labels, "road") == road_names(demo_url, en_bbox, en_zoom)
    page.screenshot(path=str(artifacts / "home_base_z16_en.png"))
    page.click("#lang-switch label:has-text('中文')")

    # Zoomed out: district names only, then street offices, then communities and main roads.
    for zoom, kind in ((12, "district"), (14, "street"), (15, "community")):
        body, url = show(page, app_server, lat, lon, zoom)
        bbox, zoom_asked, lang = _view(url)
        labels = page.evaluate(DOM_LABELS)
        assert lang == "zh"
        assert {label["kind"] for label in labels if label["role"] == "area"} == {kind}, labels
        assert texts(labels, "road") == road_names(demo_url, bbox, zoom_asked)
        assert bool(texts(labels, "road")) == (zoom >= 15)
        assert texts(labels, "area") == area_names(demo_url, bbox, zoom_asked, "zh")
        assert len(labels) == len(body["features"]) > 0
        if kind == "district":
            page.screenshot(path=str(artifacts / "home_base_z12_district_names_only.png"))
    for zoom in (12, 15, 17):
        show(page, app_server, lat, lon, zoom)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(artifacts / f"home_base_z{zoom}.png"))
    # ``page`` (``watched``) asserts no request left the app's origin and no script failed.


def test_names_are_set_as_text_never_as_html(page, app_server):
    page.goto(f"{app_server}?zoom=15", wait_until="networkidle")
    page.wait_for_function("window.onemap && window.onemap.base", timeout=TIMEOUT)
    hostile = '<img src=x onerror="window.pwned=1"><b>路</b>'
    made = page.evaluate(
        """(name) => {
            const feature = {type: 'Feature', geometry: {type: 'Point', coordinates: [0, 0]},
                             properties: {role: 'road', kind: 'primary', name: name, angle: 30}};
            const marker = window.onemap.base.label(feature, L.latLng(0, 0), {hideout: {}});
            const html = marker.options.icon.options.html;
            return {text: html.textContent, elements: html.querySelectorAll('*').length};
        }""",
        hostile,
    )
    assert made == {"text": hostile, "elements": 0}
    assert page.evaluate("window.pwned === undefined")


@pytest.fixture
def wall(browser, sign_in, app_server) -> Iterator[Page]:
    with watched(sign_in(browser, "leader", FULL_HD), app_server) as page:
        page.goto(app_server + "wall", wait_until="domcontentloaded")
        yield page


TWIN = "Object.values(window.onemap.deck.twins)[0]"


def test_wall_3d_base_names_are_the_stores(wall, demo_url, artifacts):
    wall.wait_for_function(
        f"() => window.onemap && window.onemap.deck && {TWIN} && {TWIN}.urls.base_labels"
        f" && {TWIN}.urls.base_districts && {TWIN}.shown",  # drawn, not the warm-up samples
        timeout=TIMEOUT,
    )
    twin = wall.evaluate(
        f"""() => {{ const t = {TWIN};
            const shown = (t.labels.base_labels || []).map(l => l.el);
            return {{url: t.urls.base_labels, order: t.spec.order,
                     names: t.data.base_labels.map(f => f.properties.name),
                     drawn: shown.map(e => e.textContent),
                     font: shown.length ? getComputedStyle(shown[0]).fontFamily : "",
                     districts: t.data.base_districts.length}}; }}"""
    )
    bbox, zoom, lang = _view(twin["url"])
    assert lang == "zh"
    expected = sorted(area_names(demo_url, bbox, zoom, "zh") + road_names(demo_url, bbox, zoom))
    assert sorted(twin["names"]) == expected and expected
    assert twin["drawn"] and set(twin["drawn"]) <= set(twin["names"])
    # names are HTML over the canvas in the system's CJK fonts (nothing from the web)
    assert "Noto Sans CJK SC" in twin["font"] and "http" not in twin["font"]
    assert twin["order"][-1] == "base_labels" and twin["districts"] > 0
    wall.wait_for_load_state("networkidle")
    wall.screenshot(path=str(artifacts / "wall_base_3d_names.png"))

    # The 2D map has the same base (dark): its names are the store's for its own view.
    shown = wall.evaluate("window.onemap.base.applied('wall-map').labels")
    bbox, zoom, _ = _view(shown)
    dom = wall.evaluate(
        "[...document.querySelectorAll('.wall-map .base-label-area')].map(e => e.textContent)"
    )
    assert sorted(dom) == area_names(demo_url, bbox, zoom, "zh") and dom
    assert wall.locator(".wall-map .leaflet-onemap-base-pane path").count() > 0

    # A live update refetches the layers it names, never the base.
    before = [r for r in wall.requests if "/api/basemap/labels" in r]
    with wall.expect_request(lambda r: "/api/layers/hexagons?" in r.url, timeout=TIMEOUT):
        wall.evaluate("window.onemap.deck.reload(['hexagons'])")
    wall.wait_for_load_state("networkidle")
    assert [r for r in wall.requests if "/api/basemap/labels" in r] == before
