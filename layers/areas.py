"""Shared parts of the governance-area layers (district, street, community, grid)."""

from __future__ import annotations

from layers.base import PopupField

AREA_POPUP = (
    PopupField("name", {"zh": "名称", "en": "Name"}),
    PopupField("name_en", {"zh": "英文名", "en": "English name"}),
    PopupField("code", {"zh": "代码", "en": "Code"}),
    PopupField("population", {"zh": "常住人口（估算）", "en": "Population (est.)"}),
)


def level_filter(level: str) -> tuple[tuple[str, str], ...]:
    """The ``where`` of an area layer of one level."""
    return (("level", level),)
