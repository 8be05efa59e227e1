"""The rollups of migrations 0028 and 0030 (``event_cell``, ``feature_cell``) give exactly the
raw ``GROUP BY`` per H3 cell (issue 15): random bboxes (many cutting cells), windows with
partial hours or of whole hours (read as hours, days, weeks, months), zooms 8–12 (and the
heatmap's one finer resolution), with events and devices inserted, moved, re-timed, re-kinded
and deleted between queries, and a COPY-style bulk insert. The rollup tables themselves always
equal their recomputation from the raw tables."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geodata.accounts.viewer import PUBLIC, Viewer
from geodata.cells import cell_sql, h3_cell
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.query import BBox, TimeWindow
from geodata.rollup import FEATURE_KINDS, periods
from geodata.settings import Settings
from geodata.spatial_sql import ENVELOPE
from geodata.vocab import Role
from layers import buildings as buildings_layer
from layers import cameras, engine, facilities, incidents, organisations, sensors
from layers.base import Layer
from layers.hexagons import LAYER as HEXAGONS
from layers.hotspots import LAYER as HOTSPOTS
from layers.incident_heatmap import LAYER as HEATMAP
from layers.providers import cell_rollup
from layers.query import LayerQuery
from layers.sql import conditions, h3_resolution
from tests.conftest import (
    DEMO_TEST_ANCHOR,
    DEMO_TEST_SCALE,
    DEMO_TEST_SEED,
    _fresh_database,
    incident_span,
)

COUNTED = (
    incidents.LAYER,
    sensors.LAYER,
    cameras.LAYER,
    organisations.LAYER,
    buildings_layer.LAYER,
    facilities.LAYER,
)


@pytest.fixture(scope="module")
def city(cluster):
    """A demo city of its own (the tests write to it): url, event extent and time span."""
    with _fresh_database(cluster, "rollup") as url:
        build_demo(url, scale=DEMO_TEST_SCALE, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR)
        yield url, incident_span(url)


def rollup_drift(url: str) -> list:
    """Rows where a rollup differs from its recomputation from the raw table (empty: exact)."""
    utc = "(d.reported_at AT TIME ZONE 'UTC')"
    keys = f"""CROSS JOIN LATERAL (VALUES ('hour', date_trunc('hour', {utc})),
        ('day', date_trunc('day', {utc})), ('week', date_trunc('week', {utc})),
        ('month', date_trunc('month', {utc})), ('all', '-infinity'::timestamp)) AS k(span, start)"""
    event = f"""SELECT k.span, k.start, d.h3_r7, d.h3_r9, count(*)::int AS n,
        sum(d.severity)::bigint AS s FROM event AS d {keys} GROUP BY 1, 2, 3, 4"""
    kind = {t: f"d.{c}::varchar" if c else "''::varchar" for t, c in FEATURE_KINDS.items()}
    features = " UNION ALL ".join(
        f"SELECT '{t}'::varchar AS source, {kind[t]} AS kind, "
        f"d.h3_r7, d.h3_r9, count(*)::int AS n FROM {t} AS d GROUP BY 1, 2, 3, 4"
        for t in FEATURE_KINDS
    )
    sql = f"""(({event}) EXCEPT SELECT span, start, h3_r7, h3_r9, n, s FROM event_cell)
    UNION ALL ((SELECT span, start, h3_r7, h3_r9, n, s FROM event_cell) EXCEPT ({event}))
    UNION ALL (SELECT 'f', NULL, h3_r7, h3_r9, n, NULL FROM
      (({features}) EXCEPT SELECT source, kind, h3_r7, h3_r9, n FROM feature_cell) AS a)
    UNION ALL (SELECT 'g', NULL, h3_r7, h3_r9, n, NULL FROM
      ((SELECT source, kind, h3_r7, h3_r9, n FROM feature_cell) EXCEPT ({features})) AS b)"""
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql)).all()


def raw_counts(url: str, layer: Layer, query: LayerQuery, res: int, spatial: bool) -> list:
    """What the raw ``GROUP BY`` gives: (cell, rows, severity sum), by cell."""
    where = conditions(layer, query, PUBLIC, cell_rollup.IN_BBOX if spatial else None)
    weight = "sum(t.severity)" if layer.source == "event" else "0"
    sql = (
        (f"WITH {ENVELOPE} " if spatial else "")
        + f'SELECT {cell_sql(res)}, count(*), {weight} FROM "{layer.source}" AS t'
        + (", env" if spatial else "")
        + f" WHERE {where.sql} GROUP BY 1 ORDER BY 1"
    )
    with get_engine(url).connect() as conn:
        return [tuple(int(v) for v in r) for r in conn.execute(text(sql), where.params)]


def rolled_counts(url: str, layer: Layer, query: LayerQuery, res: int, spatial: bool):
    with get_engine(url).connect() as conn:

        def execute(sql: str, params: dict) -> list:
            return conn.execute(text(sql), params).all()

        rows = cell_rollup.counts(execute, layer, query, PUBLIC, res, spatial=spatial)
    return None if rows is None else sorted(rows)


def _point(rng: random.Random, box) -> tuple[float, float]:
    return rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])


def _located(lon: float, lat: float) -> dict[str, object]:
    return {
        "g": f"SRID=4326;POINT({lon} {lat})",
        "r7": h3_cell(lon, lat, 7),
        "r9": h3_cell(lon, lat, 9),
    }


def mutate(url: str, box, op: str, k: int, seed: int) -> None:
    """One change of the store between queries."""
    rng = random.Random(seed)
    t0, t1 = box[4], box[5]

    def when() -> datetime:
        return t0 + (t1 - t0) * rng.random()

    with get_engine(url).begin() as conn:
        events = conn.execute(text("SELECT id FROM event ORDER BY random() LIMIT :k"), {"k": k})
        ids = [r[0] for r in events]
        devices = conn.execute(text("SELECT id FROM device ORDER BY random() LIMIT :k"), {"k": k})
        dev = [r[0] for r in devices]
        if op == "insert_events":
            for _ in range(k):
                row = _located(*_point(rng, box)) | {"t": when(), "sev": rng.randint(1, 4)}
                conn.execute(
                    text(
                        "INSERT INTO event (category, title, severity, reported_at, geom, loc, "
                        "h3_r7, h3_r9) VALUES ('fire', 'test', :sev, :t, "
                        "ST_GeomFromEWKT(:g), ST_GeomFromEWKT(:g), :r7, :r9)"
                    ),
                    row,
                )
        elif op == "move_events":
            for i in ids:
                conn.execute(
                    text(
                        "UPDATE event SET geom = ST_GeomFromEWKT(:g), loc = ST_GeomFromEWKT(:g), "
                        "h3_r7 = :r7, h3_r9 = :r9 WHERE id = :id"
                    ),
                    _located(*_point(rng, box)) | {"id": i},
                )
        elif op == "retime_events":  # one statement for all: the transition tables hold many
            conn.execute(
                text(
                    "UPDATE event SET reported_at = reported_at + make_interval(hours => :h), "
                    "severity = 1 + (severity % 4), status = 'closed' WHERE id = ANY(:ids)"
                ),
                {"ids": ids, "h": rng.randint(-400, 400)},
            )
        elif op == "delete_events":
            conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": ids})
        elif op == "insert_devices":
            for _ in range(k):
                row = _located(*_point(rng, box)) | {"kind": rng.choice(["camera", "smoke"])}
                conn.execute(
                    text(
                        "INSERT INTO device (kind, geom, loc, h3_r7, h3_r9) VALUES "
                        "(:kind, ST_GeomFromEWKT(:g), ST_GeomFromEWKT(:g), :r7, :r9)"
                    ),
                    row,
                )
        elif op == "rekind_devices":
            conn.execute(
                text(
                    "UPDATE device SET kind = CASE WHEN kind = 'camera' THEN 'smoke' "
                    "ELSE 'camera' END WHERE id = ANY(:ids)"
                ),
                {"ids": dev},
            )
        elif op == "delete_devices":
            conn.execute(text("DELETE FROM device WHERE id = ANY(:ids)"), {"ids": dev})
        elif op == "copy_events":  # as the demo build and imports load: COPY, areas assigned
            conn.exec_driver_sql("SET LOCAL onemap.area_assigned = 'on'")
            lines = []
            for _ in range(k * 20):
                loc = _located(*_point(rng, box))
                lines.append(
                    f"water\tcopied\t{rng.randint(1, 4)}\t{when().isoformat()}\t{loc['g']}\t"
                    f"{loc['g']}\t{loc['r7']}\t{loc['r9']}\n"
                )
            raw = conn.connection.driver_connection
            with raw.cursor().copy(
                "COPY event (category, title, severity, reported_at, geom, loc, h3_r7, h3_r9) "
                "FROM STDIN"
            ) as copy:
                copy.write("".join(lines))


def test_bulk_loaded_city_has_exact_rollups(city):
    """The demo build (COPY in one transaction, areas assigned) leaves the rollups exact."""
    url, _ = city
    assert rollup_drift(url) == []
    with get_engine(url).connect() as conn:
        n = conn.execute(text("SELECT sum(n) FROM event_cell WHERE span = 'all'")).scalar()
        assert n == conn.execute(text("SELECT count(*) FROM event")).scalar() > 0


OPS = st.sampled_from(
    [
        "insert_events",
        "move_events",
        "retime_events",
        "delete_events",
        "insert_devices",
        "rekind_devices",
        "delete_devices",
        "copy_events",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    centre=st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5)),
    half=st.one_of(st.floats(0.0002, 0.01), st.floats(0.01, 0.4)),
    zoom=st.sampled_from([8, 9, 10, 11, 12]),
    finer=st.booleans(),
    window=st.one_of(
        st.none(), st.tuples(st.floats(-0.1, 1), st.floats(0.0005, 1.2), st.integers(0, 23))
    ),
    whole_hours=st.booleans(),
    layer=st.sampled_from(COUNTED),
    changes=st.lists(st.tuples(OPS, st.integers(1, 6), st.integers(0, 10**6)), max_size=2),
)
def test_rollup_counts_equal_the_raw_group_by(
    city, centre, half, zoom, finer, window, whole_hours, layer, changes
):
    url, box = city
    for op, k, seed in changes:
        mutate(url, box, op, k, seed)
    x = box[0] + centre[0] * (box[2] - box[0])
    y = box[1] + centre[1] * (box[3] - box[1])
    bbox = BBox(x - half, y - half * 0.6, x + half, y + half * 0.6)
    time = None
    if window is not None and layer.time_column:
        span = box[5] - box[4]
        start = box[4] + span * window[0] + timedelta(hours=window[2], minutes=17)
        end = start + span * window[1]
        if whole_hours:  # as the map's windows of local days: no partial hour at either end
            start, end = (
                start.replace(minute=0, second=0, microsecond=0),
                end.replace(minute=0, second=0, microsecond=0),
            )
        time = TimeWindow(start.astimezone(UTC), end)
    query = LayerQuery(bbox=bbox, zoom=zoom, limit=5000, time=time)
    res = min(9, h3_resolution(zoom) + (1 if finer else 0))
    rolled = rolled_counts(url, layer, query, res, spatial=True)
    if rolled is None:  # only when the window holds no whole UTC day
        assert time is not None and periods(time.start, time.end) is None
        assert time.end - time.start < timedelta(hours=2)
    else:
        assert rolled == raw_counts(url, layer, query, res, spatial=True)
    if layer.source == "event":  # the hotspots' city-wide counts (no bbox)
        rolled = rolled_counts(url, layer, query, res, spatial=False)
        if rolled is not None:
            assert rolled == raw_counts(url, layer, query, res, spatial=False)
    if changes:
        assert rollup_drift(url) == []


def test_truncate_empties_the_rollup(cluster):
    """TRUNCATE (the demo's reset) leaves no rollup rows behind (on a scratch store)."""
    with _fresh_database(cluster, "rollup_truncate") as scratch:
        with get_engine(scratch).begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO device (kind, geom, loc, h3_r7, h3_r9) VALUES ('smoke', "
                    "ST_GeomFromEWKT(:g), ST_GeomFromEWKT(:g), :r7, :r9)"
                ),
                _located(117.2, 31.8),
            )
        assert rollup_drift(scratch) == []
        with get_engine(scratch).begin() as conn:
            assert conn.execute(text("SELECT sum(n) FROM feature_cell")).scalar() == 1
            conn.execute(text("TRUNCATE device CASCADE"))
        with get_engine(scratch).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM feature_cell")).scalar() == 0


