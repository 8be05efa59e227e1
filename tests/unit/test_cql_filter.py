"""CQL2 → SQL condition without a store: the SQL and bound values each operator yields, the
allow-list, type checks and the limits that refuse a filter before any parser sees it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from geodata.accounts.viewer import Viewer
from geodata.exports.fields import allowed_fields
from geodata.query import FeatureQueryError
from layers.cql_filter import MAX_CHARS, MAX_DEPTH, MAX_NODES, clause

EVENT = allowed_fields("event", Viewer("planner"))
ROAD = allowed_fields("road", Viewer("planner"))


@pytest.mark.parametrize(
    ("text", "sql", "params"),
    [
        ("severity >= 3", '(t."severity" >= %(cql0)s)', {"cql0": 3}),
        ("3 < severity", '(t."severity" > %(cql0)s)', {"cql0": 3}),
        ("status <> 'closed'", '(t."status" <> %(cql0)s)', {"cql0": "closed"}),
        ("status LIKE 'in\\_%'", '(t."status" LIKE %(cql0)s)', {"cql0": "in\\_%"}),
        ("status IN ('a', 'b')", '(t."status" = ANY(%(cql0)s))', {"cql0": ["a", "b"]}),
        ("status NOT IN ('a')", '(NOT (t."status" = ANY(%(cql0)s)))', {"cql0": ["a"]}),
        ("severity BETWEEN 1 AND 2", '(t."severity" BETWEEN %(cql0)s AND %(cql1)s)',
         {"cql0": 1, "cql1": 2}),
        ("resolved_at IS NULL", '(t."resolved_at" IS NULL)', {}),
        ("resolved_at IS NOT NULL", '(NOT (t."resolved_at" IS NULL))', {}),
        ("CASEI(status) = CASEI('CLOSED')", '(lower(t."status") = %(cql0)s)', {"cql0": "closed"}),
        ("TRUE", "TRUE", {}),
    ],
)  # fmt: skip
def test_each_operator_becomes_bound_sql(text, sql, params):
    built = clause(text, "cql2-text", EVENT)
    assert built.sql == sql and dict(built.params) == params


def test_logical_operators_nest_with_parentheses():
    built = clause("severity = 1 AND (status = 'a' OR NOT level = 'grid')", None, EVENT)
    assert built.sql == (
        '((t."severity" = %(cql0)s) AND ((t."status" = %(cql1)s) OR (NOT (t."level" = %(cql2)s))))'
    )
    assert list(built.params.values()) == [1, "a", "grid"]


def test_text_and_json_encodings_build_the_same_condition():
    text = "severity BETWEEN 2 AND 3 AND S_INTERSECTS(geometry, BBOX(117, 31, 118, 32))"
    data = {
        "op": "and",
        "args": [
            {"op": "between", "args": [{"property": "severity"}, 2, 3]},
            {
                "op": "s_intersects",
                "args": [{"property": "geometry"}, {"bbox": [117, 31, 118, 32]}],
            },
        ],
    }
    a, b = clause(text, "cql2-text", EVENT), clause(json.dumps(data), "cql2-json", EVENT)
    assert a == b
    polygon = json.loads(a.params["cql2"])
    assert polygon["coordinates"][0][0] == [117.0, 31.0]
    assert polygon["coordinates"][0][2] == [118.0, 32.0]  # BBOX is minx, miny, maxx, maxy


def test_time_literals_and_intervals():
    built = clause("T_INTERSECTS(reported_at, INTERVAL('2026-01-01T00:00:00Z', '..'))", None, EVENT)
    assert built.sql == '(t."reported_at" >= %(cql0)s)'
    assert built.params["cql0"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    day = clause("T_INTERSECTS(reported_at, INTERVAL('2026-01-01', '2026-01-01'))", None, EVENT)
    start, end = day.params.values()
    assert end - start == dt.timedelta(days=1, microseconds=-1)  # a DATE end is its whole day
    legacy = clause("reported_at >= '2026-01-01T08:00:00+08:00'", "cql-text", EVENT)
    assert legacy.params["cql0"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_booleans_compare_only_for_equality():
    assert clause("oneway = TRUE", None, ROAD).params == {"cql0": True}
    with pytest.raises(FeatureQueryError, match="boolean"):
        clause("oneway > FALSE", None, ROAD)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name = 'x'", "unknown queryable 'name'"),
        ("area_id = 1", "unknown queryable"),
        ("severity = 'x'", "whole number"),
        ("severity = 2.5", "whole number"),
        ("status = 3", "text"),
        ("status BETWEEN 'a' AND 'b'", "BETWEEN needs a number or time"),
        ("severity LIKE '1%'", "LIKE applies to text"),
        ("T_INTERSECTS(status, TIMESTAMP('2026-01-01T00:00:00Z'))", "need a time"),
        ("T_OVERLAPS(reported_at, INTERVAL('2026-01-01', '2026-02-01'))", "not supported"),
        ("S_INTERSECTS(geometry, POINT(200 10))", "lon/lat"),
        ("S_INTERSECTS(status, POINT(117 31))", "geometry"),
        ("severity + 1 > 2", "property"),
        ("severity >", "not valid cql2-text"),
        ("", "empty"),
    ],
)
def test_refused_with_a_reason(text, reason):
    with pytest.raises(FeatureQueryError, match=reason) as err:
        clause(text, None, EVENT)
    assert err.value.field == "filter"


def test_limits_come_before_parsing():
    with pytest.raises(FeatureQueryError, match="too long"):
        clause("severity = 1 OR " * (MAX_CHARS // 10), None, EVENT)
    deep = "(" * (MAX_DEPTH + 1) + "severity = 1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(FeatureQueryError, match="nested"):
        clause(deep, None, EVENT)
    # Parentheses inside a quoted value do not count as nesting.
    assert clause("status = '" + "(" * 50 + "'", None, EVENT).params["cql0"] == "(" * 50
    many = {"op": "in", "args": [{"property": "severity"}, list(range(MAX_NODES + 1))]}
    with pytest.raises(FeatureQueryError, match="too many terms"):
        clause(json.dumps(many), "cql2-json", EVENT)
    with pytest.raises(FeatureQueryError, match="filter-lang"):
        clause("severity = 1", "ecql", EVENT)
