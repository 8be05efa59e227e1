"""The newest features of a time layer, found by a widening time window, are exactly those of
ranking every match (the plan it replaced): same features in the same order, same total (also
when the total comes from the per-cell rollup)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.query import BBox, TimeWindow
from geodata.rollup import periods
from geodata.settings import Settings
from geodata.vocab import Role
from layers import engine
from layers.incidents import LAYER
from layers.providers import cell_rollup
from layers.providers.features import count_sql, features_sql, page_query
from layers.query import LayerQuery
from tests.conftest import incident_span, sql_rows


@pytest.fixture(scope="module")
def city(demo_url):
    districts = [r[0] for r in sql_rows(demo_url, "SELECT id FROM area WHERE depth = 1")]
    return demo_url, incident_span(demo_url), districts


def ranked_every_match(url: str, query: LayerQuery, viewer: Viewer) -> tuple[int, list]:
    """The answer of the plan that ranks every match (count(*) OVER () in one scan)."""
    where, params = page_query(LAYER, query, viewer)
    with get_engine(url).connect() as conn:
        n, features = conn.execute(text(features_sql(LAYER, where)), params).one()
    return n, json.loads(features)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    corner=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9)),
    size=st.floats(0.02, 1.0),
    limit=st.sampled_from([1, 7, 50, 400, 2000]),
    window=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.floats(0.001, 1))),
    status=st.sampled_from([None, ("reported",), ("closed", "resolved")]),
    scoped=st.booleans(),
    zoom=st.sampled_from([14, 16]),
)
def test_the_newest_page_equals_ranking_every_match(
    city, corner, size, limit, window, status, scoped, zoom
):
    url, (x0, y0, x1, y1, t0, t1), districts = city
    w, h = x1 - x0, y1 - y0
    bbox = BBox(
        x0 + corner[0] * w, y0 + corner[1] * h,
        x0 + min(1.0, corner[0] + size) * w, y0 + min(1.0, corner[1] + size) * h,
    )  # fmt: skip
    time = None
    if window is not None:
        start = t0 + (t1 - t0) * window[0]
        time = TimeWindow(start, start + (t1 - t0) * window[1] + timedelta(seconds=1))
    filters = {"status": status} if status else {}
    # zoom 14 over the whole history: the total from the per-cell rollup (cells inside the
    # view) and the edge cells' rows
    query = LayerQuery(bbox=bbox, zoom=zoom, limit=limit, time=time, filters=filters)
    viewer = Viewer(Role.admin, tuple(districts[:2]) if scoped else None)

    got = engine.answer(url, LAYER, query, viewer, Settings(database_url=url))
    features = json.loads(got.features_json)
    total, expected = ranked_every_match(url, query, viewer)
    assert features == expected
    assert got.meta["count"] == min(total, limit) == len(features)
    assert got.meta.get("total", got.meta["count"]) == total
    assert got.meta["capped"] == (total > limit)


def test_a_few_pages_of_matches_are_ranked_at_once(city):
    """The sparse case (up to ten pages expected): the plan's estimate, then one scan ranking
    every match (and counting them)."""
    url, (x0, y0, x1, y1, _t0, _t1), _ = city
    with get_engine(url).connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    # ten pages would be twice the matches: room for the planner's estimate to be off
    query = LayerQuery(bbox=BBox(x0, y0, x1, y1), zoom=16, limit=total // 5 + 1)
    got = engine.answer(url, LAYER, query, Viewer(Role.admin), Settings(database_url=url))
    assert len(got.statements) == 2 and "OVER ()" in got.statements[1][0]
    assert got.meta["total"] == total


def test_a_full_page_in_the_first_window_counts_every_match_once(city):
    """The dense case (more than ten pages expected): the plan's estimate, the count, the time
    span and one page from the first window; none ranking every match."""
    url, (x0, y0, x1, y1, _t0, t1), _ = city
    query = LayerQuery(bbox=BBox(x0, y0, x1, y1), zoom=16, limit=1)
    got = engine.answer(url, LAYER, query, Viewer(Role.admin), Settings(database_url=url))
    assert len(got.statements) == 4
    assert "count(*)" in got.statements[1][0] and ">= :since" in got.statements[3][0]
    assert not any("OVER ()" in sql for sql, _ in got.statements)
    newest = json.loads(got.features_json)[0]["properties"]["reported_at"]
    assert datetime.fromisoformat(newest) == t1
    with get_engine(url).connect() as conn:
        assert got.meta["total"] == conn.execute(text("SELECT count(*) FROM event")).scalar_one()


def test_the_total_comes_from_the_rollup_when_it_is_the_same(city):
    """Zoomed out over the whole history the count is the rollup's (and the edge cells'),
    not a count of every match; it equals that count."""
    url, (x0, y0, x1, y1, _t0, _t1), _ = city
    bbox = BBox(x0 + (x1 - x0) * 0.2, y0 + (y1 - y0) * 0.2, x1 - (x1 - x0) * 0.3, y1)
    query = LayerQuery(bbox=bbox, zoom=14, limit=1)
    got = engine.answer(url, LAYER, query, Viewer(Role.admin), Settings(database_url=url))
    assert any("event_cell" in sql for sql, _ in got.statements)
    assert not any('SELECT count(*) FROM "event"' in sql for sql, _ in got.statements)
    total, _ = ranked_every_match(url, query, Viewer(Role.admin))
    assert got.meta["total"] == total > 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    corner=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9)),
    size=st.floats(0.001, 1.0),
    window=st.one_of(st.none(), st.tuples(st.floats(0, 1), st.floats(0.0001, 1), st.booleans())),
    zoom=st.sampled_from([9, 10, 12, 14]),
)
def test_the_rollup_total_equals_counting_every_match(city, corner, size, window, zoom):
    """:func:`cell_rollup.matches` (``ST_Intersects`` with the view) against ``count(*)``: any
    view, zoom and window (whole hours or not) it answers."""
    url, (x0, y0, x1, y1, t0, t1), _ = city
    w, h = x1 - x0, y1 - y0
    bbox = BBox(
        x0 + corner[0] * w, y0 + corner[1] * h,
        x0 + min(1.0, corner[0] + size) * w, y0 + min(1.0, corner[1] + size) * h,
    )  # fmt: skip
    time = None
    if window is not None:
        start = t0 + (t1 - t0) * window[0]
        end = start + (t1 - t0) * window[1] + timedelta(seconds=1)
        if window[2]:
            start, end = (t.replace(minute=0, second=0, microsecond=0) for t in (start, end))
        time = TimeWindow(start, end + timedelta(hours=1))
    query = LayerQuery(bbox=bbox, zoom=zoom, limit=10, time=time)
    viewer = Viewer(Role.admin)
    where, params = page_query(LAYER, query, viewer)
    with get_engine(url).connect() as conn:

        def execute(sql: str, values: dict) -> list:
            return conn.execute(text(sql), values).all()

        rolled = cell_rollup.matches(execute, LAYER, query, viewer)
        counted = execute(count_sql(LAYER, where), params)[0][0]
    if rolled is not None:
        assert rolled == counted
    else:  # a window without a whole hour, or closer than the rollup pays
        assert time is not None and (zoom >= 13 or periods(time.start, time.end) is None)
