"""Analyst question checking and SQL composition (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import question_sql
from analytics.question_spec import Limits, QuestionError, parse_question
from geodata import spatial_sql

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
TALL = {
    "layer": "buildings",
    "where": [{"field": "floors", "op": ">", "value": 18}],
    "near": [
        {
            "layer": "facilities",
            "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
            "distance_m": 150,
            "mode": "beyond",
        }
    ],
}
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[117.2, 31.8], [117.3, 31.8], [117.3, 31.9], [117.2, 31.9], [117.2, 31.8]]],
}


def _error(spec: object, limits: Limits | None = None) -> QuestionError:
    with pytest.raises(QuestionError) as caught:
        parse_question(spec, limits, NOW)
    return caught.value


def _ctx(**kw) -> question_sql.Context:
    base = {
        "area_ids": None,
        "scope_ids": None,
        "deg_per_m": 1e-5,
        "min_count": 5,
        "by_reference": (),
    }
    return question_sql.Context(**(base | kw))


def test_a_good_question_is_parsed_into_typed_parts():
    q = parse_question(TALL, None, NOW)
    assert q.layer.table == "building" and q.conditions[0].value == 18
    assert q.near[0].beyond and q.near[0].distance_m == 150.0
    assert q.near[0].conditions[0].field.column == "kind" and q.limit == 5000


@pytest.mark.parametrize(
    ("spec", "path", "code"),
    [
        ({"layer": "people"}, "layer", "unknown_layer"),
        ({"layer": "resident_identity"}, "layer", "unknown_layer"),
        ({"layer": "buildings; DROP TABLE building"}, "layer", "unknown_layer"),
        ({"layer": "buildings", "where": [{"field": "phone", "value": "1"}]}, "where[0].field",
         "unknown_field"),
        ({"layer": "buildings", "where": [{"field": "floors\" OR 1=1 --", "value": 1}]},
         "where[0].field", "unknown_field"),
        ({"layer": "buildings", "where": [{"field": "floors", "op": "LIKE", "value": 1}]},
         "where[0].op", "unknown_operator"),
        ({"layer": "buildings", "where": [{"field": "floors", "op": ">", "value": "18 OR 1=1"}]},
         "where[0].value", "bad_value"),
        ({"layer": "buildings", "where": [{"field": "use", "value": "x' OR '1'='1"}]},
         "where[0].value", "bad_value"),
        ({"layer": "buildings", "where": [{"field": "floors", "op": "between", "value": [9, 3]}]},
         "where[0].value", "bad_value"),
        ({"layer": "buildings", "near": [{"layer": "facilities", "distance_m": -5}]},
         "near[0].distance_m", "bad_value"),
        ({"layer": "buildings", "near": [{"layer": "facilities", "distance_m": 1e9}]},
         "near[0].distance_m", "too_large"),
        ({"layer": "buildings", "near": [{"layer": "residents", "distance_m": 10}]},
         "near[0].layer", "unknown_layer"),
        ({"layer": "buildings", "sql": "SELECT 1"}, "sql", "bad_spec"),
        ({"layer": "residents", "nearest": {"point": [117.2, 31.8], "n": 3}}, "nearest",
         "bad_spec"),
        ({"layer": "incidents", "time": {"field": "category", "last_hours": 24}}, "time.field",
         "unknown_field"),
        ({"layer": "incidents", "time": {"field": "reported_at", "last_hours": -1}},
         "time.last_hours", "bad_value"),
        ({"layer": "buildings", "within": {"area": "340104", "bbox": [1, 2, 3, 4]}}, "within",
         "bad_spec"),
        ([1, 2], "question", "bad_spec"),
    ],
)  # fmt: skip
def test_bad_questions_name_the_problem(spec, path, code):
    error = _error(spec)
    assert (error.path, error.code) == (path, code)
    body = error.as_dict()
    assert body["title"]["zh"] and body["title"]["en"] and path in body["error"]


def test_polygons_are_validated_and_size_limited():
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[117.2, 31.8], [117.3, 31.9], [117.3, 31.8], [117.2, 31.9], [117.2, 31.8]]
        ],
    }
    assert (
        "Self-intersection" in _error({"layer": "buildings", "within": {"polygon": bowtie}}).detail
    )
    far = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    assert _error({"layer": "buildings", "within": {"polygon": far}}).code == "bad_geometry"
    ring = [[117.2 + i * 1e-5, 31.8 + (i % 2) * 1e-4] for i in range(3000)]
    big = {"type": "Polygon", "coordinates": [[*ring, [117.2, 31.9], ring[0]]]}
    assert _error({"layer": "buildings", "within": {"polygon": big}}).code == "too_large"
    line = {"type": "LineString", "coordinates": [[117.2, 31.8], [117.3, 31.9]]}
    assert _error({"layer": "buildings", "within": {"polygon": line}}).code == "bad_geometry"
    ok = parse_question({"layer": "buildings", "within": {"polygon": SQUARE}}, None, NOW)
    assert '"Polygon"' in ok.within.polygon_geojson


def test_last_hours_ends_at_until_or_now():
    spec = {"layer": "incidents", "time": {"field": "reported_at", "last_hours": 24}}
    span = parse_question(spec, None, NOW).time
    assert (span.start, span.end) == (NOW - dt.timedelta(hours=24), NOW)
    spec["time"]["until"] = "2026-10-01T08:00:00+08:00"
    span = parse_question(spec, None, NOW).time
    assert span.end == dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def test_a_time_typed_without_offset_is_the_citys_local_time():
    """ "2026-12-07 09:00" means 09:00 in the city's zone (01:00 UTC in Shanghai), for a window's
    end and for a compared value alike; an explicit offset is kept as written."""
    spec = {
        "layer": "incidents",
        "where": [{"field": "reported_at", "op": ">=", "value": "2026-12-07T08:30"}],
        "time": {"field": "reported_at", "last_hours": 24, "until": "2026-12-07 09:00"},
    }
    q = parse_question(spec, None, NOW)
    assert q.time.end == dt.datetime(2026, 12, 7, 1, tzinfo=dt.UTC)
    assert q.time.start == dt.datetime(2026, 12, 6, 1, tzinfo=dt.UTC)
    assert q.conditions[0].value == dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC)
    berlin = parse_question(spec, Limits(timezone="Europe/Berlin"), NOW).time
    assert berlin.end == dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC)
    spec["time"]["until"] = "2026-12-07T09:00:00Z"
    assert parse_question(spec, None, NOW).time.end == dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)


def test_values_are_bound_never_written_into_the_sql():
    evil = "x'); DROP TABLE building; --"
    spec = {"layer": "buildings", "where": [{"field": "name", "value": evil}]}
    plan = question_sql.plan(parse_question(spec, None, NOW), _ctx())
    assert evil not in plan.sql and evil in plan.params.values()
    assert 't."name" = :p' in plan.sql


def test_both_search_directions_compose():
    q = parse_question(TALL, None, NOW)
    per_row = question_sql.plan(q, _ctx(by_reference=(False,))).sql
    by_ref = question_sql.plan(q, _ctx(by_reference=(True,))).sql
    assert 'NOT EXISTS (SELECT 1 FROM "facility" r' in per_row
    assert "t.id NOT IN (SELECT t2.id FROM (SELECT r.geom" in by_ref


def test_camera_wedges_replace_the_row_alias():
    wedge = spatial_sql.camera_wedge("r")
    assert "t." not in wedge.replace("ST_", "") and "r.heading" in wedge and "r.range_m" in wedge


def test_degree_margin_covers_a_metre_at_the_extents_edge():
    per_m = spatial_sql.degrees_per_metre((116.68, 30.93, 117.98, 32.56))
    assert 1 / 111_320 < per_m < 1.3 / 111_320
    assert per_m * 111_320 * 0.8428 > 1.0  # cos(32.56°): a metre of longitude up north
