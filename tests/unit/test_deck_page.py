"""pages.twin without a browser or database: deep links, time windows, specs, the embed."""

from __future__ import annotations

import dash
import pytest

from geodata.settings import PROJECT_ROOT, Settings
from web import context


@pytest.fixture(scope="module")
def twin():
    # named as app.py names the app, so the page modules register under the same names
    app = dash.Dash("app", use_pages=True, pages_folder=str(PROJECT_ROOT / "pages"))
    app.server.config[context.SETTINGS_KEY] = Settings(timezone="Europe/Berlin")
    from pages import twin

    with app.server.app_context():  # the page reads the settings (the city's zone)
        yield twin


def test_deep_link_parts_that_are_valid_are_kept(twin):
    view = twin.initial_view((117.28, 31.86), {"lat": "31.9", "zoom": "99", "pitch": "0"})
    assert (view.latitude, view.longitude) == (31.9, 117.28)
    assert view.zoom == twin.DEFAULT_ZOOM and view.pitch == 0
    assert view.bearing == twin.DEFAULT_BEARING


def test_default_window_is_the_last_days_of_the_data(twin):
    assert twin.default_window(("2025-11-01", "2026-10-31"), 30) == ("2026-10-02", "2026-10-31")
    assert twin.default_window(("2026-10-20", "2026-10-31"), 90) == ("2026-10-20", "2026-10-31")


def test_twin_spec_serves_deck_gl_locally_and_names_the_page_widgets(twin):
    spec = twin.twin_spec(twin.initial_view((117.28, 31.86), {}), "zh")
    assert spec["timeZone"] == "Europe/Berlin"  # tooltips show times in ONEMAP_TIMEZONE
    assert spec["bundle"].startswith("/vendor/deck.gl/") and spec["api"] == "/api/layers"
    assert spec["container"] == twin.DECK and spec["syncUrl"] is True
    assert {"buildings", "hexagons", "incident_heatmap", "alarms"} <= set(spec["order"])
    assert spec["sources"]["alarms"]["params"] == {"status": "alarm"}
    assert spec["deck"]["initialViewState"]["zoom"] == twin.DEFAULT_ZOOM - 1
    assert spec["strings"]["twin.in_view"] == "视图内事件"


def test_embed_is_a_store_and_a_container_for_chosen_overlays(twin):
    view = twin.initial_view((117.28, 31.86), {})
    embed = twin.deck_embed("heat", ("incident_heatmap",), view, "en", time="2026-10-01/2026-10-31")
    store, container, _error = embed.children
    assert store.id == {"type": twin.EMBED_SPEC, "name": "heat"}
    assert container.id == store.data["container"] == "deck-embed-heat"
    assert store.data["order"] == ["incident_heatmap"] and "syncUrl" not in store.data
    assert store.data["filters"] == {"time": "2026-10-01/2026-10-31", "category": None}
