"""Controlled vocabularies of the community data standard, with zh/en labels.

The database enforces these with CHECK constraints (see ``models``); the UI uses the labels.
"""

from __future__ import annotations

# Governance hierarchy, from the top. ``depth`` is the index in this tuple.
AREA_LEVELS: dict[str, dict[str, str]] = {
    "city": {"zh": "市", "en": "City"},
    "district": {"zh": "区", "en": "District"},
    "street": {"zh": "街道", "en": "Street office"},
    "community": {"zh": "社区", "en": "Community"},
    "grid": {"zh": "网格", "en": "Grid"},
}
LEVEL_DEPTH: dict[str, int] = {name: i for i, name in enumerate(AREA_LEVELS)}

BUILDING_USES: dict[str, dict[str, str]] = {
    "residential": {"zh": "住宅", "en": "Residential"},
    "commercial": {"zh": "商业", "en": "Commercial"},
    "office": {"zh": "办公", "en": "Office"},
    "public": {"zh": "公共服务", "en": "Public service"},
    "school": {"zh": "学校", "en": "School"},
    "industrial": {"zh": "工业", "en": "Industrial"},
    "mixed": {"zh": "商住混合", "en": "Mixed use"},
    "other": {"zh": "其他", "en": "Other"},
}

OCCUPANCY: dict[str, dict[str, str]] = {
    "owner": {"zh": "自住", "en": "Owner-occupied"},
    "rented": {"zh": "出租", "en": "Rented"},
    "vacant": {"zh": "空置", "en": "Vacant"},
    "other": {"zh": "其他", "en": "Other"},
}

CARE_TAGS: dict[str, dict[str, str]] = {
    "elderly_alone": {"zh": "独居老人", "en": "Elderly living alone"},
    "elderly": {"zh": "老年人", "en": "Elderly (60+)"},
    "disabled": {"zh": "残疾人", "en": "Disabled"},
    "minor": {"zh": "未成年人", "en": "Minor"},
    "left_behind_child": {"zh": "留守儿童", "en": "Left-behind child"},
    "floating": {"zh": "流动人口", "en": "Floating population"},
    "low_income": {"zh": "低保户", "en": "Low-income household"},
    "needs_care": {"zh": "重点关爱", "en": "Needs care"},
}

ROAD_KINDS: dict[str, dict[str, str]] = {
    "motorway": {"zh": "高速公路", "en": "Motorway"},
    "trunk": {"zh": "快速路", "en": "Trunk road"},
    "primary": {"zh": "主干路", "en": "Primary road"},
    "secondary": {"zh": "次干路", "en": "Secondary road"},
    "tertiary": {"zh": "支路", "en": "Tertiary road"},
    "residential": {"zh": "小区道路", "en": "Residential street"},
    "service": {"zh": "服务道路", "en": "Service road"},
    "footway": {"zh": "步行道", "en": "Footway"},
    "cycleway": {"zh": "自行车道", "en": "Cycleway"},
    "other": {"zh": "其他道路", "en": "Other road"},
}

HOUSEHOLD_ROLES = ("head", "spouse", "child", "parent", "other")
SEXES = ("F", "M")
HUKOU = ("local", "floating")
RESIDENT_STATUS = ("active", "moved_out", "deceased")

ORGANIZATION_KINDS: dict[str, dict[str, str]] = {
    "enterprise": {"zh": "企业", "en": "Enterprise"},
    "shop": {"zh": "商户", "en": "Shop"},
    "social": {"zh": "社会组织", "en": "Social organisation"},
    "party": {"zh": "党组织", "en": "Party organisation"},
    "property": {"zh": "物业公司", "en": "Property company"},
    "government": {"zh": "政府机构", "en": "Government office"},
    "school": {"zh": "学校", "en": "School"},
    "medical": {"zh": "医疗机构", "en": "Medical"},
}

DEVICE_KINDS: dict[str, dict[str, str]] = {
    "camera": {"zh": "摄像头", "en": "Camera"},
    "smoke": {"zh": "烟感", "en": "Smoke detector"},
    "gas": {"zh": "燃气报警器", "en": "Gas detector"},
    "door": {"zh": "门磁", "en": "Door sensor"},
    "water": {"zh": "水表/水压", "en": "Water meter"},
    "access_gate": {"zh": "门禁", "en": "Access gate"},
    "electric": {"zh": "电气火灾监测", "en": "Electrical fire monitor"},
    "manhole": {"zh": "井盖监测", "en": "Manhole cover sensor"},
}
DEVICE_STATUS = ("online", "offline", "alarm")

FACILITY_KINDS: dict[str, dict[str, str]] = {
    "hydrant": {"zh": "消防栓", "en": "Hydrant"},
    "fire_lane": {"zh": "消防通道", "en": "Fire lane"},
    "aed": {"zh": "AED", "en": "AED"},
    "service_centre": {"zh": "社区服务中心", "en": "Community service centre"},
    "waste_station": {"zh": "垃圾分类站", "en": "Waste station"},
    "ev_charger": {"zh": "电动车充电桩", "en": "E-bike charger"},
    "shelter": {"zh": "应急避难场所", "en": "Emergency shelter"},
    "elderly_canteen": {"zh": "老年食堂", "en": "Elderly canteen"},
}

EVENT_STATUS = (
    "reported",
    "dispatched",
    "accepted",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
)
HANDLING_LEVELS = ("grid", "street", "district")

ACCOUNT_ROLES = ("leader", "grid_worker", "planner", "analyst", "admin")
