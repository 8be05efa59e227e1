"""Which role may open which page, and where each role lands after signing in.

``app.py`` hands :func:`may_open` and :func:`home_page` to the gate (:mod:`web.gate`), which
refuses a direct visit, and to the sign-in (:mod:`api.auth`); the pages check them again in
their layouts and callbacks (:mod:`pages.guard`) and the header shows only the pages a role may
open (:mod:`pages.shell`).
"""

from __future__ import annotations

from collections.abc import Mapping

from geodata.vocab import Role

PAGE_ROLES: Mapping[str, frozenset[Role]] = {
    "/wall": frozenset({Role.leader, Role.admin}),
    "/grid": frozenset({Role.grid_worker, Role.admin}),
    "/export": frozenset({Role.planner, Role.analyst, Role.admin}),
    "/analyze": frozenset({Role.analyst, Role.planner, Role.leader, Role.admin}),
    "/audit": frozenset({Role.admin}),
    "/sources": frozenset({Role.admin}),
    "/assessment": frozenset({Role.leader, Role.analyst, Role.admin}),
    "/account": frozenset({Role.planner, Role.analyst, Role.leader, Role.admin}),
}
"""Pages open to some roles only; every other page is open to every signed-in role.

``/account`` (own API tokens for GIS clients and scripts) is not a grid worker's: a grid
worker reads residents' personal identifiers inside their grids, on the supervised tablet
app; a bearer token would carry that access out to any script for months."""

HOME_PAGE: Mapping[str, str] = {
    Role.leader: "/wall",
    Role.grid_worker: "/grid",
    Role.planner: "/export",
    Role.analyst: "/analyze",
    Role.admin: "/",
}
"""Where each role lands after signing in."""


def may_open(role: str, path: str) -> bool:
    """True when ``role`` may open the page at ``path``."""
    allowed = PAGE_ROLES.get(path.rstrip("/") or "/")
    return allowed is None or role in allowed


def home_page(role: str) -> str:
    """The page a role lands on after signing in."""
    return HOME_PAGE.get(role, "/")  # Role is a StrEnum: a plain code finds its key
