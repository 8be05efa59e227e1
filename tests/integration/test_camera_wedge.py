"""The stored camera wedge (``device.fov_wedge``, migration 0031): equal to the computed one
after inserts and updates of heading, field of view, range, location and kind, and the analyst
questions against the cameras layer still match brute force over the computed wedges."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics import question_sql, questions
from analytics.questions import ask
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.models import Device, Facility
from geodata.settings import Settings
from geodata.spatial_sql import WEDGE_SQL
from tests.conftest import _fresh_database, sql_rows

ANALYST = Viewer(role="analyst")
LANE_NORTH = ((117.2500, 31.8500), (117.2510, 31.8500))
LANE_EAST = ((117.2600, 31.8500), (117.2610, 31.8500))
CAMERA_SOUTH = (117.2505, 31.8495)  # ~55 m south of the middle of LANE_NORTH
CAMERA_EAST = (117.2605, 31.8495)


def _lanes(distance_m: float = 0, mode: str = "beyond") -> dict:
    return {
        "layer": "facilities",
        "where": [{"field": "kind", "op": "=", "value": "fire_lane"}],
        "near": [{"layer": "cameras", "distance_m": distance_m, "mode": mode}],
    }


@pytest.fixture(scope="module")
def url(cluster) -> Iterator[str]:
    """A fresh store with two fire lanes, a camera facing the northern one and a smoke sensor."""
    with _fresh_database(cluster, "wedge") as u:
        with Session(get_engine(u)) as s:
            for name, line in (("north", LANE_NORTH), ("east", LANE_EAST)):
                s.add(Facility(kind="fire_lane", name=name, geom=_line(line)))
            s.add(Device(kind="camera", serial="cam-1", geom=_point(CAMERA_SOUTH), heading=0,
                         fov=60, range_m=100))  # fmt: skip
            s.add(Device(kind="smoke", serial="smoke-1", geom=_point(CAMERA_SOUTH)))
            s.commit()
        yield u


def _line(coords):
    return from_shape(LineString(coords), srid=4326)


def _point(lonlat):
    return from_shape(Point(lonlat), srid=4326)


def _write(url: str, sql: str, **params) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text(sql), params)


def _stale(url: str) -> int:
    """Devices whose stored wedge differs (byte for byte) from the computed one."""
    return sql_rows(
        url,
        f"""SELECT count(*) FROM device t WHERE fov_wedge::bytea IS DISTINCT FROM
            (CASE WHEN t.kind = 'camera' THEN {WEDGE_SQL} END)::bytea""",
    )[0][0]


def _oracle(url: str, distance_m: float = 0) -> set[str]:
    """Names of the lanes no computed wedge reaches within ``distance_m`` (every pair)."""
    close = (
        "ST_Intersects(l.geom, c.w)"
        if distance_m == 0
        else "ST_DWithin(l.geom::geography, c.w::geography, :d)"
    )
    return {
        r[0]
        for r in sql_rows(
            url,
            f"""SELECT l.name FROM facility l WHERE l.kind = 'fire_lane' AND NOT EXISTS (
                SELECT 1 FROM (SELECT {WEDGE_SQL} AS w FROM device t WHERE t.kind = 'camera') c
                WHERE {close})""",
            d=distance_m,
        )
    }


def _answers(url: str, monkeypatch, spec: dict) -> list[set[str]]:
    """The lane names of ``spec``'s answer, searched from either side."""
    real = questions.context
    got = []
    for side in (False, True):

        def forced(conn, question, viewer, s, side=side):
            return dataclasses.replace(real(conn, question, viewer, s), by_reference=(side,))

        monkeypatch.setattr(questions, "context", forced)
        answer = ask(url, spec, ANALYST, Settings(database_url=url))
        got.append({row[2] for row in answer.rows})
    monkeypatch.setattr(questions, "context", real)
    return got


def _check(url: str, monkeypatch, unseen: set[str]) -> None:
    assert _stale(url) == 0
    assert _oracle(url) == unseen
    assert _answers(url, monkeypatch, _lanes()) == [unseen, unseen]
    near = _oracle(url, 30)
    assert _answers(url, monkeypatch, _lanes(30)) == [near, near]


CAMERA = "UPDATE device SET {} WHERE serial = 'cam-1'"
STEPS = [
    ("facing the northern lane", None, {"east"}),
    ("turned away", "heading = 180", {"north", "east"}),
    ("turned back, short range", "heading = 0, range_m = 30", {"north", "east"}),
    ("long range again", "range_m = 100", {"east"}),
    ("narrow view", "fov = 5", {"east"}),
    ("all round", "fov = 360", {"east"}),
    ("heading unknown: the point itself", "heading = NULL", {"north", "east"}),
    ("moved under the eastern lane", "heading = 0, fov = 60, geom = ST_SetSRID(ST_MakePoint("
     f"{CAMERA_EAST[0]}, {CAMERA_EAST[1]}), 4326), loc = ST_SetSRID(ST_MakePoint("
     f"{CAMERA_EAST[0]}, {CAMERA_EAST[1]}), 4326)", {"north"}),
    ("no longer a camera", "kind = 'smoke'", {"north", "east"}),
    ("a camera again", "kind = 'camera'", {"north"}),
]  # fmt: skip


def test_stored_wedges_follow_every_write_and_answers_match_brute_force(url, monkeypatch):
    for label, change, unseen in STEPS:
        if change is not None:
            _write(url, CAMERA.format(change))
        try:
            _check(url, monkeypatch, unseen)
        except AssertionError as exc:
            raise AssertionError(f"after {label!r}: {exc}") from exc
    assert sql_rows(url, "SELECT fov_wedge IS NULL FROM device WHERE kind = 'smoke'") == [(True,)]


def test_a_camera_inserted_by_sql_stores_its_wedge(url, monkeypatch):
    lon, lat = CAMERA_SOUTH
    _write(
        url,
        """INSERT INTO device (kind, serial, geom, loc, h3_r7, h3_r9, heading, fov, range_m)
           VALUES ('camera', 'cam-2', ST_SetSRID(ST_MakePoint(:x, :y), 4326),
                   ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0, 0, 10, 90, 80)""",
        x=lon,
        y=lat,
    )
    try:
        assert (
            sql_rows(url, "SELECT GeometryType(fov_wedge) FROM device WHERE serial = 'cam-2'")[0][0]
            == "POLYGON"
        )
        _check(url, monkeypatch, _oracle(url))
        assert "north" not in _oracle(url)
    finally:
        _write(url, "DELETE FROM device WHERE serial = 'cam-2'")


def test_the_demo_citys_lanes_near_cameras_match_brute_force(demo_url):
    """Within 40 m of a view (not only inside it), searched from either side."""
    expected = {
        r[0]
        for r in sql_rows(
            demo_url,
            f"""SELECT l.id FROM facility l WHERE l.kind = 'fire_lane' AND EXISTS (
                SELECT 1 FROM (SELECT {WEDGE_SQL} AS w FROM device t WHERE t.kind = 'camera') c
                WHERE ST_DWithin(l.geom::geography, c.w::geography, 40))""",
        )
    }
    assert expected
    settings = Settings(database_url=demo_url)
    question = questions.parse_question(_lanes(40, "within"), questions.limits(settings), None)
    for side in (False, True):
        with questions.read_only(demo_url, 60) as conn:
            ctx = questions.context(conn, question, ANALYST, settings)
            ctx = dataclasses.replace(ctx, by_reference=(side,))
            plan = question_sql.plan(question, ctx)
            rows = conn.execute(text(plan.sql), plan.params).all()
        assert {r[0] for r in rows} == expected
