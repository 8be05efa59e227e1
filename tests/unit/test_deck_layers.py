"""layers.deck: deck.gl JSON from layer specs (no browser, no database)."""

from __future__ import annotations

import json

import pytest

from layers import deck
from layers.registry import get_layer


def _json(layer) -> dict:
    return json.loads(layer.to_json())


def test_rgba_reads_long_and_short_hex_and_refuses_names():
    assert deck.rgba("#60a5fa") == [96, 165, 250, 255]
    assert deck.rgba("#fff", 10) == [255, 255, 255, 10]
    with pytest.raises(ValueError, match="not a #rrggbb"):
        deck.rgba("red")


def test_match_builds_a_ternary_chain_with_a_default():
    expr = deck.match("use", {"a": [1, 2, 3, 4], "b": [5, 6, 7, 8]}, [0, 0, 0, 0])
    assert expr == (
        "properties.use == 'a' ? [1, 2, 3, 4] : properties.use == 'b' ? [5, 6, 7, 8] : [0, 0, 0, 0]"
    )
    assert deck._literal("it's") == "'it\\'s'"


def test_ramp_maps_the_six_api_levels_highest_first():
    expr = deck.ramp(("#000000", "#ffffff"), 100)
    assert expr.startswith("properties.level >= 5 ? [255, 255, 255, 100]")
    assert expr.endswith("([0, 0, 0, 100])))))")
    assert expr.count("?") == deck.LEVELS - 1


def test_buildings_are_extruded_by_height_else_floors_times_storey():
    layer = _json(deck.render(deck.Overlay("buildings", get_layer("buildings"))))
    assert layer["@@type"] == "GeoJsonLayer"
    assert layer["extruded"] is True and layer["data"] == []
    assert layer["getElevation"] == (
        "@@=properties.aggregate ? 0 : (properties.height || properties.floors * 3 || 3)"
    )
    assert "properties.use == 'residential' ? [96, 165, 250, 235]" in layer["getFillColor"]


def test_each_provider_gets_its_deck_layer_type():
    hexagons = _json(deck.render(deck.Overlay("h", get_layer("hexagons"))))
    assert hexagons["@@type"] == "H3HexagonLayer"
    assert hexagons["getHexagon"] == "@@=properties.h3"
    assert hexagons["getElevation"] == f"@@={deck.COLUMN_HEIGHT_M:g} * properties._t"
    heat = _json(deck.render(deck.Overlay("heat", get_layer("incident_heatmap"))))
    assert heat["@@type"] == "HeatmapLayer"
    assert heat["getPosition"] == "@@=geometry.coordinates"
    assert heat["aggregation"] == "SUM" and heat["pickable"] is False
    assert heat["colorRange"][0][3] == 0 and len(heat["colorRange"]) == deck.LEVELS
    beacon = _json(deck.render(deck.Overlay("a", get_layer("sensors"), style="beacon")))
    assert beacon["@@type"] == "ColumnLayer" and beacon["getPosition"] == "@@=properties._pos"
    grids = deck.Overlay("g", get_layer("grids"), style="outline")
    fill = _json(deck.render(grids))
    assert fill["@@type"] == "GeoJsonLayer" and fill["filled"] is True and fill["stroked"] is False
    lines = _json(deck.strokes(grids))
    assert lines["@@type"] == "LineLayer" and lines["id"] == "g-strokes"
    assert lines["getSourcePosition"] == "@@=_from" and lines["getTargetPosition"] == "@@=_to"
    assert lines["widthUnits"] == "pixels" and lines["getColor"][3] == 210
    wedges = _json(deck.render(deck.Overlay("c", get_layer("cameras"))))
    assert (
        wedges["@@type"] == "GeoJsonLayer"
        and "properties.status == 'alarm'" in (wedges["getFillColor"])
    )
    roads = deck.Overlay("r", get_layer("roads"))
    assert deck.render(roads) is None  # lines only: all strokes
    assert "properties.kind == 'motorway'" in _json(deck.strokes(roads))["getColor"]


def test_outlines_without_fill_are_strokes_only_and_others_have_none():
    streets = deck.Overlay("s", get_layer("streets"), style="outline")
    assert deck.render(streets) is None
    assert [layer.type for layer in deck.deck_layers(streets)] == ["LineLayer"]
    assert deck.source(streets)["strokes"] == "s-strokes"
    buildings = deck.Overlay("b", get_layer("buildings"))
    assert deck.strokes(buildings) is None and deck.source(buildings)["strokes"] is None
    assert [layer.type for layer in deck.deck_layers(buildings)] == ["GeoJsonLayer"]


