"""Set-based writes from the stage into the store.

New keys: ``INSERT … ON CONFLICT (source, source_id) DO UPDATE`` (a re-import updates), with
the area assigned by one spatial join (the per-row trigger is off for the transaction).
Fused keys (``link``/``merge``): the entity keeps its values and gains the ones it lacked.
"""

from __future__ import annotations

import json

import psycopg
from psycopg import sql

from geodata.ingest.report import ImportReport
from geodata.ingest.schema import LayerSchema
from geodata.ingest.stage import STAGE

IDENTITY_FIELDS = ("name", "phone", "id_hash")
AREA_JOIN = (
    "LEFT JOIN LATERAL (SELECT a.id FROM area a WHERE a.geom && s.loc "
    "AND ST_Covers(a.geom, s.loc) {cond} ORDER BY a.depth DESC, a.id LIMIT 1) p ON true"
)


def table_fields(schema: LayerSchema, fields: list[str]) -> list[str]:
    """Stage fields stored in the feature table itself."""
    if schema.name == "residents":
        return [f for f in fields if f not in IDENTITY_FIELDS]
    return list(fields)


def _ids(names: list[str]) -> list[sql.Identifier]:
    return [sql.Identifier(n) for n in names]


def update_fused(conn: psycopg.Connection, schema: LayerSchema, fields: list[str]) -> dict:
    """Entities matched by link or merge gain the values they lack; counts per action."""
    cols = table_fields(schema, fields)
    sets = [sql.SQL("{c} = COALESCE(t.{c}, s.{c})").format(c=c) for c in _ids(cols)]
    sets.append(sql.SQL("updated_at = now()"))
    conn.execute(
        sql.SQL("UPDATE {t} t SET {sets} FROM {s} s WHERE s.target_id = t.id").format(
            t=sql.Identifier(schema.table),
            sets=sql.SQL(", ").join(sets),
            s=sql.Identifier(STAGE),
        )
    )
    rows = conn.execute(
        sql.SQL("SELECT action, count(*) FROM {} WHERE target_id IS NOT NULL GROUP BY 1").format(
            sql.Identifier(STAGE)
        )
    ).fetchall()
    return dict(rows)


def _insert_statement(schema: LayerSchema, fields: list[str], depth: int | None) -> sql.Composed:
    cols = table_fields(schema, fields)
    extra = ["parent_id"] if schema.name == "areas" else []
    target = ["source", "source_id", "geom", "loc", "h3_r7", "h3_r9", "area_id", *extra, *cols]
    select = [
        sql.SQL("%(source)s"), *(sql.SQL("s.{}").format(c) for c in _ids(target[1:6])),
        sql.SQL("p.id"), *(sql.SQL("p.id") for _ in extra),
        *(sql.SQL("s.{}").format(c) for c in _ids(cols)),
    ]  # fmt: skip
    updates = [sql.SQL("{c} = EXCLUDED.{c}").format(c=c) for c in _ids(target[2:])] + [
        sql.SQL("updated_at = now()")
    ]
    cond = "AND a.depth < s.depth" if schema.name == "areas" else ""
    where = sql.SQL("s.target_id IS NULL")
    if depth is not None:
        where = sql.SQL("s.target_id IS NULL AND s.depth = {}").format(sql.Literal(depth))
    return sql.SQL(
        "WITH ins AS (INSERT INTO {t} ({target}) SELECT {select} FROM {s} s {join} WHERE {where} "
        "ON CONFLICT (source, source_id) DO UPDATE SET {updates} RETURNING (xmax = 0) AS fresh) "
        "SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM ins"
    ).format(
        t=sql.Identifier(schema.table), target=sql.SQL(", ").join(_ids(target)),
        select=sql.SQL(", ").join(select), s=sql.Identifier(STAGE),
        join=sql.SQL(AREA_JOIN.format(cond=cond)), where=where,
        updates=sql.SQL(", ").join(updates),
    )  # fmt: skip


def insert_or_update(
    conn: psycopg.Connection, schema: LayerSchema, fields: list[str], source: str
) -> tuple[int, int]:
    """Rows without a fused target: insert, or update by their own provenance. Areas go level
    by level so that each finds its parent among those just written."""
    depths: list[int | None] = [None]
    if schema.name == "areas":
        depths = [
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT DISTINCT depth FROM {} ORDER BY 1").format(sql.Identifier(STAGE))
            )
        ]
    inserted = updated = 0
    for depth in depths:
        fresh, old = conn.execute(
            _insert_statement(schema, fields, depth), {"source": source}
        ).fetchone()
        inserted, updated = inserted + fresh, updated + old
    return inserted, updated


def write_links(conn: psycopg.Connection, schema: LayerSchema, source: str) -> int:
    """A ``source_link`` row for every key merged into another source's entity."""
    cur = conn.execute(
        sql.SQL(
            "INSERT INTO source_link (entity_table, entity_id, source, source_id, matched_by) "
            "SELECT %(table)s, s.target_id, %(source)s, s.source_id, s.matched_by FROM {} s "
            "WHERE s.action = 'merge' ON CONFLICT (entity_table, source, source_id) DO UPDATE "
            "SET entity_id = EXCLUDED.entity_id, matched_by = EXCLUDED.matched_by"
        ).format(sql.Identifier(STAGE)),
        {"table": schema.table, "source": source},
    )
    return cur.rowcount


def write_identities(conn: psycopg.Connection, fields: list[str], source: str) -> None:
    """Residents' names, ID hashes and phones into ``resident_identity``: overwritten for the
    entity's own source, gaps filled for fused sources."""
    phone = sql.SQL("s.phone") if "phone" in fields else sql.SQL("NULL")
    base = sql.SQL(
        "INSERT INTO resident_identity (resident_id, name, id_hash, phone) "
        "SELECT coalesce(s.target_id, r.id), s.name, s.id_hash, {phone} FROM {s} s "
        "LEFT JOIN resident r ON s.target_id IS NULL AND r.source = %(source)s "
        "AND r.source_id = s.source_id WHERE {cond} ON CONFLICT (resident_id) DO UPDATE SET "
    )
    own = sql.SQL(
        "name = EXCLUDED.name, id_hash = coalesce(EXCLUDED.id_hash, resident_identity.id_hash), "
        "phone = coalesce(EXCLUDED.phone, resident_identity.phone)"
    )
    fused = sql.SQL(
        "id_hash = coalesce(resident_identity.id_hash, EXCLUDED.id_hash), "
        "phone = coalesce(resident_identity.phone, EXCLUDED.phone)"
    )
    for cond, sets in (("s.target_id IS NULL", own), ("s.target_id IS NOT NULL", fused)):
        stmt = base.format(phone=phone, s=sql.Identifier(STAGE), cond=sql.SQL(cond)) + sets
        conn.execute(stmt, {"source": source})


def record_run(conn: psycopg.Connection, report: ImportReport, actor: str | None) -> int:
    """The ``import_run`` row of this import."""
    return conn.execute(
        "INSERT INTO import_run (layer, source, file_name, crs, counts, actor) "
        "VALUES (%s, %s, %s, %s, %s::jsonb, %s) RETURNING id",
        (report.layer, report.source, report.file_name[:256], report.crs[:64],
         json.dumps(report.counts), actor),
    ).fetchone()[0]  # fmt: skip
