"""Every UI string of the pages in zh-CN (default) and English.

Layer titles, legends and popup labels are layer data (see ``layers/``); everything else a user
reads is here. :func:`text` picks one language; the shell swaps them clientside on a switch.
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {"zh": "中文", "en": "EN"}
DEFAULT_LANGUAGE = "zh"

STRINGS: dict[str, dict[str, str]] = {
    "app.title": {"zh": "社区一张图", "en": "OneMap"},
    "app.subtitle": {
        "zh": "基层治理数字孪生",
        "en": "Digital twin of community governance",
    },
    "app.document_title": {"zh": "社区一张图 · OneMap", "en": "OneMap · Community governance"},
    "shell.language": {"zh": "语言", "en": "Language"},
    "home.layers": {"zh": "图层", "en": "Layers"},
    "home.legend": {"zh": "建筑用途", "en": "Building use"},
    "home.zoom": {"zh": "缩放级别", "en": "Zoom"},
    "home.hint": {
        "zh": "放大显示建筑轮廓；缩小时以六边形统计建筑数量。",
        "en": "Zoom in for building outlines; zoomed out, hexagons count the buildings.",
    },
    "map.count": {"zh": "栋建筑", "en": "buildings"},
}


def text(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """String ``key`` in ``lang`` (falling back to the default language)."""
    entry = STRINGS[key]
    return entry.get(lang) or entry[DEFAULT_LANGUAGE]


def pick(value: dict[str, str], lang: str) -> str:
    """One language of a ``{'zh': …, 'en': …}`` value from the layer data."""
    return value.get(lang) or value[DEFAULT_LANGUAGE]


def language(value: str | None) -> str:
    """A supported language code (the default for anything else)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE
