"""A rule incident's title rendered in SQL (map layers) reads exactly as in Python, in each
language, for every rule; a person's report keeps its own title."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from geodata import incident_text
from twin.rules.base import titled

FACTS = {
    "kind": "door",
    "serial": "DOR000002966",
    "gateway": "GW-7",
    "silent": 12,
    "title_zh": "消防设施台账",
    "title_en": "Fire facility register",
}


def _sql_title(conn, trigger: dict | None, lang: str, stored: str = "存储的标题") -> str:
    sql = (
        f"SELECT {incident_text.title_sql(lang)} FROM "
        "(SELECT CAST(:trigger AS jsonb) AS trigger, CAST(:stored AS text) AS title) AS t"
    )
    params = {"trigger": json.dumps(trigger) if trigger else None, "stored": stored}
    return conn.execute(text(sql), params).scalar_one()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", sorted(incident_text.TITLES))
def test_sql_title_matches_the_python_title(conn, key, lang):
    stored, words = titled(key, **FACTS)
    trigger = {"rule": key.split(".")[0], **words}
    expected = incident_text.rule_title(trigger, lang)
    assert _sql_title(conn, trigger, lang, stored) == expected
    assert (expected == stored) is (lang == "zh")


def test_a_report_or_an_unknown_key_keeps_its_stored_title(conn):
    assert _sql_title(conn, None, "en", "楼道堆物") == "楼道堆物"
    assert _sql_title(conn, {"rule": "x", "title_key": "gone"}, "en", "旧标题") == "旧标题"
