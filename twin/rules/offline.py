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

One gateway, not N devices: when at least ``twin_offline_gateway_devices`` judged devices of one
gateway are silent and none of its judged devices is not, the gateway (or its uplink) is what
failed: one incident with subject ``gateway:<id>`` (same category), and none for its devices while
that lasts; they are still marked offline. A closed gateway incident comes back after another
``twin_offline_minutes`` of silence. Both kinds of incident count towards the per-sweep cap.

Back online: the intake sets ``status`` from each newer reading (online, or alarm), so a device
that reports again leaves ``offline`` with its first new reading; its open incident stays for a
person to close.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from geodata.settings import Settings
from geodata.vocab import DeviceStatus
from twin.rules.base import SUBJECT_HISTORY_SQL, Hit, iso, titled

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

QUIET = f"""
    quiet AS (
        SELECT d.gateway_id AS id, count(*) AS silent, max(d.last_seen) AS last_report,
               ST_X(ST_Centroid(ST_Collect(d.loc))) AS lon,
               ST_Y(ST_Centroid(ST_Collect(d.loc))) AS lat
        FROM device d
        WHERE d.gateway_id IS NOT NULL AND {JUDGED.format(d="d.")}
          AND {SILENT_SINCE.format(d="d.")} IS NOT NULL
        GROUP BY d.gateway_id
        HAVING :per_gateway > 0 AND count(*) >= :per_gateway
           AND bool_and({SILENT_SINCE.format(d="d.")} <= {CUTOFF.format(kind="d.kind")})
    )"""
"""Gateways whose judged devices are all silent, at least ``per_gateway`` of them."""

FIND_GATEWAYS = text(
    f"""
    WITH ev AS ({SUBJECT_HISTORY_SQL.format(where="")}), {QUIET}
    SELECT q.id, g.name, q.silent, q.last_report, q.lon, q.lat
    FROM quiet q JOIN gateway g ON g.id = q.id
    LEFT JOIN ev ON ev.subject = 'gateway:' || q.id
    WHERE NOT coalesce(ev.open, false)
      AND (ev.done_at IS NULL
           OR ev.done_at <= CAST(:now AS timestamptz) - make_interval(secs => 60 * :minutes))
    ORDER BY q.id
    LIMIT :cap
    """
)

FIND = text(
    f"""
    WITH ev AS ({SUBJECT_HISTORY_SQL.format(where="")}), {QUIET},
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
      AND d.gateway_id NOT IN (SELECT id FROM quiet)
    ORDER BY {SILENT_SINCE.format(d="d.")}, d.id
    LIMIT :cap
    """
)


def scan(session: Session, now: datetime, settings: Settings) -> list[Hit]:
    rules = settings.rules
    limits = {
        "now": now,
        "minutes": rules.offline_minutes,
        "by_kind": json.dumps(rules.offline_minutes_by_kind),
        "grace": rules.offline_grace_minutes,
        "per_gateway": rules.offline_gateway_devices,
        "rule": NAME,
    }
    session.execute(MARK_OFFLINE, limits)
    cap = rules.sweep_max_incidents
    hits = [
        _gateway_hit(r, rules.offline_minutes)
        for r in session.execute(FIND_GATEWAYS, limits | {"cap": cap})
    ]
    rows = session.execute(FIND, limits | {"cap": max(cap - len(hits), 0)})
    by_kind = rules.offline_minutes_by_kind
    hits += [_device_hit(r, now, by_kind.get(r.kind, rules.offline_minutes)) for r in rows]
    return hits


def _gateway_hit(r: Row[Any], minutes: float) -> Hit:
    """One incident for a gateway whose devices are all silent."""
    title, words = titled("offline.gateway", gateway=r.name, silent=r.silent)
    return Hit(
        rule=NAME,
        subject=f"gateway:{r.id}",
        category="device.offline",
        title=title,
        lon=r.lon,
        lat=r.lat,
        trigger={
            "rule": NAME,
            "gateway_id": r.id,
            "gateway": r.name,
            "silent_devices": r.silent,
            "last_report": iso(r.last_report),
            "threshold_minutes": minutes,
            **words,
        },
    )


def _device_hit(r: Row[Any], now: datetime, minutes: float) -> Hit:
    """One incident for a silent device."""
    silent_since = r.last_seen or r.installed_at or r.bound_at
    title, words = titled("offline.device", kind=r.kind, serial=r.serial or str(r.id))
    return Hit(
        rule=NAME,
        subject=f"device:{r.id}",
        category="device.offline",
        title=title,
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
            **words,
        },
    )
