"""The ``residents`` provider: counts only, on fixed units, small groups suppressed.

Residents are never returned one by one. The units are fixed (docs/privacy.md): a building
counts all its active residents (in the viewer's scope) whatever the bbox or area cuts; an H3
cell is the sum of its *shown* leaves — buildings placed by the building's own cells, and the
residents without a building per (r7, r9) cell pair — so no cell minus its shown buildings
leaves a suppressed one. Units under the layer's ``min_count`` are left out; with
``care=<tag>`` a unit also gets the number and share with that tag, withheld (``null``) when
1..min_count-1 and counted into no cell. The counts come from the materialized
``resident_stats`` (one row per building, area and H3 r7/r9 cell; see migration 0004),
refreshed by the writers of residents — not from the resident table per request. Cells for an
unscoped viewer come from ``resident_cell`` (:mod:`layers.providers.resident_cells`), a scoped
viewer's from the rows in its scope (:mod:`layers.providers.resident_scoped`), both with the
answer of :func:`residents_h3_sql`, which a stale ``resident_cell`` falls back to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import h3

from analytics.levels import levels
from geodata.accounts.viewer import Viewer
from geodata.cells import ASCII_JSON, JSON, cell_sql, hexagon_text
from geodata.conditions import Conditions
from geodata.engine import Execute
from geodata.spatial_sql import ENVELOPE, area_clause, scope_clause
from layers.base import Layer
from layers.geojson import building_feature, count_members, finish
from layers.providers import resident_cells
from layers.providers.base import Context
from layers.providers.h3_counts import IN_BBOX
from layers.providers.resident_scoped import scoped_sql
from layers.providers.resident_tags import shown_tagged_sql, tagged_sql
from layers.query import LayerQuery
from layers.sql import h3_resolution, precision, tolerance

LEAF_KEYS = """keys AS (
    SELECT DISTINCT t.building_id AS b,
           CASE WHEN t.building_id = 0 THEN t.h3_r7 END AS r7,
           CASE WHEN t.building_id = 0 THEN t.h3_r9 END AS r9
    FROM resident_stats AS t, wide WHERE t.geom && wide.g
)"""
"""The leaves near the view: buildings, and residents without one per (r7, r9) cell pair."""


def residents_h3_sql(listed: str, scope: str, resolution: int, care: str | None) -> str:
    """Cells at ``resolution`` as sums of their shown leaves (whole buildings, placed by the
    building's own cells): a cell is listed when one of its leaves has a row in the view
    (``listed``), and its value never depends on the bbox, the area or the filters."""
    return f"""WITH {ENVELOPE}, wide AS (SELECT ST_Expand(env.g, :margin) AS g FROM env),
{LEAF_KEYS},
leaves AS (
    SELECT k.b, k.r7, k.r9, sum(t.n)::bigint AS n, {tagged_sql(care)} AS k,
           bool_or({listed}) AS listed
    FROM keys AS k JOIN resident_stats AS t ON t.building_id = k.b
         AND (k.b <> 0 OR (t.h3_r7 = k.r7 AND t.h3_r9 = k.r9)), env
    WHERE {scope}
    GROUP BY 1, 2, 3 HAVING sum(t.n) >= :min_count
),
placed AS (
    SELECT coalesce(b.h3_r7, l.r7) AS h3_r7, coalesce(b.h3_r9, l.r9) AS h3_r9, l.n, l.k, l.listed
    FROM leaves AS l LEFT JOIN building AS b ON b.id = l.b AND l.b <> 0
)
SELECT {cell_sql(resolution, "p")} AS cell, sum(p.n)::bigint AS n, {shown_tagged_sql(care)} AS k
FROM placed AS p WHERE p.h3_r7 IS NOT NULL AND p.h3_r9 IS NOT NULL
GROUP BY 1 HAVING bool_or(p.listed) ORDER BY n DESC, cell LIMIT :fetch"""


def residents_building_sql(listed: str, scope: str, care: str | None) -> str:
    """Whole buildings with a row in the view (``listed``): every active resident of the
    building in the viewer's scope counts, wherever the bbox or area cuts it."""
    return f"""WITH {ENVELOPE},
keys AS (
    SELECT DISTINCT t.building_id AS b FROM resident_stats AS t, env
    WHERE t.geom && env.g AND t.building_id <> 0 AND {listed}
),
counts AS (
    SELECT t.building_id AS b, sum(t.n)::bigint AS n, {tagged_sql(care)} AS k
    FROM keys JOIN resident_stats AS t ON t.building_id = keys.b WHERE {scope}
    GROUP BY 1 HAVING sum(t.n) >= :min_count ORDER BY n DESC, b LIMIT :fetch
)
SELECT c.b, c.n, c.k, ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :tol), :digits)::text
FROM counts c JOIN building b ON b.id = c.b ORDER BY c.n DESC, c.b"""


def care_properties(n: int, k: int | None, min_count: int) -> dict[str, object]:
    """``tagged`` and ``share`` of a group, withheld when 1..min_count-1 people have the tag."""
    if k is None:
        return {}
    if 0 < k < min_count:
        return {"tagged": None, "share": None, "suppressed": True}
    return {"tagged": k, "share": round(k / n, 4)}


def care_share(props: Mapping[str, object]) -> float:
    """The ``share`` of :func:`care_properties`, 0 when absent or withheld."""
    share = props.get("share") or 0
    assert isinstance(share, int | float), "care_properties' share is a float or None"
    return share


def cell_margin(resolution: int) -> float:
    """Degrees around the view within which every leaf of a cell meeting it lies: four mean
    edge lengths (a cell is two across; derived parents stick out a little), at least 2 km."""
    km = max(4 * h3.api.basic_int.average_hexagon_edge_length(resolution, "km"), 2.0)
    return km / KM_PER_DEGREE


KM_PER_DEGREE = 80.0
"""Fewer kilometres than a degree of longitude anywhere south of 44°: margins err large."""


def unit_clauses(query: LayerQuery, viewer: Viewer) -> tuple[Conditions, Conditions]:
    """``(listed, scope)``: which units the request lists (a row in the bbox and the selected
    area) and which rows the viewer counts (their fixed scope). Only the second decides a
    unit's value, so the same unit has the same count in every answer to the same viewer."""
    listed, scope = Conditions(), Conditions()
    listed.add(IN_BBOX, **query.bbox.params())
    if query.area_id is not None:
        listed.add(area_clause("t.loc"), area=query.area_id)
    if viewer.area_ids is not None:
        scope.add(scope_clause("t.loc", "t.geom"), scope=list(viewer.area_ids))
    return listed, scope


def resident_groups(
    execute: Execute, layer: Layer, query: LayerQuery, viewer: Viewer, by_building: bool
) -> tuple[list, int | None]:
    """Rows ``(key, n, k[, geometry])`` of resident units (buildings or cells) with at least
    ``min_count`` people, and the H3 resolution (None by building)."""
    care = query.option("care", "") or None
    # resident_stats holds active residents only, one row per (building, area, H3 r9 cell)
    listed, scope = unit_clauses(query, viewer)
    params = listed.params | scope.params
    min_count = layer.min_count or 1
    params |= {"fetch": query.limit + 1, "min_count": min_count}
    if care:
        params["care"] = care
    if by_building:
        params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
        return execute(residents_building_sql(listed.sql, scope.sql, care), params), None
    resolution = h3_resolution(query.zoom)
    params["margin"] = cell_margin(resolution)
    if resident_cells.applies(viewer, min_count):
        area = listed.sql if query.area_id is not None else None
        fast = execute(
            resident_cells.rollup_sql(resolution, care, area), params | {"eps": resident_cells.EPS}
        )
        if not resident_cells.is_stale(fast):
            return fast, resolution
    if viewer.area_ids is not None:  # from the rows in the scope
        return execute(scoped_sql(listed.sql, scope.sql, resolution, care), params), resolution
    sql = residents_h3_sql(listed.sql, scope.sql, resolution, care)
    return execute(sql, params), resolution


def _feature(row: Sequence, members: str, by_building: bool) -> str:
    """The feature text of a resident group row ``(key, n, k[, geometry])``."""
    return (
        building_feature(row[0], row[3], members) if by_building else hexagon_text(row[0], members)
    )


def provide(ctx: Context) -> None:
    """Resident counts per H3 cell (zoomed out) or per building (zoomed in)."""
    layer, query = ctx.layer, ctx.query
    by_building = not layer.aggregated_at(query.zoom)
    rows, resolution = resident_groups(ctx.execute, layer, query, ctx.viewer, by_building)
    shown = rows[: query.limit]
    care = query.option("care", "") or None
    metric = "share" if care else "count"
    min_count = layer.min_count or 1
    features = []
    if care:
        values = [care_share(care_properties(r[1], r[2], min_count)) for r in shown]
        for row, value, level in zip(shown, values, levels(values, sqrt=False), strict=True):
            props = {"count": row[1], **care_properties(row[1], row[2], min_count)}
            props |= {"value": value, "level": level}
            members = JSON(props)[1:-1] if by_building else ASCII_JSON(props)[1:-1]
            features.append(_feature(row, members, by_building))
    else:
        values = [r[1] for r in shown]
        for row, level in zip(shown, levels(values, sqrt=True), strict=True):
            features.append(_feature(row, count_members(row[1], level), by_building))
    how = {"by": "building"} if by_building else {"by": "h3", "h3_resolution": resolution}
    finish(
        ctx.answer,
        features,
        len(rows) > query.limit,
        **how,
        property=metric,
        min_count=layer.min_count,
        care=care,
    )
