"""Resident counts per building and H3 cell (materialized), for the map's resident layers.

The map never shows residents one by one: it shows counts per H3 cell or building. Counting
millions of resident rows per request is too slow for a viewport API (0.4–0.7 s at 2.7 million
residents), so the counts live in ``resident_stats``: one row per (building, area, H3 cells)
of active residents, with the number of people and the number per care tag. (h3_r7 is part of
the key: a point's r7 cell is not always the parent of its r9 cell — H3 cells do not nest
exactly.) Writers of residents refresh it (``geodata.store.refresh_resident_stats``).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESIDENT_STATS = """
CREATE MATERIALIZED VIEW resident_stats AS
WITH people AS (
    SELECT coalesce(h.building_id, 0) AS building_id, coalesce(t.area_id, 0) AS area_id,
           t.h3_r7, t.h3_r9, t.loc, t.care_tags
    FROM resident t LEFT JOIN house h ON h.id = t.house_id
    WHERE t.status = 'active'
), groups AS (
    SELECT building_id, area_id, h3_r7, h3_r9, count(*) AS n, (array_agg(loc))[1] AS loc
    FROM people GROUP BY building_id, area_id, h3_r7, h3_r9
), tags AS (
    SELECT building_id, area_id, h3_r7, h3_r9, jsonb_object_agg(tag, k) AS care
    FROM (
        SELECT building_id, area_id, h3_r7, h3_r9, tag, count(*) AS k
        FROM people, unnest(care_tags) AS tag
        GROUP BY building_id, area_id, h3_r7, h3_r9, tag
    ) per_tag
    GROUP BY building_id, area_id, h3_r7, h3_r9
)
SELECT g.building_id, g.area_id, g.h3_r7, g.h3_r9, g.n, coalesce(t.care, '{}') AS care,
       g.loc, g.loc AS geom
FROM groups g LEFT JOIN tags t USING (building_id, area_id, h3_r7, h3_r9)
"""


def upgrade() -> None:
    op.execute(RESIDENT_STATS)
    op.execute(
        "CREATE UNIQUE INDEX ux_resident_stats_key "
        "ON resident_stats (building_id, area_id, h3_r7, h3_r9)"
    )
    op.execute("CREATE INDEX ix_resident_stats_geom ON resident_stats USING gist (geom)")
    op.execute("CREATE INDEX ix_resident_stats_area_id ON resident_stats (area_id)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW IF EXISTS resident_stats")
