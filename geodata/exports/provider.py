"""The table provider: features of export layers and OGC collections, for a viewer.

``batches`` streams rows as Arrow record batches (WKB geometry, typed attributes) from a
server-side cursor for the file writers; ``page``/``get`` return GeoJSON text built in SQL for
the OGC API; ``count`` and ``extent`` describe a collection. Every read goes through the
field allow-list of :mod:`geodata.exports.fields` and the viewer's scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

import psycopg
import pyarrow as pa
from sqlalchemy import Engine

from geodata.accounts.viewer import Viewer
from geodata.bulk import raw_connection
from geodata.errors import LayerForbiddenError
from geodata.exports import query
from geodata.exports.fields import Field, allowed_fields
from geodata.exports.query import Filters
from geodata.exports.sources import Source
from geodata.output_crs import CRS84_OUT, OutputCrs

ARROW_TYPES: dict[str, pa.DataType] = {
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float": pa.float64(),
    "text": pa.string(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
GEOMETRY_FIELD = pa.field(
    "geometry", pa.binary(), metadata={"ARROW:extension:name": "geoarrow.wkb"}
)
BATCH_ROWS = 50_000


@dataclass
class Rows:
    """Arrow batches of a query being read, and how many rows have gone by."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    count: int = 0

    def reader(self) -> pa.RecordBatchReader:
        """The batches as a reader (for ``pyogrio.write_arrow``), counting rows as they pass."""

        def counted() -> Iterator[pa.RecordBatch]:
            for batch in self.batches:
                self.count += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self.schema, counted())


@dataclass(frozen=True)
class Page:
    """A page of features: numberMatched, numberReturned, the last id, the Features (JSON)."""

    matched: int
    returned: int
    last_id: int | None
    features: str


def _schema(source: Source, fields: tuple[Field, ...], lonlat: bool) -> pa.Schema:
    columns = [GEOMETRY_FIELD, *(pa.field(f.name, ARROW_TYPES[f.kind]) for f in fields)]
    if lonlat:
        columns += [pa.field("lon", pa.float64()), pa.field("lat", pa.float64())]
    if source.geometry_type == "Unknown":
        columns.append(pa.field("_dim", pa.int16()))
    return pa.schema(columns)


def _batches(cursor: psycopg.ServerCursor, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    while rows := cursor.fetchmany(BATCH_ROWS):
        columns = list(zip(*rows, strict=True))
        arrays = [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


class TableProvider:
    """Features of export layers and collections in the store at ``url``."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine
        """The engine whose pool the reads use (heavy work's own); None: the process-wide one."""

    def fields(self, source: Source, viewer: Viewer) -> tuple[Field, ...]:
        """The fields ``viewer`` may take from ``source``; refuses a source it may not see."""
        fields = allowed_fields(source.table, viewer)
        if not fields or viewer.role not in source.roles:
            raise LayerForbiddenError(f"role {viewer.role!r} may not export {source.id!r}")
        return fields

    @contextmanager
    def batches(
        self, source: Source, filters: Filters, viewer: Viewer, *, lonlat: bool = False
    ) -> Iterator[Rows]:
        """Rows of ``source`` as Arrow batches, read from a server-side cursor by id."""
        fields = self.fields(source, viewer)
        lonlat = lonlat and source.is_point
        with raw_connection(self.url, self.engine) as conn:
            try:
                where = query.conditions(conn, source, filters, viewer)
                sql = query.export_sql(source, fields, where.sql, lonlat)
                with conn.cursor(name="onemap_export", binary=True) as cursor:
                    cursor.itersize = BATCH_ROWS
                    cursor.execute(sql, where.params)
                    schema = _schema(source, fields, lonlat)
                    yield Rows(schema, _batches(cursor, schema))
            finally:
                conn.rollback()

    def _one(self, source: Source, filters: Filters, viewer: Viewer, build, extra: dict):
        fields = self.fields(source, viewer)
        with raw_connection(self.url, self.engine) as conn:
            try:
                where = query.conditions(conn, source, filters, viewer)
                sql = build(source, fields, where.sql)
                return conn.execute(sql, where.params | extra).fetchone()
            finally:
                conn.rollback()

    def page(
        self,
        source: Source,
        filters: Filters,
        viewer: Viewer,
        limit: int,
        offset: int,
        crs: OutputCrs = CRS84_OUT,
    ) -> Page:
        """One page of features by id, geometries in ``crs``; ``filters.after`` continues
        after a known id."""
        matched = self.count(source, replace(filters, after=None), viewer)
        build = partial(query.page_sql, crs=crs)
        returned, last_id, features = self._one(
            source, filters, viewer, build, {"limit": limit, "offset": offset}
        )
        return Page(matched, returned, last_id, features)

    def get(
        self, source: Source, feature_id: int, viewer: Viewer, crs: OutputCrs = CRS84_OUT
    ) -> str | None:
        """One Feature as JSON text (geometry in ``crs``), or None when it is not there (or
        not the viewer's)."""

        def build(source: Source, fields: tuple[Field, ...], where: str) -> str:
            return (
                f"SELECT {query.feature_json_sql(fields, crs)}::text "
                f'FROM "{source.table}" AS t WHERE {where} AND t.id = %(fid)s'
            )

        row = self._one(source, Filters(), viewer, build, {"fid": feature_id})
        return row[0] if row else None

    def count(self, source: Source, filters: Filters, viewer: Viewer) -> int:
        """How many features of ``source`` match."""
        row = self._one(source, filters, viewer, lambda s, _f, w: query.count_sql(s, w), {})
        return row[0]

    def extent(self, source: Source, viewer: Viewer) -> list[float] | None:
        """The lon/lat bbox of the features of ``source`` the viewer sees (None if none)."""
        row = self._one(source, Filters(), viewer, lambda s, _f, w: query.extent_sql(s, w), {})
        return None if row[0] is None else [float(v) for v in row]

    def estimated_extent(self, source: Source, viewer: Viewer) -> list[float] | None:
        """PostGIS's estimate of the extent of the whole table of ``source`` (see
        :func:`query.estimated_extent_sql`), ignoring its ``where`` and the viewer's scope: for
        unscoped viewers of unnarrowed sources only. None when there is no estimate."""
        self.fields(source, viewer)
        row = self._read(query.estimated_extent_sql(), {"table": source.table})
        return None if row is None or row[0] is None else [float(v) for v in row]

    def change_counts(self, tables: list[str]) -> dict[str, int]:
        """Rows inserted + updated + deleted so far per table (PostgreSQL's statistics)."""
        with raw_connection(self.url, self.engine) as conn:
            try:
                rows = conn.execute(query.change_counts_sql(), {"tables": tables}).fetchall()
            finally:
                conn.rollback()
        return {name: int(n) for name, n in rows}

    def _read(self, sql: str, params: dict) -> tuple | None:
        with raw_connection(self.url, self.engine) as conn:
            try:
                return conn.execute(sql, params).fetchone()
            finally:
                conn.rollback()
