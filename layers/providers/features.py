"""The ``features`` provider: a layer's own rows in the bbox as GeoJSON built in SQL.

``ST_AsGeoJSON`` + ``json_agg``, sent on as text without being parsed in Python; polygons
simplified to about half a pixel at the zoom, coordinates rounded to what that zoom can show,
the number capped (``capped``/``total``). Zoomed out, the engine asks :mod:`.h3_counts` or
:mod:`.area_counts` instead.
"""

from __future__ import annotations

from geodata.spatial_sql import ENVELOPE, WEDGE_SQL
from layers.base import Layer
from layers.providers.base import Context
from layers.sql import conditions, precision, tolerance

WEDGE_MARGIN_DEG = 0.003
"""Cameras up to ~300 m outside the bbox still have their wedge drawn."""


def _order_sql(layer: Layer) -> str:
    """Which features are kept when capped: newest first, else the biggest."""
    if layer.time_column:
        return f'extract(epoch FROM t."{layer.time_column}")'
    return "ST_Area(t.geom)"


def features_sql(layer: Layer, where: str) -> str:
    """Features of ``layer`` in the bbox (at most ``:limit``) and how many match in all.

    One scan: the matches are ranked and counted (``count(*) OVER ()``) from ids and ranks
    alone; geometry and properties are built only for the page that is sent.
    """
    geom = WEDGE_SQL if layer.shape == "fov_wedge" else "t.geom"
    props = ", ".join(
        [f"'{c}', t.\"{c}\"" for c in layer.columns]
        + [f"'{name}', {sql}" for name, sql in layer.computed]
    )
    return f"""WITH {ENVELOPE},
hits AS (
    SELECT t.id, {_order_sql(layer)} AS rank, count(*) OVER () AS total
    FROM "{layer.source}" AS t, env WHERE {where}
    ORDER BY rank DESC, t.id LIMIT :limit
)
SELECT coalesce(max(h.total), 0) AS n,
       COALESCE(json_agg(json_build_object(
           'type', 'Feature', 'id', t.id,
           'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology({geom}, :tol), :digits)::json,
           'properties', json_build_object({props})) ORDER BY h.rank DESC, t.id), '[]'::json)::text
FROM hits h JOIN "{layer.source}" AS t ON t.id = h.id"""


def spatial_sql(layer: Layer) -> str:
    """The bbox condition of ``layer``'s rows (camera wedges reach beyond their camera)."""
    if layer.shape == "fov_wedge":
        return f"ST_Intersects(t.geom, ST_Expand(env.g, {WEDGE_MARGIN_DEG}))"
    return "ST_Intersects(t.geom, env.g)"


def provide(ctx: Context) -> None:
    """Fill the answer with the layer's features in the bbox, capped at the limit."""
    layer, query = ctx.layer, ctx.query
    where = conditions(layer, query, ctx.viewer, spatial_sql(layer))
    params = where.params | {"limit": query.limit}
    params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
    n, features_json = ctx.execute(features_sql(layer, where.sql), params)[0]
    answer = ctx.answer
    answer.features_json = features_json
    answer.meta |= {"count": min(n, query.limit)}
    if n > query.limit:
        answer.meta |= {"capped": True, "total": n}
