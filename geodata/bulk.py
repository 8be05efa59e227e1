"""Fast bulk loading into the store with PostgreSQL ``COPY`` (psycopg 3).

Geometries travel as hex EWKB with their SRID, which PostGIS reads directly as text input.
Callers assign ids themselves and call :func:`sync_sequences` afterwards, and run the whole
load in one transaction so that a failure leaves the store unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import psycopg
import shapely
from psycopg import sql

from geodata.engine import get_engine


@contextmanager
def raw_connection(url: str) -> Iterator[psycopg.Connection]:
    """The psycopg connection under a pooled SQLAlchemy connection of ``url``.

    Nothing is committed implicitly: commit or roll back yourself; an uncommitted transaction
    is rolled back when the connection goes back to the pool.
    """
    pooled = get_engine(url).raw_connection()
    try:
        yield pooled.driver_connection
    finally:
        pooled.close()


def ewkb_hex(geoms: Sequence | np.ndarray, srid: int = 4326) -> list[str]:
    """Hex EWKB (with SRID) of shapely geometries, the text form PostGIS accepts on input."""
    arr = shapely.set_srid(np.asarray(geoms, dtype=object), srid)
    return shapely.to_wkb(arr, hex=True, include_srid=True).tolist()


def copy_rows(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]
) -> int:
    """COPY ``rows`` (tuples of Python values in ``columns`` order) into ``table``.

    Values are adapted by psycopg (``None`` → NULL, lists → arrays, datetimes …); geometry
    columns take hex EWKB strings. Returns the number of rows written.
    """
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    n = 0
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def sync_sequences(conn: psycopg.Connection, tables: Iterable[str], column: str = "id") -> None:
    """Move the id sequences of ``tables`` past the largest id present (after explicit ids)."""
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), "
                    "coalesce((SELECT max({}) FROM {}), 0) + 1, false)"
                ).format(sql.Identifier(column), sql.Identifier(table)),
                (table, column),
            )


def analyze(conn: psycopg.Connection, tables: Iterable[str]) -> None:
    """Refresh planner statistics of ``tables``."""
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
