"""The ``heatmap`` provider: weighted points (H3 cell centres, one level finer than the
hexagons would be) for a heatmap of the layer's rows."""

from __future__ import annotations

from analytics.levels import levels
from geodata.cells import cell_sql
from geodata.spatial_sql import ENVELOPE
from layers.base import Layer
from layers.geojson import finish, heat_text
from layers.providers import cell_rollup
from layers.providers.base import Context
from layers.providers.cell_rollup import IN_BBOX
from layers.sql import conditions, h3_resolution


def heat_sql(layer: Layer, where: str, resolution: int) -> str:
    return f"""WITH {ENVELOPE}
SELECT {cell_sql(resolution)} AS cell, count(*) AS n, sum(t.severity) AS s
FROM "{layer.source}" AS t, env WHERE {where}
GROUP BY 1 ORDER BY n DESC, cell LIMIT :fetch"""


def provide(ctx: Context) -> None:
    """Weighted points per H3 cell centre in the bbox."""
    layer, query = ctx.layer, ctx.query
    resolution = min(9, h3_resolution(query.zoom) + 1)
    rolled = cell_rollup.counts(ctx.execute, layer, query, ctx.viewer, resolution)
    if rolled is not None:
        rows = cell_rollup.largest(rolled, query.limit + 1)
    else:
        where = conditions(layer, query, ctx.viewer, IN_BBOX)
        rows = ctx.execute(
            heat_sql(layer, where.sql, resolution), where.params | {"fetch": query.limit + 1}
        )
    shown = rows[: query.limit]
    classes = levels([n for _, n, _ in shown], sqrt=True)
    features = [
        heat_text(
            cell,
            f'"count":{n},"weight":{n},"severity_sum":{int(s)},"value":{n},"level":{c}',
        )
        for (cell, n, s), c in zip(shown, classes, strict=True)
    ]
    finish(
        ctx.answer,
        features,
        len(rows) > query.limit,
        by="h3",
        h3_resolution=resolution,
        property="weight",
    )
