"""What can be taken out: export layers (by table) and OGC API collections (by map layer).

A :class:`Source` is a feature table, optionally narrowed by fixed column values (the district
map layer is ``area`` where ``level = 'district'``). Export layers cover every feature table;
OGC collections are every layer of the map registry plus the point and line tables — never
residents, which only an export (with the viewer's field allow-list) may carry.
"""

from __future__ import annotations

from dataclasses import dataclass

from geodata.errors import OneMapError
from geodata.models import Base
from geodata.vocab import ALL_ROLES, IDENTIFIER_ROLES
from layers.base import Layer, Text
from layers.registry import LAYERS

OGR_TYPES = {
    "POINT": "Point",
    "MULTIPOLYGON": "MultiPolygon",
    "MULTILINESTRING": "MultiLineString",
    "GEOMETRY": "Unknown",
}
"""Model geometry type → OGR layer geometry type."""


class UnknownSourceError(OneMapError, KeyError):
    """No export layer or collection has the id asked for."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Source:
    """Features of one table, maybe narrowed by ``where`` (column = value pairs)."""

    id: str
    title: Text
    table: str
    where: tuple[tuple[str, str], ...] = ()
    exclude: tuple[tuple[str, str], ...] = ()
    temporal: str | None = None
    """Timestamp column that the OGC ``datetime`` parameter filters on, if any."""
    roles: frozenset[str] = ALL_ROLES
    """Roles that may see it at all (a map layer's ``roles``); fields: see ``fields``."""

    @property
    def geometry_type(self) -> str:
        """The OGR geometry type of the layer: Point, MultiPolygon, … or Unknown (mixed)."""
        model = next(m for m in Base.registry.mappers if m.local_table.name == self.table)
        return OGR_TYPES[model.class_.GEOMETRY_TYPE]

    @property
    def is_point(self) -> bool:
        return self.geometry_type == "Point"


def _t(zh: str, en: str) -> Text:
    return {"zh": zh, "en": en}


EXPORT_LAYERS: dict[str, Source] = {
    s.id: s
    for s in (
        Source("areas", _t("治理区域", "Governance areas"), "area"),
        Source("roads", _t("道路", "Roads"), "road"),
        Source("buildings", _t("建筑", "Buildings"), "building"),
        Source("houses", _t("房屋", "Homes"), "house"),
        Source("residents", _t("居民", "Residents"), "resident", roles=IDENTIFIER_ROLES),
        Source("organizations", _t("组织", "Organisations"), "organization"),
        Source("devices", _t("设备", "Devices"), "device"),
        Source("facilities", _t("公共设施", "Public facilities"), "facility"),
        Source("events", _t("事件", "Incidents"), "event", temporal="reported_at"),
    )
}

NOT_COLLECTIONS = frozenset({"resident"})
"""Tables never served as OGC collections (people: exports only, under the allow-list)."""


def _plain(layer: Layer) -> bool:
    """A map layer of stored features (the registry's spec grows: absent fields mean plain)."""
    return getattr(layer, "provider", "features") == "features" and (
        layer.source not in NOT_COLLECTIONS
    )


def _from_layer(layer: Layer) -> Source:
    return Source(
        layer.id,
        dict(layer.title),
        layer.source,
        layer.where,
        exclude=tuple(getattr(layer, "exclude", ())),
        temporal=getattr(layer, "time_column", None),
        roles=layer.roles,
    )


def _collections() -> tuple[Source, ...]:
    from_layers = tuple(_from_layer(layer) for layer in LAYERS if _plain(layer))
    covered = {s.table for s in from_layers} | NOT_COLLECTIONS
    tables = tuple(s for s in EXPORT_LAYERS.values() if s.table not in covered)
    return from_layers + tables


def _unique(sources: tuple[Source, ...]) -> dict[str, Source]:
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate collection ids: {ids}")
    return {s.id: s for s in sources}


COLLECTIONS: dict[str, Source] = _unique(_collections())
"""OGC API collections: the map's feature layers, then the tables no layer covers."""


def export_layer(layer_id: str) -> Source:
    """The export layer ``layer_id``; :class:`UnknownSourceError` names the known ones."""
    try:
        return EXPORT_LAYERS[layer_id]
    except KeyError:
        raise UnknownSourceError(
            f"unknown export layer {layer_id!r}; known: {', '.join(EXPORT_LAYERS)}"
        ) from None


def collection(collection_id: str) -> Source:
    """The OGC collection ``collection_id``; :class:`UnknownSourceError` if there is none."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise UnknownSourceError(
            f"unknown collection {collection_id!r}; known: {', '.join(COLLECTIONS)}"
        ) from None
