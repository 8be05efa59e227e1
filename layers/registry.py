"""Every map layer, listed explicitly. Adding a layer = adding its module and one line here."""

from __future__ import annotations

from geodata import catalogue
from geodata.errors import OneMapError
from layers import (
    buildings,
    cameras,
    communities,
    coverage_gaps,
    districts,
    facilities,
    grids,
    hexagons,
    hotspots,
    incident_heatmap,
    incidents,
    organisations,
    residents,
    risk_forecast,
    roads,
    sensors,
    streets,
)
from layers.base import Layer
from layers.sql import check_table


class UnknownLayerError(OneMapError, KeyError):
    """No layer has the id asked for."""

    status = 404
    code = "NotFound"

    def __str__(self) -> str:
        return str(self.args[0])


def _unique(layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """``layers`` unchanged, after checking their ids are unique."""
    ids = [layer.id for layer in layers]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate layer ids: {duplicates}")
    return layers


def _check_sources(layers: tuple[Layer, ...]) -> None:
    """Refuse a layer whose ``source`` is not a table of the catalogue
    (:class:`geodata.catalogue.UnknownTableError` names the known ones), names a column its table
    lacks (:func:`layers.sql.check_table`), or has a time column that is not its table's
    (``ValueError``): once at import, not per request."""
    for layer in layers:
        table = catalogue.table(layer.source)
        check_table(layer)
        if layer.time_column is not None and layer.time_column != table.time_column:
            raise ValueError(
                f"layer {layer.id!r}: time column {layer.time_column!r}, but table "
                f"{table.name!r} has {table.time_column!r}"
            )


# Drawing order: first is at the bottom.
LAYERS: tuple[Layer, ...] = _unique(
    (
        districts.LAYER,
        streets.LAYER,
        communities.LAYER,
        grids.LAYER,
        roads.LAYER,
        buildings.LAYER,
        residents.LAYER,
        hexagons.LAYER,
        risk_forecast.LAYER,
        hotspots.LAYER,
        incident_heatmap.LAYER,
        facilities.LAYER,
        organisations.LAYER,
        sensors.LAYER,
        cameras.LAYER,
        coverage_gaps.LAYER,
        incidents.LAYER,
    )
)
_check_sources(LAYERS)
_BY_ID = {layer.id: layer for layer in LAYERS}


def get_layer(layer_id: str) -> Layer:
    """The layer called ``layer_id``; :class:`UnknownLayerError` if there is none."""
    try:
        return _BY_ID[layer_id]
    except KeyError:
        raise UnknownLayerError(
            f"unknown layer {layer_id!r}; known layers: {', '.join(_BY_ID)}"
        ) from None


def layers_for(role: str) -> tuple[Layer, ...]:
    """The layers ``role`` may see, in drawing order."""
    return tuple(layer for layer in LAYERS if layer.allows(role))
