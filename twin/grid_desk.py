"""The grid worker's desk (``/grid``): reads and actions limited to the viewer's grids.

Every function takes the viewer or the area ids :func:`scope` resolved for it, so a forged
incident id, grid id or location outside the viewer's grids reads nothing and changes nothing
(:class:`OutOfScope`). Incident moves go through :mod:`twin.workflow` (which checks the
actor again and logs to ``event_log``); showing residents' names writes an ``audit_log`` row.

A photo that comes with an action is checked, stripped of EXIF and stored as a ``photo`` row
(:mod:`twin.photos`) linked to the ``event_log`` step of that action; :func:`history` lists a
task's steps with their photos.

Every action is one transaction that checks everything before it changes anything;
:func:`apply` runs one inside the caller's transaction, which is how :mod:`twin.action_queue`
(the offline queue) claims an idempotency key in the same transaction, as :func:`claim_key`
does for reports: a replay finds the claim and returns the first answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geodata import privacy
from geodata.accounts import access
from geodata.accounts.viewer import Viewer
from geodata.area_subtree import PARENT_OR_COVER, roots, subtree_ids
from geodata.engine import get_engine, session_scope
from geodata.errors import OneMapError, WorkflowError
from geodata.vocab import (
    HANDLING_LEVELS,
    OPEN_STATUSES,
    AreaLevel,
    DeviceStatus,
    EventStatus,
    HandlingLevel,
    ResidentStatus,
    Role,
)
from twin import photos, workflow
from twin.rules.welfare import OPENING

TASK_LIMIT = 200
"""Most open incidents listed (the count says how many there are)."""
RESIDENT_LIMIT = 200
"""Most residents needing care listed (alone-living elderly first)."""
DEVICE_LIMIT = 200
"""Most devices listed (alarms and offline ones first)."""
CARE_TAGS = ("elderly_alone", "disabled", "needs_care", "left_behind_child", "low_income")
"""Care tags (:data:`geodata.vocab.CARE_TAGS`) that put a resident on the care list."""
PHOTO_MAX_BYTES = photos.MAX_BYTES
PHOTO_DIR = photos.PHOTO_DIR
KEY_MAX = 64
"""Longest report key (the form makes 32 hex characters)."""

# UI action -> {status it applies to: workflow steps in order}
UI_ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "accept": {EventStatus.reported: ("dispatch", "accept"), EventStatus.dispatched: ("accept",)},
    "handle": {EventStatus.accepted: ("start",)},
    "close": {EventStatus.in_progress: ("resolve", "close"), EventStatus.resolved: ("close",)},
    "escalate": {s: ("escalate",) for s in OPEN_STATUSES},
}
"""The four buttons of a task: which workflow transitions each one runs from each status."""


@dataclass(frozen=True)
class Upload:
    """A photo sent with an action: where the data folder is, the bytes, the declared type."""

    data_dir: Path
    data: bytes
    content_type: str | None = None


class OutOfScope(OneMapError):
    """An id or location outside the viewer's grids (or a grid the viewer did not choose)."""

    status = 403
    code = "Forbidden"


@dataclass(frozen=True)
class Grid:
    """A grid the viewer works: id, code, names, and its lon/lat box."""

    id: int
    code: str | None
    name: str
    name_en: str | None
    bbox: tuple[float, float, float, float]


# --- scope -------------------------------------------------------------------------------------


def subtree(conn: Connection, area_ids: tuple[int, ...]) -> tuple[int, ...]:
    """``area_ids`` and every area below them (by declared parent, else covering area)."""
    if not area_ids:
        return ()
    ids = subtree_ids(
        lambda sql, params: conn.execute(text(sql), params),
        roots("named", "id", area_ids),
        PARENT_OR_COVER,
    )
    return tuple(ids)


def grids(conn: Connection, viewer: Viewer) -> list[Grid]:
    """The grids the viewer works (admin: every grid of the city), ordered by code."""
    where = f"level = '{AreaLevel.grid}'"
    params: dict[str, Any] = {}
    if viewer.area_ids is not None:
        where += " AND id = ANY(:ids)"
        params["ids"] = list(subtree(conn, viewer.area_ids))
    rows = conn.execute(
        text(
            "SELECT id, code, name, name_en, ST_XMin(geom) AS x0, ST_YMin(geom) AS y0, "
            f"ST_XMax(geom) AS x1, ST_YMax(geom) AS y1 FROM area WHERE {where} ORDER BY code, id"
        ),
        params,
    )
    return [Grid(r.id, r.code, r.name, r.name_en, (r.x0, r.y0, r.x1, r.y1)) for r in rows]


