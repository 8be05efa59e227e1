"""Resident counts per H3 cell from ``resident_cell`` (migration 0029), with the raw SQL's answer
(:func:`layers.providers.residents.residents_h3_sql`) exactly.

The raw SQL lists a cell when one of its shown leaves (a building, or the residents without one
per (r7, r9) cell pair, with at least ``min_count`` people) has a row in the bbox, and sums the
shown leaves that have a row in the view widened by the layer's margin. ``resident_cell`` holds,
per placed cell pair, those leaves' sum, their shown tagged counts and the extent of their rows,
so each cell pair is one of:

* inside the widened view (every row of its leaves is, ~10 m to spare): all of its sum counts,
  and it lists its cell when its rows are all inside the bbox (or counts without listing when
  they are all outside it);
* outside the widened view: nothing counts;
* on an edge of either: its leaves are summed from ``resident_stats`` as the raw SQL does.

Only for a viewer without an area scope (a scope changes every leaf's sum) and with the layer's
``min_count`` the view was built for. A selected area changes only which cells are listed: those
of the shown leaves with a row in the bbox and the area, found from ``resident_stats``. While a
building changed since the last refresh (``resident_cell_stale``), the statement answers one
marker row and the caller runs the raw SQL.
"""

from __future__ import annotations

from geodata.accounts.viewer import Viewer
from geodata.cells import cell_sql
from geodata.spatial_sql import ENVELOPE
from layers.providers.resident_tags import tagged_sql

STORE_MIN_COUNT = 5
"""The ``min_count`` migration 0029 built ``resident_cell`` for."""
EPS = 1e-4
"""Degrees (~10 m) around a cell pair's row extent before comparing it with the view: covers
PostGIS's float4 boxes (under 1e-5° here) many times over."""
STALE = -1
"""The cell of the marker row answered while ``resident_cell`` is stale."""


def applies(viewer: Viewer, min_count: int) -> bool:
    """Whether the rollup gives the raw SQL's answer to this viewer."""
    return viewer.area_ids is None and min_count == STORE_MIN_COUNT


def _place(x0: str, y0: str, x1: str, y1: str) -> str:
    """1: the pair's rows are all inside the box ``x0..y1``; -1: none meets it; 0: unsure."""
    return f"""CASE
        WHEN c.x0 - :eps >= {x0} AND c.y0 - :eps >= {y0}
             AND c.x1 + :eps <= {x1} AND c.y1 + :eps <= {y1} THEN 1
        WHEN c.x1 + :eps < {x0} OR c.x0 - :eps > {x1}
             OR c.y1 + :eps < {y0} OR c.y0 - :eps > {y1} THEN -1
        ELSE 0 END"""


LEAF_KEY = """t.building_id AS b,
           CASE WHEN t.building_id = 0 THEN t.h3_r7 ELSE 0 END AS r7,
           CASE WHEN t.building_id = 0 THEN t.h3_r9 ELSE 0 END AS r9"""
"""A row's leaf: its building, or (without one) its cell pair."""


def listed_cells(resolution: int, listed: str) -> str:
    """CTEs ``hit`` (leaves with a row meeting ``listed``: the bbox and the selected area) and
    ``lcells`` (the cells at ``resolution`` of those of them that are shown). A row in the area
    has its box in the area's (``resident_stats`` keeps ``geom = loc``): the GiST index finds it."""
    return f"""chosen AS (SELECT a.geom FROM area AS a WHERE a.id = :area),
hit AS (
    SELECT DISTINCT {LEAF_KEY} FROM resident_stats AS t, env, chosen
    WHERE t.geom && chosen.geom AND {listed}
),
shown AS (
    SELECT h.b, h.r7, h.r9 FROM hit AS h JOIN resident_stats AS t ON t.building_id = h.b
         AND (h.b <> 0 OR (t.h3_r7 = h.r7 AND t.h3_r9 = h.r9))
    GROUP BY 1, 2, 3 HAVING sum(t.n) >= :min_count
),
lcells AS (
    SELECT DISTINCT {cell_sql(resolution, "p")} AS cell FROM (
        SELECT CASE WHEN l.b = 0 THEN l.r7 ELSE bu.h3_r7 END AS h3_r7,
               CASE WHEN l.b = 0 THEN l.r9 ELSE bu.h3_r9 END AS h3_r9
        FROM shown AS l LEFT JOIN building AS bu ON bu.id = l.b AND l.b <> 0
    ) AS p WHERE p.h3_r7 IS NOT NULL AND p.h3_r9 IS NOT NULL
),"""


