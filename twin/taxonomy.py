"""Seeding the incident taxonomy: :func:`ensure_taxonomy` inserts the default categories of
:mod:`geodata.taxonomy` that ``event_category`` lacks.

The table is configurable: only missing codes are inserted, so rows edited in the database
(SLAs, departments, names, ``active``) are kept.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import cast

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geodata.models import EventCategory
from geodata.taxonomy import DEFAULT_TAXONOMY


def ensure_taxonomy(db: Connection | Session) -> int:
    """Insert the default categories that are missing; return how many were inserted.

    Idempotent; rows already in the table (edited or not) are left as they are.
    """
    rows = [asdict(spec) for spec in DEFAULT_TAXONOMY]
    table = cast(Table, EventCategory.__table__)  # a mapped class's table (typed FromClause)
    stmt = insert(table).values(rows).on_conflict_do_nothing(index_elements=["code"])
    return len(db.execute(stmt.returning(table.c.code)).all())
