"""Outreach (智能外呼): who to call or message about an incident — the one audited path by which
residents' names and phone numbers leave the store.

:func:`outreach_list` selects the active residents living in the incident's building or within
``radius_m`` metres of it (geography distance), vulnerable residents first, and writes one
``audit_log`` row per list (who, which incident, how many people, the scope; never a phone
number). :func:`to_csv` renders a list for download; :func:`send_to_provider` posts it to a
telephony/SMS webhook with an HMAC-SHA256 signature, retrying on network errors and 5xx.

There is no HTTP endpoint yet: it arrives with authentication (issue 6), behind a role check,
calling :func:`outreach_list` with the signed-in account as ``actor``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.models import AuditLog
from geodata.vocab import ResidentStatus

CARE_PRIORITY: tuple[str, ...] = (
    "elderly_alone",
    "disabled",
    "needs_care",
    "elderly",
    "minor",
    "left_behind_child",
    "low_income",
    "floating",
)
"""Care tags, most vulnerable first: a resident ranks by their most vulnerable tag."""

CSV_COLUMNS: tuple[str, ...] = (
    "priority",
    "resident_id",
    "name",
    "phone",
    "care_tags",
    "in_building",
    "distance_m",
    "building_id",
    "unit",
    "floor",
    "room",
)
SIGNATURE_HEADER = "X-OneMap-Signature"
TIMESTAMP_HEADER = "X-OneMap-Timestamp"


class OutreachError(LookupError):
    """The incident does not exist (or has no location to search around)."""


@dataclass(frozen=True)
class OutreachRow:
    """One person to call or message. ``priority`` 1 is called first."""

    priority: int
    resident_id: int
    name: str | None
    phone: str | None
    care_tags: tuple[str, ...]
    in_building: bool
    distance_m: float
    building_id: int | None
    unit: int | None
    floor: int | None
    room: str | None


@dataclass(frozen=True)
class SendResult:
    """What the provider answered: HTTP status, attempts used, count handed over."""

    status: int
    attempts: int
    count: int


_RANK_SQL = (
    "COALESCE((SELECT min(array_position(CAST(:priority AS varchar[]), t)) "
    "FROM unnest(r.care_tags) AS t), :untagged)"
)

_LIST_SQL = text(
    f"""
    WITH e AS (SELECT id, loc, building_id FROM event WHERE id = :event_id)
    SELECT r.id AS resident_id, i.name, i.phone, r.care_tags,
           (e.building_id IS NOT NULL AND h.building_id = e.building_id) AS in_building,
           ST_Distance(r.loc::geography, e.loc::geography) AS distance_m,
           h.building_id, h.unit, h.floor, h.room,
           {_RANK_SQL} AS rank
    FROM e
    JOIN resident r ON r.status = '{ResidentStatus.active}'
    LEFT JOIN house h ON h.id = r.house_id
    LEFT JOIN resident_identity i ON i.resident_id = r.id
    WHERE (e.building_id IS NOT NULL AND h.building_id = e.building_id)
       OR ST_DWithin(r.loc::geography, e.loc::geography, :radius_m)
    ORDER BY rank, in_building DESC, distance_m, r.id
    """
)


def outreach_list(
    session: Session,
    event_id: int,
    actor: str,
    radius_m: float,
    *,
    client: str | None = None,
) -> list[OutreachRow]:
    """The residents to contact about incident ``event_id``, most vulnerable first; audited.

    Listed: active residents whose home is in the incident's building, and those within
    ``radius_m`` metres (geography) of the incident's location. Order: most vulnerable care
    tag (:data:`CARE_PRIORITY`), then in-building before nearby, then distance. The audit row
    is added to ``session``; the caller's transaction commits it with the rest of its work.
    """
    if radius_m < 0:
        raise ValueError(f"radius_m must be ≥ 0, got {radius_m}")
    found = session.execute(
        text("SELECT category, building_id FROM event WHERE id = :id"), {"id": event_id}
    ).one_or_none()
    if found is None:
        raise OutreachError(f"incident {event_id} does not exist")
    result = session.execute(
        _LIST_SQL,
        {
            "event_id": event_id,
            "radius_m": radius_m,
            "priority": list(CARE_PRIORITY),
            "untagged": len(CARE_PRIORITY) + 1,
        },
    )
    rows = [
        OutreachRow(
            priority=n,
            resident_id=r.resident_id,
            name=r.name,
            phone=r.phone,
            care_tags=tuple(r.care_tags or ()),
            in_building=bool(r.in_building),
            distance_m=round(float(r.distance_m), 1),
            building_id=r.building_id,
            unit=r.unit,
            floor=r.floor,
            room=r.room,
        )
        for n, r in enumerate(result, start=1)
    ]
    _audit(session, event_id, found.building_id, actor, radius_m, rows, client)
    return rows


def _audit(
    session: Session,
    event_id: int,
    building_id: int | None,
    actor: str,
    radius_m: float,
    rows: list[OutreachRow],
    client: str | None,
) -> None:
    """One audit row for a produced list: counts and resident ids, never names or phones."""
    tags = Counter(t for row in rows for t in row.care_tags)
    session.add(
        AuditLog(
            username=actor,
            action="outreach_list",
            object_type="event",
            scope=f"event:{event_id} building:{building_id} radius_m:{radius_m:g}",
            detail={
                "event_id": event_id,
                "count": len(rows),
                "with_phone": sum(1 for r in rows if r.phone),
                "in_building": sum(1 for r in rows if r.in_building),
                "radius_m": radius_m,
                "building_id": building_id,
                "care_tags": dict(sorted(tags.items())),
                "resident_ids": [r.resident_id for r in rows],
            },
            client=client,
        )
    )
    session.flush()


def to_csv(rows: list[OutreachRow]) -> bytes:
    """The list as UTF-8 CSV with a BOM (Excel opens Chinese names correctly), header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = asdict(row)
        values["care_tags"] = ",".join(row.care_tags)
        values["in_building"] = "1" if row.in_building else "0"
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def payload(rows: list[OutreachRow], event_id: int, *, now: datetime | None = None) -> dict:
    """The JSON document handed to the provider."""
    at = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "event_id": event_id,
        "generated_at": at.isoformat().replace("+00:00", "Z"),
        "count": len(rows),
        "recipients": [
            {
                "priority": r.priority,
                "resident_id": r.resident_id,
                "name": r.name,
                "phone": r.phone,
                "care_tags": list(r.care_tags),
                "in_building": r.in_building,
                "distance_m": r.distance_m,
            }
            for r in rows
        ],
    }


