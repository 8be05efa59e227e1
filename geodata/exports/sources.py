"""What can be taken out: a :class:`Source` per export layer, one per table of the catalogue.

A :class:`Source` is a feature table, optionally narrowed by fixed column values (the district
map layer is ``area`` where ``level = 'district'``). Export layers are the tables of
:mod:`geodata.catalogue`; the OGC API collections (:mod:`layers.collections`) are sources too,
built from the map's layers, and are answered by the same provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from geodata import catalogue
from geodata.catalogue import Scope, Table
from geodata.errors import OneMapError
from geodata.vocab import ALL_ROLES, Text

OGR_TYPES = {
    "POINT": "Point",
    "MULTIPOLYGON": "MultiPolygon",
    "MULTILINESTRING": "MultiLineString",
    "GEOMETRY": "Unknown",
}
"""Model geometry type → OGR layer geometry type."""


class UnknownSourceError(OneMapError, KeyError):
    """No export layer or collection has the id asked for."""

    status = 404
    code = "NotFound"

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
        return OGR_TYPES[catalogue.table(self.table).geometry_type]

    @property
    def is_point(self) -> bool:
        return self.geometry_type == "Point"

    @property
    def scope(self) -> Scope:
        """How a viewer's area scope narrows the rows (the catalogue's rule for the table)."""
        return catalogue.table(self.table).scope


def table_source(table: Table) -> Source:
    """The whole of a catalogue table as a source (its key is the id)."""
    return Source(
        table.key, dict(table.title), table.name, temporal=table.time_column, roles=table.roles
    )


EXPORT_LAYERS: dict[str, Source] = {t.key: table_source(t) for t in catalogue.TABLES.values()}
"""Every export layer, by id: the catalogue's tables."""


def export_layer(layer_id: str) -> Source:
    """The export layer ``layer_id``; :class:`UnknownSourceError` names the known ones."""
    try:
        return EXPORT_LAYERS[layer_id]
    except KeyError:
        raise UnknownSourceError(
            f"unknown export layer {layer_id!r}; known: {', '.join(EXPORT_LAYERS)}"
        ) from None
