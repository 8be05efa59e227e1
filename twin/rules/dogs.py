"""Repeated large-dog sightings in one H3 cell within a day → incident (category
``public_safety.dog``, subject ``h3:<r9 cell>``, at the cell's centre).

Camera readings (the contract with the simulator and the video analytics)::

    {"value": 0.88, "payload": {"detection": "dog", "size": "large", "track": "d-7"}}

A *sighting* is one track of one camera (every reading of ``track`` "d-7" on camera 12 is one
sighting, dated by its first reading), or one reading when there is no ``track``. The cell is
the camera's ``h3_r9``. When at least K = ``twin_dog_sightings`` sightings in a cell fall within
W = ``twin_dog_window_hours`` of each other, the rule fires. Only cells with a sighting in the
batch are looked at, over the stored sightings within W of the batch's times and after the last
closed incident of the cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import h3
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

NAME = "dogs"

SIGHTINGS = text(
    """
    SELECT d.h3_r9, r.device_id, r.ts, r.value, r.payload
    FROM device d
    JOIN reading r ON r.device_id = d.id AND r.ts >= :lo AND r.ts <= :hi
    WHERE d.h3_r9 = ANY(:cells)
      AND r.payload->>'detection' = 'dog' AND r.payload->>'size' = 'large'
    ORDER BY r.ts
    """
)


def is_large_dog(payload: dict | None) -> bool:
    return (
        payload is not None and payload.get("detection") == "dog" and payload.get("size") == "large"
    )


def cell_subject(cell: int) -> str:
    return f"h3:{h3.int_to_str(cell)}"


def sightings(readings: Iterable[ReadingIn]) -> list[ReadingIn]:
    """One reading per sighting (the first of each camera's track), time-sorted."""
    seen: dict[tuple, ReadingIn] = {}
    for r in sorted(readings, key=lambda r: r.ts):
        track = (r.payload or {}).get("track")
        key = (r.device_id, str(track)) if track is not None else (r.device_id, r.ts)
        seen.setdefault(key, r)
    return sorted(seen.values(), key=lambda r: r.ts)


def dense_window(rows: list[ReadingIn], k: int, window: timedelta) -> list[ReadingIn] | None:
    """The first ``k`` time-sorted sightings lying within ``window`` of each other, if any."""
    for i in range(len(rows) - k + 1):
        if rows[i + k - 1].ts - rows[i].ts <= window:
            return rows[i : i + k]
    return None


def evaluate(session: Session, batch: Batch, now: datetime, settings: Settings) -> list[Hit]:
    window = timedelta(hours=settings.rules.dog_window_hours)
    k = settings.rules.dog_sightings
    times: dict[int, list[datetime]] = {}
    for r in batch.readings:
        d = batch.devices.get(r.device_id)
        if d is not None and r.ts <= now and is_large_dog(r.payload):
            times.setdefault(d.h3_r9, []).append(r.ts)
    states = subject_states(session, NAME, [cell_subject(c) for c in times])
    bounds: dict[int, tuple[datetime, datetime]] = {}
    for cell, ts in times.items():
        state = states.get(cell_subject(cell))
        if state and state.open:
            continue
        lo = min(ts) - window
        if state and state.done_at and state.done_at >= lo:
            lo = state.done_at + AFTER
        bounds[cell] = (lo, min(max(ts) + window, now))
    if not bounds:
        return []
    per_cell: dict[int, list[ReadingIn]] = {}
    rows = session.execute(
        SIGHTINGS,
        {
            "cells": list(bounds),
            "lo": min(b[0] for b in bounds.values()),
            "hi": max(b[1] for b in bounds.values()),
        },
    )
    for cell, *reading in rows:
        lo, hi = bounds[cell]
        r = ReadingIn(*reading)
        if lo <= r.ts <= hi:
            per_cell.setdefault(cell, []).append(r)
    hits = []
    for cell, readings in per_cell.items():
        found = dense_window(sightings(readings), k, window)
        if found is None:
            continue
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        hits.append(
            Hit(
                rule=NAME,
                subject=cell_subject(cell),
                category="public_safety.dog",
                title=titled("dogs")[0],
                lon=lon,
                lat=lat,
                device_id=found[-1].device_id,
                trigger={
                    "rule": NAME,
                    **titled("dogs")[1],
                    "h3_r9": h3.int_to_str(cell),
                    "sightings": len(found),
                    "threshold": k,
                    "window_hours": settings.rules.dog_window_hours,
                    "device_ids": sorted({r.device_id for r in found}),
                    "readings": cap_readings(found),
                },
            )
        )
    return hits
