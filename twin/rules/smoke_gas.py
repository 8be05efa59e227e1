"""Smoke or gas alarm → a high-severity incident at the device, residents of its building listed.

A reading alarms when its value is at or above the kind's threshold in
``settings.twin.alarm_thresholds`` (the same thresholds the intake uses for ``device.status``:
gas in %LEL, smoke obscuration %/m) or its payload carries ``"alarm": true``. Alarm readings
older than ``twin_alarm_max_age_minutes`` (a late backlog) raise nothing, and neither do ones
from before the last incident of the device was closed.

Subject ``device:<id>``; category ``alarm.smoke`` / ``alarm.gas`` (severity from the taxonomy,
4). The trigger lists the alarm readings, the threshold and the building's active residents as
ids and counts (``care`` counts by care tag) — no names or phones: contact lists leave only
through the audited outreach path.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from geodata.settings import Settings
from twin.rules.base import (
    Batch,
    Hit,
    ReadingIn,
    cap_readings,
    residents_by_building,
    subject_states,
    titled,
)

NAME = "smoke_gas"
KINDS = ("smoke", "gas")


def is_alarm(kind: str, value: float | None, payload: dict | None, settings: Settings) -> bool:
    """Whether one reading of a ``kind`` device is an alarm."""
    threshold = settings.twin.alarm_thresholds.get(kind)
    if threshold is not None and value is not None and value >= threshold:
        return True
    return payload is not None and payload.get("alarm") is True


def evaluate(session: Session, batch: Batch, now: datetime, settings: Settings) -> list[Hit]:
    oldest = now - timedelta(minutes=settings.rules.alarm_max_age_minutes)
    alarms: dict[int, list[ReadingIn]] = {}
    for r, d in batch.of_kind(*KINDS):
        if oldest <= r.ts <= now and is_alarm(d.kind, r.value, r.payload, settings):
            alarms.setdefault(d.id, []).append(r)
    states = subject_states(session, NAME, [f"device:{i}" for i in alarms])
    fresh: dict[int, list[ReadingIn]] = {}
    for dev_id, rows in alarms.items():
        state = states.get(f"device:{dev_id}")
        if state and state.open:
            continue
        rows = sorted(
            (r for r in rows if not (state and state.done_at and r.ts <= state.done_at)),
            key=lambda r: r.ts,
        )
        if rows:
            fresh[dev_id] = rows
    residents = residents_by_building(session, (batch.devices[i].building_id for i in fresh))
    hits = []
    for dev_id, rows in fresh.items():
        d = batch.devices[dev_id]
        people: dict[str, Any] = {"count": 0, "ids": [], "care": {}}
        if d.building_id is not None:
            people = residents.get(d.building_id, people)
        hits.append(
            Hit(
                rule=NAME,
                subject=f"device:{dev_id}",
                category=f"alarm.{d.kind}",
                title=titled(f"smoke_gas.{d.kind}")[0],
                lon=d.lon,
                lat=d.lat,
                device_id=dev_id,
                building_id=d.building_id,
                trigger={
                    "rule": NAME,
                    **titled(f"smoke_gas.{d.kind}")[1],
                    "kind": d.kind,
                    "threshold": settings.twin.alarm_thresholds.get(d.kind),
                    "readings": cap_readings(rows),
                    "building_id": d.building_id,
                    "residents": people,
                },
                description=f"{len(rows)} alarm reading(s); {people['count']} resident(s) in "
                "the building",
            )
        )
    return hits
