# ruff: noqa: E501  (one category per line reads best as a table)
"""The default incident taxonomy: the categories :func:`twin.taxonomy.ensure_taxonomy` seeds
into ``event_category`` (data only, so the store and analytics can name categories too).

Groups follow the event classes of the national urban-management standard GB/T 30428.2
(市容环境, 宣传广告, 施工管理, 突发事件, 街面秩序, 市场监管, 房屋管理, 农村管理, 街面治安, 重点保障,
其他); ``standard_code`` holds the two-digit major-class (大类) code where a category falls in one
of those classes, ``None`` where the standard has no event class for it (IoT alarms, care visits,
device maintenance). The community-governance groups (city, fire_safety, facility, care, alarm,
device) cover what the demo and the early-warning rules raise.

The table is configurable: ``ensure_taxonomy`` only inserts missing codes, so rows edited in
the database (SLAs, departments, names, ``active``) are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

# Hours to close, by severity 1 (low) … 4 (critical).
ROUTINE: dict[str, float] = {"1": 72, "2": 48, "3": 24, "4": 8}
URGENT: dict[str, float] = {"1": 24, "2": 12, "3": 4, "4": 2}
ALARM: dict[str, float] = {"1": 4, "2": 2, "3": 1, "4": 0.5}
CARE: dict[str, float] = {"1": 24, "2": 12, "3": 4, "4": 2}
MAINTENANCE: dict[str, float] = {"1": 168, "2": 72, "3": 24, "4": 8}


@dataclass(frozen=True)
class CategorySpec:
    """One row of the default taxonomy."""

    code: str
    name_zh: str
    name_en: str
    default_severity: int
    sla_hours: dict[str, float]
    department: str | None = None
    standard_code: str | None = None
    open311: bool = True
    parent: str | None = None
    active: bool = True


def _group(code: str, zh: str, en: str, std: str | None = None) -> CategorySpec:
    return CategorySpec(code, zh, en, 2, ROUTINE, None, std, open311=False)


def _leaf(
    code: str,
    zh: str,
    en: str,
    sev: int,
    sla: dict,
    dept: str,
    std: str | None = None,
    open311: bool = True,
) -> CategorySpec:
    return CategorySpec(code, zh, en, sev, sla, dept, std, open311, parent=code.split(".", 1)[0])


GROUPS: tuple[CategorySpec, ...] = (
    _group("environment", "市容环境", "City appearance and environment", "01"),
    _group("advertising", "宣传广告", "Advertising and publicity", "02"),
    _group("construction", "施工管理", "Construction management", "03"),
    _group("emergency", "突发事件", "Emergencies", "04"),
    _group("street_order", "街面秩序", "Street order", "05"),
    _group("market", "市场监管", "Market supervision", "06"),
    _group("housing", "房屋管理", "Housing management", "07"),
    _group("rural", "农村管理", "Rural management", "08"),
    _group("public_safety", "街面治安", "Public order and safety", "09"),
    _group("key_security", "重点保障", "Key event security", "10"),
    _group("other", "其他事件", "Other", "99"),
    _group("city", "城市管理", "City management"),
    _group("fire_safety", "消防安全", "Fire safety"),
    _group("facility", "公共设施", "Public facilities"),
    _group("care", "民生关爱", "Care for residents"),
    _group("alarm", "物联感知报警", "Sensor alarms"),
    _group("device", "设备运维", "Device maintenance"),
)

LEAVES: tuple[CategorySpec, ...] = (
    # 市容环境
    _leaf("environment.litter", "垃圾乱堆乱放", "Litter and dumping", 1, ROUTINE, "环卫所", "01"),
    _leaf("environment.noise", "噪声扰民", "Noise nuisance", 1, ROUTINE, "生态环境分局", "01"),
    _leaf("environment.sewage", "污水外溢", "Sewage overflow", 2, URGENT, "排水管理处", "01"),
    _leaf("environment.road_dirty", "道路不洁", "Dirty road surface", 1, ROUTINE, "环卫所", "01"),
    _leaf("environment.cooking_fumes", "餐饮油烟污染", "Restaurant cooking fumes", 1, ROUTINE, "城管执法中队", "01"),
    # 宣传广告
    _leaf("advertising.illegal_ad", "违规户外广告", "Illegal outdoor advertising", 1, ROUTINE, "城管执法中队", "02"),
    _leaf("advertising.flyers", "非法小广告", "Illegal flyers and graffiti", 1, ROUTINE, "环卫所", "02"),
    # 施工管理
    _leaf("construction.unfenced_site", "施工未围挡", "Unfenced construction site", 2, ROUTINE, "住建局", "03"),
    _leaf("construction.night_work", "夜间违规施工", "Illegal night-time works", 2, URGENT, "城管执法中队", "03"),
    _leaf("construction.muck_spill", "渣土撒漏", "Spilled construction muck", 2, URGENT, "城管执法中队", "03"),
    # 突发事件
    _leaf("emergency.road_collapse", "道路塌陷", "Road collapse", 4, ALARM, "市政设施管理处", "04"),
    _leaf("emergency.waterlogging", "道路积水", "Waterlogging", 3, URGENT, "排水管理处", "04"),
    _leaf("emergency.pipe_burst", "管道破裂", "Burst pipe", 3, URGENT, "供水公司", "04"),
    _leaf("emergency.fire", "火情", "Fire", 4, ALARM, "消防救援站", "04"),
    # 街面秩序
    _leaf("street_order.street_vending", "无照游商", "Unlicensed street vending", 1, ROUTINE, "城管执法中队", "05"),
    _leaf("street_order.out_of_store", "店外经营", "Trading outside the shop", 1, ROUTINE, "城管执法中队", "05"),
    _leaf("street_order.occupied_road", "占道经营", "Trading on the roadway", 1, ROUTINE, "城管执法中队", "05"),
    # 市场监管
    _leaf("market.unlicensed", "无证经营", "Unlicensed business", 2, ROUTINE, "市场监管所", "06"),
    _leaf("market.food_safety", "食品安全隐患", "Food safety hazard", 3, URGENT, "市场监管所", "06"),
    # 房屋管理
    _leaf("housing.group_rental", "群租房", "Overcrowded rental", 2, ROUTINE, "房管所", "07"),
    _leaf("housing.unsafe", "危房隐患", "Unsafe building", 3, URGENT, "住建局", "07"),
    # 农村管理
    _leaf("rural.straw_burning", "秸秆焚烧", "Straw burning", 2, URGENT, "农业农村局", "08"),
    # 街面治安
    _leaf("public_safety.dispute", "邻里纠纷", "Neighbour dispute", 2, ROUTINE, "司法所", "09"),
    _leaf("public_safety.suspicious", "可疑人员", "Suspicious person", 2, URGENT, "派出所", "09"),
    _leaf("public_safety.dog", "大型犬只出没", "Large dog at large", 2, URGENT, "派出所", "09"),
    # 重点保障
    _leaf("key_security.event", "重大活动保障", "Major event security", 3, URGENT, "街道综治中心", "10", open311=False),
    # 其他
    _leaf("other.misc", "其他事项", "Other matter", 1, ROUTINE, "街道综治中心", "99"),
    _leaf("other.data_stale", "数据源逾期未更新", "Data source overdue", 1, MAINTENANCE, "大数据中心", "99", open311=False),
    # 城市管理 (demo)
    _leaf("city.illegal_parking", "违规停车", "Illegal parking", 1, ROUTINE, "交警中队", "05"),
    _leaf("city.illegal_construction", "违章搭建", "Illegal construction", 2, ROUTINE, "城管执法中队", "01"),
    # 消防安全
    _leaf("fire_safety.blocked_lane", "消防通道堵塞", "Blocked fire lane", 3, URGENT, "消防救援站"),
    _leaf("fire_safety.ebike_charging", "电动车违规充电", "E-bike charging indoors", 3, URGENT, "消防救援站"),
    # 公共设施
    _leaf("facility.damaged", "公共设施损坏", "Damaged facility", 2, ROUTINE, "市政设施管理处"),
    _leaf("facility.streetlight", "路灯故障", "Street light out", 1, ROUTINE, "路灯管理所"),
    _leaf("facility.manhole", "井盖缺失", "Missing manhole cover", 3, URGENT, "市政设施管理处"),
    # 民生关爱
    _leaf("care.welfare_check", "独居老人探访（久未出门/久出未归）", "Welfare check (inactive / not returned)", 3, CARE, "社区居委会", open311=False),
    _leaf("care.assistance", "困难群众求助", "Request for assistance", 2, CARE, "社区居委会"),
    # 物联感知报警 (raised by devices, not by residents)
    _leaf("alarm.smoke", "烟感报警", "Smoke alarm", 4, ALARM, "消防救援站", open311=False),
    _leaf("alarm.gas", "燃气泄漏报警", "Gas leak alarm", 4, ALARM, "燃气公司", open311=False),
    _leaf("alarm.door", "门磁长时间未开启", "Door not opened for long", 2, CARE, "社区居委会", open311=False),
    _leaf("alarm.electric", "电气火灾预警", "Electrical fire warning", 3, ALARM, "消防救援站", open311=False),
    # 设备运维
    _leaf("device.offline", "设备离线", "Device offline", 1, MAINTENANCE, "物联运维", open311=False),
    _leaf("device.fault", "设备故障", "Device fault", 1, MAINTENANCE, "物联运维", open311=False),
)  # fmt: skip

DEFAULT_TAXONOMY: tuple[CategorySpec, ...] = GROUPS + LEAVES
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    c.code: {"zh": c.name_zh, "en": c.name_en} for c in DEFAULT_TAXONOMY
}
"""Category code (groups and leaves) → its name in each language."""
CATEGORY_GROUP: dict[str, str] = {c.code: c.parent for c in LEAVES if c.parent}
"""Leaf category code → the code of its group (incidents carry leaves)."""
