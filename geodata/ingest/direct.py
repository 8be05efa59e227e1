"""The direct path: a source's first import into a layer is COPYed straight into the table.

When nothing of (layer, source) is stored yet, no key of the source was ever fused into another
entity and no stored entity could be merged with the incoming rows, every valid row is a plain
insert: the stage, its ANALYZE, the fusion joins and the ``INSERT … SELECT`` would only copy
the rows a second time (~3 s of 12 s on 1M points). Validation, loc, H3 cells and areas are the
staged path's; ids and unique keys repeated inside the file are found from 64-bit hashes while
streaming. Should any repeat (or two hashes collide), :class:`Fallback` is raised and the
import runs again on the staged path, which names the rows or numbers hashed ids.
"""

from __future__ import annotations

import numpy as np
import psycopg
from psycopg import sql

from geodata.bulk import one_value
from geodata.ingest.fuse import KEY_MATCH
from geodata.ingest.schema import LayerSchema
from geodata.ingest.stage import UNIQUE_IN_FILE
from geodata.ingest.validate import CleanBatch

LAYERS = ("devices", "organizations", "facilities", "events", "roads", "buildings")
"""Layers whose rows go to their table alone (areas find parents level by level, houses their
building, residents also write ``resident_identity``)."""
SAMPLE = 5000


class Fallback(Exception):
    """The file repeats an id or a unique key: import it on the staged path instead."""


def _exists(conn: psycopg.Connection, query: sql.Composable, params: tuple = ()) -> bool:
    return bool(one_value(conn.execute(sql.SQL("SELECT EXISTS ({})").format(query), params)))


def eligible(
    conn: psycopg.Connection, schema: LayerSchema, source: str, fields: list[str],
    total: int | None,
) -> bool:  # fmt: skip
    """True when every row of this import can only be new (call with the table locked) and
    the load's size is known before it starts: the file states its row count (``total``) or
    the table is empty. (A CSV into a filled table goes staged, where the rows are counted
    before deciding to set the indexes aside, rather than maintaining them row by row through
    a large load.)"""
    if schema.name not in LAYERS:
        return False
    table = sql.Identifier(schema.table)
    if total is None and _exists(conn, sql.SQL("SELECT 1 FROM {}").format(table)):
        return False
    if _exists(conn, sql.SQL("SELECT 1 FROM {} WHERE source = %s").format(table), (source,)):
        return False
    links = sql.SQL("SELECT 1 FROM source_link WHERE entity_table = %s AND source = %s")
    if _exists(conn, links, (schema.table, source)):
        return False
    if schema.name == "buildings":  # footprints may overlap any stored building
        return not _exists(conn, sql.SQL("SELECT 1 FROM {}").format(table))
    key = KEY_MATCH.get(schema.name)
    if key in fields:
        keyed = sql.SQL("SELECT 1 FROM {} WHERE {} IS NOT NULL").format(table, sql.Identifier(key))
        return not _exists(conn, keyed)
    return True


def copy_columns(fields: list[str]) -> list[str]:
    """Columns of the table the direct COPY fills, in :func:`stage.write_batch` order."""
    return ["source", "source_id", "geom", "loc", "h3_r7", "h3_r9", "area_id", *fields]


class Repeats:
    """Hashes of the ids and unique keys written so far, to tell whether any repeats."""

    def __init__(self, schema: LayerSchema, fields: list[str]) -> None:
        key = UNIQUE_IN_FILE.get(schema.name)
        self.key = key if key in fields else None
        self.ids: list[np.ndarray] = []
        self.keys: list[np.ndarray] = []

    def add(self, clean: CleanBatch) -> None:
        ids = clean.columns["source_id"]
        self.ids.append(np.fromiter(map(hash, ids), np.int64, len(ids)))
        if self.key:
            keys = [hash(v) for v in clean.columns[self.key] if v is not None]
            self.keys.append(np.array(keys, dtype=np.int64))

    def found(self) -> bool:
        """True when some id or key hash occurs twice."""
        return any(_repeats(parts) for parts in (self.ids, self.keys))


def _repeats(parts: list[np.ndarray]) -> bool:
    if not parts:
        return False
    values = np.sort(np.concatenate(parts))  # np.unique: ~200x slower here (numpy 2.4)
    return bool((values[1:] == values[:-1]).any())


class LocationSample:
    """Up to :data:`SAMPLE` written locations spread over the file (for the offset-CRS check),
    like :func:`stage.sample_locations` takes them from the stage."""

    def __init__(self, total: int | None) -> None:
        self.step = max(1, (total or 0) // SAMPLE)
        self.parts: list[np.ndarray] = []
        self.size = 0

    def add(self, rows: np.ndarray, lons: np.ndarray, lats: np.ndarray) -> None:
        keep = rows % self.step == 0
        part = np.column_stack([rows[keep], lons[keep], lats[keep]])
        self.parts.append(part)
        self.size += len(part)
        if self.size > 2 * SAMPLE:  # unknown total: thin out
            self.step *= 2
            self.parts = [p[p[:, 0] % self.step == 0] for p in self.parts]
            self.size = sum(map(len, self.parts))

    def points(self) -> np.ndarray:
        """(lon, lat) rows of the sample."""
        if not self.parts:
            return np.empty((0, 2))
        return np.concatenate(self.parts)[:SAMPLE, 1:]
