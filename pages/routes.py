"""Which role may open which page, and where each role lands after signing in.

``app.py`` hands :func:`may_open` and :func:`home_page` to the gate (:mod:`web.gate`), which
refuses a direct visit, and to the sign-in (:mod:`api.auth`); the pages check them again in
their layouts and callbacks (:mod:`pages.guard`) and the header shows only the pages a role may
open (:mod:`pages.shell`).
"""

from __future__ import annotations

from collections.abc import Mapping

PAGE_ROLES: Mapping[str, frozenset[str]] = {
    "/wall": frozenset({"leader", "admin"}),
    "/grid": frozenset({"grid_worker", "admin"}),
    "/export": frozenset({"planner", "analyst", "admin"}),
    "/analyze": frozenset({"analyst", "planner", "leader", "admin"}),
    "/audit": frozenset({"admin"}),
    "/assessment": frozenset({"leader", "analyst", "admin"}),
}
"""Pages open to some roles only; every other page is open to every signed-in role."""

HOME_PAGE = {
    "leader": "/wall",
    "grid_worker": "/grid",
    "planner": "/export",
    "analyst": "/analyze",
    "admin": "/",
}
"""Where each role lands after signing in."""


def may_open(role: str, path: str) -> bool:
    """True when ``role`` may open the page at ``path``."""
    allowed = PAGE_ROLES.get(path.rstrip("/") or "/")
    return allowed is None or role in allowed


def home_page(role: str) -> str:
    """The page a role lands on after signing in."""
    return HOME_PAGE.get(role, "/")
