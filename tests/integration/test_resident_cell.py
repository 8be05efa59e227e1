"""``resident_cell`` (migration 0029) gives exactly the raw residents SQL's answer (issue 15):
random bboxes (many cutting buildings and cells), zooms 9–15, care tags and viewers (public,
analyst, a grid worker's scope, a selected area), with residents inserted (some in groups under
``min_count``, some far from their building), moved, re-homed, moved out, deleted and COPied,
buildings moved and deleted, each followed by a refresh or not. The rollup always equals its
recomputation, and a stale rollup (a building changed since the refresh) is never read."""

from __future__ import annotations

import random
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from geodata.accounts.viewer import PUBLIC, Viewer
from geodata.cells import h3_cell
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import refresh_resident_stats
from geodata.vocab import Role
from layers import engine
from layers.providers import resident_cells, residents
from layers.query import LayerQuery
from layers.residents import LAYER
from layers.sql import h3_resolution
from tests.conftest import DEMO_TEST_ANCHOR, DEMO_TEST_SCALE, DEMO_TEST_SEED, _fresh_database

TAGS = ("elderly", "elderly_alone", "minor")


@pytest.fixture(scope="module")
def city(cluster):
    """A demo city of its own (the tests write to it): url, residents' extent, the ids of
    areas with residents."""
    with _fresh_database(cluster, "rescell") as url:
        build_demo(url, scale=DEMO_TEST_SCALE, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR)
        with get_engine(url).connect() as conn:
            box = conn.execute(
                text(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                    "FROM (SELECT ST_Extent(geom)::geometry AS e FROM resident_stats) AS x"
                )
            ).one()
            grids = conn.execute(  # areas of every level with residents
                text(
                    "SELECT a.id FROM area AS a WHERE EXISTS (SELECT 1 FROM resident_stats AS t "
                    "WHERE ST_Intersects(a.geom, t.loc)) ORDER BY a.id"
                )
            )
            grid_ids = [r[0] for r in grids]
        yield url, tuple(box), grid_ids


def drift(url: str) -> list:
    """Rows where ``resident_cell`` differs from its definition recomputed now (empty: exact)."""
    with get_engine(url).connect() as conn:
        definition = conn.execute(text("SELECT pg_get_viewdef('resident_cell'::regclass)"))
        body = definition.scalar_one().rstrip().rstrip(";")
        cols = "h3_r7, h3_r9, n, care::text, x0, y0, x1, y1, ST_AsEWKB(geom)"
        sql = f"""(SELECT {cols} FROM ({body}) AS d EXCEPT SELECT {cols} FROM resident_cell)
        UNION ALL (SELECT {cols} FROM resident_cell EXCEPT SELECT {cols} FROM ({body}) AS d)"""
        return conn.execute(text(sql)).all()


def _located(lon: float, lat: float) -> dict[str, object]:
    return {
        "g": f"SRID=4326;POINT({lon} {lat})",
        "r7": h3_cell(lon, lat, 7),
        "r9": h3_cell(lon, lat, 9),
    }


RESIDENT_INSERT = (
    "INSERT INTO resident (source, source_id, geom, loc, h3_r7, h3_r9, house_id, sex, "
    "birth_year, care_tags) VALUES ('rc', :sid, ST_GeomFromEWKT(:g), ST_GeomFromEWKT(:g), "
    ":r7, :r9, :h, 'F', 1950, CAST(:tags AS varchar[]))"
)


def _near(rng: random.Random, x: float, y: float, box) -> tuple[float, float]:
    """A point at a building (``x``, ``y``) or, now and then, anywhere in the city."""
    if rng.random() < 0.1:
        return rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
    return x + rng.uniform(-3e-4, 3e-4), y + rng.uniform(-3e-4, 3e-4)


