"""Device silent longer than its kind's timeout (``twin_offline_minutes_by_kind``, else
``twin_offline_minutes``) → status ``offline`` and a maintenance incident (category
``device.offline``, subject ``device:<id>``).

Only devices bound to a gateway are judged: they are expected to report. Devices known only from
a register (an import, the demo city) have no gateway and no heartbeat to miss. Silent means
``last_seen`` at or before ``now - T`` (T of the device's kind), or, for a device never seen,
installed at or before ``now - T`` (a device with neither time nor a binding is not judged).

Grace after a binding: a device bound to its gateway by the gateway commands (``bound_at``, e.g.
``gateway add --devices-of-area`` over a register of 1,856 devices) that has not reported since is
not judged before ``bound_at + twin_offline_grace_minutes``; after that its silence counts from
its last report, else its installation, else the binding. Devices created already bound
(``bound_at`` NULL) are judged as above. Both steps are
set-based SQL: one UPDATE marks the silent devices offline, one SELECT finds the offline, still-
silent devices with no open incident of this rule whose silence also outlasts the last closed
one (so a closed incident comes back only after another T of silence), oldest silence first, at
most ``twin_sweep_max_incidents`` per sweep.

Back online: the intake sets ``status`` from each newer reading (online, or alarm), so a device
that reports again leaves ``offline`` with its first new reading; its open incident stays for a
person to close.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.settings import Settings
from geodata.vocab import DeviceStatus
from twin.rules.base import SUBJECT_HISTORY_SQL, Hit, iso

NAME = "offline"

CUTOFF = (
    "CAST(:now AS timestamptz) - make_interval(secs => 60 * "
    "coalesce(CAST(CAST(:by_kind AS jsonb) ->> {kind} AS float8), :minutes))"
)
"""The silence limit of a device: now minus its kind's timeout (or the default)."""

SILENT_SINCE = "coalesce({d}last_seen, {d}installed_at, {d}bound_at)"
"""Where a device's silence starts: its last report, else its installation, else its binding."""

JUDGED = (
    "({d}bound_at IS NULL "
    "OR {d}bound_at <= CAST(:now AS timestamptz) - make_interval(secs => 60 * :grace) "
    "OR coalesce({d}last_seen >= {d}bound_at, false))"
)
"""Not in its grace period: never bound by the gateway commands, bound long enough ago, or
reported since the binding."""

MARK_OFFLINE = text(
    f"UPDATE device SET status = '{DeviceStatus.offline}' "
    f"WHERE status <> '{DeviceStatus.offline}' AND gateway_id IS NOT NULL "
    f"AND {SILENT_SINCE.format(d='')} <= {CUTOFF.format(kind='kind')} AND {JUDGED.format(d='')}"
)

FIND = text(
    f"""
    WITH ev AS ({SUBJECT_HISTORY_SQL.format(where="")}),
    judged AS (
        SELECT d.*, {CUTOFF.format(kind="d.kind")} AS cutoff FROM device d
        WHERE d.status = '{DeviceStatus.offline}' AND d.gateway_id IS NOT NULL
    )
    SELECT d.id, d.kind, d.serial, d.last_seen, d.installed_at, d.bound_at, d.building_id,
           ST_X(d.loc) AS lon, ST_Y(d.loc) AS lat
    FROM judged d
    LEFT JOIN ev ON ev.subject = 'device:' || d.id
    WHERE {SILENT_SINCE.format(d="d.")} <= d.cutoff AND {JUDGED.format(d="d.")}
      AND NOT coalesce(ev.open, false)
      AND (ev.done_at IS NULL OR ev.done_at <= d.cutoff)
    ORDER BY {SILENT_SINCE.format(d="d.")}, d.id
    LIMIT :cap
    """
)


def scan(session: Session, now: datetime, settings: Settings) -> list[Hit]:
    by_kind = settings.rules.offline_minutes_by_kind
    limits = {
        "now": now,
        "minutes": settings.rules.offline_minutes,
        "by_kind": json.dumps(by_kind),
        "grace": settings.rules.offline_grace_minutes,
    }
    session.execute(MARK_OFFLINE, limits)
    rows = session.execute(FIND, limits | {"cap": settings.rules.sweep_max_incidents, "rule": NAME})
    hits = []
    for r in rows:
        minutes = by_kind.get(r.kind, settings.rules.offline_minutes)
        silent_since = r.last_seen or r.installed_at or r.bound_at
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
                    "bound_at": iso(r.bound_at),
                    "silent_minutes": round((now - silent_since).total_seconds() / 60, 1),
                    "threshold_minutes": minutes,
                },
            )
        )
    return hits