def sign(body: bytes, timestamp: str, secret: str) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp + "." + body`` (replay-resistant)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def send_to_provider(
    rows: list[OutreachRow],
    webhook_url: str,
    *,
    event_id: int,
    secret: str,
    timeout: float = 10.0,
    retries: int = 2,
    backoff_s: float = 0.5,
    now: datetime | None = None,
) -> SendResult:
    """POST the list as JSON to ``webhook_url``, signed; retry network errors and 5xx.

    Raises :class:`urllib.error.HTTPError` at once on a 4xx (the provider refused the
    payload: retrying would not help) and the last error when every attempt failed.
    """
    body = json.dumps(payload(rows, event_id, now=now), ensure_ascii=False).encode("utf-8")
    attempts = 0
    while True:
        attempts += 1
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(body, timestamp, secret),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return SendResult(status=response.status, attempts=attempts, count=len(rows))
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempts > retries:
                raise
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempts > retries:
                raise
        time.sleep(backoff_s * attempts)


def record_send(
    session: Session, event_id: int, actor: str, webhook_url: str, result: SendResult
) -> None:
    """Audit a hand-over to the provider: where to (host only), how many, the answer."""
    host = urllib.parse.urlsplit(webhook_url).netloc
    session.add(
        AuditLog(
            username=actor,
            action="outreach_send",
            object_type="event",
            scope=f"event:{event_id} provider:{host}",
            detail={
                "event_id": event_id,
                "count": result.count,
                "status": result.status,
                "attempts": result.attempts,
                "provider": host,
            },
        )
    )
    session.flush()
