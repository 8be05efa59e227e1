"""OGC API collections: the map's feature layers, then the catalogue's tables no layer covers.

A collection is a :class:`geodata.exports.sources.Source` (a table, maybe narrowed by a layer's
``where``/``exclude``), answered by the exports' table provider with the viewer's scope and
field allow-list. Only layers of plain stored features count (aggregates, heatmaps and
forecasts are not feature tables), and never a table the catalogue keeps out of the OGC API
(residents: exports only, under the allow-list).
"""

from __future__ import annotations

from geodata import catalogue
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
