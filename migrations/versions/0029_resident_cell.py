"""Resident counts per stored cell pair (``resident_cell``), for the zoomed-out residents map
(issue 15).

The residents layer sums whole leaves (a building, or the residents without one per (r7, r9)
cell pair) from ``resident_stats``, suppresses each leaf under ``min_count`` and places it by the
building's own cells. At 9.4 million residents that took 0.4–0.7 s per zoomed-out request.
``resident_cell`` holds, per placed cell pair, the sum of the *shown* leaves (``n``), the shown
tagged counts per care tag (``care``: a leaf's tag under ``min_count`` adds nothing) and the
extent of those leaves' rows, so a view reads cells instead of summing buildings
(:mod:`layers.providers.resident_cells`).

It is derived from ``resident_stats`` (itself refreshed by the writers of residents), so it is
refreshed with it, in the same transaction (``geodata.store.refresh_resident_stats``): it is
never staler than the raw path. The one live input of the raw path besides ``resident_stats``
is ``building`` (a leaf's placement): statement triggers on ``building`` add a row to
``resident_cell_stale`` when a building is deleted or truncated, changes its cells or id, or is
inserted with the id of a leaf; while that table has a row the readers use the raw SQL. The
refresh clears it under a share lock on ``building``.

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIN_COUNT = 5
"""The suppression threshold the view is built for (``geodata.privacy.MIN_COUNT``; readers
check theirs against ``layers.providers.resident_cells.STORE_MIN_COUNT``)."""

LEAF = """t.building_id AS b,
           CASE WHEN t.building_id = 0 THEN t.h3_r7 ELSE 0 END AS r7,
           CASE WHEN t.building_id = 0 THEN t.h3_r9 ELSE 0 END AS r9"""

RESIDENT_CELL = f"""
CREATE MATERIALIZED VIEW resident_cell AS
WITH leaves AS (
    SELECT {LEAF}, sum(t.n)::bigint AS n,
           min(ST_XMin(t.geom)) AS x0, min(ST_YMin(t.geom)) AS y0,
           max(ST_XMax(t.geom)) AS x1, max(ST_YMax(t.geom)) AS y1
    FROM resident_stats AS t GROUP BY 1, 2, 3 HAVING sum(t.n) >= {MIN_COUNT}
), tagged AS (
    SELECT {LEAF}, c.key AS tag, sum(c.value::bigint)::bigint AS k
    FROM resident_stats AS t, jsonb_each_text(t.care) AS c
    GROUP BY 1, 2, 3, 4 HAVING sum(c.value::bigint) >= {MIN_COUNT}
), placed AS (
    SELECT l.*, CASE WHEN l.b = 0 THEN l.r7 ELSE bu.h3_r7 END AS h3_r7,
           CASE WHEN l.b = 0 THEN l.r9 ELSE bu.h3_r9 END AS h3_r9
    FROM leaves AS l LEFT JOIN building AS bu ON bu.id = l.b AND l.b <> 0
), tags AS (
    SELECT h3_r7, h3_r9, jsonb_object_agg(tag, k) AS care
    FROM (
        SELECT p.h3_r7, p.h3_r9, g.tag, sum(g.k)::bigint AS k
        FROM placed AS p JOIN tagged AS g ON (g.b, g.r7, g.r9) = (p.b, p.r7, p.r9)
        GROUP BY 1, 2, 3
    ) AS per_tag
    GROUP BY 1, 2
)
SELECT p.h3_r7, p.h3_r9, sum(p.n)::bigint AS n, coalesce(min(t.care::text), '{{}}')::jsonb AS care,
       min(p.x0) AS x0, min(p.y0) AS y0, max(p.x1) AS x1, max(p.y1) AS y1,
       ST_MakeEnvelope(min(p.x0), min(p.y0), max(p.x1), max(p.y1), 4326) AS geom
FROM placed AS p LEFT JOIN tags AS t ON (t.h3_r7, t.h3_r9) = (p.h3_r7, p.h3_r9)
WHERE p.h3_r7 IS NOT NULL AND p.h3_r9 IS NOT NULL
GROUP BY p.h3_r7, p.h3_r9
"""

STALE_FUNCTION = """
CREATE FUNCTION onemap_resident_cell_stale() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT EXISTS (SELECT 1 FROM new_rows AS n JOIN resident_stats AS s ON s.building_id = n.id)
    THEN
      RETURN NULL;
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NOT EXISTS (
      SELECT 1 FROM old_rows AS o FULL JOIN new_rows AS n ON n.id = o.id
      WHERE o.id IS NULL OR n.id IS NULL
         OR n.h3_r7 IS DISTINCT FROM o.h3_r7 OR n.h3_r9 IS DISTINCT FROM o.h3_r9)
    THEN
      RETURN NULL;
    END IF;
  END IF;
  INSERT INTO resident_cell_stale (reason) VALUES (lower(TG_OP));
  RETURN NULL;
END
$fn$;
"""


def _triggers() -> list[str]:
    call = "FOR EACH STATEMENT EXECUTE FUNCTION onemap_resident_cell_stale()"
    return [
        "CREATE TRIGGER building_resident_cell_insert AFTER INSERT ON building "
        f"REFERENCING NEW TABLE AS new_rows {call}",
        "CREATE TRIGGER building_resident_cell_update AFTER UPDATE ON building "
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {call}",
        f"CREATE TRIGGER building_resident_cell_delete AFTER DELETE ON building {call}",
        f"CREATE TRIGGER building_resident_cell_truncate AFTER TRUNCATE ON building {call}",
    ]


def upgrade() -> None:
    op.create_table(
        "resident_cell_stale",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("reason", sa.String(16), nullable=False, comment="insert, update, delete, …"),
        sa.PrimaryKeyConstraint("id", name="pk_resident_cell_stale"),
        comment="a row: building changed since resident_cell's refresh (readers use raw SQL)",
    )
    # the back-fill: resident_stats and building as they are now, with building writers held off
    op.execute("LOCK TABLE building IN SHARE MODE")
    op.execute(RESIDENT_CELL)
    op.execute("CREATE UNIQUE INDEX ux_resident_cell_key ON resident_cell (h3_r7, h3_r9)")
    op.execute("CREATE INDEX ix_resident_cell_geom ON resident_cell USING gist (geom)")
    op.execute(STALE_FUNCTION)
    for stmt in _triggers():
        op.execute(stmt)
    op.execute("ANALYZE resident_cell")


def downgrade() -> None:
    for what in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS building_resident_cell_{what} ON building")
    op.execute("DROP FUNCTION IF EXISTS onemap_resident_cell_stale()")
    op.execute("DROP MATERIALIZED VIEW IF EXISTS resident_cell")
    op.drop_table("resident_cell_stale")
