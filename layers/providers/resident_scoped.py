"""Resident counts per H3 cell for a viewer with an area scope, with the raw SQL's answer
(:func:`layers.providers.residents.residents_h3_sql`) exactly, from the rows in the scope.

The raw SQL takes every leaf (a building, or the residents without one per (r7, r9) cell pair)
with a row in the view widened by the layer's margin, then sums each leaf's rows *in the scope*:
a leaf without a row in the scope has no sum. So the same leaves are the ones with a row in the
scope and a row (any) in the widened view. A row is in the scope when its point lies in one of
the viewer's areas or its geometry meets the area's representative point: either way its box
meets the extent of those areas and points (``resident_stats`` keeps ``geom = loc``, migration
0004), which the GiST index finds — a grid worker's few thousand rows instead of the city's.
"""

from __future__ import annotations

from geodata.cells import cell_sql
from geodata.spatial_sql import ENVELOPE
from layers.providers.resident_tags import shown_tagged_sql, tagged_sql


def scoped_sql(listed: str, scope: str, resolution: int, care: str | None) -> str:
    """Cells at ``resolution`` as :func:`residents_h3_sql` gives them to a scoped viewer
    (``scope`` must be the viewer's scope clause on ``t``: bound parameter ``scope``)."""
    tagged, shown = tagged_sql(care), shown_tagged_sql(care)
    return f"""WITH {ENVELOPE}, wide AS (SELECT ST_Expand(env.g, :margin) AS g FROM env),
reach AS (
    SELECT ST_Extent(x.g)::geometry AS g FROM (
        SELECT s.geom AS g FROM area AS s WHERE s.id = ANY(:scope)
        UNION ALL
        SELECT s.loc FROM area AS s WHERE s.id = ANY(:scope)
    ) AS x
),
rows AS (
    SELECT t.building_id AS b,
           CASE WHEN t.building_id = 0 THEN t.h3_r7 END AS r7,
           CASE WHEN t.building_id = 0 THEN t.h3_r9 END AS r9,
           t.n, t.care, t.geom, t.loc
    FROM resident_stats AS t, reach WHERE t.geom && reach.g AND {scope}
),
leaves AS (
    SELECT t.b, t.r7, t.r9, sum(t.n)::bigint AS n, {tagged} AS k, bool_or({listed}) AS listed
    FROM rows AS t, env GROUP BY 1, 2, 3 HAVING sum(t.n) >= :min_count
),
near AS (
    SELECT l.* FROM leaves AS l, wide WHERE EXISTS (
        SELECT 1 FROM resident_stats AS u
        WHERE u.building_id = l.b AND (l.b <> 0 OR (u.h3_r7 = l.r7 AND u.h3_r9 = l.r9))
          AND u.geom && wide.g)
),
placed AS (
    SELECT coalesce(b.h3_r7, l.r7) AS h3_r7, coalesce(b.h3_r9, l.r9) AS h3_r9, l.n, l.k, l.listed
    FROM near AS l LEFT JOIN building AS b ON b.id = l.b AND l.b <> 0
)
SELECT {cell_sql(resolution, "p")} AS cell, sum(p.n)::bigint AS n, {shown} AS k
FROM placed AS p WHERE p.h3_r7 IS NOT NULL AND p.h3_r9 IS NOT NULL
GROUP BY 1 HAVING bool_or(p.listed) ORDER BY n DESC, cell LIMIT :fetch"""
