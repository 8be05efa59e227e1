"""Scoping and privacy in one place: who a signed-in account reads as, who may see personal
identifiers, and the audit trail of every such view (which page a role may open is the pages'
business: :mod:`pages.routes`; the SQL applying a viewer's scope: :mod:`geodata.area_subtree`
and :func:`geodata.spatial_sql.scope_clause`).

The pages, the API, the OGC API and exports all take a
:class:`~geodata.accounts.viewer.Viewer` built here. Rules (PIPL: least privilege, purpose
limitation, accountability):

- a grid worker reads only inside their grids (``area_ids``: those grids; none set → nothing);
- a leader reads the areas of their scope, or the whole city when none is set;
- planners, analysts and admins read the whole city;
- personal identifiers (names, phones, ID numbers) are shown only to a grid worker inside their
  grids and to admins; everyone else sees residents as counts with small counts suppressed;
- every view or export of personal identifiers is written to ``audit_log``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from geodata.accounts import Identity
from geodata.accounts.viewer import Viewer
from geodata.vocab import IDENTIFIER_ROLES, SCOPED_ROLES, Role


def viewer_of(identity: Identity) -> Viewer:
    """The viewer a signed-in account reads as."""
    areas: tuple[int, ...] | None = None
    if identity.role in SCOPED_ROLES:
        areas = identity.areas
        if identity.role == Role.leader and not areas:
            areas = None  # a leader without a scope is the city's
    return Viewer(
        role=identity.role,
        area_ids=areas,
        account_id=identity.account_id,
        username=identity.username,
    )


def may_see_identifiers(viewer: Viewer) -> bool:
    """True when the viewer may see residents' personal identifiers (inside its scope)."""
    return viewer.role in IDENTIFIER_ROLES


CLI_CLIENT = "cli"
"""The ``client`` of audit rows written by the command line (web rows carry the address)."""


def audit(
    conn: Connection,
    viewer: Viewer,
    action: str,
    object_type: str,
    detail: dict[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Write one audit row: who (the viewer), what (action, object, detail), in which scope."""
    scope = "city" if viewer.area_ids is None else ",".join(map(str, viewer.area_ids))
    conn.execute(
        text(
            "INSERT INTO audit_log (account_id, username, action, object_type, scope, detail, "
            "client) VALUES (:a, :u, :act, :obj, :scope, CAST(:detail AS jsonb), :client)"
        ),
        {
            "a": viewer.account_id,
            "u": viewer.username or viewer.role,
            "act": action,
            "obj": object_type,
            "scope": scope,
            "detail": json.dumps(detail or {}, ensure_ascii=False, default=str),
            "client": client,
        },
    )


def audit_trail(
    conn: Connection,
    *,
    username: str | None = None,
    action: str | None = None,
    days: float = 30,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """The newest audit rows (for admins), optionally of one user name or action."""
    rows = conn.execute(
        text(
            "SELECT id, at, username, action, object_type, scope, detail, client FROM audit_log "
            "WHERE at >= now() - make_interval(secs => :days * 86400) "
            "AND (CAST(:user AS text) IS NULL OR username = :user) "
            "AND (CAST(:action AS text) IS NULL OR action = :action) "
            "ORDER BY at DESC, id DESC LIMIT :limit"
        ),
        {"days": days, "user": username or None, "action": action or None, "limit": limit},
    ).mappings()
    return [dict(r) for r in rows]
