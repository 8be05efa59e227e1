# ruff: noqa: E501  (one category per line reads best as a table)
"""Incident categories of the demo (dotted codes) with zh/en labels and generation weights."""

from __future__ import annotations

from typing import NamedTuple


class Category(NamedTuple):
    zh: str
    en: str
    weight: float  # share of incidents
    severity: tuple[float, float, float, float]  # P(severity = 1..4)
    peak_month: int  # seasonal peak (1–12)
    amplitude: float  # 0 = flat over the year
    device_kind: str | None = None  # alarms raised by a device of this kind


CATEGORIES: dict[str, Category] = {
    "environment.litter": Category("垃圾乱堆乱放", "Litter and dumping", 0.16, (.6, .35, .05, 0), 7, .35),
    "environment.noise": Category("噪声扰民", "Noise nuisance", 0.07, (.6, .35, .05, 0), 7, .45),
    "environment.sewage": Category("污水外溢", "Sewage overflow", 0.04, (.3, .5, .2, 0), 6, .5),
    "city.illegal_parking": Category("违规停车", "Illegal parking", 0.10, (.7, .3, 0, 0), 10, .1),
    "city.illegal_construction": Category("违章搭建", "Illegal construction", 0.04, (.2, .6, .2, 0), 4, .2),
    "fire_safety.blocked_lane": Category("消防通道堵塞", "Blocked fire lane", 0.07, (.2, .5, .25, .05), 1, .2),
    "fire_safety.ebike_charging": Category("电动车违规充电", "E-bike charging indoors", 0.06, (.1, .5, .3, .1), 1, .3),
    "public_safety.dispute": Category("邻里纠纷", "Neighbour dispute", 0.09, (.4, .45, .13, .02), 8, .2),
    "public_safety.suspicious": Category("可疑人员", "Suspicious person", 0.03, (.2, .5, .25, .05), 12, .1),
    "facility.damaged": Category("公共设施损坏", "Damaged facility", 0.08, (.4, .45, .15, 0), 3, .2),
    "facility.streetlight": Category("路灯故障", "Street light out", 0.04, (.6, .4, 0, 0), 12, .3),
    "facility.manhole": Category("井盖缺失", "Missing manhole cover", 0.02, (0, .3, .5, .2), 7, .3),
    "care.welfare_check": Category("独居老人探访", "Welfare check", 0.07, (.3, .5, .2, 0), 1, .4),
    "care.assistance": Category("困难群众求助", "Request for assistance", 0.04, (.3, .5, .2, 0), 2, .3),
    "alarm.smoke": Category("烟感报警", "Smoke alarm", 0.03, (0, .3, .5, .2), 1, .4, "smoke"),
    "alarm.gas": Category("燃气泄漏报警", "Gas leak alarm", 0.02, (0, .2, .5, .3), 1, .5, "gas"),
    "alarm.door": Category("门磁长时间未开启", "Door not opened for long", 0.04, (.1, .5, .3, .1), 1, .3, "door"),
}  # fmt: skip
CATEGORY_CODES: tuple[str, ...] = tuple(CATEGORIES)


def label(code: str, lang: str = "zh") -> str:
    """The label of a category code in ``lang`` (the code itself when unknown)."""
    cat = CATEGORIES.get(code)
    if cat is None:
        return code
    return cat.zh if lang == "zh" else cat.en
