"""What every rule shares: the readings it is given, the hits it returns, the incident history
of a (rule, subject) and the step from hits to incidents (through the workflow).

A rule never writes incidents itself: it returns :class:`Hit` objects and
:func:`raise_incidents` hands them to :func:`twin.workflow.create_incident`, which keeps one
open incident per (rule, subject).

"Fires again after closure": every rule only counts evidence newer than the moment the last
incident of its (rule, subject) was done with (``closed_at``, else ``resolved_at``, else
``reported_at`` for the rare row without either), so a closed incident is raised again only
when the condition holds anew after it was closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata import incident_text
from geodata.vocab import OPEN_SQL, ResidentStatus
from twin.workflow import create_incident

AFTER = timedelta(microseconds=1)
"""Evidence counts from just after the last closure (timestamps have microsecond precision)."""
TRIGGER_READINGS_CAP = 20
"""At most this many readings are copied into an incident's trigger (first and last halves)."""

# One row per subject of a rule: is an incident open, and when was the last one done with.
SUBJECT_HISTORY_SQL = f"""
    SELECT subject,
           bool_or(status IN {OPEN_SQL}) AS open,
           max(coalesce(closed_at, resolved_at, reported_at))
               FILTER (WHERE status NOT IN {OPEN_SQL})
               AS done_at
    FROM event WHERE rule = :rule {{where}}
    GROUP BY subject
"""


@dataclass(frozen=True)
class ReadingIn:
    """A stored reading as the rules see it."""

    device_id: int
    ts: datetime
    value: float | None = None
    payload: dict | None = None

    def as_trigger(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "ts": self.ts.isoformat(),
            "value": self.value,
            "payload": self.payload,
        }


def as_reading(obj: Any) -> ReadingIn:
    """A :class:`ReadingIn` from a dict or any object with device_id/ts/value/payload."""
    if isinstance(obj, ReadingIn):
        return obj

    def get(key: str) -> Any:
        return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)

    return ReadingIn(int(get("device_id")), get("ts"), get("value"), get("payload"))


@dataclass
class Hit:
    """A rule's finding: what :func:`twin.workflow.create_incident` needs."""

    rule: str
    subject: str
    category: str
    title: str
    lon: float
    lat: float
    trigger: dict[str, Any]
    device_id: int | None = None
    building_id: int | None = None
    description: str | None = None
    severity: int | None = None  # None: the category's default severity


def titled(key: str, **facts: Any) -> tuple[str, dict[str, Any]]:
    """A rule incident's stored title (store language) and the trigger entries from which
    :func:`geodata.incident_text.rule_title` renders it in any language."""
    return incident_text.title(key, **facts), {"title_key": key, "title_facts": facts}


@dataclass(frozen=True)
class DeviceInfo:
    id: int
    kind: str
    status: str
    building_id: int | None
    house_id: int | None
    h3_r9: int
    lon: float
    lat: float


@dataclass
class Batch:
    """The readings of one intake batch with their devices (loaded once for all rules)."""

    readings: list[ReadingIn]
    devices: dict[int, DeviceInfo] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[tuple[ReadingIn, DeviceInfo]]:
        out = []
        for r in self.readings:
            d = self.devices.get(r.device_id)
            if d is not None and d.kind in kinds:
                out.append((r, d))
        return out


def load_batch(session: Session, readings: Iterable[Any]) -> Batch:
    """The batch's readings and, in one query, their devices."""
    rows = [as_reading(r) for r in readings]
    ids = sorted({r.device_id for r in rows})
    batch = Batch(rows)
    if ids:
        for d in session.execute(
            text(
                "SELECT id, kind, status, building_id, house_id, h3_r9, ST_X(loc) AS lon, "
                "ST_Y(loc) AS lat FROM device WHERE id = ANY(:ids)"
            ),
            {"ids": ids},
        ).mappings():
            batch.devices[d["id"]] = DeviceInfo(**d)
    return batch


@dataclass(frozen=True)
class SubjectState:
    open: bool
    done_at: datetime | None


def subject_states(session: Session, rule: str, subjects: Sequence[str]) -> dict[str, SubjectState]:
    """Open flag and last done-with time of each given subject of ``rule`` (absent: no history)."""
    if not subjects:
        return {}
    rows = session.execute(
        text(SUBJECT_HISTORY_SQL.format(where="AND subject = ANY(:subjects)")),
        {"rule": rule, "subjects": list(subjects)},
    )
    return {r.subject: SubjectState(bool(r.open), r.done_at) for r in rows}


def cap_readings(readings: Sequence[ReadingIn], cap: int = TRIGGER_READINGS_CAP) -> list[dict]:
    """The readings as trigger JSON, the first and last ``cap // 2`` when there are more."""
    rows = list(readings)
    if len(rows) > cap:
        rows = rows[: cap // 2] + rows[-(cap - cap // 2) :]
    return [r.as_trigger() for r in rows]


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def residents_by_building(
    session: Session, building_ids: Iterable[int | None], *, tag: str | None = None
) -> dict[int, dict[str, Any]]:
    """Active residents per building as ids and counts (never names or phones)."""
    ids = sorted({b for b in building_ids if b is not None})
    if not ids:
        return {}
    rows = session.execute(
        text(
            "SELECT h.building_id, r.id, r.care_tags FROM resident r "
            "JOIN house h ON h.id = r.house_id "
            f"WHERE h.building_id = ANY(:ids) AND r.status = '{ResidentStatus.active}' "
            "ORDER BY r.id"
        ),
        {"ids": ids},
    )
    out: dict[int, dict[str, Any]] = {}
    for b, rid, tags in rows:
        entry = out.setdefault(b, {"count": 0, "ids": [], "care": {}})
        entry["count"] += 1
        entry["ids"].append(rid)
        for t in tags or ():
            entry["care"][t] = entry["care"].get(t, 0) + 1
    return out


def raise_incidents(session: Session, hits: Iterable[Hit], now: datetime) -> list[int]:
    """Hand the hits to the workflow; the ids of the incidents created now (open ones are kept)."""
    created = []
    for h in hits:
        res = create_incident(
            session,
            category=h.category,
            title=h.title,
            lon=h.lon,
            lat=h.lat,
            severity=h.severity,
            description=h.description,
            rule=h.rule,
            subject=h.subject,
            trigger=h.trigger,
            device_id=h.device_id,
            building_id=h.building_id,
            now=now,
        )
        if res.created:
            created.append(res.event.id)
    return created
