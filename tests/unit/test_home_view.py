"""The home map's first view: the whole city fitted to the screen, or a deep link."""

from __future__ import annotations

import math

import dash
import pytest

from geodata.settings import PROJECT_ROOT, Settings

# about 2.4 km × 2.2 km around central Hefei (the scale-1 demo city)
SMALL = (117.270, 31.850, 117.295, 31.870)
# about 16 km across (the 2-million-resident demo city)
LARGE = (117.200, 31.800, 117.370, 31.930)


@pytest.fixture(scope="module")
def home():
    dash.Dash("app", use_pages=True, pages_folder=str(PROJECT_ROOT / "pages"))  # as app.py
    from pages import home

    return home


def _pixels(extent: tuple[float, float, float, float], zoom: int) -> tuple[float, float]:
    """Width and height of ``extent`` on a web-Mercator map at ``zoom``."""
    west, south, east, north = extent
    per_degree = 256 * 2**zoom / 360
    stretch = 1 / math.cos(math.radians((south + north) / 2))
    return (east - west) * per_degree, (north - south) * stretch * per_degree


@pytest.mark.parametrize("extent", [SMALL, LARGE])
def test_fit_zoom_is_the_largest_whole_zoom_showing_the_extent(home, extent):
    zoom = home.fit_zoom(extent, 1400, 800)
    width, height = _pixels(extent, zoom)
    assert width <= 1400 and height <= 800
    closer = _pixels(extent, zoom + 1)
    assert closer[0] > 1400 or closer[1] > 800


def test_fit_zoom_stays_within_the_map_limits(home):
    assert home.fit_zoom((0.0, 0.0, 1e-9, 1e-9), 1400, 800) == home.MAX_ZOOM
    assert home.fit_zoom((-180.0, -80.0, 180.0, 80.0), 1400, 800) == home.MIN_ZOOM


def test_first_view_is_the_city_unless_a_deep_link_says_otherwise(home):
    settings = Settings()
    center, zoom = home.initial_view(settings, {}, SMALL)
    assert center == pytest.approx([31.86, 117.2825]) and zoom == home.fit_zoom(SMALL, 1400, 800)
    center, zoom = home.initial_view(settings, {"lat": "31.9", "zoom": "17"}, SMALL)
    assert center == pytest.approx([31.9, 117.2825]) and zoom == 17
    lon, lat = settings.city.center
    assert home.initial_view(settings, {}, None) == ([lat, lon], home.INITIAL_ZOOM)