@pytest.mark.parametrize(
    ("layer", "zoom", "extra"),
    [
        (incidents.LAYER, 10, {}),
        (incidents.LAYER, 12, {}),
        (HEXAGONS, 10, {}),
        (HEXAGONS, 12, {"of": "sensors", "metric": "density"}),
        (HEATMAP, 10, {}),
        (HEATMAP, 12, {}),
        (HOTSPOTS, 12, {}),
        (HOTSPOTS, 12, {"res": "9"}),
        (sensors.LAYER, 12, {}),
        (cameras.LAYER, 12, {}),
        (buildings_layer.LAYER, 12, {}),
    ],
)
@pytest.mark.parametrize("days", [None, 30])
def test_answers_are_unchanged(city, monkeypatch, layer, zoom, extra, days):
    """The whole answer (features, order, capping, metadata) is the raw SQL's, byte for byte."""
    url, box = city
    # around the city, cutting cells at every resolution on one side
    args = {"bbox": f"{box[0] - 0.3},{box[1] - 0.2},{box[2] - 0.001},{box[3] + 0.2}"}
    args |= {"zoom": str(zoom), "limit": "40", **extra}
    if days and layer.time_column:
        end = box[5].date()
        args["time"] = f"{end - timedelta(days=days - 1)}/{end}"
    query = LayerQuery.from_args(layer, args, 5000)
    viewer = Viewer(role=Role.analyst)
    settings_ = Settings(database_url=url)
    fast = engine.answer(url, layer, query, viewer, settings_)
    assert any("_cell" in sql for sql, _ in fast.statements), "the rollup was not used"
    monkeypatch.setattr(cell_rollup, "counts", lambda *a, **k: None)
    slow = engine.answer(url, layer, query, viewer, settings_)
    assert not any("_cell" in sql for sql, _ in slow.statements)
    assert fast.to_json() == slow.to_json()


