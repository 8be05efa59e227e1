"""Device gateways: creation with a one-time key (only hashes of it are stored), authentication.

A gateway's key is also its MQTT password: :func:`add_gateway` stores the key's SHA-256 (HTTP and
the old key-in-message form) and its Mosquitto password hash (``gateway.broker_hash``, written to
the embedded broker's password file by :mod:`twin.broker_accounts`). Gateway names become MQTT
user names and topic levels, so :func:`name_problem` refuses the characters that would break
either.

Binding devices to a gateway here records ``device.bound_at``: the offline rule gives a device
that has not reported since its binding a grace period (``twin_offline_grace_minutes``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
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


PBKDF2_ITERATIONS = 101
"""What ``mosquitto_passwd`` 2.0 writes (``$7$101$…``); the key is 256 random bits, so the
iteration count is not what protects it."""
RESERVED_NAMES = frozenset({"onemap-intake"})
"""Names of the broker's own accounts, never a gateway's."""


def broker_hash(
    password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """Mosquitto 2.0's password hash of ``password``: ``$7$<iterations>$<salt>$<hash>``
    (PBKDF2-HMAC-SHA512, 12-byte salt, base64), as ``mosquitto_passwd`` writes it."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a gateway's name (an MQTT user and topic level), else None."""
    if not name or len(name) > 64:
        return "a gateway name has 1 to 64 characters"
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved for the broker's own account"
    if name.startswith("$"):
        return "a gateway name may not start with '$'"
    for ch in name:
        if ch in "/+#:" or ch.isspace() or unicodedata.category(ch).startswith("C"):
            return (
                f"a gateway name may not contain {ch!r} "
                "(no '/', '+', '#', ':', whitespace or control characters)"
            )
    return None


def new_key() -> str:
    """A fresh random gateway key (256 bits, URL-safe)."""
    return "gk_" + secrets.token_urlsafe(32)


def add_gateway(
    session: Session, name: str, area_code: str | None = None, *, key: str | None = None
) -> tuple[int, str, int]:
    """Create gateway ``name`` (or give an existing one a new key) and return (id, key,
    devices assigned). With ``area_code``, the devices of that area and every area below it
    that have no gateway yet are assigned to this one. A name :func:`name_problem` refuses is a
    ValueError. The broker learns the key when its accounts are next written
    (:meth:`twin.broker.EmbeddedBroker.sync`, or the app's periodic check)."""
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(f"gateway {name!r}: {problem}")
    key = key or new_key()
    gid = session.execute(
        text(
            "INSERT INTO gateway (name, key_hash, broker_hash, active) VALUES (:n, :h, :b, true) "
            "ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash, "
            "broker_hash = excluded.broker_hash, active = true "
            "RETURNING id"
        ),
        {"n": name, "h": hash_key(key), "b": broker_hash(key)},
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


def bind_devices(session: Session, gateway_id: int, ids: set[int]) -> int:
    """Give the devices ``ids`` that no gateway owns to ``gateway_id``; returns how many."""
    return _rowcount(
        session.execute(
            text(
                "UPDATE device SET gateway_id = :g, bound_at = now() "
                "WHERE gateway_id IS NULL AND id = ANY(:ids)"
            ),
            {"g": gateway_id, "ids": sorted(ids)},
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