def scope(conn: Connection, viewer: Viewer, grid_id: int | None = None) -> tuple[int, ...]:
    """The area ids the page reads for ``viewer``: one chosen grid's subtree, or (grid worker,
    no choice) all their grids. An admin must choose a grid (none chosen: nothing). A grid
    outside the viewer's grids raises :class:`OutOfScope`."""
    if viewer.area_ids is None and viewer.role != Role.admin:
        raise OutOfScope(f"role {viewer.role!r} has no grids")
    if grid_id is None:
        return () if viewer.area_ids is None else subtree(conn, viewer.area_ids)
    if viewer.area_ids is not None and grid_id not in subtree(conn, viewer.area_ids):
        raise OutOfScope(f"grid {grid_id} is not one of your grids")
    level = conn.execute(text("SELECT level FROM area WHERE id = :i"), {"i": grid_id}).scalar()
    if level is None:
        raise OutOfScope(f"area {grid_id} does not exist")
    return subtree(conn, (grid_id,))


def extent(grid_list: list[Grid]) -> tuple[float, float, float, float] | None:
    """The lon/lat box around ``grid_list``."""
    if not grid_list:
        return None
    boxes = [g.bbox for g in grid_list]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def location_in_scope(conn: Connection, lon: float, lat: float, area_ids: tuple[int, ...]) -> bool:
    """True when the point lies in one of ``area_ids``' polygons."""
    if not area_ids:
        return False
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM area WHERE id = ANY(:ids) "
                "AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)))"
            ),
            {"ids": list(area_ids), "lon": lon, "lat": lat},
        ).scalar()
    )


# --- reads -------------------------------------------------------------------------------------


def open_tasks(conn: Connection, area_ids: tuple[int, ...]) -> tuple[list[dict], int]:
    """Open incidents in ``area_ids`` (most severe, then soonest due, first) and their count."""
    if not area_ids:
        return [], 0
    params = {"ids": list(area_ids), "open": list(OPEN_STATUSES), "n": TASK_LIMIT}
    where = "e.area_id = ANY(:ids) AND e.status = ANY(:open)"
    total = conn.execute(text(f"SELECT count(*) FROM event e WHERE {where}"), params).scalar_one()
    rows = conn.execute(
        text(
            "SELECT e.id, e.title, e.category, c.name_zh, c.name_en, e.severity, e.status, "
            "e.level, e.reported_at, e.due_at, e.description, ST_X(e.loc) AS lon, "
            "ST_Y(e.loc) AS lat FROM event e LEFT JOIN event_category c ON c.code = e.category "
            f"WHERE {where} ORDER BY e.severity DESC, e.due_at NULLS LAST, e.id LIMIT :n"
        ),
        params,
    )
    return [dict(r._mapping) for r in rows], total


def care_residents(conn: Connection, viewer: Viewer, area_ids: tuple[int, ...]) -> list[dict]:
    """Active residents with a care tag in ``area_ids``, names full for a viewer who may see
    identifiers (else masked), with their home's door sensor and its last opening."""
    if not area_ids:
        return []
    rows = conn.execute(
        text(
            f"""
            SELECT r.id, r.birth_year, r.sex, r.care_tags, r.house_id, i.name, i.phone,
                   door.device_id, door.status AS door_status, door.last_seen AS door_seen,
                   door.open_ts, door.direction
            FROM resident r
            LEFT JOIN resident_identity i ON i.resident_id = r.id
            LEFT JOIN LATERAL (
                SELECT d.id AS device_id, d.status, d.last_seen, o.ts AS open_ts, o.direction
                FROM device d
                LEFT JOIN LATERAL (
                    SELECT r2.ts, r2.payload->>'direction' AS direction FROM reading r2
                    WHERE r2.device_id = d.id AND {OPENING.replace("r.", "r2.")}
                    ORDER BY r2.ts DESC LIMIT 1
                ) o ON true
                WHERE d.house_id = r.house_id AND d.kind = 'door'
                ORDER BY o.ts DESC NULLS LAST, d.id LIMIT 1
            ) door ON true
            WHERE r.area_id = ANY(:ids) AND r.status = '{ResidentStatus.active}'
              AND r.care_tags && CAST(:tags AS varchar[])
            ORDER BY NOT (r.care_tags @> ARRAY['elderly_alone']::varchar[]),
                     door.open_ts NULLS FIRST, r.id
            LIMIT :n
            """
        ),
        {"ids": list(area_ids), "tags": list(CARE_TAGS), "n": RESIDENT_LIMIT},
    )
    full = access.may_see_identifiers(viewer)
    return [_resident_row(dict(r._mapping), full) for r in rows]


