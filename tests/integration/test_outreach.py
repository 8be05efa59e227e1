"""Outreach lists on a hand-built block: who is listed (building members, a radius in metres),
in which order (most vulnerable first), the CSV, the audit row (never a phone number) and the
signed webhook, received by a local HTTP server started here."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import threading
import urllib.error
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pyproj import Geod
from sqlalchemy import select

from geodata.models import AuditLog, Event, House, Resident, ResidentIdentity
from tests.integration.factories import add_building, point
from twin.outreach import (
    CSV_COLUMNS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    OutreachError,
    outreach_list,
    record_send,
    send_to_provider,
    to_csv,
)

GEOD = Geod(ellps="WGS84")
LON, LAT = 117.2500, 31.8200
SECRET = "test-secret"


def _offset(east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    """lon, lat ``east_m`` east and ``north_m`` north of the incident (geodesic)."""
    lon, lat, _ = GEOD.fwd(LON, LAT, 90, east_m)
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m)
    return lon, lat


def _resident(session, name, phone, lonlat, house, tags=(), status="active") -> int:
    r = Resident(
        geom=point(*lonlat),
        house_id=house.id,
        sex="F",
        birth_year=1950,
        care_tags=list(tags),
        status=status,
    )
    session.add(r)
    session.flush()
    session.add(ResidentIdentity(resident_id=r.id, name=name, phone=phone))
    session.flush()
    return r.id


def _house(session, building, lonlat, room="101") -> House:
    h = House(geom=point(*lonlat), building_id=building.id, unit=1, floor=1, room=room)
    session.add(h)
    session.flush()
    return h


@pytest.fixture
def block(session) -> dict:
    """An incident in a long building (its far end 150 m away) with neighbours around it."""
    west, _ = _offset(-20)
    east, _ = _offset(160)
    _, south = _offset(0, -10)
    _, north = _offset(0, 10)
    tower = add_building(session, (west, south, east, north), name="1号楼")
    other = add_building(session, (*_offset(200, 200), *_offset(260, 260)), name="2号楼")
    here = _house(session, tower, (LON, LAT))
    far_end = _house(session, tower, _offset(150), room="120")
    away = _house(session, other, _offset(230, 230))
    ids = {
        "plain_in": _resident(session, "王一", "13800000001", (LON, LAT), here),
        "elderly_in": _resident(session, "王二", "13800000002", (LON, LAT), here, ["elderly"]),
        "alone_far_end": _resident(
            session, "李三", "13800000003", _offset(150), far_end, ["elderly_alone"]
        ),
        "disabled_60m": _resident(
            session, "赵四", "13800000004", _offset(0, 60), away, ["disabled", "minor"]
        ),
        "plain_99m": _resident(session, "钱五", None, _offset(99), away),
        "alone_101m": _resident(
            session, "孙六", "13800000006", _offset(0, 101), away, ["elderly_alone"]
        ),
        "moved_out": _resident(
            session, "周七", "13800000007", (LON, LAT), here, ["elderly_alone"], status="moved_out"
        ),
    }
    event = Event(
        geom=point(LON, LAT),
        category="fire_safety.smoke",
        title="烟感报警",
        building_id=tower.id,
        severity=4,
    )
    session.add(event)
    session.flush()
    return {"event": event, "ids": ids, "tower": tower}


def _names(rows) -> list[int]:
    return [r.resident_id for r in rows]


def test_vulnerable_first_then_building_then_distance(session, block):
    ids = block["ids"]
    rows = outreach_list(session, block["event"].id, "tester", 100)
    assert _names(rows) == [
        ids["alone_far_end"],  # elderly_alone, building member 150 m away
        ids["disabled_60m"],  # disabled, nearby
        ids["elderly_in"],
        ids["plain_in"],  # untagged: in the building before nearby
        ids["plain_99m"],
    ]
    assert [r.priority for r in rows] == [1, 2, 3, 4, 5]
    first = rows[0]
    assert (first.name, first.phone, first.in_building) == ("李三", "13800000003", True)
    assert first.distance_m == pytest.approx(150, abs=0.5)
    assert rows[4].phone is None and rows[4].distance_m == pytest.approx(99, abs=0.5)


def test_radius_is_in_metres(session, block):
    ids = block["ids"]
    at_102 = set(_names(outreach_list(session, block["event"].id, "tester", 102)))
    at_98 = set(_names(outreach_list(session, block["event"].id, "tester", 98)))
    assert ids["alone_101m"] in at_102 and ids["alone_101m"] not in at_98
    assert ids["plain_99m"] in at_102 and ids["plain_99m"] not in at_98
    # building members are listed whatever the radius; moved-out residents never
    at_0 = set(_names(outreach_list(session, block["event"].id, "tester", 0)))
    assert at_0 == {ids["plain_in"], ids["elderly_in"], ids["alone_far_end"]}
    assert ids["moved_out"] not in at_102


def test_without_building_only_the_radius_counts(session, block):
    event = Event(geom=point(*_offset(150)), category="public.other", title="x")
    session.add(event)
    session.flush()
    rows = outreach_list(session, event.id, "tester", 5)
    assert _names(rows) == [block["ids"]["alone_far_end"]]
    assert rows[0].in_building is False


def test_unknown_incident_is_refused(session):
    with pytest.raises(OutreachError, match="incident 999999 does not exist"):
        outreach_list(session, 999999, "tester", 100)


def test_csv_columns_and_rows(session, block):
    rows = outreach_list(session, block["event"].id, "tester", 100)
    data = to_csv(rows)
    assert data.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(table[0]) == CSV_COLUMNS
    assert len(table) == 1 + len(rows)
    first = dict(zip(CSV_COLUMNS, table[1], strict=True))
    assert first["name"] == "李三" and first["phone"] == "13800000003"
    assert first["care_tags"] == "elderly_alone" and first["in_building"] == "1"
    assert first["room"] == "120" and first["priority"] == "1"
    assert dict(zip(CSV_COLUMNS, table[5], strict=True))["phone"] == ""


PHONE = re.compile(r"1\d{10}")


def test_each_list_is_audited_without_phone_numbers(session, block):
    rows = outreach_list(session, block["event"].id, "grid-worker-7", 100, client="203.0.113.7")
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "outreach_list")).all()
    assert len(audit) == 1
    row = audit[0]
    assert row.username == "grid-worker-7" and row.object_type == "event"
    assert row.scope == f"event:{block['event'].id} building:{block['tower'].id} radius_m:100"
    assert row.detail["count"] == 5 and row.detail["with_phone"] == 4
    assert row.detail["resident_ids"] == _names(rows)
    assert row.detail["care_tags"] == {"disabled": 1, "elderly": 1, "elderly_alone": 1, "minor": 1}
    dumped = json.dumps([row.username, row.scope, row.detail, row.client], ensure_ascii=False)
    assert not PHONE.search(dumped)
    assert not any(name in dumped for name in ("李三", "赵四", "王二"))


# --- the provider webhook ------------------------------------------------------------------


class _Provider(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]]
    answers: list[int]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers, body))
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[tuple[str, type[_Provider]]]:
    handler = type("Provider", (_Provider,), {"received": [], "answers": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/outreach", handler
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_receives_the_exact_signed_payload(session, block, provider):
    url, handler = provider
    rows = outreach_list(session, block["event"].id, "tester", 100)
    result = send_to_provider(rows, url, event_id=block["event"].id, secret=SECRET)
    assert (result.status, result.attempts, result.count) == (200, 1, 5)
    [(headers, body)] = handler.received
    expected = hmac.new(
        SECRET.encode(), headers[TIMESTAMP_HEADER].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers[SIGNATURE_HEADER] == "sha256=" + expected
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    sent = json.loads(body)
    assert sent["event_id"] == block["event"].id and sent["count"] == 5
    assert [r["resident_id"] for r in sent["recipients"]] == _names(rows)
    assert sent["recipients"][0] == {
        "priority": 1,
        "resident_id": block["ids"]["alone_far_end"],
        "name": "李三",
        "phone": "13800000003",
        "care_tags": ["elderly_alone"],
        "in_building": True,
        "distance_m": rows[0].distance_m,
    }
    record_send(session, block["event"].id, "tester", url, result)
    sent_audit = session.scalars(select(AuditLog).where(AuditLog.action == "outreach_send")).one()
    assert sent_audit.detail["count"] == 5 and sent_audit.detail["status"] == 200
    assert not PHONE.search(json.dumps(sent_audit.detail))


def test_webhook_retries_server_errors_not_refusals(session, block, provider):
    url, handler = provider
    rows = outreach_list(session, block["event"].id, "tester", 100)
    handler.answers[:] = [503, 502]
    result = send_to_provider(rows, url, event_id=1, secret=SECRET, retries=2, backoff_s=0.01)
    assert (result.status, result.attempts) == (200, 3)
    handler.answers[:] = [400]
    with pytest.raises(urllib.error.HTTPError) as refused:
        send_to_provider(rows, url, event_id=1, secret=SECRET, retries=2, backoff_s=0.01)
    assert refused.value.code == 400 and len(handler.received) == 4
