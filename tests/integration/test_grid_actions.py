"""``POST /api/grid/actions`` (the grid worker's offline queue) over HTTP against the demo city.

Facts checked: the same key posted twice applies the action once (one ``accept`` step in
``event_log``, one ``action_key`` row, the second answer a replay); a close with a note and a
photo writes one ``close`` step with the note and one ``after`` photo linked to it; an action
queued against an incident the street office closed meanwhile answers 409 naming who and when in
city time (14:02 for 06:02 UTC) and changes nothing; a forged incident of another grid answers
404 and leaves no key; a key reused for another incident, a bad body and a role without grids
are refused with 4xx.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import create_app
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import api_token, signed_in, sql_rows, sql_scalar
from twin import workflow
from twin.taxonomy import ensure_taxonomy
from twin.workflow import Actor

ROUTE = "/api/grid/actions"
REPORTS = "/api/grid/reports"
STREET = Actor("街道办 李主任", "admin")


def _jpeg() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def app(url, tmp_path_factory):
    data_dir: Path = tmp_path_factory.mktemp("grid_actions")
    return create_app(Settings(database_url=url, data_dir=data_dir), url)


@pytest.fixture(scope="module")
def grids(url) -> dict[str, tuple[int, str, float, float]]:
    """Two grids (id, code, a point inside): ``mine`` and ``other``."""
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, code, ST_X(ST_PointOnSurface(geom)) AS x, "
                "ST_Y(ST_PointOnSurface(geom)) AS y FROM area WHERE level = 'grid' "
                "ORDER BY id LIMIT 2"
            )
        ).all()
    return {k: (r.id, r.code, r.x, r.y) for k, r in zip(("mine", "other"), rows, strict=True)}


@pytest.fixture(scope="module")
def worker(app, url, grids):
    token = api_token(url, "grid_worker", areas=(grids["mine"][1],))
    return signed_in(app.server.test_client(), token)


@pytest.fixture
def made(url) -> Iterator[list[int]]:
    ids: list[int] = []
    yield ids
    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": ids})


def _incident(url: str, grid: tuple[int, str, float, float], made: list[int]) -> int:
    with get_engine(url).begin() as conn:
        ensure_taxonomy(conn)
        with Session(bind=conn) as session:
            event_id = workflow.create_incident(
                session, category="environment.litter", lon=grid[2], lat=grid[3],
                now=datetime.now(UTC), title="queue test", source="test_grid_actions",
            ).event.id  # fmt: skip
            session.flush()
    made.append(event_id)
    return event_id


def _move(url: str, event_id: int, steps: tuple[str, ...], actor: Actor, now: datetime) -> None:
    with get_engine(url).begin() as conn, Session(bind=conn) as session:
        for step in steps:
            workflow.transition(session, event_id, step, actor, "street office", now=now)
        session.flush()


def test_the_same_key_twice_applies_once(worker, url, grids, made):
    event_id = _incident(url, grids["mine"], made)
    body = {"key": uuid.uuid4().hex, "incident": event_id, "action": "accept", "note": "到场"}
    first = worker.post(ROUTE, json=body)
    second = worker.post(ROUTE, json=body)
    assert first.status_code == 200 and second.status_code == 200, first.get_json()
    assert first.get_json()["replay"] is False and second.get_json()["replay"] is True
    assert first.get_json()["status"] == second.get_json()["status"] == "accepted"
    steps = sql_rows(
        url, "SELECT action FROM event_log WHERE event_id = :e ORDER BY id", e=event_id
    )
    assert [s.action for s in steps] == ["create", "dispatch", "accept"]
    assert sql_scalar(url, "SELECT count(*) FROM action_key WHERE event_id = :e", e=event_id) == 1
    again = worker.post(ROUTE, json={**body, "action": "handle"})
    assert again.status_code == 409  # the key names another action: refused, nothing applied
    assert sql_scalar(url, "SELECT status FROM event WHERE id = :e", e=event_id) == "accepted"


def test_close_with_note_and_photo(worker, url, grids, made):
    event_id = _incident(url, grids["mine"], made)
    _move(url, event_id, ("dispatch", "accept", "start"), STREET, datetime.now(UTC))
    body = {"key": uuid.uuid4().hex, "incident": event_id, "action": "close",
            "note": "已清理", "photo": _jpeg()}  # fmt: skip
    answer = worker.post(ROUTE, json=body)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "closed"
    assert worker.post(ROUTE, json=body).get_json()["replay"] is True
    closes = sql_rows(
        url, "SELECT id, note FROM event_log WHERE event_id = :e AND action = 'close'", e=event_id
    )
    assert len(closes) == 1 and closes[0].note == "已清理"
    photos = sql_rows(url, "SELECT log_id, kind FROM photo WHERE event_id = :e", e=event_id)
    assert [(p.log_id, p.kind) for p in photos] == [(closes[0].id, "after")]


def test_a_task_closed_meanwhile_is_a_conflict(worker, url, grids, made):
    event_id = _incident(url, grids["mine"], made)
    _move(url, event_id, ("dispatch", "accept", "start"), STREET, datetime.now(UTC))
    _move(url, event_id, ("resolve", "close"), STREET, datetime(2026, 12, 7, 6, 2, tzinfo=UTC))
    body = {"key": uuid.uuid4().hex, "incident": event_id, "action": "close", "lang": "zh"}
    answer = worker.post(ROUTE, json=body)
    assert answer.status_code == 409
    got = answer.get_json()
    assert "14:02" in got["error"] and "街道办 李主任" in got["error"] and "已办结" in got["error"]
    assert got["now"] == "closed" and got["by"] == "街道办 李主任"
    english = worker.post(ROUTE, json={**body, "lang": "en"}).get_json()["error"]
    assert english.startswith(f"Incident #{event_id} was already Closed") and "14:02" in english
    assert sql_scalar(url, "SELECT count(*) FROM action_key WHERE event_id = :e", e=event_id) == 0
    closes = sql_scalar(
        url, "SELECT count(*) FROM event_log WHERE event_id = :e AND action = 'close'", e=event_id
    )
    assert closes == 1


def test_a_forged_incident_of_another_grid_is_404(worker, url, grids, made):
    event_id = _incident(url, grids["other"], made)
    body = {"key": uuid.uuid4().hex, "incident": event_id, "action": "accept"}
    answer = worker.post(ROUTE, json=body)
    assert answer.status_code == 404
    assert sql_scalar(url, "SELECT status FROM event WHERE id = :e", e=event_id) == "reported"
    assert sql_scalar(url, "SELECT count(*) FROM action_key WHERE event_id = :e", e=event_id) == 0
    missing = worker.post(ROUTE, json={**body, "incident": 2**62})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"key": "short", "incident": 1, "action": "accept"},
        {"key": "k" * 20, "incident": 0, "action": "accept"},
        {"key": "k" * 20, "incident": 1, "action": "delete"},
        {"key": "k" * 20, "incident": 1, "action": "accept", "extra": 1},
        {"key": "k" * 20, "incident": 1, "action": "accept", "photo": "data:text/plain,hi"},
    ],
)
def test_bad_bodies_are_400(worker, body):
    answer = worker.post(ROUTE, json=body) if body is not None else worker.post(ROUTE, data="x")
    assert answer.status_code == 400, answer.get_json()


def test_an_analyst_has_no_grid_tasks(app, url):
    analyst = signed_in(app.server.test_client(), api_token(url, "analyst"))
    answer = analyst.post(ROUTE, json={"key": "k" * 20, "incident": 1, "action": "accept"})
    assert answer.status_code == 403


def test_a_queued_report_is_made_once_per_key(worker, url, grids, made):
    _, _, lon, lat = grids["mine"]
    body = {"key": uuid.uuid4().hex, "category": "environment.litter", "lon": lon, "lat": lat,
            "description": "离线上报"}  # fmt: skip
    first, second = worker.post(REPORTS, json=body), worker.post(REPORTS, json=body)
    assert first.status_code == second.status_code == 200, first.get_json()
    event_id = first.get_json()["incident"]
    made.append(event_id)
    assert second.get_json()["incident"] == event_id
    made_here = sql_scalar(
        url, "SELECT count(*) FROM event WHERE description = '离线上报' AND area_id = :a",
        a=grids["mine"][0],
    )  # fmt: skip
    assert made_here == 1
    _, _, x, y = grids["other"]
    outside = worker.post(REPORTS, json={**body, "key": uuid.uuid4().hex, "lon": x, "lat": y})
    assert outside.status_code == 403
    unknown = worker.post(REPORTS, json={**body, "key": uuid.uuid4().hex, "category": "nope"})
    assert unknown.status_code == 400