def _resident_row(row: dict, full: bool) -> dict:
    """One care-list row with the name and phone shown as the viewer may see them."""
    name, phone = row.pop("name"), row.pop("phone")
    row["name"] = (name if full else privacy.mask_name(name)) if name else None
    row["phone"] = privacy.mask_phone(phone) if phone else None
    return row


def audit_care_view(conn: Connection, viewer: Viewer, rows: list[dict], client: str | None):
    """Write the audit row of one showing of the care list (which residents, which areas)."""
    detail = {"page": "/grid", "count": len(rows), "resident_ids": [r["id"] for r in rows]}
    access.audit(conn, viewer, "view", "resident_identity", detail=detail, client=client)


def shown_care_residents(
    url: str, viewer: Viewer, grid_id: int | None, client: str | None
) -> list[dict]:
    """The care list as shown now: read and audited in one transaction (nothing to show, no
    names shown: no audit row)."""
    with get_engine(url).begin() as conn:
        area_ids = scope(conn, viewer, grid_id)
        if not area_ids:
            return []
        rows = care_residents(conn, viewer, area_ids)
        audit_care_view(conn, viewer, rows, client)
    return rows


def devices(conn: Connection, area_ids: tuple[int, ...]) -> tuple[list[dict], dict[str, int]]:
    """Devices in ``area_ids`` (alarms, then offline, then online; longest silent first) and the
    count per status."""
    if not area_ids:
        return [], {}
    params = {"ids": list(area_ids), "n": DEVICE_LIMIT}
    counts: dict[str, int] = dict(
        conn.execute(
            text("SELECT status, count(*) FROM device WHERE area_id = ANY(:ids) GROUP BY status"),
            params,
        ).all()
    )
    rows = conn.execute(
        text(
            "SELECT id, kind, serial, status, last_seen, last_value FROM device "
            "WHERE area_id = ANY(:ids) "
            f"ORDER BY CASE status WHEN '{DeviceStatus.alarm}' THEN 0 "
            f"WHEN '{DeviceStatus.offline}' THEN 1 ELSE 2 END, last_seen NULLS FIRST, id LIMIT :n"
        ),
        params,
    )
    return [dict(r._mapping) for r in rows], counts


def categories(conn: Connection) -> list[dict]:
    """Active leaf incident categories (code, zh and en names, and their taxonomy group's code
    and names) for the report form, group by group."""
    rows = conn.execute(
        text(
            "SELECT c.code, c.name_zh, c.name_en, c.parent AS grp, "
            "coalesce(g.name_zh, c.parent) AS grp_zh, coalesce(g.name_en, c.parent) AS grp_en "
            "FROM event_category c LEFT JOIN event_category g ON g.code = c.parent "
            "WHERE c.active AND c.parent IS NOT NULL ORDER BY c.parent, c.code"
        )
    )
    return [dict(r._mapping) for r in rows]


def task(conn: Connection, area_ids: tuple[int, ...], event_id: int) -> dict | None:
    """Incident ``event_id`` as a task row, if it is in ``area_ids`` (else None)."""
    if not area_ids:
        return None
    row = conn.execute(
        text(
            "SELECT e.id, e.title, e.category, c.name_zh, c.name_en, e.severity, e.status, "
            "e.level, e.reported_at, e.due_at, e.description FROM event e "
            "LEFT JOIN event_category c ON c.code = e.category "
            "WHERE e.id = :i AND e.area_id = ANY(:ids)"
        ),
        {"i": event_id, "ids": list(area_ids)},
    ).first()
    return dict(row._mapping) if row else None