def mutate(url: str, box, op: str, k: int, seed: int) -> None:
    """One change of the store (residents, homes or buildings) between queries."""
    rng = random.Random(seed)
    with get_engine(url).begin() as conn:
        homes = conn.execute(
            text(
                "SELECT h.id, ST_X(b.loc), ST_Y(b.loc) FROM house h JOIN building b "
                "ON b.id = h.building_id ORDER BY random() LIMIT :k"
            ),
            {"k": k},
        ).all()
        people = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM resident ORDER BY random() LIMIT :k"), {"k": k * 5}
            )
        ]
        if op == "insert":  # small groups (1..7) at a home, or without one
            for house, x, y in homes:
                home = house if rng.random() < 0.8 else None
                for _ in range(rng.randint(1, 7)):
                    tags = "{" + ",".join(t for t in TAGS if rng.random() < 0.4) + "}"
                    row = _located(*_near(rng, x, y, box))
                    conn.execute(
                        text(RESIDENT_INSERT),
                        row | {"sid": uuid.uuid4().hex, "h": home, "tags": tags},
                    )
        elif op == "move":
            for person in people:
                x, y = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
                conn.execute(
                    text(
                        "UPDATE resident SET geom = ST_GeomFromEWKT(:g), "
                        "loc = ST_GeomFromEWKT(:g), h3_r7 = :r7, h3_r9 = :r9 WHERE id = :id"
                    ),
                    _located(x, y) | {"id": person},
                )
        elif op == "rehome" and homes:
            conn.execute(
                text("UPDATE resident SET house_id = :h WHERE id = ANY(:ids)"),
                {"h": homes[0][0], "ids": people},
            )
        elif op == "move_out":
            conn.execute(
                text("UPDATE resident SET status = 'moved_out' WHERE id = ANY(:ids)"),
                {"ids": people},
            )
        elif op == "delete":
            conn.execute(text("DELETE FROM resident WHERE id = ANY(:ids)"), {"ids": people})
        elif op == "copy" and homes:
            lines = []
            for i in range(k * 10):
                house, x, y = homes[i % len(homes)]
                loc = _located(*_near(rng, x, y, box))
                lines.append(
                    f"rc\t{uuid.uuid4().hex}\t{loc['g']}\t{loc['g']}\t{loc['r7']}\t{loc['r9']}\t"
                    f"{house}\tM\t1980\t{{minor}}\n"
                )
            raw = conn.connection.driver_connection
            with raw.cursor().copy(
                "COPY resident (source, source_id, geom, loc, h3_r7, h3_r9, house_id, sex, "
                "birth_year, care_tags) FROM STDIN"
            ) as copy:
                copy.write("".join(lines))
        elif op == "far" and homes:  # a new building among others, its people all far away
            _, x, y = homes[0]
            x, y = x + rng.uniform(-5e-4, 5e-4), y + rng.uniform(-5e-4, 5e-4)
            house = new_home(conn, x, y)
            dx, dy = rng.choice([-1, 1]) * rng.uniform(0.03, 0.2), rng.uniform(-0.05, 0.05)
            for _ in range(rng.randint(3, 9)):
                tags = "{" + ",".join(t for t in TAGS if rng.random() < 0.6) + "}"
                row = _located(x + dx + rng.uniform(-1e-3, 1e-3), y + dy)
                conn.execute(
                    text(RESIDENT_INSERT),
                    row | {"sid": uuid.uuid4().hex, "h": house, "tags": tags},
                )
        elif op == "move_building" and homes:  # its leaf moves to other cells: stale
            x, y = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
            conn.execute(
                text(
                    "UPDATE building SET geom = ST_Translate(geom, :x - ST_X(loc), :y - ST_Y(loc)),"
                    " loc = ST_GeomFromEWKT(:g), h3_r7 = :r7, h3_r9 = :r9 "
                    "WHERE id = (SELECT building_id FROM house WHERE id = :h)"
                ),
                _located(x, y) | {"x": x, "y": y, "h": homes[0][0]},
            )
        elif op == "delete_building" and homes:
            conn.execute(
                text(
                    "DELETE FROM building WHERE id = (SELECT building_id FROM house WHERE id = :h)"
                ),
                {"h": homes[0][0]},
            )


