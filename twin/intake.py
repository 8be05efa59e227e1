"""Readings in: validate a gateway's batch, store it idempotently, keep device state current.

:func:`ingest` is the one path every channel (HTTP, MQTT, the simulator through them) uses:

- each message is ``{"device": serial | id, "ts": ISO-8601 with zone, "value": number,
  "payload": {...}}`` (value and/or payload); kind-specific checks apply (see ``KIND_RULES``);
- a device reports only through the gateway it is assigned to (``device.gateway_id``). Devices
  with no gateway are refused ("device has no gateway"): assign them first with
  ``python -m twin gateway add NAME --devices-of-area CODE``. ``gateway=None`` is the trusted
  in-process path (no ownership check) for tools and tests;
- each message is first checked on its own by :func:`twin.poison.problem` (``NaN``/``Infinity``,
  non-finite or absurd numbers, NUL or invalid UTF-8 in any string, too deep) and its ``ts``
  offset must be within ±14:00;
- refused messages land in ``reading_reject`` with a reason (the message as bounded text, key
  removed) and are counted, never raised; the good messages of the batch are stored;
- good ones are written with one ``INSERT … SELECT unnest(arrays) ON CONFLICT DO NOTHING``, so a
  repeated (device, ts) is counted as a duplicate, not stored twice; month partitions are
  created on demand;
- device state moves only forward: ``last_seen``/``last_value``/``status`` come from the newest
  stored reading of the batch and only if it is newer than ``last_seen``;
- then ``twin.rules.on_readings(session, readings, now, settings)`` runs in a savepoint of the same
  transaction (a failing rule is logged and never loses the readings).

Nothing is committed here: the caller owns the transaction.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from geodata.bulk import one_value
from geodata.settings import Settings
from geodata.vocab import DeviceStatus
from twin import poison, rules

log = logging.getLogger("onemap.intake")

MAX_PAYLOAD_CHARS = 4096
MAX_UTC_OFFSET = timedelta(hours=14)

# value range and payload needs per device kind: (lo, hi, payload_required, payload_check)
DOOR_EVENTS = ("open", "close", "heartbeat")
DETECTIONS = ("vehicle", "dog", "person", "fire", "crowd")


@dataclass(frozen=True)
class KindRule:
    """What a valid reading of a device kind looks like."""

    lo: float | None = None
    hi: float | None = None
    needs_payload: bool = False


KIND_RULES: dict[str, KindRule] = {
    "gas": KindRule(0.0, 100.0),  # %LEL
    "smoke": KindRule(0.0, 100.0),  # obscuration %/m
    "door": KindRule(0.0, 1.0),  # 1 open, 0 closed; or payload {"event": "open"|"close"}
    "water": KindRule(0.0, 1e9),  # meter reading / pressure
    "electric": KindRule(0.0, 1e5),  # leakage mA
    "manhole": KindRule(0.0, 90.0),  # tilt degrees
    "access_gate": KindRule(0.0, 1e6),
    "camera": KindRule(0.0, 1.0, needs_payload=True),  # value = confidence; payload = detection
}


@dataclass(frozen=True)
class StoredReading:
    """A reading that was new to the store (what the rules see)."""

    device_id: int
    serial: str | None
    kind: str
    ts: datetime
    value: float | None
    payload: dict | None


@dataclass
class IntakeResult:
    """Counts of one batch: stored (new), duplicates (already there or repeated), rejected."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: list[tuple[int, str]] = field(default_factory=list)  # (message index, reason)
    incidents: list[int] = field(default_factory=list)
    readings: list[StoredReading] = field(default_factory=list, repr=False)

    def add(self, other: IntakeResult, offset: int) -> None:
        """Count in ``other``, the result of messages starting at index ``offset``."""
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.reasons.extend((i + offset, r) for i, r in other.reasons)
        self.incidents.extend(other.incidents)
        self.readings.extend(other.readings)

    def as_dict(self, max_reasons: int = 50) -> dict:
        """JSON-ready counts and the first reasons."""
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "reasons": [
                {"index": i, "reason": poison.safe(r)} for i, r in self.reasons[:max_reasons]
            ],
            "incidents": self.incidents,
        }


class Rejected(ValueError):
    """A message is malformed; the text is the reason."""


