"""The TEMP staging table an import COPYs into, and the checks that need all rows at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import psycopg
import shapely
from h3.api.basic_int import latlng_to_cell
from psycopg import sql

from geodata import bulk
from geodata.ingest.areas import AreaIndex
from geodata.ingest.report import RejectedRow
from geodata.ingest.schema import LayerSchema
from geodata.ingest.validate import CleanBatch

STAGE = "ingest_stage"
EXTRA_TYPES = {"depth": "smallint", "id_hash": "text", "building_id": "bigint"}
UNIQUE_IN_FILE = {"devices": "serial", "organizations": "credit_code", "areas": "code",
                  "residents": "id_hash"}  # fmt: skip


def column_types(schema: LayerSchema, fields: list[str]) -> dict[str, str]:
    """SQL type of each stage field."""
    types = {f.name: f.sql_type for f in schema.fields}
    return {name: EXTRA_TYPES.get(name) or types[name] for name in fields}


def create_stage(conn: psycopg.Connection, schema: LayerSchema, fields: list[str]) -> None:
    """CREATE TEMP TABLE for this import (dropped at commit or rollback)."""
    cols = [
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(typ))
        for name, typ in column_types(schema, fields).items()
    ]
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE {} (row_no integer NOT NULL, source_id text, "
            "geom geometry(Geometry, 4326) NOT NULL, loc geometry(Point, 4326) NOT NULL, "
            "h3_r7 bigint NOT NULL, h3_r9 bigint NOT NULL, area_id bigint, "
            "{}target_id bigint, action text, matched_by text) ON COMMIT DROP"
        ).format(sql.Identifier(STAGE), sql.SQL("").join(c + sql.SQL(", ") for c in cols))
    )


def ewkb_hex_4326(geoms: np.ndarray) -> list[str]:
    """Hex EWKB with SRID 4326 of 2D geometries, without cloning them to set the SRID
    (:func:`geodata.bulk.ewkb_hex` does; this is ~5× faster): the SRID flag and the SRID
    bytes are spliced into little-endian ISO WKB."""
    hexes = shapely.to_wkb(geoms, hex=True, output_dimension=2, byte_order=1)
    return [f"{h[:8]}20E6100000{h[10:]}" for h in hexes.tolist()]


COPY_COLUMNS = ("row_no", "source_id", "geom", "loc", "h3_r7", "h3_r9", "area_id")
H3_FINE, H3_COARSE = 9, 7


@dataclass
class CopyTarget:
    """An open ``COPY … FROM STDIN``: its column types and whether it takes binary rows."""

    copy: psycopg.Copy
    types: list[str]
    binary: bool


@contextmanager
def open_copy(conn: psycopg.Connection, table: str, columns: list[str]) -> Iterator[CopyTarget]:
    """One ``COPY`` into ``table`` for the whole file: the server parses and stores a batch while
    Python reads and validates the next one (a COPY per batch would wait for the server at the
    end of each). Binary when every column type allows it (no hex to write and parse)."""
    types = bulk.column_types(conn, table, columns)
    binary = bulk.binary_supported(types)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" (FORMAT BINARY)" if binary else ""),
    )
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        if binary:
            copy.write(bulk.COPY_SIGNATURE)
        yield CopyTarget(copy, types, binary)


def stage_copy(conn: psycopg.Connection, fields: list[str]) -> AbstractContextManager[CopyTarget]:
    """The COPY into the stage (row numbers first)."""
    return open_copy(conn, STAGE, [*COPY_COLUMNS, *fields])


def h3_cells(lons: np.ndarray, lats: np.ndarray, res: int) -> np.ndarray:
    """:func:`geodata.cells.h3_cells_array` with less overhead per point (``map`` over the
    coordinate lists instead of a generator: ~25% faster)."""
    cells = map(latlng_to_cell, lats.tolist(), lons.tolist(), repeat(res, len(lons)))
    return np.fromiter(cells, dtype=np.int64, count=len(lons))


def location_values(
    clean: CleanBatch, areas: AreaIndex | None, binary: bool
) -> tuple[object, object, np.ndarray, np.ndarray, list]:
    """geom, loc, H3 cells (r7, r9) and the covering area of the clean rows (areas themselves
    get theirs level by level when written). Geometries are WKB for a binary COPY, hex EWKB
    otherwise."""
    lons, lats = shapely.get_x(clean.locs), shapely.get_y(clean.locs)
    # r7 directly, not as the parent of r9: H3 children do not tile their parent exactly, and
    # ~6% of points lie in a different r7 cell than their r9 cell's parent
    coarse = h3_cells(lons, lats, H3_COARSE)
    fine = h3_cells(lons, lats, H3_FINE)
    area = areas.assign(clean.locs) if areas is not None else [None] * len(lons)
    geom: np.ndarray | list[str]
    loc: np.ndarray | list[str]
    if binary:
        loc = bulk.point_wkb(lons, lats)
        geom = (
            loc if clean.points else shapely.to_wkb(clean.geoms, output_dimension=2, byte_order=1)
        )
    else:
        geom = ewkb_hex_4326(clean.geoms)
        loc = geom if clean.points else ewkb_hex_4326(clean.locs)
    return geom, loc, coarse, fine, area


def write_batch(
    target: CopyTarget, lead: list, clean: CleanBatch, fields: list[str], areas: AreaIndex | None
) -> int:
    """Write the clean rows of a batch to ``target``: the ``lead`` columns (row numbers for the
    stage, the source for a table), source_id, location columns and ``fields``."""
    n = len(clean.rows)
    if not n:
        return 0
    geom, loc, coarse, fine, area = location_values(clean, areas, target.binary)
    data = [*lead, clean.columns["source_id"], geom, loc, coarse, fine, area,
            *(clean.columns[f] for f in fields)]  # fmt: skip
    if target.binary:
        target.copy.write(bulk.encode_binary(target.types, data, n))
        return n
    data = [v.tolist() if isinstance(v, np.ndarray) else v for v in data]
    for row in zip(*data, strict=True):
        target.copy.write_row(row)
    return n


def copy_batch(
    target: CopyTarget, clean: CleanBatch, fields: list[str], areas: AreaIndex | None
) -> int:
    """Write the clean rows of a batch to the stage's COPY."""
    return write_batch(target, [clean.rows], clean, fields, areas)


