"""Layer specs, the registry, and the pure parts of the feature provider (no database)."""

from __future__ import annotations

import math

import pytest

from geodata.query import BBox, FeatureQueryError
from layers.base import Layer, LegendItem
from layers.leaflet import hideout
from layers.query import parse_limit, parse_zoom
from layers.registry import LAYERS, UnknownLayerError, _unique, get_layer, layers_for
from layers.sql import check_table, degrees_per_pixel, h3_resolution, precision, tolerance
from web import i18n


def test_registry_lists_every_layer_bottom_up():
    assert [layer.id for layer in LAYERS] == [
        "districts",
        "streets",
        "communities",
        "grids",
        "roads",
        "buildings",
        "residents",
        "hexagons",
        "risk_forecast",
        "hotspots",
        "incident_heatmap",
        "facilities",
        "organisations",
        "sensors",
        "cameras",
        "coverage_gaps",
        "incidents",
    ]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.id)
def test_every_layer_names_real_columns_and_both_languages(layer):
    table = check_table(layer)
    assert table.name == layer.source
    assert layer.title["zh"] and layer.title["en"]
    for item in layer.legend:
        assert item.label["zh"] and item.label["en"] and item.color.startswith("#")
    for field in layer.popup:
        assert field.name in table.c and field.label["zh"] and field.label["en"]


def test_duplicate_ids_are_refused():
    district = get_layer("districts")
    with pytest.raises(ValueError, match="duplicate layer ids: \\['districts'\\]"):
        _unique((district, district))


def test_unknown_layer_names_the_known_ones():
    with pytest.raises(UnknownLayerError, match="known layers: districts, streets"):
        get_layer("people")


def test_public_viewer_sees_every_layer_and_people_only_as_counts():
    assert {layer.id for layer in layers_for("public")} == {layer.id for layer in LAYERS}
    residents = get_layer("residents")
    assert residents.provider == "residents" and residents.min_count == 5
    assert residents.columns == ()  # nothing of a person is ever a feature property
    assert layers_for("nobody") == ()


def test_a_layer_with_a_column_its_table_lacks_is_rejected():
    bad = Layer(
        id="bad",
        title={"zh": "坏", "en": "Bad"},
        source="building",
        geometry="polygon",
        style={},
        legend=(LegendItem({"zh": "x", "en": "x"}, "#000000"),),
        style_by="colour",
        label_en=None,
    )
    with pytest.raises(ValueError, match="no column \\['colour'\\]"):
        check_table(bad)


def test_layer_spec_checks_its_zoom_range_and_title():
    with pytest.raises(ValueError, match="title lacks \\['en'\\]"):
        Layer(id="x", title={"zh": "x"}, source="area", geometry="polygon", style={}, legend=())
    with pytest.raises(ValueError, match="aggregate_below_zoom"):
        Layer(
            id="x",
            title={"zh": "x", "en": "x"},
            source="area",
            geometry="polygon",
            style={},
            legend=(),
            min_zoom=12,
            aggregate_below_zoom=10,
        )


def test_buildings_are_aggregated_below_15_and_hidden_below_11():
    buildings = get_layer("buildings")
    assert not buildings.shown_at(10) and buildings.shown_at(11)
    assert buildings.aggregated_at(14.9) and not buildings.aggregated_at(15)
    assert [h3_resolution(z) for z in (8, 10, 11, 12.5, 13, 17)] == [5, 6, 7, 8, 9, 9]


def test_tolerance_halves_per_zoom_level_and_precision_follows():
    assert degrees_per_pixel(0) == pytest.approx(360 / 256)
    assert tolerance(11) == pytest.approx(tolerance(10) / 2)
    assert precision(8) < precision(14) <= precision(20) == 7
    # The rounding step never exceeds the simplification tolerance.
    for zoom in range(0, 23):
        assert 10 ** -precision(zoom) <= tolerance(zoom) or precision(zoom) == 7


def test_bbox_parses_four_ordered_numbers():
    box = BBox.parse("117.2,31.8,117.4,31.9")
    assert box.as_list() == [117.2, 31.8, 117.4, 31.9]
    for bad, message in [
        ("", "missing"),
        ("1,2,3", "not four numbers"),
        ("a,b,c,d", "not four numbers"),
        ("1,2,3,inf", "not four numbers"),
        ("117.4,31.8,117.2,31.9", "inverted"),
        ("-200,0,0,1", "longitudes"),
        ("0,-95,1,1", "latitudes"),
        ("100,10,140,30", "too large"),
    ]:
        with pytest.raises(FeatureQueryError, match=message):
            BBox.parse(bad)


def test_zoom_and_limit_are_range_checked():
    assert parse_zoom("12.5") == 12.5
    for bad in ("", "x", "-1", "23", "nan"):
        with pytest.raises(FeatureQueryError):
            parse_zoom(bad)
    assert parse_limit(None, 5000) == 5000 and parse_limit("10", 5000) == 10
    for bad in ("0", "5001", "1.5"):
        with pytest.raises(FeatureQueryError):
            parse_limit(bad, 5000)
    assert math.isfinite(tolerance(22))


def test_every_ui_string_exists_in_both_languages():
    for key, value in i18n.STRINGS.items():
        assert value.get("zh") and value.get("en"), key
    assert i18n.text("app.title", "en") == "OneMap" and i18n.text("app.title") == "社区一张图"
    assert i18n.language("fr") == "zh"


def test_hideout_carries_labels_in_the_chosen_language():
    buildings = get_layer("buildings")
    assert (
        hideout(buildings, "en", {}, "Asia/Shanghai")["valueLabels"]["use"]["residential"]
        == "Residential"
    )
    assert hideout(buildings, "zh", {}, "Asia/Shanghai")["popup"][0]["label"] == "名称"
