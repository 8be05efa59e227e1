"""Accounts, passwords, browser sessions and API tokens (the package also holds the viewer a
signed-in account reads as, :mod:`.viewer`; scoping and audit, :mod:`.access`; the ``user`` CLI,
:mod:`.cli`; the limits of API tokens, their owners' list, revocation and last use,
:mod:`.tokens`).

Passwords are hashed with Argon2id (argon2-cffi). A session or API token is a random string the
client holds; the store keeps only its SHA-256, so a leaked table opens nothing. Repeated failed
logins lock an account for a while (settings ``login_max_failures``, ``login_lockout_minutes``);
an unknown user name costs the same hashing time as a known one and gets the same answer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, text

from geodata import vocab
from geodata.errors import OneMapError

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "om_"
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("an unknown user name costs one hash too")


class AccountError(OneMapError):
    """A user-management request that cannot be done (unknown user, weak password …)."""


class LoginRefused(Exception):
    """A failed login: ``reason`` is ``credentials``, ``locked`` or ``inactive``."""

    def __init__(self, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.locked_until = locked_until


@dataclass(frozen=True)
class Identity:
    """Who an authenticated request belongs to, and the area ids of the account's scope."""

    account_id: int
    username: str
    role: str
    display_name: str | None = None
    areas: tuple[int, ...] = ()


