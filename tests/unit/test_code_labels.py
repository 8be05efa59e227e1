"""The one map of coded columns (``geodata.code_labels``) and the analyst page's value pickers
built from it: every coded field of every question layer is offered by its names in both
languages, picked codes go into the question unchanged, and whatever is not an option is
refused (no browser, no database)."""

from __future__ import annotations

import re

import pytest

from analytics.question_catalog import LAYERS as QUESTION_LAYERS
from analytics.question_spec import parse_question
from geodata import catalogue, code_labels, vocab
from geodata.accounts.viewer import Viewer
from geodata.exports.fields import allowed_fields
from geodata.taxonomy import GROUPS, LEAVES
from layers.collections import COLLECTIONS
from layers.queryables import queryables
from layers.registry import LAYERS as MAP_LAYERS
from pages.analyze_form import Filter, Form, FormError, build_spec
from pages.analyze_values import (
    HIDDEN,
    NotAnOption,
    choices,
    codes,
    is_coded,
    label_of,
    options,
    picker,
)

CJK = re.compile(r"[\u3400-\u9fff]")
CODED_KINDS = ("code", "tags")
CODED_FIELDS = [
    (layer, key)
    for layer, spec in QUESTION_LAYERS.items()
    for key, field in spec.fields.items()
    if field.kind in CODED_KINDS or code_labels.labels(spec.table, field.column)
]
"""Every field of a question layer that holds codes (incident categories and severities,
kept as text and integers, among them)."""


def test_the_coded_fields_are_the_ones_expected():
    named = {f"{layer}.{key}" for layer, key in CODED_FIELDS}
    assert {
        "incidents.category",
        "incidents.status",
        "incidents.level",
        "incidents.severity",
        "devices.kind",
        "devices.status",
        "cameras.status",
        "residents.care_tags",
        "residents.sex",
        "residents.hukou",
        "residents.household_role",
        "facilities.kind",
        "facilities.status",
        "buildings.use",
        "houses.occupancy",
        "organisations.kind",
        "roads.kind",
    } == named


def test_every_column_of_the_map_is_a_column_of_its_table():
    for table, column in code_labels.CODE_LABELS:
        assert column in catalogue.table(table).columns, (table, column)


@pytest.mark.parametrize(("table", "column"), sorted(code_labels.CODE_LABELS))
def test_every_code_has_a_name_in_each_language(table, column):
    for code, names in code_labels.labels(table, column).items():
        assert (names["zh"] and CJK.search(names["zh"])) or names["zh"] == names["en"], code
        assert names["en"] and not CJK.search(names["en"]), code
        assert code not in (names["zh"], names["en"]), f"{table}.{column}: {code} unnamed"


def test_the_map_covers_every_code_set_the_store_allows():
    expected = {
        ("device", "status"): set(vocab.DEVICE_STATUS),
        ("event", "status"): set(vocab.EVENT_STATUS),
        ("event", "level"): set(vocab.HANDLING_LEVELS),
        ("facility", "status"): set(vocab.FACILITY_STATUS),
        ("resident", "sex"): set(vocab.SEXES),
        ("resident", "hukou"): set(vocab.HUKOU),
        ("resident", "household_role"): set(vocab.HOUSEHOLD_ROLES),
        ("event", "severity"): {"1", "2", "3", "4"},
    }
    for (table, column), codes_ in expected.items():
        assert set(code_labels.choices(table, column)) == codes_, (table, column)
    for spec in QUESTION_LAYERS.values():
        for field in spec.fields.values():
            if field.values:
                assert set(field.values) <= set(code_labels.choices(spec.table, field.column))


def test_incident_categories_are_the_leaves_under_their_groups():
    offered = code_labels.choices("event", "category")
    assert set(offered) == {c.code for c in LEAVES}
    assert not set(offered) & {g.code for g in GROUPS}
    assert code_labels.labels("event", "category")["alarm.gas"]["zh"] == "燃气泄漏报警"


def test_the_map_layers_name_codes_as_the_store_map_does():
    """Popups, legends and pickers say the same: a layer's own labels of a coded column are
    the store map's."""
    checked = 0
    for layer in MAP_LAYERS:
        source = COLLECTIONS.get(layer.id)
        for column, own in layer.value_labels.items():
            if source is None or (source.table, column) not in code_labels.CODE_LABELS:
                continue
            store = code_labels.labels(source.table, column)
            for code, names in own.items():
                assert dict(store[str(code)]) == dict(names), (layer.id, column, code)
                checked += 1
    assert checked > 40


def test_queryables_title_codes_from_the_store_map():
    """A collection whose layer has no labels of its own for a column (the districts' level)
    lists the store map's codes and titles."""
    source = COLLECTIONS["districts"]
    viewer = Viewer(role="analyst")
    doc = queryables(source, allowed_fields(source.table, viewer), viewer, "zh", "u")
    level = doc["properties"]["level"]
    assert level["enum"] == ["district"]
    assert level["x-value-titles"] == {"district": dict(vocab.AREA_LEVELS["district"])}