def steps(conn: Connection, event_id: int) -> list[dict]:
    """The ``event_log`` steps of incident ``event_id``, oldest first (the caller checked scope)."""
    rows = conn.execute(
        text(
            "SELECT id, at, actor, action, to_status, to_level, note FROM event_log "
            "WHERE event_id = :e ORDER BY at, id"
        ),
        {"e": event_id},
    )
    return [dict(r._mapping) for r in rows]


# --- what the page reads (one connection each; scope resolved from the viewer) ---------------


def page_setup(url: str, viewer: Viewer) -> tuple[list[Grid], list[dict]]:
    """The grids the viewer may choose and the report categories."""
    with get_engine(url).connect() as conn:
        return grids(conn, viewer), categories(conn)


def grid_bbox(
    url: str, viewer: Viewer, grid_id: int | None
) -> tuple[float, float, float, float] | None:
    """The lon/lat box of the chosen grid (or all the viewer's grids); None when none."""
    with get_engine(url).connect() as conn:
        area_ids = scope(conn, viewer, grid_id)
        return extent([g for g in grids(conn, viewer) if g.id in area_ids])


def task_view(url: str, viewer: Viewer, grid_id: int | None) -> tuple[list[dict], int]:
    """The open incidents of the page's grids and their count."""
    with get_engine(url).connect() as conn:
        return open_tasks(conn, scope(conn, viewer, grid_id))


def one_task(url: str, viewer: Viewer, grid_id: int | None, event_id: int) -> dict | None:
    """One incident of the page's grids (None: not there)."""
    with get_engine(url).connect() as conn:
        return task(conn, scope(conn, viewer, grid_id), event_id)


def history(
    url: str, viewer: Viewer, grid_id: int | None, event_id: int
) -> tuple[list[dict], list[dict]]:
    """Steps and photos of one incident of the page's grids (nothing when it is not there)."""
    with get_engine(url).connect() as conn:
        if task(conn, scope(conn, viewer, grid_id), event_id) is None:
            return [], []
        return steps(conn, event_id), photos.of_incident(conn, viewer, event_id)


def device_view(url: str, viewer: Viewer, grid_id: int | None) -> tuple[list[dict], dict[str, int]]:
    """The devices of the page's grids and the count per status."""
    with get_engine(url).connect() as conn:
        return devices(conn, scope(conn, viewer, grid_id))


# --- actions -----------------------------------------------------------------------------------


def steps_for(action: str, status: str) -> tuple[str, ...]:
    """The workflow transitions a task button runs from ``status`` (empty: not offered)."""
    return UI_ACTIONS.get(action, {}).get(status, ())


def buttons(task: dict, role: str) -> list[str]:
    """The task buttons shown on ``task`` (a row of :func:`open_tasks`) to ``role``: a grid
    worker acts on grid-level incidents only (the workflow checks again on press)."""
    if role != Role.admin and task["level"] != HandlingLevel.grid:
        return []
    top = task["level"] == HANDLING_LEVELS[-1]
    return [a for a in UI_ACTIONS if steps_for(a, task["status"]) and not (a == "escalate" and top)]


def _event_area(session: Session, event_id: int) -> tuple[int | None, str] | None:
    row = session.execute(
        text("SELECT area_id, status FROM event WHERE id = :i"), {"i": event_id}
    ).first()
    return (row.area_id, row.status) if row else None


def act(
    url: str,
    viewer: Viewer,
    grid_id: int | None,
    event_id: int,
    action: str,
    note: str | None,
    now: datetime,
    photo: Upload | None = None,
) -> str:
    """Press task button ``action`` on incident ``event_id`` as the signed-in viewer; return the
    new status. The incident must be in the viewer's grids (or the chosen ``grid_id``); the
    workflow checks the rest. An
    :class:`Upload` is checked before anything changes (:class:`~twin.photos.PhotoRejected`),
    then stored without EXIF as a ``photo`` row linked to the last step (kind ``after`` when
    closing, else ``before``). Refusals raise :class:`OutOfScope` or
    :class:`~geodata.errors.WorkflowError`; nothing changes."""
    if viewer.account_id is None:
        raise OutOfScope("sign in to act on incidents")
    with session_scope(url) as session:
        area_ids = scope(session.connection(), viewer, grid_id)
        return apply(session, viewer, area_ids, event_id, action, note, now, photo)