def token_hash(token: str) -> str:
    """SHA-256 hex of a session or API token (what the store keeps)."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` after checking the password policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def new_password() -> str:
    """A random 16-character password (for generated accounts)."""
    return secrets.token_urlsafe(12)


def _area_ids(conn: Connection, codes: list[str]) -> list[int]:
    rows = conn.execute(
        text("SELECT code, id FROM area WHERE code = ANY(:codes)"), {"codes": codes}
    ).all()
    found: dict[str, int] = dict(rows)
    missing = [c for c in codes if c not in found]
    if missing:
        raise AccountError(f"no area with code {', '.join(missing)}")
    return [found[c] for c in codes]


def _account_id(conn: Connection, username: str) -> int:
    found = conn.execute(
        text("SELECT id FROM account WHERE username = :u"), {"u": username}
    ).scalar_one_or_none()
    if found is None:
        raise AccountError(f"no account named {username!r}")
    return found


def add_account(
    conn: Connection,
    username: str,
    role: str,
    password: str,
    area_codes: list[str] | None = None,
    display_name: str | None = None,
) -> int:
    """Create an account with a role and (for grid workers and leaders) the areas it works in."""
    if role not in vocab.ACCOUNT_ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(vocab.ACCOUNT_ROLES)}")
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise AccountError("a user name is 1-64 printable characters without spaces")
    if role == vocab.Role.grid_worker and not area_codes:
        raise AccountError("a grid worker needs at least one grid (--area CODE)")
    exists = conn.execute(text("SELECT 1 FROM account WHERE username = :u"), {"u": username})
    if exists.first():
        raise AccountError(f"account {username!r} exists already")
    account_id = conn.execute(
        text(
            "INSERT INTO account (username, display_name, password_hash, role) "
            "VALUES (:u, :d, :h, :r) RETURNING id"
        ),
        {"u": username, "d": display_name, "h": hash_password(password), "r": role},
    ).scalar_one()
    set_scope(conn, username, area_codes or [])
    return account_id


def ensure_account(
    conn: Connection, username: str, role: str, area_codes: list[str] | None = None
) -> int:
    """The id of account ``username``, created with ``role``, the areas and a random password
    when it does not exist yet (for scripts that sign in with a token: tests, benches)."""
    found = conn.execute(
        text("SELECT id FROM account WHERE username = :u"), {"u": username}
    ).scalar_one_or_none()
    if found is not None:
        return found
    return add_account(conn, username, role, new_password(), area_codes)


def set_scope(conn: Connection, username: str, area_codes: list[str]) -> None:
    """Replace the areas an account works in (empty: the whole city, except grid workers)."""
    account_id = _account_id(conn, username)
    ids = _area_ids(conn, area_codes) if area_codes else []
    conn.execute(text("DELETE FROM account_scope WHERE account_id = :a"), {"a": account_id})
    for area_id in ids:
        conn.execute(
            text("INSERT INTO account_scope (account_id, area_id) VALUES (:a, :x)"),
            {"a": account_id, "x": area_id},
        )


def set_password(conn: Connection, username: str, password: str) -> None:
    """Set a new password, unlock the account and end its sessions."""
    account_id = _account_id(conn, username)
    conn.execute(
        text(
            "UPDATE account SET password_hash = :h, failed_logins = 0, locked_until = NULL "
            "WHERE id = :a"
        ),
        {"h": hash_password(password), "a": account_id},
    )
    conn.execute(text("DELETE FROM web_session WHERE account_id = :a"), {"a": account_id})


def set_active(conn: Connection, username: str, active: bool) -> None:
    """Enable or disable an account (disabling ends its sessions and tokens)."""
    account_id = _account_id(conn, username)
    ids = {"a": account_id}
    conn.execute(text("UPDATE account SET active = :v WHERE id = :a"), ids | {"v": active})
    if not active:
        conn.execute(text("DELETE FROM web_session WHERE account_id = :a"), ids)
        conn.execute(text("UPDATE api_token SET revoked = true WHERE account_id = :a"), ids)


def authenticate(
    conn: Connection,
    username: str,
    password: str,
    *,
    max_failures: int,
    lockout: timedelta,
) -> Identity:
    """The identity for a correct user name and password; raises :class:`LoginRefused`.

    Counts failures in the caller's transaction, which must be committed even on refusal
    (:func:`sign_in` does).
    """
    row = conn.execute(
        text(
            "SELECT id, username, role, display_name, password_hash, active, failed_logins, "
            "locked_until FROM account WHERE username = :u FOR UPDATE"
        ),
        {"u": username},
    ).first()
    if row is None:
        _verify(_DUMMY_HASH, password)
        raise LoginRefused("credentials")
    now = datetime.now(UTC)
    if row.locked_until is not None and row.locked_until > now:
        raise LoginRefused("locked", row.locked_until)
    if not _verify(row.password_hash, password):
        failures = row.failed_logins + 1
        until = now + lockout if failures >= max_failures else None
        conn.execute(
            text("UPDATE account SET failed_logins = :f, locked_until = :t WHERE id = :a"),
            {"f": 0 if until else failures, "t": until, "a": row.id},
        )
        raise LoginRefused("locked", until) if until else LoginRefused("credentials")
    if not row.active:
        raise LoginRefused("inactive")
    if row.failed_logins or row.locked_until:
        conn.execute(
            text("UPDATE account SET failed_logins = 0, locked_until = NULL WHERE id = :a"),
            {"a": row.id},
        )
    return Identity(row.id, row.username, row.role, row.display_name, _scope(conn, row.id))


def sign_in(
    engine: Engine, username: str, password: str, *, max_failures: int, lockout: timedelta
) -> Identity:
    """:func:`authenticate` in a transaction of its own that is committed on refusal too (so
    failures count); raises :class:`LoginRefused`."""
    with engine.begin() as conn:
        try:
            return authenticate(
                conn, username, password, max_failures=max_failures, lockout=lockout
            )
        except LoginRefused as refused:
            failure = refused
    raise failure


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def open_session(
    conn: Connection, account_id: int, lifetime: timedelta, client: str | None
) -> tuple[str, str]:
    """Start a browser session; returns ``(session token, CSRF token)``."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO web_session (token_hash, account_id, csrf_token, expires_at, client) "
            "VALUES (:h, :a, :c, now() + :life, :client)"
        ),
        {"h": token_hash(token), "a": account_id, "c": csrf, "life": lifetime, "client": client},
    )
    conn.execute(text("DELETE FROM web_session WHERE expires_at < now()"))
    return token, csrf


_IDENTITY_COLUMNS = (
    "a.id, a.username, a.role, a.display_name, ARRAY(SELECT x.area_id FROM account_scope x "
    "WHERE x.account_id = a.id ORDER BY x.area_id) AS areas"
)
"""An account's identity and scope in one row (one query per request)."""


