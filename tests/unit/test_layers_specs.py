"""Layer specs of issue 4, request parsing and the pure parts of the aggregates (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3
import pytest

from analytics.levels import levels
from geodata.cells import cell_sql
from geodata.query import FeatureQueryError, TimeWindow
from layers import basemaps
from layers.base import GROUPS, POINT_CAP
from layers.leaflet import hideout
from layers.providers.residents import care_properties
from layers.query import LayerQuery, parse_filters
from layers.registry import LAYERS, get_layer
from web import i18n


def test_every_layer_is_in_a_panel_group_with_a_legend_and_roles():
    for layer in LAYERS:
        assert layer.group in GROUPS, layer.id
        assert layer.legend and layer.roles, layer.id
        assert layer.describe()["title"] == layer.title


def test_buildings_carry_height_and_floors_for_extrusion():
    extrusion = get_layer("buildings").describe()["extrusion"]
    assert extrusion == {"height": "height", "floors": "floors", "storey_m": 3.0}


def test_time_window_includes_a_date_only_end_day():
    window = TimeWindow.parse("2026-01-01/2026-01-31")  # the city's days: Shanghai midnight
    assert window.start == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert window.end == datetime(2026, 1, 31, 16, tzinfo=UTC)
    utc = TimeWindow.parse("2026-01-01/2026-01-31", "UTC")
    assert utc.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert utc.end == datetime(2026, 2, 1, tzinfo=UTC)
    explicit = TimeWindow.parse("2026-01-01T00:00:00Z/2026-01-02T00:00:00+08:00")
    assert explicit.end - explicit.start == timedelta(hours=16)
    for bad in ("2026-01-01", "2026-02-01/2026-01-01", "yesterday/today"):
        with pytest.raises(FeatureQueryError, match=r"^time:"):
            TimeWindow.parse(bad)


def test_filters_accept_declared_values_only():
    incidents = get_layer("incidents")
    assert parse_filters(incidents, {"status": "reported,closed", "category": "alarm"}) == {
        "status": ("reported", "closed"),
        "category": ("alarm",),
    }
    with pytest.raises(FeatureQueryError, match=r"^status:"):
        parse_filters(incidents, {"status": "lost"})
    with pytest.raises(FeatureQueryError, match="takes no parameter 'care'"):
        parse_filters(incidents, {"care": "elderly"})
    with pytest.raises(FeatureQueryError, match="no time dimension"):
        parse_filters(get_layer("buildings"), {"time": "2026-01-01/2026-01-02"})


def test_a_layer_cap_below_the_app_cap_wins_and_a_higher_one_does_not():
    args = {"bbox": "117,31,118,32", "zoom": "16"}
    assert LayerQuery.from_args(get_layer("sensors"), args, 5000).limit == POINT_CAP
    assert LayerQuery.from_args(get_layer("sensors"), args, 100).limit == 100
    assert LayerQuery.from_args(get_layer("buildings"), args, 5000).limit == 5000
    with pytest.raises(FeatureQueryError, match="limit"):
        LayerQuery.from_args(get_layer("sensors"), {**args, "limit": "4000"}, 5000)


def test_query_echo_repeats_what_was_asked():
    query = LayerQuery.from_args(
        get_layer("incidents"),
        {"bbox": "117,31,118,32", "zoom": "12", "time": "2026-01-01/2026-01-01", "area": "7"},
        5000,
    )
    assert query.echo()["area"] == 7 and query.limit == POINT_CAP  # the layer's own cap
    assert query.echo()["time"] == ["2026-01-01T00:00:00+08:00", "2026-01-02T00:00:00+08:00"]


@pytest.mark.parametrize("resolution", [5, 6, 8])
def test_parent_cells_derived_in_sql_match_h3(resolution):
    cell = h3.api.basic_int.latlng_to_cell(31.86, 117.28, 9 if resolution == 8 else 7)
    expression = cell_sql(resolution).replace("t.h3_r7", str(cell)).replace("t.h3_r9", str(cell))
    python = eval(expression.replace("::bigint", ""))  # the same bit maths in Python
    assert python == h3.api.basic_int.cell_to_parent(cell, resolution)


def test_small_care_groups_are_withheld():
    assert care_properties(40, 3, 5) == {"tagged": None, "share": None, "suppressed": True}
    assert care_properties(40, 0, 5) == {"tagged": 0, "share": 0.0}
    assert care_properties(40, 10, 5) == {"tagged": 10, "share": 0.25}
    assert care_properties(40, None, 5) == {}


def test_levels_spread_values_over_the_ramp():
    assert levels([1, 10, 100, 1000], sqrt=True) == [0, 0, 1, 5]
    assert levels([0.1, 0.5, 1.0], sqrt=False) == [0, 3, 5]
    assert levels([], sqrt=True) == []


def test_online_base_maps_are_opt_in_and_amap_is_shifted():
    assert basemaps.provider("own") is None
    with pytest.raises(basemaps.BasemapError, match="needs a key"):
        basemaps.provider("tianditu")
    assert "tk=abc" in basemaps.provider("tianditu", key="abc").url
    shift = basemaps.gcj_shift(basemaps.provider("amap"), 117.283, 31.861)
    assert 0.003 < shift["gcj_lon"] - shift["lon"] < 0.008
    assert basemaps.gcj_shift(basemaps.provider("osm"), 117.283, 31.861) is None


def test_hideouts_carry_value_labels_in_the_chosen_language():
    sensors = hideout(get_layer("sensors"), "en", {}, "Asia/Shanghai")
    assert sensors["valueLabels"]["kind"]["smoke"] == "Smoke detector"
    assert sensors["valueLabels"]["status"]["alarm"] == "Alarm"
    assert hideout(get_layer("incidents"), "zh", {}, "Asia/Shanghai")["unit"] == "起事件"


def test_group_titles_are_translated_strings():
    for group in GROUPS:
        assert i18n.text(f"group.{group}", "en") and i18n.text(f"group.{group}", "zh")
