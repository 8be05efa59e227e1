"""Counts of a feature layer's rows per governance area of the layer's ``aggregate_level``
(the layer zoomed out, ``aggregate_by="area"``): rows map to it through ``area_id``."""

from __future__ import annotations

from analytics.levels import levels
from geodata.spatial_sql import ENVELOPE
from layers.base import Layer
from layers.geojson import area_feature, finish
from layers.providers.base import Context
from layers.providers.h3_counts import IN_BBOX
from layers.sql import conditions, precision, tolerance


def area_counts_sql(layer: Layer, where: str) -> str:
    """Counts per governance area of ``:level`` (rows map to it through ``area_id``)."""
    return f"""WITH RECURSIVE {ENVELOPE},
up AS (
    SELECT a.id, a.id AS top FROM area a WHERE a.level = :level
    UNION ALL SELECT c.id, up.top FROM area c JOIN up ON c.parent_id = up.id
),
counts AS (
    SELECT up.top, count(*) AS n FROM "{layer.source}" AS t JOIN up ON up.id = t.area_id, env
    WHERE {where} GROUP BY up.top ORDER BY n DESC LIMIT :fetch
)
SELECT a.id, a.name, a.name_en, c.n,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tol), :digits)::text
FROM counts c JOIN area a ON a.id = c.top ORDER BY c.n DESC, a.id"""


def provide(ctx: Context) -> None:
    """Counts of the layer's rows per area of its ``aggregate_level`` in the bbox."""
    layer, query = ctx.layer, ctx.query
    where = conditions(layer, query, ctx.viewer, IN_BBOX)
    params = where.params | {"fetch": query.limit + 1, "level": layer.aggregate_level}
    params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
    rows = ctx.execute(area_counts_sql(layer, where.sql), params)
    shown = rows[: query.limit]
    counts = [r[3] for r in shown]
    features = [
        area_feature(r, {"name": r[1], "name_en": r[2], "count": r[3], "value": v, "level": c})
        for r, v, c in zip(shown, counts, levels(counts, sqrt=True), strict=True)
    ]
    finish(ctx.answer, features, len(rows) > query.limit, by="area", level=layer.aggregate_level)
