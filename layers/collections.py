"""OGC API collections: the map's feature layers, then the catalogue's tables no layer covers.

A collection is a :class:`geodata.exports.sources.Source` (a table, maybe narrowed by a layer's
``where``/``exclude``), answered by the exports' table provider with the viewer's scope and
field allow-list. Only layers of plain stored features count (aggregates, heatmaps and
forecasts are not feature tables), and never a table the catalogue keeps out of the OGC API
(residents: exports only, under the allow-list).

Extents (:func:`extents`) must not cost a scan of every table per request (QGIS asks on every
connect). The rule:

- an unscoped viewer of a whole table gets PostGIS's estimate (``ST_EstimatedExtent``, read
  from the GiST index: it grows with every insert at once, is float4-rounded outwards and never
  shrinks, so it may be slightly larger than the features, never smaller);
- everything else (a layer narrowed by ``where``/``exclude``, a scoped viewer, a table with no
  estimate yet) gets the exact ``ST_Extent`` under the viewer's scope, as before, kept per
  process for at most :data:`EXTENT_TTL` seconds and only while PostgreSQL's insert + delete
  counters of the table (and of ``area``, which defines scopes) are unchanged; those count
  committed work within about a second. Updates are not counted: the live twin updates device
  rows with every reading (``last_seen``, ``status``), which would defeat the cache, and a
  feature that moves is rare; its new place shows within :data:`EXTENT_TTL` seconds. A scoped
  viewer's entry is keyed on its areas, so no viewer is ever shown an extent computed for
  another scope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from geodata import catalogue
from geodata.accounts.viewer import Viewer
from geodata.errors import LayerForbiddenError
from geodata.exports.provider import TableProvider
from geodata.exports.sources import Source, UnknownSourceError, table_source
from layers.base import Layer, ProviderName
from layers.registry import LAYERS


def _plain(layer: Layer) -> bool:
    """A map layer of stored features of a table the OGC API may serve."""
    return layer.provider == ProviderName.FEATURES and catalogue.table(layer.source).collection


def _from_layer(layer: Layer) -> Source:
    return Source(
        layer.id,
        dict(layer.title),
        layer.source,
        layer.where,
        exclude=tuple(layer.exclude),
        temporal=layer.time_column,
        roles=layer.roles,
    )


def _collections() -> tuple[Source, ...]:
    from_layers = tuple(_from_layer(layer) for layer in LAYERS if _plain(layer))
    covered = {s.table for s in from_layers}
    tables = tuple(
        table_source(t) for t in catalogue.TABLES.values() if t.collection and t.name not in covered
    )
    return from_layers + tables


def _unique(sources: tuple[Source, ...]) -> dict[str, Source]:
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate collection ids: {ids}")
    return {s.id: s for s in sources}


COLLECTIONS: dict[str, Source] = _unique(_collections())
"""OGC API collections: the map's feature layers, then the tables no layer covers."""


def collection(collection_id: str) -> Source:
    """The OGC collection ``collection_id``; :class:`UnknownSourceError` if there is none."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise UnknownSourceError(
            f"unknown collection {collection_id!r}; known: {', '.join(COLLECTIONS)}"
        ) from None


EXTENT_TTL = 60.0
"""Seconds an exact extent is kept at most (a change to its tables drops it sooner)."""


@dataclass(frozen=True)
class _Kept:
    extent: list[float] | None
    changes: tuple[int, ...]
    at: float


_KEPT: dict[tuple[str, str, tuple[int, ...] | None], _Kept] = {}
"""Exact extents by (store, collection, scope): a per-process cache, see the module rule."""


def _estimable(source: Source, viewer: Viewer) -> bool:
    return viewer.area_ids is None and not source.where and not source.exclude


def _exact(
    provider: TableProvider, source: Source, viewer: Viewer, counts: dict[str, int]
) -> list[float] | None:
    """The exact extent under the viewer's scope, from the cache while the rule allows."""
    key = (provider.url, source.id, viewer.area_ids)
    changes = (counts.get(source.table, -1), counts.get("area", -1))
    kept = _KEPT.get(key)
    if kept is not None and kept.changes == changes and time.monotonic() - kept.at < EXTENT_TTL:
        provider.fields(source, viewer)
        return kept.extent
    extent = provider.extent(source, viewer)
    _KEPT[key] = _Kept(extent, changes, time.monotonic())
    return extent


def extents(
    provider: TableProvider, sources: list[Source], viewer: Viewer
) -> dict[str, list[float] | None]:
    """The lon/lat extent (None: no features) of each of ``sources`` the viewer may see, by id;
    sources it may not see are left out. See the module's rule."""
    counts = provider.change_counts(sorted({s.table for s in sources} | {"area"}))
    found: dict[str, list[float] | None] = {}
    for source in sources:
        try:
            estimate = (
                provider.estimated_extent(source, viewer) if _estimable(source, viewer) else None
            )
            found[source.id] = estimate or _exact(provider, source, viewer, counts)
        except LayerForbiddenError:
            continue
    return found
