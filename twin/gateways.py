"""Device gateways: creation with a one-time key (only its SHA-256 is stored), authentication.

Binding devices to a gateway here records ``device.bound_at``: the offline rule gives a device
that has not reported since its binding a grace period (``twin_offline_grace_minutes``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Result, text
from sqlalchemy.orm import Session

from geodata.area_subtree import roots, subtree_cte


@dataclass(frozen=True)
class GatewayInfo:
    """An authenticated gateway."""

    id: int
    name: str


def hash_key(key: str) -> str:
    """SHA-256 hex of a gateway key (what ``gateway.key_hash`` holds)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random gateway key (256 bits, URL-safe)."""
    return "gk_" + secrets.token_urlsafe(32)


def add_gateway(
    session: Session, name: str, area_code: str | None = None, *, key: str | None = None
) -> tuple[int, str, int]:
    """Create gateway ``name`` (or give an existing one a new key) and return (id, key,
    devices assigned). With ``area_code``, the devices of that area and every area below it
    that have no gateway yet are assigned to this one."""
    key = key or new_key()
    gid = session.execute(
        text(
            "INSERT INTO gateway (name, key_hash, active) VALUES (:n, :h, true) "
            "ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash, active = true "
            "RETURNING id"
        ),
        {"n": name, "h": hash_key(key)},
    ).scalar_one()
    assigned = 0
    if area_code is not None:
        found = session.execute(
            text("SELECT id FROM area WHERE code = :c"), {"c": area_code}
        ).scalar_one_or_none()
        if found is None:
            raise ValueError(f"no area with code {area_code!r}")
        start = roots("named", "id", found)
        result = session.execute(
            text(
                f"{subtree_cte(start.sql)} UPDATE device SET gateway_id = :g, bound_at = now() "
                "WHERE gateway_id IS NULL AND area_id IN (SELECT id FROM sub)"
            ),
            start.params | {"g": gid},
        )
        assigned = _rowcount(result)
    return gid, key, assigned


def assign_unowned(session: Session, gateway_id: int) -> int:
    """Give every device without a gateway to ``gateway_id``; returns how many."""
    return _rowcount(
        session.execute(
            text("UPDATE device SET gateway_id = :g, bound_at = now() WHERE gateway_id IS NULL"),
            {"g": gateway_id},
        )
    )


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE changed (``Session.execute`` is typed ``Result``; a ``text()`` statement's
    result is a ``CursorResult``)."""
    return cast(CursorResult[Any], result).rowcount


def authenticate(session: Session, key: str | None, name: str | None = None) -> GatewayInfo | None:
    """The active gateway holding ``key`` (and named ``name`` when given), else None."""
    if not key or len(key) > 256:
        return None
    digest = hash_key(key)
    row = session.execute(
        text("SELECT id, name, key_hash FROM gateway WHERE key_hash = :h AND active"),
        {"h": digest},
    ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if name is not None and row.name != name:
        return None
    return GatewayInfo(row.id, row.name)