@pytest.mark.parametrize(("layer", "field"), CODED_FIELDS)
def test_every_coded_field_has_a_picker_with_names_in_both_languages(layer, field):
    assert is_coded(layer, field)
    offered = choices(layer, field)
    assert offered
    for lang in ("zh", "en"):
        picked = [o for o in options(layer, field, lang) if not o.get("disabled")]
        assert [o["value"] for o in picked] == list(offered)
        for option in picked:
            code = option["value"]
            assert option["label"] != code and option["label"] == label_of(layer, field, code, lang)
            other = label_of(layer, field, code, "en" if lang == "zh" else "zh")
            words = str(option["search"]).split()
            for word in (*option["label"].split(), *other.split(), code):
                assert word in words, (code, word)


def test_grouped_categories_come_under_headings_that_cannot_be_picked():
    shown = options("incidents", "category", "zh")
    headings = [o for o in shown if o.get("disabled")]
    assert "— 物联感知报警 —" in [h["label"] for h in headings]
    gas = next(o for o in shown if o["value"] == "alarm.gas")
    assert "Sensor alarms" in str(gas["search"]) and "Gas leak alarm" in str(gas["search"])
    assert shown.index(gas) > [h["label"] for h in shown].index("— 物联感知报警 —")


@pytest.mark.parametrize(("layer", "field"), CODED_FIELDS)
def test_a_picked_code_goes_into_the_question_as_itself(layer, field):
    spec = QUESTION_LAYERS[layer]
    kind = spec.fields[field].kind
    op = "has" if kind == "tags" else "="
    for code in choices(layer, field):
        asked = build_spec(Form(subject=layer, where=[Filter(field, op, code)]))
        value = int(code) if kind == "int" else code
        assert asked["where"] == [{"field": field, "op": op, "value": value}]
        assert codes(layer, field, code) == [code]
    parse_question(asked)  # the engine takes it


def test_several_picked_codes_make_an_in_question():
    asked = build_spec(
        Form(subject="incidents", where=[Filter("category", "in", ["alarm.gas", "alarm.smoke"])])
    )
    assert asked["where"] == [
        {"field": "category", "op": "in", "value": ["alarm.gas", "alarm.smoke"]}
    ]
    assert parse_question(asked).layer.name == "incidents"
    with pytest.raises(FormError, match="takes one value"):
        build_spec(Form(subject="incidents", where=[Filter("status", "=", ["closed", "resolved"])]))


@pytest.mark.parametrize(
    "forged",
    [
        "消防通道",  # a name, not a code
        "Fire lane",
        "fire-lane",
        "hydrant; DROP TABLE facility",
        "group:alarm",
        ["fire_lane", "nope"],
        {"code": "fire_lane"},
        7,
        None,
        [["fire_lane"]],
    ],
)
def test_a_value_that_is_not_an_option_is_refused(forged):
    with pytest.raises(NotAnOption) as refused:
        codes("facilities", "kind", forged)
    assert refused.value.field == "kind" and len(refused.value.value) <= 41
    if forged is not None:
        with pytest.raises(NotAnOption):
            build_spec(Form(subject="facilities", where=[Filter("kind", "in", forged)]))


def test_a_group_is_not_an_incident_category_option():
    with pytest.raises(NotAnOption):
        build_spec(Form(subject="incidents", where=[Filter("category", "=", "alarm")]))
    with pytest.raises(NotAnOption):
        build_spec(Form(subject="incidents", where=[Filter("severity", "=", "5")]))


def test_uncoded_fields_stay_typed():
    assert not is_coded("buildings", "floors") and options("buildings", "floors", "zh") == []
    assert not is_coded("incidents", "reported_at") and not is_coded("buildings", "name")
    asked = build_spec(Form(subject="buildings", where=[Filter("name", "=", "消防通道")]))
    assert asked["where"] == [{"field": "name", "op": "=", "value": "消防通道"}]
    with pytest.raises(FormError, match="not a list"):
        build_spec(Form(subject="buildings", where=[Filter("floors", "in", ["6"])]))
    with pytest.raises(FormError, match="not a field"):
        build_spec(Form(subject="buildings", where=[Filter({"x": 1}, "=", "6")]))  # type: ignore[arg-type]


def test_a_row_shows_the_picker_for_a_coded_field_and_keeps_what_it_still_offers():
    row = picker("facilities", "kind", "in", ["fire_lane", "aed", "nope"], "en")
    assert (row.multi, row.value, row.pick_style, row.text_style) == (
        True,
        ["fire_lane", "aed"],
        None,
        HIDDEN,
    )
    assert {"label": "Fire lane", "value": "fire_lane"}.items() <= row.options[1].items()
    single = picker("facilities", "kind", "=", ["aed", "fire_lane"], "zh")
    assert (single.multi, single.value) == (False, "aed")
    assert picker("facilities", "status", "=", "aed", "zh").value is None  # another field
    typed = picker("facilities", "capacity", ">", "aed", "zh")
    assert (typed.options, typed.value, typed.pick_style, typed.text_style) == (
        [],
        None,
        HIDDEN,
        None,
    )
