"""The analyst page's values: codes by their names in each language and back, instants in the
city's clock (no browser, no database)."""

from __future__ import annotations

from analytics.question_catalog import LAYERS
from pages.analyze_form import Filter, Form, build_spec
from pages.analyze_values import code_of, label_of, labels, shown

LATE = "2026-12-07T07:30:00+08:00"


def test_codes_are_shown_by_name_and_read_back_from_either_language():
    assert label_of("incidents", "category", "alarm.gas", "zh") == "燃气泄漏报警"
    assert label_of("facilities", "kind", "fire_lane", "en") == "Fire lane"
    assert code_of("facilities", "kind", "消防通道") == "fire_lane"
    assert code_of("facilities", "kind", " Fire lane ") == "fire_lane"
    assert code_of("facilities", "kind", "fire_lane") == "fire_lane"
    assert code_of("buildings", "name", "消防通道") == "消防通道"  # a free-text field
    assert label_of("buildings", "floors", "18", "en") == "18"


def test_every_listed_value_of_a_coded_field_has_a_name_in_both_languages():
    for name, layer in LAYERS.items():
        for key, field in layer.fields.items():
            for code in field.values or ():
                names = labels(name, key).get(code)
                assert names and names["zh"] and names["en"], (name, key, code)


def test_a_form_with_names_asks_with_codes():
    form = Form(subject="facilities", where=[Filter("kind", "in", "消防通道,AED")])
    spec = build_spec(form)
    assert spec["where"] == [{"field": "kind", "op": "in", "value": ["fire_lane", "aed"]}]


def test_cells_show_names_and_city_time():
    assert shown("incidents", "status", "closed", "en", "Asia/Shanghai") == "Closed"
    assert shown("incidents", "reported_at", LATE, "zh", "Asia/Shanghai") == "2026-12-07 07:30:00"
    assert shown("incidents", "reported_at", LATE, "en", "UTC") == "2026-12-06 23:30:00"
    assert shown("residents", "care_tags", ["elderly", "disabled"], "zh", "UTC") == "老年人、残疾人"
    assert shown("buildings", "floors", 18, "en", "UTC") == "18"
    assert shown("buildings", "name", None, "en", "UTC") == ""
