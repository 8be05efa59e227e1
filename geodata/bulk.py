"""Fast bulk loading into the store with PostgreSQL ``COPY`` (psycopg 3).

Row by row (:func:`copy_rows`), geometries travel as hex EWKB with their SRID, which PostGIS
reads directly as text input; column-wise (:func:`encode_binary`), a whole batch is encoded at
once in the binary COPY format, geometries as WKB. Callers that assign ids themselves call
:func:`sync_sequences` afterwards, and run the whole load in one transaction so that a failure
leaves the store unchanged.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from psycopg import sql
from sqlalchemy import Engine

from geodata.engine import get_engine


@contextmanager
def raw_connection(url: str, engine: Engine | None = None) -> Iterator[psycopg.Connection]:
    """The psycopg connection under a pooled SQLAlchemy connection of ``url`` (from ``engine``'s
    pool when given, else the process-wide one's).

    Nothing is committed implicitly: commit or roll back yourself; an uncommitted transaction
    is rolled back when the connection goes back to the pool.
    """
    pooled = (engine or get_engine(url)).raw_connection()
    try:
        assert pooled.driver_connection is not None  # a checked-out connection has one
        yield pooled.driver_connection
    finally:
        pooled.close()


def one_value(cur: psycopg.Cursor) -> Any:
    """The first column of the one row a statement returned (``count``, ``EXISTS``,
    ``RETURNING id``)."""
    row = cur.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row[0]


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


# --- binary COPY, encoded column-wise -----------------------------------------------------------

COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
"""Header of a binary COPY stream (signature, no flags, no extension)."""

_FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float4": ">f4", "float8": ">f8",
          "bool": ">u1"}  # fmt: skip
_ARROW_FIXED = {"int2": pa.int64(), "int4": pa.int64(), "int8": pa.int64(),
                "float4": pa.float64(), "float8": pa.float64(), "bool": pa.bool_()}  # fmt: skip
_TEXT = frozenset({"text", "varchar", "bpchar"})
_BYTES = frozenset({"geometry", "bytea"})
PG_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 UTC in Unix microseconds


def column_types(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> list[str]:
    """PostgreSQL type names (``pg_type.typname``) of ``columns`` of ``table``."""
    rows = conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (table,),
    ).fetchall()
    types: dict[str, str] = dict(rows)
    return [types[c] for c in columns]


def binary_supported(types: Sequence[str]) -> bool:
    """True when :func:`encode_binary` can encode every one of these column types."""
    return all(t in _FIXED or t in _TEXT or t in _BYTES or t == "timestamptz" for t in types)


def point_wkb(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """2D points as little-endian WKB (21 bytes each, no SRID: a ``geometry(…, 4326)`` column
    gives them its SRID), built from the coordinates without creating geometries."""
    out = np.empty(len(x), dtype=[("order", "u1"), ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])
    out["order"], out["type"], out["x"], out["y"] = 1, 1, x, y
    return out.view("V21")


def encode_binary(types: Sequence[str], columns: Sequence, n: int) -> pa.Buffer:
    """``n`` rows in PostgreSQL's binary COPY format (without header and trailer).

    ``columns`` holds each column's values (in ``types`` order): a list with ``None`` for
    NULL, a numeric numpy array, or a fixed-width ``void`` array of pre-encoded values
    (:func:`point_wkb`). Text columns take str, geometry/bytea columns (E)WKB bytes,
    timestamptz ISO 8601 strings or datetimes. The rows are joined by Arrow in C++, which
    costs a fraction of formatting them one by one.
    """
    pieces: list = [pa.scalar(struct.pack(">h", len(types)), pa.large_binary())]
    for typ, values in zip(types, columns, strict=True):
        lengths, data = _encode_column(typ, values, n)
        prefix = _fixed_binary(lengths.astype(">i4"), 4, None)
        pieces += [prefix.cast(pa.large_binary()), data.cast(pa.large_binary())]
    joined = pc.binary_join_element_wise(
        *pieces, pa.scalar(b"", pa.large_binary()), null_handling="replace", null_replacement=b""
    )
    offsets = np.frombuffer(joined.buffers()[1], np.int64)[joined.offset : joined.offset + n + 1]
    return joined.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _fixed_binary(values: np.ndarray, width: int, valid: pa.Buffer | None) -> pa.Array:
    """A FixedSizeBinary Arrow array over the bytes of ``values`` (nulls where not ``valid``)."""
    buf = pa.py_buffer(np.ascontiguousarray(values))
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), len(values), [valid, buf])


def _encode_column(typ: str, values, n: int) -> tuple[np.ndarray, pa.Array]:
    """(length of each value or -1 for NULL, Arrow array of the encoded values)."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "V":
        width = values.dtype.itemsize
        return np.full(n, width), _fixed_binary(values, width, None)
    if typ in _FIXED:
        return _encode_fixed(typ, values, n)
    if typ == "timestamptz":
        return _encode_fixed("int8", _timestamps(values), n)
    arrow_type = pa.large_string() if typ in _TEXT else pa.large_binary()
    try:
        arr = pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        convert = str if typ in _TEXT else bytes
        arr = pa.array([None if v is None else convert(v) for v in values], arrow_type)
    lengths = pc.binary_length(arr).fill_null(-1).to_numpy()
    return lengths, arr


def _encode_fixed(typ: str, values, n: int) -> tuple[np.ndarray, pa.Array]:
    dtype = np.dtype(_FIXED[typ])
    if isinstance(values, np.ndarray) and values.dtype != object:
        raw, null = values, None
    else:
        arr = _arrow_numbers(values, _ARROW_FIXED[typ])
        null = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
        raw = arr.fill_null(typ != "bool" and 0).to_numpy(zero_copy_only=False)
    if dtype.kind == "i" and len(raw):
        info = np.iinfo(dtype)
        if raw.min() < info.min or raw.max() > info.max:
            raise ValueError(f"value out of range for a {typ} column: {raw.min()}…{raw.max()}")
    encoded = raw.astype(dtype)
    lengths = np.full(n, dtype.itemsize)
    valid = None
    if null is not None:
        lengths[null] = -1
        valid = pa.array(~null).buffers()[1]
    return lengths, _fixed_binary(encoded, dtype.itemsize, valid)


def _arrow_numbers(values, arrow_type: pa.DataType) -> pa.Array:
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        cast = bool if arrow_type == pa.bool_() else (int if pa.types.is_integer(arrow_type)
                                                      else float)  # fmt: skip
        return pa.array([None if v is None else cast(v) for v in values], arrow_type)


def _timestamps(values) -> np.ndarray:
    """Microseconds since 2000-01-01 UTC (PostgreSQL's binary timestamptz), nulls as a masked
    object list for :func:`_encode_fixed`."""
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    micros = stamps.dt.as_unit("us").astype("int64").to_numpy() - PG_EPOCH_US
    missing = stamps.isna().to_numpy()
    if not missing.any():
        return micros
    out = micros.astype(object)
    out[missing] = None
    return out
