"""The analyst page's values: codes by their names in each language, instants in the city's
clock (no browser, no database). The value pickers: ``test_code_labels.py``."""

from __future__ import annotations

import pytest

from analytics.question_catalog import LAYERS
from pages.analyze_form import Filter, Form, build_spec
from pages.analyze_values import NotAnOption, label_of, labels, shown

LATE = "2026-12-07T07:30:00+08:00"


def test_codes_are_shown_by_name():
    assert label_of("incidents", "category", "alarm.gas", "zh") == "燃气泄漏报警"
    assert label_of("facilities", "kind", "fire_lane", "en") == "Fire lane"
    assert label_of("residents", "sex", "F", "zh") == "女"
    assert label_of("incidents", "severity", "4", "en") == "Critical"
    assert label_of("buildings", "floors", "18", "en") == "18"


def test_every_listed_value_of_a_coded_field_has_a_name_in_both_languages():
    for name, layer in LAYERS.items():
        for key, field in layer.fields.items():
            for code in field.values or ():
                names = labels(name, key).get(code)
                assert names and names["zh"] and names["en"], (name, key, code)


def test_a_form_asks_with_the_codes_picked_and_refuses_names():
    form = Form(subject="facilities", where=[Filter("kind", "in", ["fire_lane", "aed"])])
    spec = build_spec(form)
    assert spec["where"] == [{"field": "kind", "op": "in", "value": ["fire_lane", "aed"]}]
    with pytest.raises(NotAnOption, match="消防通道"):
        build_spec(Form(subject="facilities", where=[Filter("kind", "in", "消防通道,AED")]))


def test_cells_show_names_and_city_time():
    assert shown("incidents", "status", "closed", "en", "Asia/Shanghai") == "Closed"
    assert shown("incidents", "reported_at", LATE, "zh", "Asia/Shanghai") == "2026-12-07 07:30:00"
    assert shown("incidents", "reported_at", LATE, "en", "UTC") == "2026-12-06 23:30:00"
    assert shown("residents", "care_tags", ["elderly", "disabled"], "zh", "UTC") == "老年人、残疾人"
    assert shown("buildings", "floors", 18, "en", "UTC") == "18"
    assert shown("incidents", "severity", 2, "zh", "UTC") == "较重"  # an integer code
    assert shown("incidents", "severity", 2, "en", "UTC") == "Moderate"
    assert shown("buildings", "name", None, "en", "UTC") == ""
