"""Hypothesis over the OGC ``filter`` parameter: CQL2 text built from the language's own tokens
(and stray characters), CQL2 JSON trees of any shape. Every answer is a 200 or a 400 with a
reason, never a 5xx, and nothing reaches the log as a traceback."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TOKENS = [
    "severity", "status", "reported_at", "geometry", "title", "id", "name", "area_id", "=",
    "<>", "<", ">=", "AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL", "(", ")", ",",
    "'closed'", "'%'", "'\\'", "3", "-1", "1e308", "99999999999999999999", "TRUE", "CASEI",
    "S_INTERSECTS", "S_WITHIN", "BBOX(117,31,118,32)", "POINT(117 31)",
    "POLYGON((0 0,1 1,1 0,0 1,0 0))",
    "T_INTERSECTS", "T_BEFORE", "INTERVAL('2026-01-01','..')", "TIMESTAMP('9999-12-31T00:00:00Z')",
    "DATE('0001-01-01')", "'\x00'", "'\u202e'",
]  # fmt: skip
noise = st.lists(st.sampled_from(TOKENS) | st.text(max_size=3), max_size=14).map(" ".join)
quoted = st.text(max_size=6).map(lambda t: "'" + t.replace("'", "''") + "'")
predicates = st.one_of(
    st.builds("severity >= {}".format, st.integers()),
    st.builds("severity IN ({}, {})".format, st.integers(-2, 5), st.integers()),
    st.builds("status = {}".format, quoted),
    st.builds("CASEI(title) LIKE {}".format, quoted),
    st.builds("severity BETWEEN {} AND {}".format, st.floats(), st.integers(-5, 9)),
    st.just("resolved_at IS NULL"),
    st.builds("S_INTERSECTS(geometry, BBOX({}, {}, {}, {}))".format,
              *[st.floats(-200, 200, allow_nan=False)] * 4),
    st.builds("T_AFTER(reported_at, TIMESTAMP('{:04d}-01-01T00:00:00Z'))".format,
              st.integers(1, 9999)),
)  # fmt: skip
valid = st.recursive(
    predicates,
    lambda inner: (
        st.builds("({}) AND ({})".format, inner, inner)
        | st.builds("({}) OR ({})".format, inner, inner)
        | st.builds("NOT ({})".format, inner)
    ),
    max_leaves=6,
)
texts = valid | noise
leaves = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from([{"property": "severity"}, {"property": "reported_at"},
                       {"property": "geometry"}, {"property": "nope"},
                       {"timestamp": "2026-01-01T00:00:00Z"}, {"interval": ["..", ".."]},
                       {"bbox": [1, 2]}, {"type": "Point", "coordinates": [117, 31]}])
)  # fmt: skip
ops = st.sampled_from(
    ["=", "<", "and", "or", "not", "like", "in", "between", "isNull", "casei", "s_intersects",
     "t_intersects", "t_after", "s_within", "accenti", "+", "bogus"]
)  # fmt: skip
trees = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.builds(lambda op, args: {"op": op, "args": args}, ops, st.lists(inner, max_size=3))
    ),
    max_leaves=20,
)


def _check(client, query: dict, seen: list[int]) -> None:
    response = client.get("/ogc/collections/incidents/items", query_string={"limit": 5, **query})
    assert response.status_code in (200, 400), (query, response.status_code)
    seen.append(response.status_code)
    if response.status_code == 400:
        assert response.get_json(force=True)["description"]


def test_cql2_text_never_5xx(clients, tracebacks):
    client, seen = clients["grid_worker"], []

    @settings(max_examples=150, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(text=texts)
    def run(text: str) -> None:
        _check(client, {"filter": text}, seen)

    run()
    print(f"{len(seen)} filters: {seen.count(200)} answered 200, {seen.count(400)} 400")
    assert seen.count(200) > 20 and seen.count(400) > 20
    assert tracebacks.found == [], "\n".join(tracebacks.found[:5])


def test_cql2_json_never_5xx(clients, tracebacks):
    client, seen = clients["analyst"], []

    @settings(max_examples=150, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(tree=trees)
    def run(tree: object) -> None:
        _check(client, {"filter": json.dumps(tree), "filter-lang": "cql2-json"}, seen)

    run()
    print(f"{len(seen)} filters: {seen.count(200)} answered 200, {seen.count(400)} 400")
    assert tracebacks.found == [], "\n".join(tracebacks.found[:5])
