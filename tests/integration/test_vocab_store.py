"""Vocabulary members go through the real store as their codes (psycopg, SQLAlchemy, the ORM)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from geodata import accounts, vocab
from geodata.vocab import DeviceStatus, EventStatus, HandlingLevel, Role
from tests.integration.factories import two_grid_district
from twin.taxonomy import ensure_taxonomy
from twin.workflow import create_incident

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_roles_are_written_and_read_as_their_codes(conn):
    for role in vocab.ACCOUNT_ROLES:  # the CHECK constraint takes the codes only
        conn.execute(
            text("INSERT INTO account (username, password_hash, role) VALUES (:u, 'x', :r)"),
            {"u": f"vocab_{role}", "r": role},
        )
    accounts.add_account(conn, "vocab_added", Role.planner, "a long password 1")
    rows = conn.execute(
        text("SELECT role FROM account WHERE username LIKE 'vocab\\_%' ORDER BY id")
    ).scalars()
    assert list(rows) == ["leader", "grid_worker", "planner", "analyst", "admin", "planner"]
    # bound as parameters, one by one and as an array
    found = conn.execute(
        text("SELECT count(*) FROM account WHERE role = :r AND role = ANY(:rs)"),
        {"r": Role.grid_worker, "rs": [Role.grid_worker, Role.admin]},
    ).scalar_one()
    assert found == 1


def test_psycopg_binds_members_as_codes(conn):
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "SELECT %s::text, %s::text[], %s::text = ANY(%s::text[])",
            (Role.grid_worker, list(vocab.OPEN_STATUSES), DeviceStatus.alarm, ["alarm"]),
        )
        assert cur.fetchone() == (
            "grid_worker",
            ["reported", "dispatched", "accepted", "in_progress"],
            True,
        )
        cur.execute("SELECT %b::text, %t::text", (EventStatus.in_progress, HandlingLevel.street))
        assert cur.fetchone() == ("in_progress", "street")


def test_the_orm_writes_members_as_codes(session):
    ensure_taxonomy(session)
    two_grid_district(session)
    event = create_incident(
        session, category="environment.litter", lon=117.22, lat=31.82, now=NOW
    ).event
    assert (event.status, event.level) == (EventStatus.reported, HandlingLevel.grid)
    row = session.execute(
        text("SELECT status, level FROM event WHERE id = :i"), {"i": event.id}
    ).one()
    assert (type(row.status), tuple(row)) == (str, ("reported", "grid"))
    open_ids = session.execute(
        text(f"SELECT id FROM event WHERE status IN {vocab.OPEN_SQL}")
    ).scalars()
    assert event.id in set(open_ids)