@dataclass(frozen=True)
class _Device:
    id: int
    serial: str | None
    kind: str
    gateway_id: int | None


def parse_ts(raw: object, now: datetime, settings: Settings) -> datetime:
    """An aware datetime from ISO-8601 text with a zone, within the accepted window."""
    if not isinstance(raw, str):
        raise Rejected("ts must be an ISO-8601 string with a time zone")
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise Rejected(f"ts is not ISO-8601: {raw[:40]!r}") from None
    offset = ts.utcoffset()
    if offset is None:
        raise Rejected("ts has no time zone")
    if abs(offset) > MAX_UTC_OFFSET:
        minutes = int(abs(offset).total_seconds()) // 60
        sign = "-" if offset < timedelta(0) else "+"
        raise Rejected(f"ts offset {sign}{minutes // 60:02d}:{minutes % 60:02d} beyond ±14:00")
    if ts > now + timedelta(seconds=settings.twin.max_clock_skew_s):
        raise Rejected("ts is in the future")
    if ts < now - timedelta(days=settings.twin.max_age_days):
        raise Rejected("ts is too old")
    return ts


def _number(raw: object) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise Rejected("value must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise Rejected("value must be finite")
    return value


def check_kind(kind: str, value: float | None, payload: dict | None) -> None:
    """Kind-specific checks (range, required payload fields)."""
    rule = KIND_RULES.get(kind, KindRule())
    if value is not None:
        if rule.lo is not None and value < rule.lo:
            raise Rejected(f"{kind} value {value:g} below {rule.lo:g}")
        if rule.hi is not None and value > rule.hi:
            raise Rejected(f"{kind} value {value:g} above {rule.hi:g}")
    if rule.needs_payload and payload is None:
        raise Rejected(f"{kind} readings need a payload")
    if kind == "camera" and payload is not None and payload.get("detection") not in DETECTIONS:
        raise Rejected(f"camera payload.detection must be one of {', '.join(DETECTIONS)}")
    if kind == "door" and payload is not None and "event" in payload:
        if payload["event"] not in DOOR_EVENTS:
            raise Rejected("door payload.event must be open, close or heartbeat")
        if value is not None and value != (1.0 if payload["event"] == "open" else 0.0):
            raise Rejected("door value contradicts payload.event")


def _device_ref(msg: dict) -> str | int:
    ref = msg.get("device")
    if isinstance(ref, bool) or not isinstance(ref, str | int) or ref == "":
        raise Rejected("device must be a serial (string) or an id (integer)")
    if isinstance(ref, str) and len(ref) > 64:
        raise Rejected("device serial longer than 64 characters")
    return ref


def _raw(conn: Session | Connection) -> psycopg.Connection:
    """The psycopg connection under a session/connection, in its current transaction."""
    if isinstance(conn, Session):
        conn = conn.connection()
    driver = conn.connection.driver_connection
    assert driver is not None, "a checked-out connection has its psycopg connection"
    return driver


def _load_devices(
    cur: psycopg.Cursor, serials: set[str], ids: set[int]
) -> tuple[dict[str, _Device], dict[int, _Device]]:
    cur.execute(
        "SELECT id, serial, kind, gateway_id FROM device "
        "WHERE serial = ANY(%s::text[]) OR id = ANY(%s::bigint[])",
        (list(serials), list(ids)),
    )
    by_serial: dict[str, _Device] = {}
    by_id: dict[int, _Device] = {}
    for row in cur.fetchall():
        dev = _Device(*row)
        by_id[dev.id] = dev
        if dev.serial is not None:
            by_serial[dev.serial] = dev
    return by_serial, by_id


def _gateway_id(cur: psycopg.Cursor, name: str) -> int | None:
    cur.execute("SELECT id FROM gateway WHERE name = %s AND active", (name,))
    row = cur.fetchone()
    return None if row is None else row[0]


def ensure_partitions(raw: psycopg.Connection, stamps: Sequence[datetime]) -> list[str]:
    """Create the month partitions of ``reading`` that ``stamps`` need; returns those made.

    Month bounds follow the server's time zone (as ``onemap_reading_partition`` does). A
    creation that fails (e.g. rows for that month already sit in ``reading_default``, or a
    concurrent batch made it first) is rolled back to a savepoint: the rows then land wherever
    PostgreSQL routes them.
    """
    minutes = sorted({t.replace(second=0, microsecond=0) for t in stamps})
    with raw.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT date_trunc('month', t)::date FROM unnest(%s::timestamptz[]) t "
            "WHERE to_regclass('reading_' || to_char(date_trunc('month', t), 'YYYYMM')) IS NULL",
            (minutes,),
        )
        missing = [r[0] for r in cur.fetchall()]
    made = []
    for month in missing:
        try:
            with raw.transaction(), raw.cursor() as cur:
                cur.execute("SELECT onemap_reading_partition(%s)", (month,))
                made.append(one_value(cur))
        except psycopg.Error as exc:
            log.warning("partition for %s not created: %s", month, exc)
    return made


