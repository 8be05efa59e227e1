"""API tokens an account manages itself (the "my account" page) and the CLI issues: the
limits both share, the list an account sees of its own tokens, revocation, and when each
token was last used.

Limits (the same for the page and ``python -m geodata user token``):

- a name of 1-:data:`MAX_NAME` printable characters;
- an expiry of at most :data:`MAX_DAYS` days (the page offers :data:`EXPIRY_DAYS`);
- at most :data:`MAX_ACTIVE` active (unrevoked, unexpired) tokens per account.

Every creation and revocation is written to ``audit_log`` (actions :data:`CREATED`,
:data:`REVOKED`, object :data:`OBJECT`). A revocation names the account as well as the token
id, so an id of somebody else's token changes nothing. Last use is kept in ``api_token_use``
and written at most once a minute per token (:data:`USE_INTERVAL_SECONDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from geodata.accounts import AccountError, issue_token, token_hash
from geodata.accounts.access import audit
from geodata.accounts.viewer import Viewer

MAX_NAME = 64
MAX_DAYS = 365
EXPIRY_DAYS: tuple[int, ...] = (7, 30, 90, 180, MAX_DAYS)
"""The expiries the page offers (days)."""
MAX_ACTIVE = 10
USE_INTERVAL_SECONDS = 60
CREATED = "token_create"
REVOKED = "token_revoke"
OBJECT = "api_token"


class TokenLimit(AccountError):
    """A token request outside the limits: ``kind`` is ``name``, ``days`` or ``count``."""

    status = 400

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class TokenInfo:
    """One of an account's tokens as its owner sees it (never the token itself)."""

    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool
    active: bool


@dataclass(frozen=True)
class NewToken:
    """A token just issued: its id and its value (shown once, never stored)."""

    id: int
    value: str


def check_name(name: str | None) -> str:
    """The token name stripped, or :class:`TokenLimit` saying what is wrong."""
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable():
        raise TokenLimit("name", f"a token name is 1-{MAX_NAME} printable characters")
    return cleaned


def check_days(days: float | None) -> float:
    """The expiry in days, or :class:`TokenLimit` unless 0 < days <= :data:`MAX_DAYS`."""
    if days is None or isinstance(days, bool) or not 0 < float(days) <= MAX_DAYS:
        raise TokenLimit("days", f"a token expires after more than 0 and at most {MAX_DAYS} days")
    return float(days)


def _active_count(conn: Connection, account_id: int) -> int:
    return conn.execute(
        text(
            "SELECT count(*) FROM api_token WHERE account_id = :a AND NOT revoked "
            "AND (expires_at IS NULL OR expires_at > now())"
        ),
        {"a": account_id},
    ).scalar_one()


def create_token(
    conn: Connection, owner: Viewer, name: str | None, days: float | None, client: str | None
) -> NewToken:
    """Issue a token for ``owner``'s account within the limits, and audit it."""
    if owner.account_id is None or owner.username is None:
        raise AccountError("only a signed-in account can have tokens")
    cleaned, expiry = check_name(name), check_days(days)
    # one creation per account at a time, so the count below cannot be raced past the limit
    conn.execute(text("SELECT 1 FROM account WHERE id = :a FOR UPDATE"), {"a": owner.account_id})
    if _active_count(conn, owner.account_id) >= MAX_ACTIVE:
        raise TokenLimit("count", f"at most {MAX_ACTIVE} active tokens per account; revoke one")
    value = issue_token(conn, owner.username, cleaned, expiry)
    token_id = conn.execute(
        text("SELECT id FROM api_token WHERE token_hash = :h"), {"h": token_hash(value)}
    ).scalar_one()
    detail = {"token_id": token_id, "name": cleaned, "days": expiry}
    audit(conn, owner, CREATED, OBJECT, detail, client)
    return NewToken(token_id, value)


def revoke_token(conn: Connection, owner: Viewer, token_id: int, client: str | None) -> str | None:
    """Revoke ``owner``'s token ``token_id`` and audit it; its name, or None (nothing changed,
    nothing written) when the account has no such active token."""
    name = conn.execute(
        text(
            "UPDATE api_token SET revoked = true WHERE id = :t AND account_id = :a "
            "AND NOT revoked RETURNING name"
        ),
        {"t": token_id, "a": owner.account_id},
    ).scalar_one_or_none()
    if name is not None:
        audit(conn, owner, REVOKED, OBJECT, {"token_id": token_id, "name": name}, client)
    return name


def list_tokens(conn: Connection, account_id: int) -> list[TokenInfo]:
    """The account's tokens, newest first: active ones, then revoked or expired ones."""
    rows = conn.execute(
        text(
            "SELECT t.id, t.name, t.created_at, t.expires_at, u.last_used_at, t.revoked, "
            "NOT t.revoked AND (t.expires_at IS NULL OR t.expires_at > now()) AS active "
            "FROM api_token t LEFT JOIN api_token_use u ON u.token_id = t.id "
            "WHERE t.account_id = :a ORDER BY active DESC, t.created_at DESC, t.id DESC"
        ),
        {"a": account_id},
    ).all()
    return [TokenInfo(*row) for row in rows]


def note_use(conn: Connection, token: str) -> None:
    """Record that ``token`` was used now, unless a use less than
    :data:`USE_INTERVAL_SECONDS` ago is recorded already (then nothing is written)."""
    conn.execute(
        text(
            "INSERT INTO api_token_use (token_id, last_used_at) "
            "SELECT id, now() FROM api_token WHERE token_hash = :h "
            "ON CONFLICT (token_id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at "
            "WHERE api_token_use.last_used_at "
            "<= EXCLUDED.last_used_at - make_interval(secs => :s)"
        ),
        {"h": token_hash(token), "s": USE_INTERVAL_SECONDS},
    )
