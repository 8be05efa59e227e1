"""Home page ("/"): the city on one map, each layer loaded for the viewport.

Data flows browser ↔ API: a clientside callback turns the map's bounds and zoom into one
``fetch`` of ``/api/layers/<id>?bbox=…&zoom=…`` per layer and hands the GeoJSON to the layer's
``data`` (the Dash server never sees it). No tile server is used: the base
map is drawn from our own district and grid polygons.
"""

from __future__ import annotations

import dash
import dash_leaflet as dl
from dash import ALL, ClientsideFunction, Input, Output, State, callback, dcc, html

from api import context
from geodata.settings import Settings
from layers import leaflet
from layers.base import Layer
from layers.registry import layers_for
from pages import i18n, ids
from pages.shell import t

dash.register_page(__name__, path="/", title=i18n.text("app.document_title"), name="home")

INITIAL_ZOOM = 14
MIN_ZOOM = 8
MAX_ZOOM = 19


def _strings(lang: str) -> dict[str, str]:
    """The strings the map's clientside functions use, in ``lang``."""
    return {"map.count": i18n.text("map.count", lang)}


def _visible_layers() -> tuple[Layer, ...]:
    """The layers of the home map (the public viewer's, until authentication lands)."""
    return layers_for("public")


def _swatch(color: str, style: dict[str, object] | None = None) -> html.Span:
    return html.Span(className="swatch", style={"background": color, **(style or {})})


def layer_options(layers: tuple[Layer, ...], lang: str) -> list[dict[str, object]]:
    """Checklist options of the layer panel: a swatch and the title of each layer."""
    return [
        {
            "label": html.Span(
                [
                    _swatch(layer.legend[0].color if not layer.style_by else "#60a5fa"),
                    i18n.pick(layer.title, lang),
                ],
                className="layer-option",
            ),
            "value": layer.id,
        }
        for layer in reversed(layers)
    ]


def legend(layers: tuple[Layer, ...], lang: str) -> list[html.Div]:
    """Legend rows of the layers that colour features by a property."""
    rows = []
    for layer in layers:
        if not layer.style_by:
            continue
        rows += [
            html.Div([_swatch(item.color), i18n.pick(item.label, lang)], className="legend-row")
            for item in layer.legend
        ]
    return rows


def layer_meta(layers: tuple[Layer, ...]) -> dict[str, object]:
    """What the viewport callback needs: the API base and each layer's zoom range."""
    return {
        "api": dash.get_relative_path("/api/layers"),
        "map": ids.MAP,
        "layers": {
            layer.id: {"min_zoom": layer.min_zoom, "max_zoom": layer.max_zoom} for layer in layers
        },
    }


def panel(layers: tuple[Layer, ...], lang: str) -> html.Aside:
    """The floating panel: layer switches, legend, zoom level."""
    return html.Aside(
        className="map-panel",
        children=[
            html.H2(t("home.layers", lang), className="panel-title"),
            dcc.Checklist(
                id=ids.LAYER_TOGGLES,
                options=layer_options(layers, lang),
                value=[layer.id for layer in layers if layer.visible],
                className="layer-toggles",
                labelClassName="layer-toggle",
            ),
            html.H2(t("home.legend", lang), className="panel-title"),
            html.Div(legend(layers, lang), id=ids.LEGEND, className="legend"),
            html.P(t("home.hint", lang), className="panel-hint"),
            html.Div(
                [t("home.zoom", lang), html.Span(id=ids.ZOOM_LEVEL, className="zoom-value")],
                className="panel-zoom",
            ),
        ],
    )


def _number(value: str | None, low: float, high: float) -> float | None:
    """``value`` as a number within ``low..high``, else None."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


def initial_view(settings: Settings, query: dict[str, str]) -> tuple[list[float], float]:
    """Centre ``[lat, lon]`` and zoom of the first view: the city centre, or a deep link
    ``/?lat=…&lon=…&zoom=…`` (each part that is missing or out of range falls back)."""
    lon, lat = settings.city_center
    lat = _number(query.get("lat"), -85, 85) or lat
    lon = _number(query.get("lon"), -180, 180) or lon
    zoom = _number(query.get("zoom"), MIN_ZOOM, MAX_ZOOM) or INITIAL_ZOOM
    return [lat, lon], zoom


def map_view(center: list[float], zoom: float, layers: tuple[Layer, ...], lang: str) -> dl.Map:
    """The map: our own polygons as the base, no online tiles, a metric scale bar."""
    return dl.Map(
        id=ids.MAP,
        center=center,
        zoom=zoom,
        minZoom=MIN_ZOOM,
        maxZoom=MAX_ZOOM,
        attributionControl=False,
        className="home-map",
        children=[
            *(
                leaflet.geojson(layer, ids.layer_geojson(layer.id), lang, _strings(lang))
                for layer in layers
            ),
            dl.ScaleControl(position="bottomleft", imperial=False),
        ],
    )


def layout(**query: str) -> html.Div:
    """The page: the map filling the screen with the layer panel over it."""
    settings = context.settings()
    lang = i18n.language(settings.language)
    layers = _visible_layers()
    center, zoom = initial_view(settings, query)
    return html.Div(
        className="home",
        children=[
            dcc.Store(id=ids.LAYER_META, data=layer_meta(layers)),
            map_view(center, zoom, layers, lang),
            panel(layers, lang),
        ],
    )


dash.clientside_callback(
    ClientsideFunction(namespace="onemap", function_name="layerData"),
    Output({"type": ids.LAYER_GEOJSON, "layer": ALL}, "data"),
    Input(ids.MAP, "bounds"),
    Input(ids.MAP, "zoom"),
    Input(ids.LAYER_TOGGLES, "value"),
    State({"type": ids.LAYER_GEOJSON, "layer": ALL}, "id"),
    State(ids.LAYER_META, "data"),
    State(ids.MAP, "center"),
)

dash.clientside_callback(
    ClientsideFunction(namespace="onemap", function_name="zoomText"),
    Output(ids.ZOOM_LEVEL, "children"),
    Input(ids.MAP, "zoom"),
)


@callback(
    Output(ids.LAYER_TOGGLES, "options"),
    Output(ids.LEGEND, "children"),
    Output({"type": ids.LAYER_GEOJSON, "layer": ALL}, "hideout"),
    Input(ids.LANG_SWITCH, "value"),
    State({"type": ids.LAYER_GEOJSON, "layer": ALL}, "id"),
    prevent_initial_call=True,
)
def relabel(lang: str, geojson_ids: list[dict[str, str]]):
    """Layer titles, legend and map tooltips/popups in the chosen language."""
    lang = i18n.language(lang)
    layers = {layer.id: layer for layer in _visible_layers()}
    hideouts = [leaflet.hideout(layers[gid["layer"]], lang, _strings(lang)) for gid in geojson_ids]
    ordered = tuple(layers.values())
    return layer_options(ordered, lang), legend(ordered, lang), hideouts