def _reject_text(msg: object) -> str | None:
    if msg is None:
        return None
    if isinstance(msg, bytes | bytearray):
        return poison.raw_text(msg)
    return poison.reject_text(msg)


def record_rejects(
    raw: psycopg.Connection,
    channel: str,
    gateway: str | None,
    rejects: Sequence[tuple[str, object]],
    now: datetime,
) -> None:
    """Write (reason, message) pairs to ``reading_reject``: the message as bounded text without
    the gateway key (raw ``bytes`` of an unparsable message are kept with invalid bytes escaped).
    """
    if not rejects:
        return
    with raw.cursor() as cur:
        cur.execute(
            "INSERT INTO reading_reject (at, channel, gateway, reason, payload) "
            "SELECT %s, %s, %s, r, p FROM unnest(%s::text[], %s::text[]) AS u(r, p)",
            (
                now,
                poison.safe(channel, 16),
                None if gateway is None else poison.safe(gateway, 64),
                [poison.safe(reason) for reason, _ in rejects],
                [_reject_text(msg) for _, msg in rejects],
            ),
        )


def _validate(
    messages: Sequence[object],
    gateway: str | None,
    gateway_id: int | None,
    devices: tuple[dict[str, _Device], dict[int, _Device]],
    now: datetime,
    settings: Settings,
    result: IntakeResult,
    rejects: list[tuple[str, object]],
    problems: Sequence[str | None],
) -> dict[tuple[int, datetime], tuple[_Device, float | None, dict | None, str | None]]:
    by_serial, by_id = devices
    good: dict[tuple[int, datetime], tuple[_Device, float | None, dict | None, str | None]] = {}
    for i, msg in enumerate(messages):
        try:
            if not isinstance(msg, dict):
                raise Rejected("a reading must be a JSON object")
            if problems[i] is not None:
                raise Rejected(str(problems[i]))
            ref = _device_ref(msg)
            dev = by_serial.get(ref) if isinstance(ref, str) else by_id.get(ref)
            if dev is None:
                raise Rejected(f"unknown device {ref!r}")
            if gateway is not None:
                if dev.gateway_id is None:
                    raise Rejected(f"device {ref!r} has no gateway")
                if dev.gateway_id != gateway_id:
                    raise Rejected(f"device {ref!r} does not belong to gateway {gateway!r}")
            ts = parse_ts(msg.get("ts"), now, settings)
            value = _number(msg.get("value"))
            payload = msg.get("payload")
            if payload is not None and not isinstance(payload, dict):
                raise Rejected("payload must be a JSON object")
            if value is None and not payload:
                raise Rejected("a reading needs a value or a payload")
            payload_text = None
            if payload is not None:
                payload_text = json.dumps(payload, ensure_ascii=False)
                if len(payload_text) > MAX_PAYLOAD_CHARS:
                    raise Rejected(f"payload longer than {MAX_PAYLOAD_CHARS} characters")
            check_kind(dev.kind, value, payload)
        except Rejected as exc:
            result.rejected += 1
            result.reasons.append((i, str(exc)))
            rejects.append((str(exc), msg))
            continue
        key = (dev.id, ts)
        if key in good:
            result.duplicates += 1  # repeated inside the batch
            continue
        good[key] = (dev, value, payload, payload_text)
    return good


def _status(
    kind: str, value: float | None, payload: dict | None, settings: Settings
) -> DeviceStatus:
    threshold = settings.twin.alarm_thresholds.get(kind)
    if threshold is not None and value is not None and value >= threshold:
        return DeviceStatus.alarm
    if payload is not None and payload.get("alarm") is True:
        return DeviceStatus.alarm
    return DeviceStatus.online


