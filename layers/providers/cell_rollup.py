"""When a layer's counts per H3 cell may come from the rollups (:mod:`geodata.rollup`): only
when they give the raw ``GROUP BY``'s answer — no request filters, no selected area, a viewer
without an area scope, the layer's fixed filters on the rollup's ``kind`` only, and (for time
layers) the incidents' ``reported_at``. Anything else keeps the raw SQL."""

from __future__ import annotations

from dataclasses import replace

from geodata.accounts.viewer import Viewer
from geodata.engine import Execute
from geodata.rollup import (
    EVENT_TIME,
    FEATURE_KINDS,
    INTERSECTS_VIEW,
    CellQuery,
    cell_counts,
    has_rollup,
    row_total,
)
from layers.base import Layer
from layers.query import LayerQuery
from layers.sql import conditions

ROLLUP_BELOW_ZOOM = 13.0
"""Views below this zoom (H3 resolution 8 and coarser) hold enough rows that the rollup pays;
closer views hold few rows and the raw ``GROUP BY`` on the GiST index is quicker."""
WHOLE_HISTORY_BELOW_ZOOM = 15.0
"""Incidents over their whole history (the rollup's ``all`` rows, one per cell) pay up to here:
a zoom-14 view of the city centre still holds ~140k incidents at full size."""
IN_BBOX = "t.geom && env.g"
"""The bbox condition of aggregates (index-only: a row counts where its box meets the view)."""


def _kinds(layer: Layer) -> tuple[str, dict[str, object]] | None:
    """The layer's fixed filters as conditions on the rollup row ``r`` (None: not expressible)."""
    column = FEATURE_KINDS.get(layer.source)
    clauses: list[str] = []
    params: dict[str, object] = {}
    for op, prefix, pairs in (("=", "rw", layer.where), ("<>", "rx", layer.exclude)):
        for i, (name, value) in enumerate(pairs):
            if column is None or name != column:
                return None
            clauses.append(f"r.kind {op} :{prefix}{i}")
            params[f"{prefix}{i}"] = value
    return " AND ".join(clauses), params


def rollup_query(
    layer: Layer, query: LayerQuery, viewer: Viewer, resolution: int, *, spatial: bool
) -> CellQuery | None:
    """The rollup form of ``layer``'s rows per cell at ``resolution`` (in the bbox when
    ``spatial``: the reader adds that condition), or None when the rollup would not give the
    same answer."""
    if not has_rollup(layer.source) or not 0 <= resolution <= 9:
        return None
    if query.area_id is not None or viewer.area_ids is not None:
        return None
    if any(query.filters.get(f.param) and f.column is not None for f in layer.filters):
        return None
    if layer.coarse and query.zoom < layer.coarse.zoom:
        return None
    kinds = _kinds(layer)
    if kinds is None:
        return None
    window = None
    if query.time and layer.time_column:
        if layer.source != "event" or layer.time_column != EVENT_TIME:
            return None
        window = (query.time.start, query.time.end)
    elif layer.source == "event" and layer.time_column not in (None, EVENT_TIME):
        return None
    whole_history = layer.source == "event" and window is None
    below = WHOLE_HISTORY_BELOW_ZOOM if whole_history else ROLLUP_BELOW_ZOOM
    if spatial and query.zoom >= below:
        return None
    where = conditions(layer, replace(query, time=None), viewer, None)
    bbox = query.bbox
    return CellQuery(
        source=layer.source,
        resolution=resolution,
        where=where.sql,
        params=where.params,
        kinds=kinds[0],
        kind_params=kinds[1],
        bbox=(bbox.minx, bbox.miny, bbox.maxx, bbox.maxy) if spatial else None,
        window=window,
    )


def counts(
    execute: Execute,
    layer: Layer,
    query: LayerQuery,
    viewer: Viewer,
    resolution: int,
    *,
    spatial: bool = True,
) -> list[tuple[int, int, int]] | None:
    """``(cell, rows, severity sum)`` per cell from the rollup (None: use the raw SQL)."""
    q = rollup_query(layer, query, viewer, resolution, spatial=spatial)
    return None if q is None else cell_counts(execute, q)


def matches(execute: Execute, layer: Layer, query: LayerQuery, viewer: Viewer) -> int | None:
    """How many rows of ``layer`` intersect the bbox (``ST_Intersects``, the features'
    condition) in the query's window, from the rollup (None: count them raw). Rows of cells
    inside the view all intersect it; those of cells on its edge are counted raw."""
    if layer.shape == "fov_wedge":
        return None
    q = rollup_query(layer, query, viewer, 9, spatial=True)
    return None if q is None else row_total(execute, replace(q, in_view=INTERSECTS_VIEW))


def largest(rows: list[tuple[int, int, int]], fetch: int) -> list[tuple[int, int, int]]:
    """``rows`` as the raw SQL orders and caps them: ``ORDER BY n DESC, cell LIMIT fetch``
    (:func:`geodata.rollup.cell_counts` gives them in that order)."""
    return rows[:fetch]