@pytest.fixture(scope="module")
def long_lane(city):
    """A fire lane 3 km long (its ``loc``, the middle, is cells away from its ends)."""
    url, box = city
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    wkt = f"SRID=4326;LINESTRING({x - 0.015} {y - 0.012}, {x + 0.016} {y + 0.011})"
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO facility (kind, geom, loc, h3_r7, h3_r9) VALUES ('fire_lane', "
                "ST_GeomFromEWKT(:g), ST_GeomFromEWKT(:p), :r7, :r9)"
            ),
            {"g": wkt, "p": f"SRID=4326;POINT({x} {y})"}
            | {"r7": h3_cell(x, y, 7), "r9": h3_cell(x, y, 9)},
        )


@pytest.mark.parametrize("layer", [buildings_layer.LAYER, facilities.LAYER])
@pytest.mark.parametrize("side", ["west", "east", "south", "north"])
@pytest.mark.parametrize("res", [5, 8, 9])
def test_rows_crossing_the_view_edge_count_where_their_box_meets_it(
    city, long_lane, layer, side, res
):
    """A polygon or line whose ``loc`` is outside the view but whose box reaches into it counts
    (``t.geom && env``), in its own cell: the view's edge cuts the widest rows."""
    url, _ = city
    sql = (
        f"SELECT ST_X(loc), ST_Y(loc), ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
        f'FROM "{layer.source}" ORDER BY ST_XMax(geom) - ST_XMin(geom) DESC LIMIT 5'
    )
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(sql)).all()
    for x, y, x0, y0, x1, y1 in rows:
        far = 0.3
        cut = {  # the edge between loc and the far side of the box: loc just outside
            "west": (x + (x1 - x) * 0.5, y - far, x + far, y + far),
            "east": (x - far, y - far, x - (x - x0) * 0.5, y + far),
            "south": (x - far, y + (y1 - y) * 0.5, x + far, y + far),
            "north": (x - far, y - far, x + far, y - (y - y0) * 0.5),
        }[side]
        if cut[0] >= cut[2] or cut[1] >= cut[3]:
            continue
        query = LayerQuery(bbox=BBox(*cut), zoom=12, limit=5000)
        assert rolled_counts(url, layer, query, res, True) == raw_counts(
            url, layer, query, res, True
        )