def _delete_rows(conn: psycopg.Connection, rows: list[int]) -> None:
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE row_no = ANY(%s)").format(sql.Identifier(STAGE)), (rows,)
    )


def duplicate_ids(conn: psycopg.Connection, hashed: bool) -> list[RejectedRow]:
    """Rows repeating an earlier row's id. Hashed ids of identical rows get a ``#n`` suffix
    (stable for the same file); repeated ids from the file are refused."""
    repeated = sql.SQL("SELECT source_id FROM {} GROUP BY source_id HAVING count(*) > 1").format(
        sql.Identifier(STAGE)
    )
    if bulk.one_value(conn.execute(sql.SQL("SELECT EXISTS ({})").format(repeated))) is False:
        return []
    found = conn.execute(
        sql.SQL(
            "SELECT row_no, source_id, first, rn FROM (SELECT row_no, source_id, "
            "min(row_no) OVER w AS first, row_number() OVER (w ORDER BY row_no) AS rn "
            "FROM {} WHERE source_id IN ({}) WINDOW w AS (PARTITION BY source_id)) d "
            "WHERE rn > 1"
        ).format(sql.Identifier(STAGE), repeated)
    ).fetchall()
    if not found:
        return []
    if hashed:
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("UPDATE {} SET source_id = source_id || '#' || %s WHERE row_no = %s")
                .format(sql.Identifier(STAGE)),
                [(rn, row) for row, _sid, _first, rn in found],
            )  # fmt: skip
        return []
    rejects = [
        RejectedRow(row, "id", f"duplicate id {sid!r} (first in row {first})")
        for row, sid, first, _rn in found
    ]
    _delete_rows(conn, [r.row for r in rejects])
    return rejects


def duplicate_keys(conn: psycopg.Connection, schema: LayerSchema) -> list[RejectedRow]:
    """Rows repeating another row's unique key (serial, credit code, area code, ID number)."""
    column = UNIQUE_IN_FILE.get(schema.name)
    if column is None:
        return []
    exists = conn.execute(
        "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s",
        (STAGE, column),
    ).fetchone()
    if not exists:
        return []
    found = conn.execute(
        sql.SQL(
            "SELECT row_no, first FROM (SELECT row_no, min(row_no) OVER w AS first FROM {} "
            "WHERE {} IS NOT NULL WINDOW w AS (PARTITION BY {})) d WHERE row_no <> first"
        ).format(sql.Identifier(STAGE), sql.Identifier(column), sql.Identifier(column))
    ).fetchall()
    label = "ID number" if column == "id_hash" else column
    rejects = [RejectedRow(row, label, f"same {label} as row {first}") for row, first in found]
    if rejects:
        _delete_rows(conn, [r.row for r in rejects])
    return rejects


def houses_without_building(conn: psycopg.Connection) -> list[RejectedRow]:
    """Houses: the building covering each point (refused when none does)."""
    conn.execute(
        sql.SQL(
            "UPDATE {s} s SET building_id = (SELECT b.id FROM building b WHERE b.geom && s.loc "
            "AND ST_Covers(b.geom, s.loc) ORDER BY b.id LIMIT 1)"
        ).format(s=sql.Identifier(STAGE))
    )
    rows = [
        r[0]
        for r in conn.execute(
            sql.SQL("SELECT row_no FROM {} WHERE building_id IS NULL ORDER BY row_no").format(
                sql.Identifier(STAGE)
            )
        )
    ]
    if rows:
        _delete_rows(conn, rows)
    return [RejectedRow(r, "geometry", "no building covers this home's location") for r in rows]


def sample_locations(conn: psycopg.Connection, staged: int, limit: int = 5000) -> np.ndarray:
    """Up to ``limit`` staged locations (lon, lat), spread evenly over the file."""
    step = max(1, staged // limit)
    rows = conn.execute(
        sql.SQL("SELECT ST_X(loc), ST_Y(loc) FROM {} WHERE row_no %% %s = 0 LIMIT %s").format(
            sql.Identifier(STAGE)
        ),
        (step, limit),
    ).fetchall()
    return np.asarray(rows, dtype=float).reshape(-1, 2)