def apply(
    session: Session,
    viewer: Viewer,
    area_ids: tuple[int, ...],
    event_id: int,
    action: str,
    note: str | None,
    now: datetime,
    photo: Upload | None = None,
) -> str:
    """:func:`act` inside the caller's transaction, with the scope already resolved."""
    if viewer.account_id is None:
        raise OutOfScope("sign in to act on incidents")
    note = (note or "").strip() or None
    found = _event_area(session, event_id)
    if found is None or found[0] not in area_ids:
        raise OutOfScope(f"incident {event_id} is not in your grids")
    steps = steps_for(action, found[1])
    if not steps:
        raise WorkflowError(
            f"incident {event_id}: cannot {action} from status {found[1]!r}",
            event_id=event_id,
            action=action,
        )
    actor = workflow.actor_for_account(session, viewer.account_id)
    processed = photos.process(photo.data, photo.content_type) if photo else None
    event = None
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        event = workflow.transition(session, event_id, step, actor, note if last else None, now=now)
    assert event is not None
    if photo is not None and processed is not None:
        photos.store(
            session, photo.data_dir, processed, event_id=event_id,
            log_id=_last_step(session, event_id), account_id=viewer.account_id,
            kind=photos.kind_for(action), taken_at=now,
        )  # fmt: skip
    return event.status


def _last_step(session: Session, event_id: int) -> int | None:
    """The id of incident ``event_id``'s newest ``event_log`` step."""
    return session.execute(
        text("SELECT max(id) FROM event_log WHERE event_id = :e"), {"e": event_id}
    ).scalar()


def claim_key(conn: Connection, key: str) -> int | None:
    """Claim report key ``key`` for this transaction: None when it is new (the caller makes the
    incident and :func:`bind_key` records it), else the incident an earlier submit made. A
    concurrent submit with the same key waits here until the first one commits."""
    if not 8 <= len(key) <= KEY_MAX:
        raise ValueError(f"report key must be 8–{KEY_MAX} characters")
    claimed = conn.execute(
        text("INSERT INTO report_key (key) VALUES (:k) ON CONFLICT DO NOTHING RETURNING key"),
        {"k": key},
    ).first()
    if claimed is not None:
        return None
    made = conn.execute(text("SELECT event_id FROM report_key WHERE key = :k"), {"k": key})
    event_id = made.scalar()
    if event_id is None:
        raise WorkflowError(f"report key {key!r} is taken but names no incident")
    return int(event_id)


def bind_key(conn: Connection, key: str, event_id: int) -> None:
    """Record that report key ``key`` made incident ``event_id``."""
    conn.execute(
        text("UPDATE report_key SET event_id = :e WHERE key = :k"), {"k": key, "e": event_id}
    )


def report(
    url: str,
    viewer: Viewer,
    grid_id: int | None,
    category: str,
    lon: float,
    lat: float,
    description: str | None,
    now: datetime,
    key: str | None = None,
) -> int:
    """Create a reported incident at (lon, lat) inside ``area_ids`` with the viewer's account as
    reporter; return its id. Outside the grids: :class:`OutOfScope`. With the form's ``key``
    the report is idempotent: a second submit with the same key returns the first incident."""
    if viewer.account_id is None:
        raise OutOfScope("sign in to report incidents")
    with session_scope(url) as session:
        conn = session.connection()
        area_ids = scope(conn, viewer, grid_id)
        if not location_in_scope(conn, lon, lat, area_ids):
            raise OutOfScope(f"location ({lon:.6f}, {lat:.6f}) is outside your grids")
        earlier = claim_key(conn, key) if key is not None else None
        if earlier is not None:
            return earlier
        actor = workflow.actor_for_account(session, viewer.account_id)
        result = workflow.create_incident(
            session,
            category=category,
            lon=lon,
            lat=lat,
            now=now,
            description=(description or "").strip() or None,
            source="grid",
            actor=actor.name,
            actor_id=actor.account_id,
            actor_kind=actor.log_kind,
        )
        if key is not None:
            bind_key(conn, key, result.event.id)
        return result.event.id
