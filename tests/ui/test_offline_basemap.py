"""The home map on an offline base-map package (``ONEMAP_BASEMAP=pmtiles:…``) in Chromium: the
real app (``python app.py``) serves the package the test writes; the map draws its tiles, and
not one request leaves the app's origin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tile_packages import ATTRIBUTION, block, write_pmtiles
from tests.ui.conftest import log_in, running_app, watched

pytestmark = pytest.mark.slow

LON, LAT, ZOOM = 117.283, 31.861, 12
LOADED = ".package-tiles img.leaflet-tile-loaded"
TILE_FACTS = """() => [...document.querySelectorAll('.package-tiles img.leaflet-tile')].map(
    img => ({src: img.src, loaded: img.classList.contains('leaflet-tile-loaded'),
             width: img.naturalWidth, height: img.naturalHeight}))"""


@pytest.fixture(scope="module")
def package_app(demo_url, tmp_path_factory) -> Iterator[str]:
    """The app with a 9×9-tile PMTiles package around the city centre at zoom 12."""
    folder = tmp_path_factory.mktemp("basemap")
    path = write_pmtiles(folder / "hefei.pmtiles", block(LON, LAT, ZOOM, 4))
    with running_app(demo_url, folder / "app.log", ONEMAP_BASEMAP=f"pmtiles:{path}") as base:
        yield base


def test_home_map_draws_the_package_from_its_own_origin(
    package_app, browser, demo_accounts, artifacts
):
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    with watched(context.new_page(), package_app) as page:
        log_in(page, package_app, "analyst", demo_accounts["analyst"])
        answers: list[tuple[str, int, str]] = []
        page.on(
            "response",
            lambda r: answers.append((r.url, r.status, r.headers.get("content-type", ""))),
        )
        page.goto(f"{package_app}?lat={LAT}&lon={LON}&zoom={ZOOM}", wait_until="networkidle")
        tiles = page.evaluate(TILE_FACTS)
        page.screenshot(path=str(artifacts / "home_map_offline_package.png"))
        attribution = page.inner_text(".leaflet-control-attribution")
        tile_requests = [r for r in page.requests if "/tiles/base/" in r]
    loaded = [t for t in tiles if t["loaded"]]
    assert len(loaded) >= 12, tiles  # a 1600×900 map at zoom 12 shows about 7×4 tiles
    assert all((t["width"], t["height"]) == (256, 256) for t in loaded)
    assert all(t["src"].startswith(f"{package_app}tiles/base/{ZOOM}/") for t in tiles)
    assert all(t["src"].endswith(".png") for t in tiles)
    served = [a for a in answers if "/tiles/base/" in a[0]]
    assert len(tile_requests) >= len(loaded) and served
    assert all(status == 200 and kind == "image/png" for _, status, kind in served), served
    assert ATTRIBUTION in attribution
    # ``watched`` has asserted no request went to another origin and no script failed.
