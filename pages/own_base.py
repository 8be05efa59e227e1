"""The own base map (``ONEMAP_BASEMAP=own``) of a Leaflet map: blocks, open space, cased roads
and names by zoom, drawn in panes under the thematic layers and always on — light on the home
map, dark on the wall.

The data comes clientside from ``/api/basemap/shapes`` and ``/api/basemap/labels`` per viewport
(assets/onemap_base.js, which styles it); names follow the language switch. Every component id
is a pattern-matching id naming its map, so each map registers its own callback once.
"""

from __future__ import annotations

from typing import Literal

import dash
import dash_leaflet as dl
from dash import ClientsideFunction, Input, Output, State, dcc

from geodata.settings import Settings
from pages import ids

Theme = Literal["light", "dark"]
SHAPES_PANE, LABELS_PANE = "onemap-base", "onemap-labels"
SHAPES_Z, LABELS_Z = 300, 450
"""Leaflet pane z-indexes: above tiles (200), under the thematic layers (overlay pane 400);
labels above the thematic polygons, under markers (600) and popups."""
JS = "onemap.base"
PARTS = ("fill", "casing", "road", "label")


def own_base(settings: Settings) -> bool:
    """True when the maps' base is drawn from our own data."""
    return settings.web.basemap == "own"


def part_id(map_id: str, part: str) -> dict[str, str]:
    """The id of one of the base's GeoJSON components on map ``map_id``."""
    return {"type": ids.BASE_PART, "map": map_id, "part": part}


def meta_id(map_id: str) -> dict[str, str]:
    return {"type": ids.BASE_META, "map": map_id}


def _geojson(map_id: str, part: str, theme: Theme) -> dl.GeoJSON:
    return dl.GeoJSON(
        id=part_id(map_id, part),
        data={"type": "FeatureCollection", "features": []},
        style={"variable": f"{JS}.style"},
        pointToLayer={"variable": f"{JS}.label"},
        hideout={"part": part, "zoom": 0, "pane": LABELS_PANE, "theme": theme},
        interactive=False,
        bubblingMouseEvents=True,
    )


def panes(map_id: str, theme: Theme) -> list:
    """The base's panes (left empty unless the base is our own data: see :func:`meta_store`)."""
    return [
        dl.Pane(
            [_geojson(map_id, part, theme) for part in PARTS[:3]],
            name=SHAPES_PANE,
            style={"zIndex": SHAPES_Z},
        ),
        dl.Pane(
            [_geojson(map_id, "label", theme)],
            name=LABELS_PANE,
            style={"zIndex": LABELS_Z, "pointerEvents": "none"},
        ),
    ]


def meta_store(settings: Settings, map_id: str) -> dcc.Store:
    """The API urls the base's clientside callback fetches (None: no own base)."""
    data = (
        {
            "shapes": dash.get_relative_path("/api/basemap/shapes"),
            "labels": dash.get_relative_path("/api/basemap/labels"),
            "map": map_id,
        }
        if own_base(settings)
        else None
    )
    return dcc.Store(id=meta_id(map_id), data=data)


def register(map_id: str) -> None:
    """The clientside callback feeding the base of map ``map_id`` (once, at page import)."""
    dash.clientside_callback(
        ClientsideFunction(namespace="onemap", function_name="baseData"),
        Output(part_id(map_id, "fill"), "data"),
        Output(part_id(map_id, "casing"), "data"),
        Output(part_id(map_id, "road"), "data"),
        Output(part_id(map_id, "casing"), "hideout"),
        Output(part_id(map_id, "road"), "hideout"),
        Output(part_id(map_id, "label"), "data"),
        Input(map_id, "bounds"),
        Input(map_id, "zoom"),
        Input(ids.LANG_SWITCH, "value"),
        State(meta_id(map_id), "data"),
        State(map_id, "center"),
        State(part_id(map_id, "casing"), "hideout"),
        State(part_id(map_id, "road"), "hideout"),
    )
