"""Fusion: which existing entity each staged row belongs to, set-based.

0. ``own``: the row's (source, source_id) is stored already (a re-import): it updates.
1. ``link``: the row's (source, source_id) was fused into an entity before (``source_link``).
2. ``merge``: a new key of this source describing a thing another source already gave us —
   buildings whose footprints overlap with IoU ≥ 0.5 (areas on the spheroid, via geography),
   residents with the same hashed ID number, devices with the same serial, organisations with
   the same credit code, areas with the same code.
Rows left without a target are new and inserted.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from geodata.ingest.schema import LayerSchema
from geodata.ingest.stage import STAGE

IOU_MIN = 0.5
KEY_MATCH = {"devices": "serial", "organizations": "credit_code", "areas": "code"}


def own_targets(conn: psycopg.Connection, schema: LayerSchema, source: str) -> int:
    """Rows whose own (source, source_id) is stored: a re-import, they update that row."""
    cur = conn.execute(
        sql.SQL(
            "UPDATE {s} s SET target_id = t.id, action = 'own' FROM {t} t "
            "WHERE t.source = %(source)s AND t.source_id = s.source_id"
        ).format(s=sql.Identifier(STAGE), t=sql.Identifier(schema.table)),
        {"source": source},
    )
    return cur.rowcount


def link_known(conn: psycopg.Connection, schema: LayerSchema, source: str) -> int:
    """Rows whose key was fused into an entity earlier: they update that entity."""
    cur = conn.execute(
        sql.SQL(
            "UPDATE {s} s SET target_id = l.entity_id, action = 'link' FROM source_link l "
            "WHERE s.target_id IS NULL AND l.entity_table = %(table)s "
            "AND l.source = %(source)s AND l.source_id = s.source_id"
        ).format(s=sql.Identifier(STAGE)),
        {"table": schema.table, "source": source},
    )
    return cur.rowcount


def _match_by_key(conn: psycopg.Connection, schema: LayerSchema, source: str) -> int:
    column = KEY_MATCH[schema.name]
    cur = conn.execute(
        sql.SQL(
            "UPDATE {s} s SET target_id = t.id, action = 'merge', matched_by = %(by)s "
            "FROM {t} t WHERE s.target_id IS NULL AND s.{c} IS NOT NULL AND t.{c} = s.{c}"
        ).format(
            s=sql.Identifier(STAGE),
            t=sql.Identifier(schema.table),
            c=sql.Identifier(column),
        ),
        {"by": column, "source": source},
    )
    return cur.rowcount


def _match_by_id_hash(conn: psycopg.Connection, source: str) -> int:
    cur = conn.execute(
        sql.SQL(
            "UPDATE {s} s SET target_id = ri.resident_id, action = 'merge', matched_by = 'id_hash' "
            "FROM resident_identity ri WHERE s.target_id IS NULL AND s.id_hash IS NOT NULL "
            "AND ri.id_hash = s.id_hash"
        ).format(s=sql.Identifier(STAGE)),
        {"source": source},
    )
    return cur.rowcount


FOOTPRINT_MATCH = """
WITH cand AS (
    SELECT s.row_no, b.id,
           ST_Area(ST_CollectionExtract(ST_Intersection(s.geom, b.geom), 3)::geography) AS inter,
           ST_Area(s.geom::geography) AS a1, ST_Area(b.geom::geography) AS a2
    FROM {s} s JOIN building b ON b.geom && s.geom AND ST_Intersects(b.geom, s.geom)
    WHERE s.target_id IS NULL AND b.source <> %(source)s
      AND NOT EXISTS (SELECT 1 FROM source_link l WHERE l.entity_table = 'building'
                      AND l.entity_id = b.id AND l.source = %(source)s)
), best AS (
    SELECT DISTINCT ON (row_no) row_no, id, inter / NULLIF(a1 + a2 - inter, 0) AS iou
    FROM cand WHERE inter / NULLIF(a1 + a2 - inter, 0) >= %(iou)s
    ORDER BY row_no, inter / NULLIF(a1 + a2 - inter, 0) DESC
), one_each AS (
    SELECT DISTINCT ON (id) row_no, id FROM best ORDER BY id, iou DESC
)
UPDATE {s} s SET target_id = m.id, action = 'merge', matched_by = 'footprint_overlap'
FROM one_each m WHERE s.row_no = m.row_no
"""


def _match_by_footprint(conn: psycopg.Connection, source: str) -> int:
    cur = conn.execute(
        sql.SQL(FOOTPRINT_MATCH).format(s=sql.Identifier(STAGE)),
        {"source": source, "iou": IOU_MIN},
    )
    return cur.rowcount


def match_other_sources(
    conn: psycopg.Connection, schema: LayerSchema, source: str, fields: list[str]
) -> int:
    """Mark rows that describe an entity already stored from another source; return how many."""
    if schema.name in KEY_MATCH and KEY_MATCH[schema.name] in fields:
        return _match_by_key(conn, schema, source)
    if schema.name == "residents":
        return _match_by_id_hash(conn, source)
    if schema.name == "buildings":
        return _match_by_footprint(conn, source)
    return 0
