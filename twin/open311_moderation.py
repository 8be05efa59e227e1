"""Moderating the public Open311 feed (FixMyStreet's practice): an officer hides a report's text.

Hiding keeps the incident and its description for the handlers; the public feed then shows no
``description`` and no ``address`` for it, and its ``status_notes`` say the text was hidden by
staff. Showing it again undoes that. Who may: a leader inside the areas of their scope (a
street or district office; a leader without a scope covers the city) and admins — the API
(``POST /api/open311/requests/<id>/hide`` and ``…/show``) — and whoever runs the CLI on the
server (``python -m twin open311 hide ID``). Each change is logged on the incident (who, when).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.accounts.viewer import Viewer
from geodata.area_subtree import roots, subtree_cte
from geodata.errors import OneMapError
from geodata.models import EventLog
from geodata.vocab import Role
from twin.open311_public import SOURCE

MODERATOR_ROLES: frozenset[str] = frozenset({Role.leader, Role.admin})
"""Roles that may hide or show a report's public text (leaders only inside their scope)."""


class ModerationError(OneMapError):
    """A moderation that cannot be done: not allowed (403) or no such request (404)."""

    code = "ModerationError"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Moderation:
    """The moderation state of one request after a change."""

    request_id: int
    hidden: bool
    by: str
    at: datetime

    def as_dict(self) -> dict:
        return {
            "service_request_id": str(self.request_id),
            "public_text_hidden": self.hidden,
            "by": self.by,
            "at": self.at.isoformat(),
        }


def moderator_areas(viewer: Viewer) -> tuple[int, ...] | None:
    """The areas ``viewer`` may moderate in (None: the whole city), or 403."""
    if viewer.role not in MODERATOR_ROLES or viewer.account_id is None:
        raise ModerationError(403, "only leaders (in their areas) and admins moderate Open311")
    return None if viewer.role == Role.admin else viewer.area_ids


def _area_of(session: Session, request_id: int) -> int | None:
    """The area of Open311 request ``request_id`` (its row locked), or 404."""
    row = session.execute(
        text("SELECT area_id FROM event WHERE id = :id AND source = :src FOR UPDATE"),
        {"id": request_id, "src": SOURCE},
    ).one_or_none()
    if row is None:
        raise ModerationError(404, f"no Open311 request {request_id}")
    return row.area_id


def _in_areas(session: Session, area_id: int | None, areas: tuple[int, ...]) -> bool:
    if area_id is None or not areas:
        return False
    start = roots("named", "id", list(areas))
    found = session.execute(
        text(subtree_cte(start.sql) + " SELECT 1 FROM sub WHERE id = :area"),
        {**start.params, "area": area_id},
    ).first()
    return found is not None


def set_public_text_hidden(
    session: Session,
    request_id: int,
    hidden: bool,
    actor: str,
    now: datetime,
    areas: tuple[int, ...] | None = None,
    account_id: int | None = None,
) -> Moderation:
    """Hide (or show again) the public text of Open311 request ``request_id`` as ``actor``,
    who may act inside ``areas`` (None: anywhere); 404 for an id that is not an Open311
    request, 403 outside ``areas``."""
    area_id = _area_of(session, request_id)
    if areas is not None and not _in_areas(session, area_id, areas):
        raise ModerationError(403, f"Open311 request {request_id} is outside your areas")
    session.execute(
        text(
            "UPDATE event SET public_text_hidden = :h, public_text_hidden_by = :by, "
            "public_text_hidden_at = :at WHERE id = :id"
        ),
        {"h": hidden, "by": actor[:64], "at": now, "id": request_id},
    )
    action = "hide_public_text" if hidden else "show_public_text"
    session.add(
        EventLog(
            event_id=request_id,
            at=now,
            actor=actor[:64],
            actor_id=account_id,
            actor_kind="account" if account_id is not None else "system",
            action=action,
        )
    )
    session.flush()
    return Moderation(request_id, hidden, actor[:64], now)
