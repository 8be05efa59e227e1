"""The ``hexagons`` provider: count, density (per km²) or care-tag share per H3 cell of the
point layer ``?of=`` (incidents by default), with that layer's own filters and scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType

import h3

from analytics.levels import levels
from geodata.cells import hexagon_text
from geodata.query import FeatureQueryError
from layers.base import Layer, ProviderName
from layers.geojson import Answer, finish, hexagon_feature
from layers.providers.base import Context
from layers.providers.h3_counts import rows_per_cell
from layers.providers.residents import care_properties, care_share, resident_groups
from layers.query import LayerQuery
from layers.registry import get_layer
from layers.sql import h3_resolution

_NO_EXTRA: Mapping[str, object] = MappingProxyType({})
"""No extra properties (shared, read-only)."""


@lru_cache(maxsize=16)
def cell_area_km2(resolution: int) -> float:
    """Average area of an H3 cell at ``resolution`` (km²; within ±~10% of any one cell)."""
    return h3.api.basic_int.average_hexagon_area(resolution, "km^2")


def _source_query(source: Layer, query: LayerQuery) -> LayerQuery:
    """``query`` restricted to the filters the source layer understands."""
    kept = {k: v for k, v in query.filters.items() if source.filter_for(k)}
    return replace(query, time=query.time if source.time_column else None, filters=kept)


def _at_cells(query: LayerQuery) -> LayerQuery:
    """A zoom at which the residents provider groups by H3 (its building view starts at 16)."""
    return replace(query, zoom=min(query.zoom, 15.0))


def provide(ctx: Context) -> None:
    """Count, density (per km²) or care-tag share per H3 cell of the ``of`` layer."""
    query, viewer = ctx.query, ctx.viewer
    source = get_layer(query.option("of", "incidents"))
    metric = query.option("metric", "count")
    if not source.allows(viewer.role):
        raise FeatureQueryError("of", f"layer {source.id!r} is not available to this viewer")
    if metric == "share" and (source.id != "residents" or "care" not in query.filters):
        raise FeatureQueryError("metric", "share needs of=residents and care=<tag>")
    sub = _source_query(source, query)
    resolution = h3_resolution(query.zoom)
    raw: list[tuple[int, int, Mapping[str, object]]]
    if source.provider == ProviderName.RESIDENTS:
        care = sub.option("care", "") or None
        rows = resident_groups(ctx.execute, source, _at_cells(sub), viewer, by_building=False)[0]
        raw = [(c, n, care_properties(n, k, source.min_count or 1)) for c, n, k in rows]
    else:
        rows = rows_per_cell(ctx, source, sub, resolution)
        raw, care = [(c, n, _NO_EXTRA) for c, n in rows], None
    _answer(
        ctx.answer,
        raw[: query.limit],
        len(raw) > query.limit,
        metric,
        resolution,
        of=source.id,
        care=care,
    )


def _metric_value(metric: str, n: int, extra: Mapping[str, object], resolution: int) -> float:
    if metric == "density":
        return round(n / cell_area_km2(resolution), 2)
    if metric == "share":
        return float(care_share(extra))
    return float(n)


def _answer(
    answer: Answer, raw: list, capped: bool, metric: str, resolution: int, **about: object
) -> None:
    values = [_metric_value(metric, n, extra, resolution) for _, n, extra in raw]
    classes = levels(values, sqrt=metric != "share")
    features = [
        hexagon_text(cell, f'"count":{n},"metric":"{metric}","value":{v!r},"level":{c}')
        if not extra  # values are floats: repr is their JSON text
        else hexagon_feature(cell, {"count": n, **extra, "metric": metric, "value": v, "level": c})
        for (cell, n, extra), v, c in zip(raw, values, classes, strict=True)
    ]
    finish(
        answer,
        features,
        capped,
        by="h3",
        h3_resolution=resolution,
        property=metric,
        cell_area_km2=round(cell_area_km2(resolution), 4),
        **about,
    )
