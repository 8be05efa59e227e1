"""Device silent longer than ``twin_offline_minutes`` → status ``offline`` and a maintenance
incident (category ``device.offline``, subject ``device:<id>``).

Only devices bound to a gateway are judged: they are expected to report. Devices known only
from a register (an import, the demo city) have no gateway and no heartbeat to miss.
Silent means ``last_seen`` at or before ``now - T``, or, for a device never seen, installed at
or before ``now - T`` (a device with neither time is not judged). Both steps are set-based SQL:
one UPDATE marks the silent devices offline, one SELECT finds the offline, still-silent devices
with no open incident of this rule whose silence also outlasts the last closed one (so a
closed incident comes back only after another T of silence), oldest silence first, at most
``twin_sweep_max_incidents`` per sweep.

Back online: the intake sets ``status`` from each newer reading (online, or alarm), so a device
that reports again leaves ``offline`` with its first new reading; its open incident stays for a
person to close.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.settings import Settings
from twin.rules.base import SUBJECT_HISTORY_SQL, Hit, iso

NAME = "offline"

MARK_OFFLINE = text(
    "UPDATE device SET status = 'offline' "
    "WHERE status <> 'offline' AND gateway_id IS NOT NULL "
    "AND coalesce(last_seen, installed_at) <= :cutoff"
)

FIND = text(
    f"""
    WITH ev AS ({SUBJECT_HISTORY_SQL.format(where="")})
    SELECT d.id, d.kind, d.serial, d.last_seen, d.installed_at, d.building_id,
           ST_X(d.loc) AS lon, ST_Y(d.loc) AS lat
    FROM device d
    LEFT JOIN ev ON ev.subject = 'device:' || d.id
    WHERE d.status = 'offline' AND d.gateway_id IS NOT NULL
      AND coalesce(d.last_seen, d.installed_at) <= :cutoff
      AND NOT coalesce(ev.open, false)
      AND (ev.done_at IS NULL OR ev.done_at <= :cutoff)
    ORDER BY coalesce(d.last_seen, d.installed_at), d.id
    LIMIT :cap
    """
)


def scan(session: Session, now: datetime, settings: Settings) -> list[Hit]:
    minutes = settings.twin_offline_minutes
    cutoff = now - timedelta(minutes=minutes)
    session.execute(MARK_OFFLINE, {"cutoff": cutoff})
    rows = session.execute(
        FIND, {"cutoff": cutoff, "cap": settings.twin_sweep_max_incidents, "rule": NAME}
    )
    hits = []
    for r in rows:
        silent_since = r.last_seen or r.installed_at
        hits.append(
            Hit(
                rule=NAME,
                subject=f"device:{r.id}",
                category="device.offline",
                title=f"设备离线 Device offline: {r.kind} {r.serial or r.id}",
                lon=r.lon,
                lat=r.lat,
                device_id=r.id,
                building_id=r.building_id,
                trigger={
                    "rule": NAME,
                    "device_id": r.id,
                    "kind": r.kind,
                    "last_seen": iso(r.last_seen),
                    "installed_at": iso(r.installed_at),
                    "silent_minutes": round((now - silent_since).total_seconds() / 60, 1),
                    "threshold_minutes": minutes,
                },
            )
        )
    return hits