def _update_devices(
    raw: psycopg.Connection, newest: dict[int, StoredReading], settings: Settings
) -> None:
    if not newest:
        return
    rows = sorted(newest.values(), key=lambda r: r.device_id)  # one lock order: no deadlocks
    with raw.cursor() as cur:
        cur.execute(
            "UPDATE device d SET last_seen = n.ts, last_value = n.value, status = n.status "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[], %s::text[]) "
            "AS n(id, ts, value, status) "
            "WHERE d.id = n.id AND (d.last_seen IS NULL OR d.last_seen < n.ts)",
            (
                [r.device_id for r in rows],
                [r.ts for r in rows],
                [r.value for r in rows],
                [_status(r.kind, r.value, r.payload, settings) for r in rows],
            ),
        )


def _rules_on_readings(
    target: Session | Connection, readings: list[StoredReading], now: datetime, settings: Settings
) -> list[int]:
    if not readings:
        return []
    session = target if isinstance(target, Session) else Session(bind=target)
    try:
        with session.begin_nested():
            found = rules.on_readings(session, readings, now, settings)
            session.flush()
        return list(found)
    except Exception:
        log.exception("early-warning rules failed on %d readings; readings kept", len(readings))
        return []


def ingest(
    target: Session | Connection,
    gateway: str | None,
    messages: Sequence[object],
    channel: str,
    now: datetime,
    settings: Settings,
    *,
    run_rules: bool = True,
) -> IntakeResult:
    """Validate and store one batch from ``gateway``; see the module docstring."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    result = IntakeResult()
    rejects: list[tuple[str, object]] = []
    raw = _raw(target)

    problems = [poison.problem(msg) for msg in messages]
    serials: set[str] = set()
    ids: set[int] = set()
    for msg, bad in zip(messages, problems, strict=True):
        ref = msg.get("device") if isinstance(msg, dict) and bad is None else None
        if isinstance(ref, str) and 0 < len(ref) <= 64:
            serials.add(ref)
        elif isinstance(ref, int) and not isinstance(ref, bool) and abs(ref) < 2**63:
            ids.add(ref)
    with raw.cursor() as cur:
        devices = _load_devices(cur, serials, ids)
        gateway_id = _gateway_id(cur, gateway) if gateway is not None else None
    if gateway is not None and gateway_id is None:
        result.rejected = len(messages)
        result.reasons = [
            (i, f"unknown or inactive gateway {gateway!r}") for i in range(len(messages))
        ]
        rejects = [(r, m) for (_, r), m in zip(result.reasons, messages, strict=True)]
        record_rejects(raw, channel, gateway, rejects, now)
        return result

    good = _validate(
        messages, gateway, gateway_id, devices, now, settings, result, rejects, problems
    )
    record_rejects(raw, channel, gateway, rejects, now)
    if not good:
        return result

    keys = list(good)
    ensure_partitions(raw, [ts for _, ts in keys])
    with raw.cursor() as cur:
        cur.execute(
            "INSERT INTO reading (device_id, ts, value, payload, received_at) "
            "SELECT d, t, v, p::jsonb, %s "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[], %s::text[]) "
            "AS u(d, t, v, p) ON CONFLICT DO NOTHING RETURNING device_id, ts",
            (
                now,
                [d for d, _ in keys],
                [t for _, t in keys],
                [good[k][1] for k in keys],
                [good[k][3] for k in keys],
            ),
        )
        inserted = cur.fetchall()
    result.stored = len(inserted)
    result.duplicates += len(good) - len(inserted)

    newest: dict[int, StoredReading] = {}
    readings: list[StoredReading] = []
    for device_id, ts in inserted:
        # the returned ts is in the server's zone; look the message up by instant
        dev, value, payload, _ = good[(device_id, ts)]
        reading = StoredReading(device_id, dev.serial, dev.kind, ts, value, payload)
        readings.append(reading)
        current = newest.get(device_id)
        if current is None or ts > current.ts:
            newest[device_id] = reading
    readings.sort(key=lambda r: (r.ts, r.device_id))
    result.readings = readings
    _update_devices(raw, newest, settings)
    if run_rules:
        result.incidents = _rules_on_readings(target, readings, now, settings)
    return result
