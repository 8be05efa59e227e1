"""Elderly living alone: 久未出门 (no door opening for N hours) or 久出未归 (went out, no return
for M hours) → a welfare-check incident (category ``care.welfare_check``, subject
``house:<id>``, at the home; the grid follows from its location).

Door readings (the contract with the simulator and gateways)
------------------------------------------------------------
A door sensor (kind ``door``) on the home's door reports::

    {"value": 1, "payload": {"event": "open", "direction": "out"}}   # resident leaves
    {"value": 1, "payload": {"event": "open", "direction": "in"}}    # resident comes home
    {"value": 1, "payload": {"event": "open"}}                       # opened from inside (visitor…)
    {"value": 0, "payload": {"event": "close"}}                      # door closed
    {"value": 0, "payload": {"event": "heartbeat"}}                  # alive, nothing happened

An *opening* is ``payload.event == "open"``, or ``value == 1`` when the payload has no
``event``. ``direction`` belongs on the opening; an opening without it means someone at home
opened the door. Closes and heartbeats are not activity.

Rule, per home with an active resident tagged ``elderly_alone`` and a door sensor that is not
offline (a dead sensor is the offline rule's business) and has reported at least once (a
sensor that never reported tells nothing yet):

- the latest opening (by reading time, so late and out-of-order readings count where they
  belong) has ``direction == "out"`` and is at least M hours old → 久出未归 (``away``);
- otherwise the latest opening — or, with none, the sensor's first reading — is at least N
  hours old → 久未出门 (``inactive``).

Time is counted from the later of that reading and the last closed welfare check of the home,
so a closed check comes back only after another N (or M) hours. N = ``twin_door_inactive_hours``,
M = ``twin_door_out_hours``. One set-based query; per door it walks the (device_id, ts) key
backwards to the latest opening.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.settings import Settings
from geodata.vocab import DeviceStatus, ResidentStatus
from twin.rules.base import SUBJECT_HISTORY_SQL, Hit, iso, titled

NAME = "welfare"
OPENING = "(r.payload->>'event' = 'open' OR (r.payload->>'event' IS NULL AND r.value = 1))"

FIND = text(
    f"""
    WITH alone AS (
        SELECT house_id, array_agg(id ORDER BY id) AS resident_ids
        FROM resident
        WHERE care_tags @> ARRAY['elderly_alone']::varchar[] AND status = '{ResidentStatus.active}'
          AND house_id IS NOT NULL
        GROUP BY house_id
    ),
    doors AS (
        SELECT d.id AS device_id, d.house_id, lo.ts AS open_ts, lo.value AS open_value,
               lo.direction, fr.ts AS first_ts
        FROM device d
        JOIN alone a ON a.house_id = d.house_id
        LEFT JOIN LATERAL (
            SELECT r.ts, r.value, r.payload->>'direction' AS direction FROM reading r
            WHERE r.device_id = d.id AND r.ts <= :now AND {OPENING}
            ORDER BY r.ts DESC LIMIT 1
        ) lo ON true
        JOIN LATERAL (
            SELECT r.ts FROM reading r WHERE r.device_id = d.id AND r.ts <= :now
            ORDER BY r.ts LIMIT 1
        ) fr ON true
        WHERE d.kind = 'door' AND d.status <> '{DeviceStatus.offline}'
    ),
    home AS (
        SELECT DISTINCT ON (house_id) *,
               CASE WHEN direction = 'out' THEN 'away' ELSE 'inactive' END AS reason,
               coalesce(open_ts, first_ts) AS since
        FROM doors ORDER BY house_id, open_ts DESC NULLS LAST, first_ts
    ),
    ev AS ({SUBJECT_HISTORY_SQL.format(where="")})
    SELECT h.*, a.resident_ids, ho.building_id, ST_X(ho.loc) AS lon, ST_Y(ho.loc) AS lat
    FROM home h
    JOIN alone a ON a.house_id = h.house_id
    JOIN house ho ON ho.id = h.house_id
    LEFT JOIN ev ON ev.subject = 'house:' || h.house_id
    WHERE NOT coalesce(ev.open, false)
      AND GREATEST(h.since, ev.done_at)
          <= CASE WHEN h.reason = 'away' THEN :away_cutoff ELSE :inactive_cutoff END
    ORDER BY h.since, h.house_id
    LIMIT :cap
    """
)


def scan(session: Session, now: datetime, settings: Settings) -> list[Hit]:
    hours = {"inactive": settings.rules.door_inactive_hours, "away": settings.rules.door_out_hours}
    rows = session.execute(
        FIND,
        {
            "now": now,
            "rule": NAME,
            "inactive_cutoff": now - timedelta(hours=hours["inactive"]),
            "away_cutoff": now - timedelta(hours=hours["away"]),
            "cap": settings.rules.sweep_max_incidents,
        },
    )
    hits = []
    for r in rows:
        last_opening = None
        if r.open_ts is not None:
            last_opening = {
                "device_id": r.device_id,
                "ts": iso(r.open_ts),
                "value": r.open_value,
                "direction": r.direction,
            }
        hits.append(
            Hit(
                rule=NAME,
                subject=f"house:{r.house_id}",
                category="care.welfare_check",
                title=titled(f"welfare.{r.reason}")[0],
                lon=r.lon,
                lat=r.lat,
                device_id=r.device_id,
                building_id=r.building_id,
                trigger={
                    "rule": NAME,
                    **titled(f"welfare.{r.reason}")[1],
                    "reason": r.reason,
                    "house_id": r.house_id,
                    "device_id": r.device_id,
                    "last_opening": last_opening,
                    "first_reading_ts": iso(r.first_ts),
                    "hours": round((now - r.since).total_seconds() / 3600, 2),
                    "threshold_hours": hours[r.reason],
                    "residents": {"count": len(r.resident_ids), "ids": list(r.resident_ids)},
                },
            )
        )
    return hits
