"""The ``residents`` provider: counts only, small groups suppressed.

Residents are never returned one by one: counts of active residents per H3 cell (zoomed out) or
per building (zoomed in), every group under the layer's ``min_count`` left out, and with
``care=<tag>`` the number and share with that tag, withheld (``null``) when 1..min_count-1. The
counts come from the materialized ``resident_stats`` (one row per building, area and H3 r9 cell;
see migration 0004), refreshed by the writers of residents — not from the resident table per
request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analytics.levels import levels
from geodata.accounts.viewer import Viewer
from geodata.cells import ASCII_JSON, JSON, cell_sql, hexagon_text
from geodata.engine import Execute
from geodata.spatial_sql import ENVELOPE
from layers.base import Layer
from layers.geojson import building_feature, count_members, finish
from layers.providers.base import Context
from layers.providers.h3_counts import IN_BBOX
from layers.query import LayerQuery
from layers.sql import conditions, h3_resolution, precision, tolerance


def _tagged_sql(care: str | None) -> str:
    if care is None:
        return "NULL::bigint"
    return "sum(coalesce((t.care ->> :care)::bigint, 0))::bigint"


def residents_h3_sql(where: str, resolution: int, care: str | None) -> str:
    return f"""WITH {ENVELOPE}
SELECT {cell_sql(resolution)} AS cell, sum(t.n)::bigint AS n, {_tagged_sql(care)} AS k
FROM resident_stats AS t, env WHERE {where}
GROUP BY 1 HAVING sum(t.n) >= :min_count ORDER BY n DESC, cell LIMIT :fetch"""


def residents_building_sql(where: str, care: str | None) -> str:
    return f"""WITH {ENVELOPE},
counts AS (
    SELECT t.building_id AS b, sum(t.n)::bigint AS n, {_tagged_sql(care)} AS k
    FROM resident_stats AS t, env WHERE {where} AND t.building_id <> 0
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


def resident_groups(
    execute: Execute, layer: Layer, query: LayerQuery, viewer: Viewer, by_building: bool
) -> tuple[list, int | None]:
    """Rows ``(key, n, k[, geometry])`` of resident groups with at least ``min_count`` people,
    and the H3 resolution (None by building)."""
    care = query.option("care", "") or None
    # resident_stats holds active residents only, one row per (building, area, H3 r9 cell)
    where = conditions(layer, query, viewer, IN_BBOX)
    params = where.params | {"fetch": query.limit + 1, "min_count": layer.min_count or 1}
    if care:
        params["care"] = care
    if by_building:
        params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
        return execute(residents_building_sql(where.sql, care), params), None
    resolution = h3_resolution(query.zoom)
    return execute(residents_h3_sql(where.sql, resolution, care), params), resolution


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
