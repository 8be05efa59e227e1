"""Bulk loads: set aside a table's secondary indexes, unique constraints and foreign keys, and
put them back after the load.

Maintaining ~10 indexes and 3 foreign-key triggers row by row costs several times what building
them once, sorted, costs afterwards (measured on 1M devices: the per-row foreign-key triggers alone
took ~5 s, the unique indexes ~4 s; rebuilding everything takes ~3 s). The primary key stays (the
ids are increasing, so it is cheap, and other tables reference it). Unique constraints come back
as ``CREATE UNIQUE INDEX`` + ``ADD CONSTRAINT … USING INDEX`` (a duplicate fails the import),
foreign keys as ``ADD CONSTRAINT`` (PostgreSQL checks them with one anti-join). Everything runs in
the import's transaction: a failed import restores them by rolling back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from geodata.bulk import one_value

BULK_ROWS = 100_000
MAINTENANCE_MEM = "512MB"

_INDEXES = """
SELECT n.nspname, c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = %(t)s::regclass AND NOT EXISTS
  (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
"""
# unique constraints no foreign key of another table depends on
_UNIQUES = """
SELECT k.conname, i.relname, pg_get_indexdef(k.conindid) FROM pg_constraint k
JOIN pg_class i ON i.oid = k.conindid
WHERE k.conrelid = %(t)s::regclass AND k.contype = 'u' AND NOT EXISTS
  (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid)
"""
_FOREIGN_KEYS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = %(t)s::regclass AND contype = 'f'
"""


@dataclass
class Deferred:
    """What :func:`defer` set aside (definitions from the catalog), to put back."""

    table: str
    indexes: list[str] = field(default_factory=list)
    uniques: list[tuple[str, str, str]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)


def worth_deferring(conn: psycopg.Connection, table: str, incoming: int | None) -> bool:
    """True for a bulk load (≥ :data:`BULK_ROWS` rows) into a table holding fewer rows than
    the load, and for a load of unknown size into an empty table."""
    if incoming is not None and incoming < BULK_ROWS:
        return False
    bound = 1 if incoming is None else incoming
    held = one_value(
        conn.execute(
            sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) x").format(
                sql.Identifier(table)
            ),
            (bound,),
        )
    )
    return held < bound


def defer(conn: psycopg.Connection, table: str) -> Deferred:
    """Drop the secondary indexes, unique constraints and foreign keys of ``table`` (takes an
    exclusive lock on it until commit) and return their definitions."""
    params = {"t": table}
    out = Deferred(
        table,
        indexes=[d for _, _, d in conn.execute(_INDEXES, params).fetchall()],
        uniques=[tuple(r) for r in conn.execute(_UNIQUES, params).fetchall()],
        foreign_keys=[tuple(r) for r in conn.execute(_FOREIGN_KEYS, params).fetchall()],
    )
    for name, *_ in out.foreign_keys + out.uniques:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    for namespace, name, _ in conn.execute(_INDEXES, params).fetchall():
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(namespace, name)))
    return out


def restore(conn: psycopg.Connection, deferred: Deferred | None) -> None:
    """Rebuild what :func:`defer` dropped, each in one sorted pass (btree builds in parallel
    where the server allows)."""
    if deferred is None:
        return
    conn.execute("SET LOCAL max_parallel_maintenance_workers = 2")
    conn.execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_MEM}'")
    table = sql.Identifier(deferred.table)
    for definition in deferred.indexes:
        conn.execute(definition)
    for name, index, definition in deferred.uniques:
        conn.execute(definition)
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE USING INDEX {}").format(
                table, sql.Identifier(name), sql.Identifier(index)
            )
        )
    for name, definition in deferred.foreign_keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                table, sql.Identifier(name), sql.SQL(definition)
            )
        )
