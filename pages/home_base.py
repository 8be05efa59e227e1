"""The home map's own base (``ONEMAP_BASEMAP=own``): blocks, open space, cased roads and
labels by zoom, drawn in panes under the thematic layers and always on.

The data comes clientside from ``/api/basemap/shapes`` and ``/api/basemap/labels`` per viewport
(assets/onemap_base.js); labels follow the language switch. Layout and wiring only.
"""

from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import ClientsideFunction, Input, Output, State, dcc

from geodata.settings import Settings
from pages import ids

SHAPES_PANE, LABELS_PANE = "onemap-base", "onemap-labels"
SHAPES_Z, LABELS_Z = 300, 450
"""Leaflet pane z-indexes: above tiles (200), under the thematic layers (overlay pane 400);
labels above the thematic polygons, under markers (600) and popups."""
JS = "onemap.base"


def own_base(settings: Settings) -> bool:
    """True when the map's base is drawn from our own data."""
    return settings.web.basemap == "own"


def _empty() -> dict[str, object]:
    return {"type": "FeatureCollection", "features": []}


def _geojson(component_id: str, part: str) -> dl.GeoJSON:
    return dl.GeoJSON(
        id=component_id,
        data=_empty(),
        style={"variable": f"{JS}.style"},
        pointToLayer={"variable": f"{JS}.label"},
        hideout={"part": part, "zoom": 0, "pane": LABELS_PANE},
        interactive=False,
        bubblingMouseEvents=True,
    )


def panes() -> list:
    """The base's panes (left empty unless the base is our own data: see :func:`meta_store`)."""
    return [
        dl.Pane(
            [
                _geojson(ids.BASE_FILL, "fill"),
                _geojson(ids.BASE_CASING, "casing"),
                _geojson(ids.BASE_ROADS, "road"),
            ],
            name=SHAPES_PANE,
            style={"zIndex": SHAPES_Z},
        ),
        dl.Pane(
            [_geojson(ids.BASE_LABELS, "label")],
            name=LABELS_PANE,
            style={"zIndex": LABELS_Z, "pointerEvents": "none"},
        ),
    ]


def meta_store(settings: Settings) -> dcc.Store:
    """The API urls the base's clientside callback fetches (None: no own base)."""
    data = (
        {
            "shapes": dash.get_relative_path("/api/basemap/shapes"),
            "labels": dash.get_relative_path("/api/basemap/labels"),
            "map": ids.MAP,
        }
        if own_base(settings)
        else None
    )
    return dcc.Store(id=ids.BASE_META, data=data)


def register() -> None:
    """The clientside callback feeding the base's layers (one per page module import)."""
    dash.clientside_callback(
        ClientsideFunction(namespace="onemap", function_name="baseData"),
        Output(ids.BASE_FILL, "data"),
        Output(ids.BASE_CASING, "data"),
        Output(ids.BASE_ROADS, "data"),
        Output(ids.BASE_CASING, "hideout"),
        Output(ids.BASE_ROADS, "hideout"),
        Output(ids.BASE_LABELS, "data"),
        Input(ids.MAP, "bounds"),
        Input(ids.MAP, "zoom"),
        Input(ids.LANG_SWITCH, "value"),
        State(ids.BASE_META, "data"),
        State(ids.MAP, "center"),
        State(ids.BASE_CASING, "hideout"),
        State(ids.BASE_ROADS, "hideout"),
    )
