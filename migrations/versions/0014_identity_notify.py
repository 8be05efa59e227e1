"""NOTIFY when who may sign in changes: the per-process identity cache forgets at once.

Statement-level triggers on ``account``, ``account_scope``, ``web_session`` and ``api_token``
send ``{"kind": "identity"}`` on ``onemap_live`` (delivered on commit) whenever a statement
changed at least one row that an identity lookup reads: an account updated or deleted (role,
scope, disabled …), a scope row added, changed or removed, a session or token updated or
deleted (sign-out, revocation), or any of these tables truncated. New sessions and tokens send
nothing: nothing is remembered about a key before it exists. See :mod:`web.identity_cache`.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "onemap_live"
PAYLOAD = '{"kind": "identity"}'

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION onemap_identity_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM pg_notify('{CHANNEL}', '{PAYLOAD}');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION onemap_identity_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '{PAYLOAD}');
    RETURN NULL;
END $$;
"""

EVENTS = {
    "account": ("UPDATE", "DELETE"),
    "account_scope": ("INSERT", "UPDATE", "DELETE"),
    "web_session": ("UPDATE", "DELETE"),
    "api_token": ("UPDATE", "DELETE"),
}
"""Per table, the row events that can change an identity (one trigger each: a trigger with
a transition table may name one event only)."""


def _triggers() -> list[tuple[str, str, str]]:
    """``(table, trigger name, the rest of its CREATE TRIGGER statement)`` of every trigger."""
    out = []
    for table, events in EVENTS.items():
        for event in events:
            rows = "NEW" if event == "INSERT" else "OLD"
            body = (
                f"AFTER {event} ON {table} REFERENCING {rows} TABLE AS changed "
                "FOR EACH STATEMENT EXECUTE FUNCTION onemap_identity_rows()"
            )
            out.append((table, f"onemap_identity_{event.lower()}", body))
        body = (
            f"AFTER TRUNCATE ON {table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION onemap_identity_truncate()"
        )
        out.append((table, "onemap_identity_truncate", body))
    return out


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for _, name, body in _triggers():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    for table, name, _ in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS onemap_identity_rows()")
    op.execute("DROP FUNCTION IF EXISTS onemap_identity_truncate()")
