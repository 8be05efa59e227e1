"""SQL building blocks of the layer providers: the checked table, WHERE clauses, zoom maths.

Identifiers come from layer specs and are checked against the models (:func:`check_table`);
every value is a bound parameter of a :class:`geodata.conditions.Conditions`. The stored H3
cells of a row at any resolution are :func:`geodata.cells.cell_sql`.
"""

from __future__ import annotations

import math

from sqlalchemy import Table

from geodata.accounts.viewer import Viewer
from geodata.conditions import Conditions, escape_like
from geodata.models import Base
from geodata.spatial_sql import area_clause, scope_clause
from layers.base import Layer
from layers.query import LayerQuery

PIXEL_FRACTION = 0.5
"""Simplification tolerance, in pixels at the requested zoom."""
ZOOM_RESOLUTIONS = ((9.0, 5), (10.5, 6), (12.0, 7), (13.0, 8))
"""``(below zoom, resolution)``: about 40–60 px per cell; from zoom 13 on, resolution 9."""


def degrees_per_pixel(zoom: float) -> float:
    """Width of one 256-px-tile pixel at ``zoom``, in degrees of longitude."""
    return 360.0 / (256.0 * 2.0**zoom)


def tolerance(zoom: float) -> float:
    """Simplification tolerance (degrees) for ``zoom``: about half a pixel."""
    return PIXEL_FRACTION * degrees_per_pixel(zoom)


def precision(zoom: float) -> int:
    """Decimal digits that still resolve a pixel at ``zoom`` (at most 7, about 1 cm)."""
    return max(1, min(7, math.ceil(-math.log10(tolerance(zoom))) + 1))


def h3_resolution(zoom: float) -> int:
    """The H3 resolution (5..9) to aggregate at for ``zoom``."""
    return next((res for below, res in ZOOM_RESOLUTIONS if zoom < below), 9)


def check_table(layer: Layer) -> Table:
    """The model table behind ``layer``, after checking every column it names exists."""
    table = Base.metadata.tables.get(layer.source)
    if table is None:
        raise ValueError(f"layer {layer.id!r}: no table {layer.source!r}")
    names = {*layer.referenced_columns, "geom", "loc", "id"}
    unknown = sorted(n for n in names if n not in table.c)
    if unknown:
        raise ValueError(f"layer {layer.id!r}: table {layer.source!r} has no column {unknown}")
    return table


def _filter_clauses(where: Conditions, layer: Layer, query: LayerQuery) -> None:
    """Row filters of the layer's own spec and of the request."""
    for i, (column, value) in enumerate(layer.where):
        where.add(f't."{column}" = :w{i}', **{f"w{i}": value})
    for i, (column, value) in enumerate(layer.exclude):
        where.add(f't."{column}" <> :x{i}', **{f"x{i}": value})
    if layer.coarse and query.zoom < layer.coarse.zoom:
        where.add(f't."{layer.coarse.column}" = ANY(:coarse)', coarse=list(layer.coarse.values))
    for i, spec in enumerate(layer.filters):
        values = query.filters.get(spec.param)
        if not values or spec.column is None:
            continue
        column, name = f't."{spec.column}"::text', f"f{i}"
        if spec.prefix:
            likes = [escape_like(v) + ".%" for v in values]
            where.add(
                f"({column} = ANY(:{name}) OR {column} LIKE ANY(:{name}l))",
                **{name: list(values), f"{name}l": likes},
            )
        else:
            where.add(f"{column} = ANY(:{name})", **{name: list(values)})
    if query.time and layer.time_column:
        where.add(
            f't."{layer.time_column}" >= :t0 AND t."{layer.time_column}" < :t1',
            **query.time.params(),
        )


def conditions(layer: Layer, query: LayerQuery, viewer: Viewer, spatial: str | None) -> Conditions:
    """The WHERE clause of a query of ``layer`` over alias ``t``: ``spatial`` (with the bbox's
    parameters; None: no bbox), spec filters, the request's filters and time window, area,
    viewer's scope (:func:`scope_clauses`)."""
    where = Conditions()
    if spatial is not None:
        where.add(spatial, **query.bbox.params())
    _filter_clauses(where, layer, query)
    scope_clauses(where, query, viewer, "t.loc", "t.geom")
    return where


def scope_clauses(
    where: Conditions, query: LayerQuery, viewer: Viewer, point: str, geom: str | None = None
) -> None:
    """Add the clauses keeping a row (its ``point``, and its ``geom`` if given) inside the
    request's selected area and the viewer's areas (:mod:`geodata.spatial_sql`)."""
    if query.area_id is not None:
        where.add(area_clause(point), area=query.area_id)
    if viewer.area_ids is not None:
        where.add(scope_clause(point, geom), scope=list(viewer.area_ids))