def _identity(row) -> Identity:
    return Identity(row.id, row.username, row.role, row.display_name, tuple(row.areas))


def _scope(conn: Connection, account_id: int) -> tuple[int, ...]:
    rows = conn.execute(
        text("SELECT area_id FROM account_scope WHERE account_id = :a ORDER BY area_id"),
        {"a": account_id},
    )
    return tuple(rows.scalars())


def _prepared_row(conn: Connection, sql: str, token: str):
    """The row of one of the per-request identity statements for ``token`` (by its hash),
    run through the driver and prepared on the server: these run on every request, and
    SQLAlchemy's statement handling cost more than the query itself."""
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection has its driver's connection
    cursor = driver.cursor(row_factory=namedtuple_row)
    return cursor.execute(sql, (token_hash(token),), prepare=True).fetchone()


_SESSION_SQL = (
    f"SELECT {_IDENTITY_COLUMNS}, s.csrf_token, s.expires_at FROM web_session s "
    "JOIN account a ON a.id = s.account_id "
    "WHERE s.token_hash = %s AND s.expires_at > now() AND a.active"
)
_TOKEN_SQL = (
    f"SELECT {_IDENTITY_COLUMNS}, NULL AS csrf_token, t.expires_at "
    "FROM api_token t JOIN account a ON a.id = t.account_id "
    "WHERE t.token_hash = %s AND NOT t.revoked AND a.active "
    "AND (t.expires_at IS NULL OR t.expires_at > now())"
)


@dataclass(frozen=True)
class SignedIn:
    """Who a valid session or API token belongs to, the session's CSRF token (None for
    tokens) and when the session or token expires (None: never)."""

    identity: Identity
    csrf: str | None
    expires_at: datetime | None


def _signed_in(row) -> SignedIn | None:
    return SignedIn(_identity(row), row.csrf_token, row.expires_at) if row else None


def session_identity(conn: Connection, token: str) -> SignedIn | None:
    """The identity behind a live session of an active account, else None."""
    return _signed_in(_prepared_row(conn, _SESSION_SQL, token))


def close_session(conn: Connection, token: str) -> None:
    """End a browser session (logout)."""
    conn.execute(text("DELETE FROM web_session WHERE token_hash = :h"), {"h": token_hash(token)})


def issue_token(conn: Connection, username: str, name: str, days: float | None = None) -> str:
    """A new API token for ``username`` (shown once; the store keeps its hash)."""
    account_id = _account_id(conn, username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        text(
            "INSERT INTO api_token (account_id, name, token_hash, expires_at) VALUES "
            "(:a, :n, :h, CASE WHEN CAST(:d AS float8) IS NULL THEN NULL "
            "ELSE now() + make_interval(secs => CAST(:d AS float8) * 86400) END)"
        ),
        {"a": account_id, "n": name, "h": token_hash(token), "d": days},
    )
    return token


def token_identity(conn: Connection, token: str) -> SignedIn | None:
    """The identity behind a valid (unrevoked, unexpired) API token of an active account."""
    return _signed_in(_prepared_row(conn, _TOKEN_SQL, token))


def account_identity(conn: Connection, username: str) -> Identity:
    """The identity of account ``username`` (for the CLI acting on it); :class:`AccountError`
    when there is none."""
    row = conn.execute(
        text(f"SELECT {_IDENTITY_COLUMNS} FROM account a WHERE a.username = :u"), {"u": username}
    ).first()
    if row is None:
        raise AccountError(f"no account named {username!r}")
    return _identity(row)


def list_accounts(conn: Connection) -> list[dict]:
    """Every account with its role, areas (codes) and state, for ``geodata user list``."""
    rows = conn.execute(
        text(
            "SELECT a.username, a.role, a.active, a.locked_until, "
            "coalesce(array_agg(x.code ORDER BY x.code) FILTER (WHERE x.code IS NOT NULL), "
            "'{}') AS areas FROM account a "
            "LEFT JOIN account_scope s ON s.account_id = a.id "
            "LEFT JOIN area x ON x.id = s.area_id GROUP BY a.id ORDER BY a.username"
        )
    ).mappings()
    return [dict(r) for r in rows]
