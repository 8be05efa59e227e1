"""Live updates against a real PostGIS: triggers → NOTIFY → hub → ``/api/live`` (SSE)."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from api import live as live_api
from geodata.accounts.viewer import PUBLIC, Viewer
from geodata.engine import get_engine
from tests.conftest import api_client
from twin.live import Message, hub_for, visible

SET_STATUS = text("UPDATE event SET status = :s WHERE id = :i")
PAYLOAD_KEYS = {"kind", "op", "id", "status", "level", "severity", "category", "lon", "lat"}


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url)


class SseReader:
    """Reads an SSE response in a thread; ``next()`` returns parsed events."""

    def __init__(self, response) -> None:
        self.response = response
        self.events: queue.Queue[dict] = queue.Queue()
        self.stopped = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = ""
        for chunk in self.response.response:
            if self.stopped:
                self.response.close()  # the server side unsubscribes
                return
            buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                fields: dict[str, str] = {}
                for line in block.splitlines():
                    name, _, value = line.partition(": ")
                    fields[name] = value
                fields["received"] = time.monotonic()
                self.events.put(fields)

    def next(self, timeout: float = 3.0, where=lambda e: True) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if where(event):
                return event


@pytest.fixture
def stream(client, monkeypatch) -> Iterator[SseReader]:
    monkeypatch.setattr(live_api, "HEARTBEAT_SECONDS", 0.3)
    response = client.get("/api/live", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Encoding" not in response.headers
    reader = SseReader(response)
    hello = reader.next(where=lambda e: e.get("event") == "hello")
    assert json.loads(hello["data"])["layers"]["event"]  # incidents, hexagons, heatmap
    yield reader
    reader.stopped = True


def _an_event(url: str) -> tuple[int, str]:
    with get_engine(url).connect() as conn:
        return tuple(
            conn.execute(
                text("SELECT id, status FROM event WHERE rule IS NULL ORDER BY id LIMIT 1")
            ).one()
        )


def _data(event: dict) -> dict:
    return json.loads(event.get("data") or "{}")


def test_status_update_reaches_the_sse_client_within_2s(stream, demo_url):
    event_id, status = _an_event(demo_url)
    new = "dispatched" if status != "dispatched" else "accepted"
    engine = get_engine(demo_url)
    try:
        with engine.begin() as conn:
            conn.execute(SET_STATUS, {"s": new, "i": event_id})
        committed = time.monotonic()
        got = stream.next(where=lambda e: _data(e).get("id") == event_id)
        latency = got["received"] - committed
        message = _data(got)
        assert latency < 2.0, latency
        assert message["kind"] == "event" and message["op"] == "update"
        assert message["status"] == new
        assert PAYLOAD_KEYS <= set(message) <= PAYLOAD_KEYS | {"area_id", "at"}
        assert 116 < message["lon"] < 118 and 31 < message["lat"] < 33  # Hefei
        # an UPDATE that changes nothing the map shows sends nothing
        with engine.begin() as conn:
            conn.execute(text("UPDATE event SET title = title WHERE id = :i"), {"i": event_id})
        with pytest.raises(queue.Empty):
            stream.next(timeout=1.0, where=lambda e: "data" in e and "event" not in e)
    finally:
        with engine.begin() as conn:
            conn.execute(SET_STATUS, {"s": status, "i": event_id})


def test_bulk_insert_with_the_bulk_guc_sends_one_message_not_one_per_row(demo_url):
    hub = hub_for(demo_url)
    sub = hub.subscribe()
    copy = """
        INSERT INTO event (category, title, loc, geom, h3_r7, h3_r9, source)
        SELECT category, title, loc, geom, h3_r7, h3_r9, 'live-test' FROM event LIMIT 200
    """
    try:
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("SET LOCAL onemap.bulk = 'on'"))
            inserted = conn.execute(text(copy)).rowcount
            conn.execute(text("DELETE FROM event WHERE source = 'live-test'"))
        assert inserted == 200
        time.sleep(1.0)
        got: list[Message] = []
        while (message := sub.get(0.2)) is not None:
            got.append(message)
        # one message for the whole transaction (NOTIFY folds identical payloads), none per
        # row; a late message from an earlier test's UPDATE may still arrive: ignore updates
        mine = [m.data for m in got if m.data.get("op") != "update"]
        assert mine == [{"kind": "event", "op": "bulk", "at": mine[0]["at"]}]
    finally:
        hub.unsubscribe(sub)


def test_poll_answers_what_was_missed_since_an_id(client, demo_url):
    first = client.get("/api/live?poll=").get_json()
    assert first["messages"] == [] and not first.get("reset")
    event_id, _ = _an_event(demo_url)
    engine = get_engine(demo_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET level = 'street' WHERE id = :i"), {"i": event_id})
    with engine.begin() as conn:
        conn.execute(text("UPDATE event SET level = 'grid' WHERE id = :i"), {"i": event_id})
    deadline = time.monotonic() + 2
    messages: list[dict] = []
    while time.monotonic() < deadline and len(messages) < 2:
        time.sleep(0.05)
        messages = client.get(f"/api/live?poll={first['id']}").get_json()["messages"]
    assert [(m["id"], m["level"]) for m in messages] == [(event_id, "street"), (event_id, "grid")]
    assert client.get("/api/live?poll=other-5").get_json()["reset"] is True


def test_scoped_viewer_gets_only_its_areas_and_kinds():
    inside = Message(1, {"kind": "event", "area_id": 7})
    outside = Message(2, {"kind": "event", "area_id": 8})
    device = Message(3, {"kind": "device", "area_id": 7})
    grid = Viewer(role="grid_worker", area_ids=(7,))
    assert [visible(m, grid, {"event"}) for m in (inside, outside, device)] == [True, False, False]
    assert visible(outside, PUBLIC, {"event"}) is True
    assert visible(Message(4, {"kind": "reset"}), grid, set()) is True
