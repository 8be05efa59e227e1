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
from layers.providers import cell_rollup
from layers.providers.base import Context
from layers.providers.cell_rollup import IN_BBOX
from layers.query import LayerQuery
from layers.sql import conditions, h3_resolution

__all__ = ["IN_BBOX", "h3_counts_sql", "provide", "rows_per_cell"]


def h3_counts_sql(layer: Layer, where: str, resolution: int) -> str:
    """Rows of ``layer`` per H3 cell at ``resolution``, largest first (at most ``:fetch``)."""
    cell = cell_sql(resolution)
    return f"""WITH {ENVELOPE}
SELECT {cell} AS cell, count(*) AS n FROM "{layer.source}" AS t, env WHERE {where}
GROUP BY 1 ORDER BY n DESC, cell LIMIT :fetch"""


def rows_per_cell(ctx: Context, layer: Layer, query: LayerQuery, resolution: int) -> list:
    """``(cell, rows)`` of ``layer`` in the bbox, largest first, at most ``query.limit + 1``:
    from the rollup when it gives the same answer (:mod:`layers.providers.cell_rollup`), else
    the raw ``GROUP BY``."""
    fetch = query.limit + 1
    rolled = cell_rollup.counts(ctx.execute, layer, query, ctx.viewer, resolution)
    if rolled is not None:
        return [(c, n) for c, n, _ in cell_rollup.largest(rolled, fetch)]
    where = conditions(layer, query, ctx.viewer, IN_BBOX)
    params = where.params | {"fetch": fetch}
    return ctx.execute(h3_counts_sql(layer, where.sql, resolution), params)


def provide(ctx: Context) -> None:
    """Counts of the layer's rows per H3 cell in the bbox."""
    layer, query = ctx.layer, ctx.query
    resolution = h3_resolution(query.zoom)
    rows = rows_per_cell(ctx, layer, query, resolution)
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
