"""Every word in one language: rule incident titles and popup values (no raw codes)."""

from __future__ import annotations

import re

import pytest

from geodata import incident_text
from layers.registry import LAYERS
from twin.rules.base import titled

CJK = re.compile(r"[\u3400-\u9fff\uff08\uff09\uff1a]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
FACTS = {
    "kind": "door",
    "serial": "DOR000002966",
    "gateway": "GW-7",
    "silent": 12,
    "title_zh": "消防设施台账",
    "title_en": "Fire facility register",
}
CODE_COLUMNS = {"category", "kind", "status", "level", "use", "occupancy", "severity"}


@pytest.mark.parametrize("key", sorted(incident_text.TITLES))
def test_rule_titles_are_in_exactly_one_language(key):
    zh = incident_text.title(key, "zh", **FACTS)
    en = incident_text.title(key, "en", **FACTS)
    assert not LATIN_WORD.search(zh.replace(FACTS["serial"], "").replace(FACTS["gateway"], ""))
    assert not CJK.search(en) and en != zh


def test_a_device_kind_is_named_not_coded_and_the_trigger_renders_it_again():
    title, words = titled("offline.device", kind="door", serial="DOR000002966")
    assert title == "设备离线：门磁 DOR000002966"
    trigger = {"rule": "offline", **words}
    assert incident_text.rule_title(trigger, "en") == "Device offline: Door sensor DOR000002966"
    assert incident_text.rule_title(trigger, "zh") == title
    assert incident_text.rule_title({"rule": "x"}, "en") is None


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.id)
def test_popups_label_every_coded_value(layer):
    coded = {f.name for f in layer.popup} & CODE_COLUMNS
    assert coded <= set(layer.value_labels), f"{layer.id}: raw codes in popup {coded}"
    for column in coded:
        for code, names in layer.value_labels[column].items():
            assert names.get("zh") and names.get("en") and not CJK.search(names["en"]), code
