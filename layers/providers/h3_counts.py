"""Counts of a feature layer's rows per H3 cell in the bbox (the layer zoomed out).

Counting happens in SQL (``GROUP BY`` on the stored or derived H3 cell,
:func:`geodata.cells.cell_sql`); Python turns cell ids into hexagons (cached) and classes the
counts into the ramp's ``level`` 0..5 relative to the largest in view.
"""

from __future__ import annotations

from analytics.levels import levels
from geodata.cells import cell_sql, hexagon_text
from geodata.spatial_sql import ENVELOPE
from layers.base import Layer
from layers.geojson import count_members, finish
from layers.providers.base import Context
from layers.sql import conditions, h3_resolution

IN_BBOX = "t.geom && env.g"
"""The bbox condition of aggregates (index-only: a row counts where its box meets the view)."""


def h3_counts_sql(layer: Layer, where: str, resolution: int) -> str:
    """Rows of ``layer`` per H3 cell at ``resolution``, largest first (at most ``:fetch``)."""
    cell = cell_sql(resolution)
    return f"""WITH {ENVELOPE}
SELECT {cell} AS cell, count(*) AS n FROM "{layer.source}" AS t, env WHERE {where}
GROUP BY 1 ORDER BY n DESC, cell LIMIT :fetch"""


def provide(ctx: Context) -> None:
    """Counts of the layer's rows per H3 cell in the bbox."""
    layer, query = ctx.layer, ctx.query
    where = conditions(layer, query, ctx.viewer, IN_BBOX)
    params = where.params | {"fetch": query.limit + 1}
    resolution = h3_resolution(query.zoom)
    rows = ctx.execute(h3_counts_sql(layer, where.sql, resolution), params)
    shown = rows[: query.limit]
    classes = levels([n for _, n in shown], sqrt=True)
    features = [
        hexagon_text(cell, count_members(n, c)) for (cell, n), c in zip(shown, classes, strict=True)
    ]
    finish(
        ctx.answer,
        features,
        len(rows) > query.limit,
        by="h3",
        h3_resolution=resolution,
        property="count",
    )
