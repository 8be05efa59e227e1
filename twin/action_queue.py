"""Task actions from the grid worker's offline queue: each applied exactly once, or a conflict.

The page makes a key when the worker presses a task button (online or not) and sends the
action with it when it can. :func:`keyed_act` claims ``(account, key)`` in ``action_key`` in the
same transaction as the action (:func:`twin.grid_desk.apply`): a replay of a key finds the claim
and gets the first answer back without changing anything; a concurrent replay waits on the
claim's row until the first commits. An action the incident's state no longer allows (someone
else closed, escalated or moved it meanwhile) raises :class:`Conflict` naming the step that
changed it, who took it and when; the claim is rolled back with everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from geodata.accounts.viewer import Viewer
from geodata.engine import session_scope
from geodata.errors import WorkflowError
from twin import grid_desk

KEY_MIN = 8
KEY_MAX = 64


@dataclass(frozen=True)
class Answer:
    """What an action left: the incident's status, and whether this was a replay of its key."""

    event_id: int
    action: str
    status: str
    replay: bool


@dataclass(frozen=True)
class Mover:
    """Who wrote an incident's newest step: the log's name, their account's role, when."""

    name: str | None
    role: str | None
    at: datetime | None


class Conflict(WorkflowError):
    """The incident moved on before the queued action arrived: the step that moved it."""

    def __init__(self, event_id: int, action: str, status: str, mover: Mover) -> None:
        super().__init__(
            f"incident {event_id} is already {status} (by {mover.name or 'unknown'} at "
            f"{mover.at}); {action} was not applied",
            event_id=event_id,
            action=action,
        )
        self.status_now = status
        self.mover = mover

    def details(self) -> dict[str, object]:
        """The conflict's facts for a JSON error body."""
        at = self.mover.at
        return {
            "incident": self.event_id,
            "now": self.status_now,
            "by": self.mover.name,
            "by_role": self.mover.role,
            "at": at.isoformat() if at else None,
        }


class KeyReused(WorkflowError):
    """A key already used for another incident or action."""


def _claim(conn: Connection, account_id: int, key: str, event_id: int, action: str) -> bool:
    """Claim ``key`` for this transaction: True when it is new."""
    claimed = conn.execute(
        text(
            "INSERT INTO action_key (account_id, key, event_id, action) "
            "VALUES (:a, :k, :e, :act) ON CONFLICT DO NOTHING RETURNING key"
        ),
        {"a": account_id, "k": key, "e": event_id, "act": action},
    ).first()
    return claimed is not None


def _earlier(conn: Connection, account_id: int, key: str) -> tuple[int, str, str | None]:
    row = conn.execute(
        text("SELECT event_id, action, status FROM action_key WHERE account_id = :a AND key = :k"),
        {"a": account_id, "k": key},
    ).one()
    return int(row.event_id), str(row.action), row.status


def _last_move(conn: Connection, event_id: int) -> tuple[str, Mover]:
    """The incident's status, and who wrote its newest step (name, account role) and when."""
    row = conn.execute(
        text(
            "SELECT e.status, l.actor, a.role, l.at FROM event e LEFT JOIN LATERAL ("
            "SELECT actor, actor_id, at FROM event_log WHERE event_id = e.id "
            "ORDER BY id DESC LIMIT 1) l ON true "
            "LEFT JOIN account a ON a.id = l.actor_id WHERE e.id = :e"
        ),
        {"e": event_id},
    ).one()
    return str(row.status), Mover(row.actor, row.role, row.at)


def keyed_act(
    url: str,
    viewer: Viewer,
    key: str,
    event_id: int,
    action: str,
    note: str | None,
    now: datetime,
    photo: grid_desk.Upload | None = None,
) -> Answer:
    """Apply task button ``action`` on incident ``event_id`` once per ``(viewer, key)``.

    Out of the viewer's grids: :class:`~twin.grid_desk.OutOfScope` (before the key is looked
    at, so keys say nothing about other grids). A replay: the first answer. No longer allowed:
    :class:`Conflict`. Other refusals as :func:`twin.grid_desk.act`; nothing changes."""
    if viewer.account_id is None:
        raise grid_desk.OutOfScope("sign in to act on incidents")
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise ValueError(f"key must be {KEY_MIN}–{KEY_MAX} characters")
    with session_scope(url) as session:
        conn = session.connection()
        area_ids = grid_desk.scope(conn, viewer, None)
        found = grid_desk.task(conn, area_ids, event_id)
        if found is None:
            raise grid_desk.OutOfScope(f"incident {event_id} is not in your grids")
        if not _claim(conn, viewer.account_id, key, event_id, action):
            first_event, first_action, status = _earlier(conn, viewer.account_id, key)
            if (first_event, first_action) != (event_id, action) or status is None:
                raise KeyReused(f"key {key!r} was used for another action", event_id=event_id)
            return Answer(event_id, action, status, replay=True)
        status_now, mover = _last_move(conn, event_id)
        if action not in grid_desk.buttons({**found, "status": status_now}, viewer.role):
            raise Conflict(event_id, action, status_now, mover)
        status = grid_desk.apply(session, viewer, area_ids, event_id, action, note, now, photo)
        conn.execute(
            text("UPDATE action_key SET status = :s WHERE account_id = :a AND key = :k"),
            {"s": status, "a": viewer.account_id, "k": key},
        )
        return Answer(event_id, action, status, replay=False)