def view(rng: random.Random, box) -> str:
    """A random bbox cutting through the city (its buildings and cells) or lying near it, inside
    or outside the margin of the widest cells (~0.025°), from ~60 m to ~6 km across."""
    x = rng.uniform(box[0] - 0.04, box[2] + 0.04)
    y = rng.uniform(box[1] - 0.04, box[3] + 0.04)
    w, h = 10 ** rng.uniform(-3.5, -1.5), 10 ** rng.uniform(-3.5, -1.5)
    return f"{x - w:.6f},{y - h:.6f},{x + w:.6f},{y + h:.6f}"


def both(url: str, query: LayerQuery, viewer: Viewer) -> tuple[list, list, bool]:
    """The provider's rows, the raw SQL's rows, and whether the rollup answered."""
    used: list[str] = []
    with get_engine(url).connect() as conn:

        def execute(sql: str, params: dict) -> list:
            used.append(sql)
            return [tuple(r) for r in conn.execute(text(sql), params)]

        rows, res = residents.resident_groups(execute, LAYER, query, viewer, False)
        assert res is not None
        care = query.option("care", "") or None
        listed, scope = residents.unit_clauses(query, viewer)
        params = listed.params | scope.params | {"fetch": query.limit + 1, "min_count": 5}
        params |= {"margin": residents.cell_margin(res)} | ({"care": care} if care else {})
        raw = execute(residents.residents_h3_sql(listed.sql, scope.sql, res, care), params)
    return rows, raw, "resident_cell" in used[0] and len(used) == 2


def test_demo_city_has_an_exact_rollup(city):
    url, _, _ = city
    assert drift(url) == []
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM resident_cell_stale")).scalar() == 0
        total = "SELECT (SELECT sum(n) FROM resident_cell), (SELECT count(*) FROM resident_stats)"
        n, rows = conn.execute(text(total)).one()
    assert n > 0 and rows > 0


OPS = (
    "insert",
    "far",
    "move",
    "rehome",
    "move_out",
    "delete",
    "copy",
    "move_building",
    "delete_building",
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(1, 6), st.integers(0, 10**6)),
        min_size=1,
        max_size=3,
    ),
    refresh=st.booleans(),
    seed=st.integers(0, 10**6),
)
def test_rollup_answers_as_the_raw_sql(city, ops, refresh, seed):
    """After random writes (refreshed or not), every view, zoom, care tag and viewer gets the raw
    SQL's rows; the rollup answers exactly when it may (unscoped, fresh)."""
    url, box, grid_ids = city
    for op, k, op_seed in ops:
        mutate(url, box, op, k, op_seed)
    if refresh:
        refresh_resident_stats(url)
        assert drift(url) == []
    with get_engine(url).connect() as conn:
        stale = conn.execute(text("SELECT EXISTS (SELECT 1 FROM resident_cell_stale)")).scalar()
    rng = random.Random(seed)
    scoped = Viewer(role=Role.grid_worker, area_ids=tuple(rng.sample(grid_ids, rng.randint(1, 3))))
    everywhere = Viewer(role=Role.leader, area_ids=tuple(grid_ids))
    shown = 0
    for _ in range(12):
        zoom = rng.choice([9.5, 10, 11, 12, 12.5, 13, 14, 15])
        args = {
            "bbox": view(rng, box),
            "zoom": str(zoom),
            "limit": rng.choice(["30", "5000"]),
        }
        if rng.random() < 0.5:
            args["care"] = rng.choice(TAGS)
        if rng.random() < 0.15:
            args["area"] = str(rng.choice(grid_ids))
        viewer = rng.choice([PUBLIC, Viewer(role=Role.analyst), scoped, everywhere])
        query = LayerQuery.from_args(LAYER, args, 5000)
        rows, raw, rolled = both(url, query, viewer)
        assert rows == raw, (args, viewer)
        shown += bool(viewer.area_ids and raw)
        may = not stale and viewer.area_ids is None
        assert rolled == may, (args, viewer, stale)
    if stale:  # a refresh makes it exact and fresh again
        refresh_resident_stats(url)
        assert drift(url) == []


