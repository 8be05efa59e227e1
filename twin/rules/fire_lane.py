"""A vehicle in a fire lane for more than X minutes → incident (category
``fire_safety.blocked_lane``, subject ``device:<camera id>``: one open incident per camera).

Camera readings (the contract with the simulator and the video analytics)::

    {"value": 0.93, "payload": {"detection": "vehicle", "zone": "fire_lane", "track": "t-81"}}

``value`` is the detector's confidence; ``track`` (optional) is the tracker's id of the vehicle.
The lane counts as blocked when, among the camera's stored fire-lane vehicle detections,

- one ``track`` spans at least X minutes from its first to its last detection, or
- detections of any vehicle follow each other with gaps of at most
  ``twin_fire_lane_gap_minutes`` over at least X minutes (continuous presence, tracks or not).

Only cameras with fire-lane detections in the batch are looked at, over the stored detections
around the batch's times (so late and out-of-order detections fill their gaps), after the last
closed incident of the camera. X = ``twin_fire_lane_minutes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.settings import Settings
from twin.rules.base import (
    AFTER,
    Batch,
    Hit,
    ReadingIn,
    cap_readings,
    subject_states,
    titled,
)

NAME = "fire_lane"

DETECTIONS = text(
    """
    SELECT w.device_id, r.ts, r.value, r.payload
    FROM unnest(CAST(:ids AS bigint[]), CAST(:lo AS timestamptz[]), CAST(:hi AS timestamptz[]))
         AS w(device_id, lo, hi)
    JOIN reading r ON r.device_id = w.device_id AND r.ts >= w.lo AND r.ts <= w.hi
    WHERE r.payload->>'detection' = 'vehicle' AND r.payload->>'zone' = 'fire_lane'
    ORDER BY w.device_id, r.ts
    """
)


def is_fire_lane_vehicle(payload: dict | None) -> bool:
    return (
        payload is not None
        and payload.get("detection") == "vehicle"
        and (payload.get("zone") == "fire_lane")
    )


def blocked_run(
    detections: Sequence[ReadingIn], minutes: float, gap_minutes: float
) -> tuple[str, list[ReadingIn]] | None:
    """The first evidence of a blocked lane in time-sorted detections: ``("track:<id>", run)``
    for one track spanning ``minutes``, ``("continuous", run)`` for gap-free presence."""
    span, gap = timedelta(minutes=minutes), timedelta(minutes=gap_minutes)
    found: list[tuple[datetime, str, list[ReadingIn]]] = []
    tracks: dict[str, list[ReadingIn]] = {}
    for r in detections:
        track = (r.payload or {}).get("track")
        if track is not None:
            tracks.setdefault(str(track), []).append(r)
    for track, rows in tracks.items():
        for i, r in enumerate(rows):
            if r.ts - rows[0].ts >= span:
                found.append((r.ts, f"track:{track}", rows[: i + 1]))
                break
    run: list[ReadingIn] = []
    for r in detections:
        if run and r.ts - run[-1].ts > gap:
            run = []
        run.append(r)
        if r.ts - run[0].ts >= span:
            found.append((r.ts, "continuous", list(run)))
            break
    if not found:
        return None
    _, how, rows = min(found, key=lambda f: f[0])
    return how, rows


def evaluate(session: Session, batch: Batch, now: datetime, settings: Settings) -> list[Hit]:
    minutes, gap_minutes = settings.rules.fire_lane_minutes, settings.rules.fire_lane_gap_minutes
    reach = timedelta(minutes=minutes + gap_minutes)
    times: dict[int, list[datetime]] = {}
    for r, d in batch.of_kind("camera"):
        if r.ts <= now and is_fire_lane_vehicle(r.payload):
            times.setdefault(d.id, []).append(r.ts)
    states = subject_states(session, NAME, [f"device:{i}" for i in times])
    ids, lo, hi = [], [], []
    for dev_id, ts in times.items():
        state = states.get(f"device:{dev_id}")
        if state and state.open:
            continue
        start = min(ts) - reach
        if state and state.done_at and state.done_at >= start:
            start = state.done_at + AFTER
        ids.append(dev_id)
        lo.append(start)
        hi.append(min(max(ts) + reach, now))
    if not ids:
        return []
    stored: dict[int, list[ReadingIn]] = {}
    for row in session.execute(DETECTIONS, {"ids": ids, "lo": lo, "hi": hi}):
        stored.setdefault(row.device_id, []).append(ReadingIn(*row))
    hits = []
    for dev_id, rows in stored.items():
        found = blocked_run(rows, minutes, gap_minutes)
        if found is None:
            continue
        how, run = found
        d = batch.devices[dev_id]
        hits.append(
            Hit(
                rule=NAME,
                subject=f"device:{dev_id}",
                category="fire_safety.blocked_lane",
                title=titled("fire_lane")[0],
                lon=d.lon,
                lat=d.lat,
                device_id=dev_id,
                building_id=d.building_id,
                trigger={
                    "rule": NAME,
                    **titled("fire_lane")[1],
                    "evidence": how,
                    "from": run[0].ts.isoformat(),
                    "to": run[-1].ts.isoformat(),
                    "minutes": round((run[-1].ts - run[0].ts).total_seconds() / 60, 2),
                    "threshold_minutes": minutes,
                    "detections": len(run),
                    "readings": cap_readings(run),
                },
            )
        )
    return hits