def test_overlay_ramp_overrides_the_layers_ramp():
    amber = ("#451a03", "#92400e", "#d97706", "#f59e0b", "#fbbf24", "#fde68a")
    layer = _json(deck.render(deck.Overlay("h", get_layer("hexagons"), ramp=amber)))
    assert layer["getFillColor"].startswith("@@=properties.level >= 5 ? [253, 230, 138, 165]")


def test_source_says_how_to_ask_the_api():
    incidents = deck.source(deck.Overlay("i", get_layer("incidents"), min_zoom=14))
    assert incidents == {
        "layer": "incidents",
        "params": {},
        "minZoom": 14,
        "maxZoom": 22,
        "time": True,
        "category": True,
        "url": None,
        "labels": None,
        "aggregateBelow": None,
        "strokes": None,
        "geometry": "point",
    }
    alarms = deck.source(deck.Overlay("a", get_layer("sensors"), params={"status": "alarm"}))
    assert alarms["params"] == {"status": "alarm"} and alarms["time"] is False


def test_base_labels_are_html_sized_by_level_from_their_own_url():
    overlay = deck.Overlay(
        "names", get_layer("districts"), params={"lang": "en"}, style="labels", url="/api/x"
    )
    source = deck.source(overlay)
    assert source["url"] == "/api/x" and source["params"] == {"lang": "en"}
    assert source["labels"] == {**deck.LABEL_SIZES, "": deck.ROAD_LABEL_SIZE}
    # no deck layer (no glyph atlas, no text shaders): the glue writes the names as HTML
    assert deck.render(overlay) is None and deck.deck_layers(overlay) == []


def test_extruded_sources_say_below_which_zoom_they_are_flat_cells():
    buildings = get_layer("buildings")
    assert buildings.aggregate_below_zoom is not None
    source = deck.source(deck.Overlay("b", buildings))
    assert source["aggregateBelow"] == buildings.aggregate_below_zoom
    # only extruded layers: flat ones have no side walls to leave out
    assert deck.source(deck.Overlay("h", get_layer("hexagons")))["aggregateBelow"] is None


def test_tooltip_labels_fields_and_coded_values_in_each_language():
    overlay = deck.Overlay("incidents", get_layer("incidents"))
    zh, en = deck.tooltip(overlay, "zh"), deck.tooltip(overlay, "en")
    assert (zh["title"], en["title"]) == ("事件", "Incidents")
    assert zh["label"] == "title"
    assert "title" not in [f["name"] for f in zh["fields"]]
    assert zh["values"]["severity"]["4"] == "特别严重"
    assert en["values"]["status"]["closed"] == "Closed"
    # the heading follows the page: the English title where a feature has one, on EN pages
    assert (zh["labelEn"], en["labelEn"]) == (None, "title_en")
    assert "title_en" not in [f["name"] for f in en["fields"]]


def test_view_converts_leaflet_zoom_to_deck_zoom():
    state = json.loads(deck.View(31.86, 117.28, 16, pitch=45, bearing=10).deck().to_json())
    assert state["zoom"] == 15 and state["pitch"] == 45 and state["bearing"] == 10


def test_spec_has_no_base_map_provider_no_urls_and_empty_data():
    overlays = (
        deck.Overlay("grids", get_layer("grids"), style="outline"),
        deck.Overlay("buildings", get_layer("buildings")),
    )
    spec = deck.spec(
        overlays, deck.View(31.86, 117.28, 16), "en", api="/api/layers", bundle="/b.js",
        container="c",
    )  # fmt: skip
    text = json.dumps(spec["deck"])
    assert "http" not in text and "mapProvider" not in spec["deck"]
    assert "mapStyle" not in spec["deck"]
    assert spec["order"] == ["grids", "buildings"]
    assert spec["timeZone"] == "Asia/Shanghai" and spec["lang"] == "en"
    assert [layer["id"] for layer in spec["deck"]["layers"]] == [
        "grids",
        "grids-strokes",
        "buildings",
    ]
    assert [layer["data"] for layer in spec["deck"]["layers"]] == [[], [], []]
    assert spec["sources"]["grids"]["strokes"] == "grids-strokes"
    assert spec["deck"]["views"] == [{"@@type": "MapView", "controller": True}]
    with pytest.raises(ValueError, match="duplicate overlay ids"):
        deck.spec(overlays * 2, deck.View(0, 0, 10), "zh", api="", bundle="", container="")