def test_building_changes_mark_the_rollup_stale_and_a_refresh_clears_it(city):
    url, box, _ = city
    refresh_resident_stats(url)
    count = "SELECT count(*) FROM resident_cell_stale"
    with get_engine(url).begin() as conn:  # a change that moves no leaf leaves it fresh
        conn.execute(
            text("UPDATE building SET name = name WHERE id IN (SELECT id FROM building LIMIT 5)")
        )
        assert conn.execute(text(count)).scalar() == 0
    mutate(url, box, "move_building", 1, 1)
    with get_engine(url).connect() as conn:
        assert conn.execute(text(count)).scalar() == 1
    query = LayerQuery.from_args(LAYER, {"bbox": view(random.Random(2), box), "zoom": "11"}, 5000)
    rows, raw, rolled = both(url, query, PUBLIC)
    assert rows == raw and not rolled
    refresh_resident_stats(url)
    with get_engine(url).connect() as conn:
        assert conn.execute(text(count)).scalar() == 0
    assert drift(url) == []
    rows, raw, rolled = both(url, query, PUBLIC)
    assert rows == raw and rolled


@pytest.mark.parametrize("zoom", [9.5, 11, 12.5, 14])
@pytest.mark.parametrize("care", [None, "elderly_alone"])
def test_whole_answers_are_unchanged(city, monkeypatch, zoom, care):
    """The whole answer (features, order, capping, metadata) is the raw SQL's, byte for byte."""
    url, box, _ = city
    refresh_resident_stats(url)
    w, h = box[2] - box[0], box[3] - box[1]  # cutting the city on two sides
    args = {"bbox": f"{box[0] + w / 3},{box[1] - 0.1},{box[2] + 0.1},{box[3] - h / 4}"}
    args |= {"zoom": str(zoom), "limit": "40"} | ({"care": care} if care else {})
    query = LayerQuery.from_args(LAYER, args, 5000)
    settings_ = Settings(database_url=url)
    fast = engine.answer(url, LAYER, query, PUBLIC, settings_)
    assert any("resident_cell" in sql for sql, _ in fast.statements), "the rollup was not used"
    monkeypatch.setattr(resident_cells, "applies", lambda *a, **k: False)
    slow = engine.answer(url, LAYER, query, PUBLIC, settings_)
    assert not any("resident_cell" in sql for sql, _ in slow.statements)
    assert fast.to_json() == slow.to_json()


def test_rollup_resolution_range():
    """Every aggregated zoom of the layer maps to a resolution the stored cells derive."""
    for zoom in (LAYER.min_zoom, 10, 12, 13, 15.9):
        assert 5 <= h3_resolution(zoom) <= 9


