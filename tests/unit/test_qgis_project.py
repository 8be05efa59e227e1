"""The QGIS project's pieces without a store: colours as QGIS writes them, the data source
string (quoting, no token), categories only when the collection carries the styled field,
label fields per language."""

from __future__ import annotations

import re

import pytest

from geodata.exports.sources import Source
from layers.qgis_project import (
    AUTHCFG,
    STYLED_LAYERS,
    ProjectLayer,
    categories,
    datasource,
    label_field,
    rgba,
)


def test_colours_are_rgba_with_the_opacity_as_alpha():
    assert rgba("#f87171") == "248,113,113,255"
    assert rgba("#0b1220", 0.5) == "11,18,32,128"
    assert rgba("#FFFFFF", 2.0) == "255,255,255,255"
    with pytest.raises(ValueError, match="not a #rrggbb"):
        rgba("red")


def test_the_data_source_names_the_collection_and_the_placeholder_only():
    text = datasource("http://host:8050/city's/ogc", "facilities")
    pairs = dict(re.findall(r"(\S+?)=(?:'((?:[^'\\]|\\.)*)'|\S+)", text))
    assert pairs["typename"] == "facilities"
    assert pairs["url"] == "http://host:8050/city\\'s/ogc"
    assert text.startswith(f"authcfg={AUTHCFG} ") and "Bearer" not in text


def _item(layer_id: str, fields: tuple[str, ...]) -> ProjectLayer:
    layer = STYLED_LAYERS[layer_id]
    return ProjectLayer(Source(layer.id, dict(layer.title), layer.source), fields, None)


def test_categories_need_the_styled_field_in_the_collection():
    facilities = STYLED_LAYERS["facilities"]
    found = categories(facilities, ("id", "kind", "name"))
    assert [(value, colour) for value, colour, _ in found] == [
        (i.value, i.color) for i in facilities.legend if i.value
    ]
    assert categories(facilities, ("id", "name")) == []
    assert categories(None, ("kind",)) == []


def test_labels_use_the_english_field_on_english_projects_when_there_is_one():
    districts = _item("districts", ("id", "name", "name_en"))
    assert label_field(districts, "zh") == "name" and label_field(districts, "en") == "name_en"
    assert label_field(_item("districts", ("id", "name")), "en") == "name"
    assert label_field(_item("districts", ("id",)), "zh") is None
