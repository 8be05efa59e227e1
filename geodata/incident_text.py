"""The words of incidents the early-warning rules raise, in each language, from their facts.

A rule's incident is stored with the title in the store's language (Chinese, as residents'
reports are) — never both languages in one string — and its facts in ``trigger`` (device kind,
serial, gateway, reason). :func:`rule_title` renders the same title in any language from those
facts, so a page can show it in the viewer's language; :func:`title_sql` does the same in SQL
(map layers build their properties in the database).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from geodata.vocab import DEVICE_KINDS, Text

DEFAULT_LANGUAGE = "zh"
"""The language incidents are stored in (and the fallback of a missing translation)."""

TITLES: dict[str, Text] = {
    "offline.device": {"zh": "设备离线：{kind} {serial}", "en": "Device offline: {kind} {serial}"},
    "offline.gateway": {
        "zh": "网关离线：{gateway}（{silent} 台设备无上报）",
        "en": "Gateway offline: {gateway} ({silent} devices silent)",
    },
    "smoke_gas.smoke": {"zh": "烟感报警", "en": "Smoke alarm"},
    "smoke_gas.gas": {"zh": "燃气泄漏报警", "en": "Gas leak alarm"},
    "fire_lane": {"zh": "消防通道占用", "en": "Vehicle in fire lane"},
    "dogs": {"zh": "大型犬只多次出没", "en": "Large dog sighted repeatedly"},
    "welfare.inactive": {"zh": "独居老人久未出门", "en": "Elderly resident not seen going out"},
    "welfare.away": {"zh": "独居老人久出未归", "en": "Elderly resident not back home"},
    "stale_source": {
        "zh": "数据源逾期未更新：{title_zh}",
        "en": "Data source overdue: {title_en}",
    },
}
"""Title templates by key (``<rule>`` or ``<rule>.<variant>``), per language."""


def title(key: str, lang: str = DEFAULT_LANGUAGE, **facts: Any) -> str:
    """Title ``key`` in ``lang`` with ``facts`` filled in (a device ``kind`` code is named)."""
    template = TITLES[key]
    if "kind" in facts:
        names = DEVICE_KINDS.get(str(facts["kind"]))
        facts["kind"] = (names.get(lang) or names[DEFAULT_LANGUAGE]) if names else facts["kind"]
    return (template.get(lang) or template[DEFAULT_LANGUAGE]).format(**facts)


def rule_title(trigger: Mapping[str, Any] | None, lang: str) -> str | None:
    """The title of a rule's incident in ``lang``, from its stored ``trigger``; None when the
    trigger does not name a known rule (a person's report: show its own title)."""
    if not trigger or "title_key" not in trigger:
        return None
    key = str(trigger["title_key"])
    if key not in TITLES:
        return None
    return title(key, lang, **dict(trigger.get("title_facts") or {}))


def _quote(text: str) -> str:
    """``text`` as an SQL string literal (colons escaped: the SQL runs as bound ``text()``)."""
    return "'" + text.replace("'", "''").replace(":", "\\:") + "'"


def _fact_sql(name: str, facts: str, lang: str) -> str:
    """SQL of fact ``name`` of the JSON ``facts``; a device ``kind`` code is named in ``lang``."""
    value = f"({facts} ->> {_quote(name)})"
    if name != "kind":
        return f"coalesce({value}, '')"
    cases = " ".join(
        f"WHEN {_quote(code)} THEN {_quote(names.get(lang) or names[DEFAULT_LANGUAGE])}"
        for code, names in DEVICE_KINDS.items()
    )
    return f"coalesce(CASE {value} {cases} ELSE {value} END, '')"


def _template_sql(template: str, facts: str, lang: str) -> str:
    """SQL concatenating ``template``'s text with its ``{fact}`` fields filled from ``facts``."""
    parts: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        if literal:
            parts.append(_quote(literal))
        if field:
            parts.append(_fact_sql(field, facts, lang))
    return f"concat({', '.join(parts)})"


def title_sql(lang: str, alias: str = "t") -> str:
    """SQL of the title of incident row ``alias`` in ``lang``: a rule's, rendered from its
    ``trigger`` like :func:`rule_title`; anyone else's (or an unknown key), the stored title."""
    facts = f"({alias}.trigger -> 'title_facts')"
    cases = " ".join(
        f"WHEN {_quote(key)} THEN "
        f"{_template_sql(texts.get(lang) or texts[DEFAULT_LANGUAGE], facts, lang)}"
        for key, texts in TITLES.items()
    )
    return f"(CASE ({alias}.trigger ->> 'title_key') {cases} ELSE {alias}.title END)"