def test_a_building_whose_people_all_live_far_away(city):
    """A building among others whose residents' points all lie far from it (in the same large
    area): views near the building at fine resolutions leave it out (no row in the widened
    view), for the public and for a viewer scoped to that area — as the raw SQL does."""
    url, _, area_ids = city
    first_home = (
        "SELECT ST_X(b.loc), ST_Y(b.loc) FROM house h JOIN building b ON b.id = h.building_id "
        "ORDER BY h.id LIMIT 1"
    )
    far_point = """WITH o AS (SELECT ST_SetSRID(ST_MakePoint(:x, :y), 4326) AS p),
    rest AS (SELECT a.id, ST_Difference(a.geom, ST_Buffer(o.p, 0.04)) AS g, ST_Area(a.geom) AS s
             FROM area AS a, o WHERE a.id = ANY(:ids) AND ST_Intersects(a.geom, o.p))
    SELECT rest.id, ST_X(q.p), ST_Y(q.p) FROM rest,
         LATERAL (SELECT (ST_Dump(ST_GeneratePoints(rest.g, 1, 7))).geom AS p) AS q
    WHERE NOT ST_IsEmpty(rest.g) ORDER BY rest.s DESC LIMIT 1"""
    with get_engine(url).connect() as conn:
        x, y = conn.execute(text(first_home)).one()
        area, fx, fy = conn.execute(text(far_point), {"x": x, "y": y, "ids": area_ids}).one()
    with get_engine(url).begin() as conn:
        house = new_home(conn, x + 2e-4, y + 2e-4)
        for i in range(6):
            row = _located(fx + i * 1e-5, fy)
            conn.execute(
                text(RESIDENT_INSERT),
                row | {"sid": uuid.uuid4().hex, "h": house, "tags": "{elderly}"},
            )
    refresh_resident_stats(url)
    assert drift(url) == []
    for zoom in (12.5, 13, 14, 15):
        for half in (0.001, 0.004, 0.01):
            bbox = f"{x - half},{y - half},{x + half},{y + half}"
            for viewer in (PUBLIC, Viewer(role=Role.leader, area_ids=(area,))):
                for care in (None, "elderly"):
                    args = {"bbox": bbox, "zoom": str(zoom)} | ({"care": care} if care else {})
                    rows, raw, _ = both(url, LayerQuery.from_args(LAYER, args, 5000), viewer)
                    assert rows == raw, (args, viewer)


def new_home(conn, x: float, y: float) -> int:
    """A new building at ``x``, ``y`` with one home: the home's id."""
    here = _located(x, y)
    b = conn.execute(
        text(
            "INSERT INTO building (source, source_id, geom, loc, h3_r7, h3_r9) VALUES "
            "('rc', :sid, ST_Multi(ST_Buffer(ST_GeomFromEWKT(:g), 0.0001, 2)), "
            "ST_GeomFromEWKT(:g), :r7, :r9) RETURNING id"
        ),
        here | {"sid": uuid.uuid4().hex},
    ).scalar_one()
    return conn.execute(
        text(
            "INSERT INTO house (source, source_id, geom, loc, h3_r7, h3_r9, building_id) "
            "VALUES ('rc', :sid, ST_GeomFromEWKT(:g), ST_GeomFromEWKT(:g), :r7, :r9, :b) "
            "RETURNING id"
        ),
        here | {"sid": uuid.uuid4().hex, "b": b},
    ).scalar_one()


def test_a_small_group_in_the_selected_area_lists_no_cell(city):
    """Three people in a building of their own, next to a building of many, with a bbox around
    the three only and their area selected: the cell is not listed (only shown leaves list a
    cell), as the raw SQL answers."""
    url, _, area_ids = city
    first_home = (
        "SELECT ST_X(b.loc), ST_Y(b.loc) FROM house h JOIN building b ON b.id = h.building_id "
        "ORDER BY h.id LIMIT 1"
    )
    with get_engine(url).begin() as conn:
        x, y = conn.execute(text(first_home)).one()
        x, y = x + 3e-4, y + 3e-4
        house = new_home(conn, x, y)
        for _ in range(3):
            row = _located(x, y) | {"sid": uuid.uuid4().hex, "h": house, "tags": "{elderly}"}
            conn.execute(text(RESIDENT_INSERT), row)
        areas = (
            conn.execute(
                text(
                    "SELECT id FROM area WHERE id = ANY(:ids) "
                    "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ),
                {"ids": area_ids, "x": x, "y": y},
            )
            .scalars()
            .all()
        )
    refresh_resident_stats(url)
    assert areas
    for zoom in (12.5, 13, 14, 15):
        for half in (5e-5, 1e-4, 2e-4):
            bbox = f"{x - half},{y - half},{x + half},{y + half}"
            for area in areas:
                for care in (None, "elderly"):
                    args = {"bbox": bbox, "zoom": str(zoom), "area": str(area)}
                    args |= {"care": care} if care else {}
                    rows, raw, rolled = both(url, LayerQuery.from_args(LAYER, args, 5000), PUBLIC)
                    assert rows == raw and rolled, (args, rows, raw)
