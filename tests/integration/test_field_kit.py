"""The grid worker's field kit against the demo city (issue 17, parts 1, 2 and 4).

Facts checked: a photo sent with an action becomes one ``photo`` row (kind, size and sha256 of
the stored file, pixel size, the step and account it came with) whose stored bytes carry no
EXIF although the upload had GPS and device data; ``/api/photos/<id>`` serves it (and its
thumbnail) to the worker of its grid and answers 404 to a worker of another grid, a planner
and an analyst; hostile uploads (not an image, a wrong declared type, a decompression bomb, a
header claiming 100 000² pixels) change and store nothing; every step written by the grid
desk, the workflow, the sweeper and the heartbeat's simulated staff records who (account id,
or none with its actor kind); and the live stream of a worker of another grid carries nothing
of an incident opened in my grid, while mine carries it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.assessment import assess
from api import live as live_api
from app import create_app
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import api_token, signed_in, sql_rows, sql_scalar
from tests.integration.test_grid_desk import Dash, _point_in, _pressed, _texts
from tests.integration.test_live_api import SseReader
from tests.photo_samples import bomb_png, data_url, has_gps, huge_header_png, jpeg_with_gps
from twin import heartbeat, steps_csv, workflow
from twin.photos import PHOTO_DIR, THUMB_SIDE
from twin.taxonomy import ensure_taxonomy


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("field_data")


@pytest.fixture(scope="module")
def app(url, data_dir):
    return create_app(Settings(database_url=url, data_dir=data_dir), url)


@pytest.fixture(scope="module")
def grids(url) -> dict[str, tuple[int, str]]:
    """Two grids: ``mine`` and ``other`` (the two with most residents after the grid desk's)."""
    rows = sql_rows(
        url,
        "SELECT a.id, a.code FROM area a JOIN resident r ON r.area_id = a.id "
        "WHERE a.level = 'grid' GROUP BY a.id ORDER BY count(*) DESC, a.id OFFSET 2 LIMIT 2",
    )
    return {"mine": (rows[0].id, rows[0].code), "other": (rows[1].id, rows[1].code)}


def _client(app, url: str, role: str, areas: tuple[str, ...] = ()):
    return signed_in(app.server.test_client(), api_token(url, role, areas=areas))


@pytest.fixture(scope="module")
def clients(app, url, grids) -> dict:
    return {
        "mine": _client(app, url, "grid_worker", (grids["mine"][1],)),
        "other": _client(app, url, "grid_worker", (grids["other"][1],)),
        "planner": _client(app, url, "planner"),
        "analyst": _client(app, url, "analyst"),
        "leader": _client(app, url, "leader"),
    }


@pytest.fixture(scope="module")
def incidents(url, grids) -> Iterator[dict[str, int]]:
    """Reported incidents of our own in my grid (deleted afterwards with their photos' rows)."""
    made: dict[str, int] = {}
    now = datetime.now(UTC)
    lon, lat = _point_in(url, grids["mine"][0])
    with get_engine(url).begin() as conn:
        ensure_taxonomy(conn)
        with Session(bind=conn) as session:
            for key in ("photo", "hostile", "steps"):
                made[key] = workflow.create_incident(
                    session, category="environment.litter", lon=lon, lat=lat, now=now,
                    title=f"field kit {key}", source="test_field",
                ).event.id  # fmt: skip
            session.flush()
    yield made
    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": list(made.values())})


def _act(client, event_id: int, action: str, note: str = "", photo: str | None = None):
    return Dash(client).call(
        "grid-message",
        "grid-act",
        {
            "grid-act": [({"type": "grid-act", "action": action}, 1)],
            "grid-selected": event_id,
            "grid-note": note,
            "grid-photo": photo,
            "grid-choose": None,
            "lang-switch": "en",
            "grid-refresh": 0,
        },
        _pressed(action),
    )


def _photos(url: str, event_id: int) -> list:
    return sql_rows(url, "SELECT * FROM photo WHERE event_id = :e ORDER BY id", e=event_id)


def _account(url: str, username: str) -> int:
    return sql_scalar(url, "SELECT id FROM account WHERE username = :u", u=username)


# --- photos ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stored(url, clients, incidents, grids, data_dir) -> dict:
    """Accept and start handling my incident with a GPS-tagged phone photo."""
    event_id = incidents["photo"]
    upload = jpeg_with_gps()
    assert has_gps(upload)  # the upload does carry a position
    _act(clients["mine"], event_id, "accept", "on my way")
    out = _act(clients["mine"], event_id, "handle", "bin overflowing", data_url(upload))
    assert "now In progress" in _texts(out["grid-message"]["children"])
    (row,) = _photos(url, event_id)
    return {"row": row, "upload": upload, "event_id": event_id}


def test_a_photo_is_a_row_and_its_stored_bytes_have_no_exif(stored, url, grids, data_dir):
    row, event_id = stored["row"], stored["event_id"]
    file = data_dir / row.path
    data = file.read_bytes()
    assert file.parent == data_dir / PHOTO_DIR / str(event_id)
    assert row.size == len(data) and row.sha256 == hashlib.sha256(data).hexdigest()
    assert data != stored["upload"]  # re-encoded, not copied
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and (image.width, image.height) == (640, 480)
    assert (row.width, row.height) == (640, 480)
    assert dict(image.getexif()) == {} and "exif" not in image.info
    assert not has_gps(data)
    thumb = Image.open(data_dir / row.thumb_path)
    assert max(thumb.size) == THUMB_SIDE and "exif" not in thumb.info
    assert row.kind == "before"
    worker = _account(url, "test_grid_worker_" + grids["mine"][1])
    assert row.account_id == worker
    step = sql_rows(url, "SELECT action, actor_id FROM event_log WHERE id = :i", i=row.log_id)
    assert [(s.action, s.actor_id) for s in step] == [("start", worker)]


def test_the_photo_is_served_to_its_grid_and_404_to_everyone_else(stored, clients, data_dir):
    row = stored["row"]
    full = clients["mine"].get(f"/api/photos/{row.id}")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.data == (data_dir / row.path).read_bytes()
    assert full.headers["Cache-Control"] == "no-store"
    thumb = clients["mine"].get(f"/api/photos/{row.id}?size=thumb")
    assert thumb.status_code == 200 and thumb.data == (data_dir / row.thumb_path).read_bytes()
    assert clients["leader"].get(f"/api/photos/{row.id}").status_code == 200  # the city's leader
    for who in ("other", "planner", "analyst"):
        answer = clients[who].get(f"/api/photos/{row.id}")
        assert answer.status_code == 404, who
        assert answer.get_json()["error"] == f"no photo {row.id}"
    # an id that does not exist answers exactly like one out of scope
    assert clients["other"].get("/api/photos/999999999").get_json()["error"] == "no photo 999999999"
    assert clients["mine"].get(f"/api/photos/{row.id}?size=huge").status_code == 400


def test_an_incidents_photo_list_is_scoped_like_the_photos(stored, clients):
    row, event_id = stored["row"], stored["event_id"]
    listed = clients["mine"].get(f"/api/photos?incident={event_id}").get_json()
    assert listed["incident"] == event_id
    assert [(p["id"], p["kind"]) for p in listed["photos"]] == [(row.id, "before")]
    assert [
        p["id"]
        for p in clients["leader"].get(f"/api/photos?incident={event_id}").get_json()["photos"]
    ] == [row.id]
    for who in ("other", "planner", "analyst"):
        answer = clients[who].get(f"/api/photos?incident={event_id}")
        assert answer.status_code == 200 and answer.get_json()["photos"] == [], who
    for bad in ("", "-1", "0", "1e3", "9" * 30):
        assert clients["mine"].get(f"/api/photos?incident={bad}").status_code == 400, bad


def test_the_photo_is_in_the_task_history(stored, clients):
    out = Dash(clients["mine"]).call(
        "grid-task-panel",
        "grid-selected",
        {"grid-selected": stored["event_id"], "grid-refresh": 0, "lang-switch": "en"},
        "grid-selected.data",
    )
    text_ = json.dumps(out)
    assert f"/api/photos/{stored['row'].id}?size=thumb" in text_
    assert "Started" in _texts(out["grid-task-panel"]["children"])
    assert "bin overflowing" in _texts(out["grid-task-panel"]["children"])


HOSTILE = {
    "not an image": (data_url(b"<svg onload=alert(1)>", "image/png"), "JPEG or PNG"),
    "wrong type": (data_url(jpeg_with_gps(), "text/html"), "declared 'text/html'"),
    "bomb": (data_url(bomb_png(), "image/png"), "7000×7000 pixels"),
    "huge header": (data_url(huge_header_png(), "image/png"), "too many pixels"),
    "truncated": (data_url(jpeg_with_gps()[:300]), "could not be read"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_upload_changes_and_stores_nothing(case, url, clients, incidents, data_dir):
    event_id = incidents["hostile"]
    before = sql_rows(url, "SELECT id FROM event_log WHERE event_id = :e", e=event_id)
    photo, reason = HOSTILE[case]
    out = _act(clients["mine"], event_id, "accept", "", photo)
    assert reason in _texts(out["grid-message"]["children"])
    assert sql_rows(url, "SELECT id FROM event_log WHERE event_id = :e", e=event_id) == before
    assert _photos(url, event_id) == []
    assert not (data_dir / PHOTO_DIR / str(event_id)).exists()


# --- who did it --------------------------------------------------------------------------------


def test_every_step_records_who(url, clients, incidents, grids):
    worker = _account(url, "test_grid_worker_" + grids["mine"][1])
    lon, lat = _point_in(url, grids["mine"][0])
    out = Dash(clients["mine"]).call(
        "grid-message",
        "grid-submit",
        {
            "grid-submit": 1, "grid-category": "environment.litter", "grid-description": "x",
            "grid-picked": {"lon": lon, "lat": lat}, "grid-choose": None, "lang-switch": "en",
            "grid-refresh": 0, "grid-report-key": None,
        },
        "grid-submit.n_clicks",
    )  # fmt: skip
    reported = int(out["grid-message"]["children"]["props"]["data-event"])
    event_id = incidents["steps"]
    _act(clients["mine"], event_id, "accept")
    now = datetime.now(UTC)
    with get_engine(url).begin() as conn, Session(bind=conn) as session:
        session.execute(
            text("UPDATE event SET due_at = :d WHERE id = :i"),
            {"d": now - timedelta(hours=1), "i": event_id},
        )
        assert event_id in workflow.escalate_overdue(session, now)
        actor = heartbeat.STAFF["street"]
        workflow.transition(session, event_id, "dispatch", actor, now=now)
        session.flush()
    rows = sql_rows(
        url,
        "SELECT event_id, action, actor_id, actor_kind FROM event_log "
        "WHERE event_id = ANY(:e) ORDER BY id",
        e=[reported, event_id],
    )
    got = [(r.event_id == reported, r.action, r.actor_id, r.actor_kind) for r in rows]
    assert got == [
        (False, "create", None, "system"),
        (True, "create", worker, "account"),
        (False, "dispatch", worker, "account"),
        (False, "accept", worker, "account"),
        (False, "escalate", None, "system"),
        (False, "dispatch", None, "simulated"),
    ]
    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = :i"), {"i": reported})


def test_the_steps_csv_exports_who(url, incidents, grids):
    worker = _account(url, "test_grid_worker_" + grids["mine"][1])
    event_id = incidents["steps"]
    since = datetime.now(UTC) - timedelta(days=1)
    with get_engine(url).connect() as conn:
        text_ = steps_csv.to_csv(steps_csv.steps(conn, since, incident=event_id))
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert list(rows[0]) == list(steps_csv.COLUMNS)
    truth = sql_rows(
        url, "SELECT id, actor_id, actor_kind FROM event_log WHERE event_id = :e ORDER BY at, id",
        e=event_id,
    )  # fmt: skip
    assert [(int(r["step_id"]), r["actor_id"], r["actor_kind"]) for r in rows] == [
        (t.id, "" if t.actor_id is None else str(t.actor_id), t.actor_kind) for t in truth
    ]
    assert str(worker) in {r["actor_id"] for r in rows}
    assert {r["incident_id"] for r in rows} == {str(event_id)}


# --- the live stream is filtered by scope on the server ----------------------------------------


@pytest.fixture
def streams(clients, monkeypatch) -> Iterator[dict[str, SseReader]]:
    monkeypatch.setattr(live_api, "HEARTBEAT_SECONDS", 0.3)
    readers = {}
    for who in ("mine", "other"):
        response = clients[who].get("/api/live", buffered=False)
        assert response.status_code == 200
        readers[who] = SseReader(response)
        hello = readers[who].next(where=lambda e: e.get("event") == "hello")
        assert json.loads(hello["data"])["layers"]["event"]
    yield readers
    for reader in readers.values():
        reader.stopped = True


def _data(event: dict) -> dict:
    return json.loads(event.get("data") or "{}")


def test_an_incident_in_my_grid_reaches_my_stream_and_not_another_grids(url, grids, streams):
    lon, lat = _point_in(url, grids["mine"][0])
    with get_engine(url).begin() as conn, Session(bind=conn) as session:
        event_id = workflow.create_incident(
            session, category="environment.litter", lon=lon, lat=lat, now=datetime.now(UTC),
            title="field kit live", source="test_field",
        ).event.id  # fmt: skip
    try:
        got = streams["mine"].next(where=lambda e: _data(e).get("id") == event_id)
        assert _data(got)["area_id"] == grids["mine"][0] and _data(got)["op"] == "insert"
        # the other grid's stream is alive (pings) but carries no incident message at all
        with pytest.raises(queue.Empty):
            streams["other"].next(timeout=1.5, where=lambda e: "data" in e)
        assert streams["other"].next(timeout=1.0, where=lambda e: True) is not None  # pings
    finally:
        with get_engine(url).begin() as conn:
            conn.execute(text("DELETE FROM event WHERE id = :i"), {"i": event_id})


# --- the assessment counts closures with an after-photo ----------------------------------------


def test_the_assessment_counts_closures_with_an_after_photo(stored, url, clients, grids):
    event_id = stored["event_id"]
    out = _act(clients["mine"], event_id, "close", "cleared", data_url(jpeg_with_gps()))
    assert "closed" in _texts(out["grid-message"]["children"])
    assert [r.kind for r in _photos(url, event_id)] == ["before", "after"]
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=1)
    sql = (
        "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM photo p WHERE p.event_id = e.id "
        "AND p.kind = 'after')) AS with_photo, count(*) AS closed FROM event e "
        "WHERE e.area_id = :g AND e.status = 'closed' AND e.closed_at IS NOT NULL "
        "AND e.reported_at >= :s AND e.reported_at < :e"
    )
    (truth,) = sql_rows(url, sql, g=grids["mine"][0], s=start, e=end)
    assert truth.with_photo >= 1
    (row,) = [r for r in assess(url, "grid", start, end) if r["unit"] == grids["mine"][0]]
    assert row["after_photo"] == truth.with_photo and row["closed"] == truth.closed
    assert row["after_photo_rate"] == truth.with_photo / truth.closed
    (whole,) = assess(url, "all", start, end)
    assert whole["after_photo"] >= truth.with_photo
    other = assess(url, "grid", start, end, areas=(grids["other"][0],))
    assert all(r["unit"] != grids["mine"][0] and r["after_photo"] == 0 for r in other)
