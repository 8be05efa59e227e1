"""The default incident taxonomy is complete and well-formed (no database)."""

from __future__ import annotations

from collections import Counter

from geodata.demo.categories import CATEGORY_CODES
from geodata.taxonomy import DEFAULT_TAXONOMY, GROUPS, LEAVES

CODES = {spec.code for spec in DEFAULT_TAXONOMY}
GB_T_30428_CLASSES = {
    "市容环境": "01", "宣传广告": "02", "施工管理": "03", "突发事件": "04", "街面秩序": "05",
    "市场监管": "06", "房屋管理": "07", "农村管理": "08", "街面治安": "09", "重点保障": "10",
}  # fmt: skip


def test_codes_are_unique():
    assert [c for c, n in Counter(s.code for s in DEFAULT_TAXONOMY).items() if n > 1] == []


def test_covers_every_demo_category():
    assert set(CATEGORY_CODES) - CODES == set()


def test_covers_the_community_governance_categories():
    needed = {"alarm.smoke", "alarm.gas", "care.welfare_check", "fire_safety.blocked_lane",
              "public_safety.dog", "device.offline"}  # fmt: skip
    assert needed - CODES == set()


def test_groups_follow_the_standard_classes():
    by_name = {g.name_zh: g.standard_code for g in GROUPS}
    assert {name: by_name.get(name) for name in GB_T_30428_CLASSES} == GB_T_30428_CLASSES


def test_every_leaf_has_a_group_parent_and_a_department():
    groups = {g.code for g in GROUPS}
    assert [s.code for s in LEAVES if s.parent not in groups] == []
    assert [s.code for s in LEAVES if s.parent != s.code.split(".")[0]] == []
    assert [s.code for s in LEAVES if not s.department] == []
    assert all(g.parent is None and not g.open311 for g in GROUPS)


def test_slas_cover_every_severity_and_tighten_with_it():
    for spec in DEFAULT_TAXONOMY:
        hours = [spec.sla_hours[str(s)] for s in (1, 2, 3, 4)]
        assert all(h > 0 for h in hours), spec.code
        assert hours == sorted(hours, reverse=True), spec.code
        assert 1 <= spec.default_severity <= 4, spec.code


def test_fields_fit_the_columns():
    for spec in DEFAULT_TAXONOMY:
        assert len(spec.code) <= 64 and len(spec.name_zh) <= 64 and len(spec.name_en) <= 64
        assert spec.standard_code is None or len(spec.standard_code) <= 16
        assert spec.department is None or len(spec.department) <= 64


def test_device_raised_alarms_are_not_offered_to_residents():
    assert {s.code for s in LEAVES if s.parent in ("alarm", "device")} & {
        s.code for s in DEFAULT_TAXONOMY if s.open311
    } == set()
    assert {"environment.litter", "fire_safety.blocked_lane", "public_safety.dog"} <= {
        s.code for s in DEFAULT_TAXONOMY if s.open311
    }