def rollup_sql(resolution: int, care: str | None, listed: str | None = None) -> str:
    """Cells at ``resolution`` as :func:`residents_h3_sql` gives them, from ``resident_cell``
    plus the edge pairs' leaves from ``resident_stats`` (a marker row when stale). With a
    selected area, ``listed`` is the raw SQL's listing condition on ``t`` and the cells listed
    are those of :func:`listed_cells` (the values do not depend on it)."""
    env_place = _place(":minx", ":miny", ":maxx", ":maxy")
    wide_place = _place(":minx - :margin", ":miny - :margin", ":maxx + :margin", ":maxy + :margin")
    tagged = "coalesce((c.care ->> :care)::bigint, 0)" if care else "NULL::bigint"
    leaf_tagged = tagged_sql(care)
    shown_tagged = "CASE WHEN l.k >= :min_count THEN l.k ELSE 0 END" if care else "NULL::bigint"
    having = "bool_or(p.listed)"
    if listed:
        having = f"{cell_sql(resolution, 'p')} IN (SELECT cell FROM lcells)"
    return f"""WITH {ENVELOPE}, wide AS (SELECT ST_Expand(env.g, :margin) AS g FROM env),
fresh AS (SELECT NOT EXISTS (SELECT 1 FROM resident_cell_stale) AS ok),
{listed_cells(resolution, listed) if listed else ""}
g AS (
    SELECT c.h3_r7, c.h3_r9, c.n, {tagged} AS k, {env_place} AS e, {wide_place} AS w
    FROM resident_cell AS c, wide, fresh
    WHERE fresh.ok AND c.geom && ST_Expand(wide.g, 2 * :eps)
),
edge AS (SELECT g.h3_r7, g.h3_r9 FROM g WHERE g.e = 0 OR g.w = 0),
keys AS (
    SELECT bu.id AS b, 0::bigint AS r7, 0::bigint AS r9, edge.h3_r7 AS p7, edge.h3_r9 AS p9
    FROM edge JOIN building AS bu ON bu.h3_r9 = edge.h3_r9 AND bu.h3_r7 = edge.h3_r7
    UNION ALL
    SELECT 0, edge.h3_r7, edge.h3_r9, edge.h3_r7, edge.h3_r9 FROM edge
),
leaves AS (
    SELECT k.p7 AS h3_r7, k.p9 AS h3_r9, sum(t.n)::bigint AS n, {leaf_tagged} AS k,
           bool_or(t.geom && env.g) AS listed
    FROM keys AS k JOIN resident_stats AS t ON t.building_id = k.b
         AND (k.b <> 0 OR (t.h3_r7 = k.r7 AND t.h3_r9 = k.r9)), env, wide
    GROUP BY k.b, k.r7, k.r9, k.p7, k.p9
    HAVING sum(t.n) >= :min_count AND bool_or(t.geom && wide.g)
),
parts AS (
    SELECT g.h3_r7, g.h3_r9, g.n, g.k, g.e = 1 AS listed FROM g WHERE g.e <> 0 AND g.w = 1
    UNION ALL
    SELECT l.h3_r7, l.h3_r9, l.n, {shown_tagged}, l.listed FROM leaves AS l
)
(SELECT {cell_sql(resolution, "p")} AS cell, sum(p.n)::bigint AS n, sum(p.k)::bigint AS k
 FROM parts AS p GROUP BY 1 HAVING {having} ORDER BY n DESC, cell LIMIT :fetch)
UNION ALL
SELECT {STALE}::bigint, 0::bigint, NULL::bigint FROM fresh WHERE NOT fresh.ok"""


def is_stale(rows: list) -> bool:
    """Whether :func:`rollup_sql` answered the marker row (``resident_cell`` is stale)."""
    return len(rows) == 1 and rows[0][0] == STALE
