"""Home page ("/"): the city on one map, every layer loaded for the viewport.

Data flows browser ↔ API: a clientside callback turns the map's bounds, zoom, switched-on
layers, time window and selected area into one ``fetch`` of ``/api/layers/<id>?…`` per layer
whose request changed, and hands the GeoJSON to the layer's ``data`` (the Dash server never
sees it). The base map is drawn from our own areas, roads and buildings; online tiles are an
opt-in setting (:mod:`layers.basemaps`).
"""

from __future__ import annotations

import math
import uuid

import dash
import dash_leaflet as dl
from dash import ALL, ClientsideFunction, Input, Output, State, callback, dcc, html

from geodata.settings import Settings
from layers import basemaps, leaflet
from layers.base import Layer
from layers.engine import city_extent, time_extent
from layers.registry import get_layer, layers_for
from pages import home_panel, home_time, ids, own_base
from web import context, i18n

dash.register_page(__name__, path="/", title=i18n.text("app.document_title"), name="home")

INITIAL_ZOOM = 14
"""First zoom when the store has no areas to fit."""
FIT_PIXELS = (1400, 800)
"""The map area the whole city is fitted into on first view (a laptop screen minus the panel)."""
MIN_ZOOM = 8
MAX_ZOOM = 19
TIME_LAYER = "incidents"
"""The layer whose dates span the time slider and whose count it shows."""
STRING_KEYS = ("map.count", "map.people", "map.share", "map.suppressed", "map.per_km2",
               "map.photos", "map.photo_before", "map.photo_after")  # fmt: skip


def map_strings(lang: str) -> dict[str, str]:
    """The strings the map's clientside functions use, in ``lang``."""
    return {key: i18n.text(key, lang) for key in STRING_KEYS}


def _visible_layers() -> tuple[Layer, ...]:
    """The layers of the home map (the public viewer's, until authentication lands)."""
    return layers_for(context.page_viewer().role)


def layer_meta(layers: tuple[Layer, ...]) -> dict[str, object]:
    """What the viewport callback needs: the API base and how to ask for each layer.

    ``token`` is new with each page render, so the browser refetches after a re-render."""
    return {
        "api": dash.get_relative_path("/api/layers"),
        "token": uuid.uuid4().hex,
        "map": ids.MAP,
        "layers": {
            layer.id: {
                "min_zoom": layer.min_zoom,
                "max_zoom": layer.max_zoom,
                "time": layer.time_column is not None,
                "area": layer.group != "base",
                "selectsArea": layer.selects_area,
            }
            for layer in layers
        },
    }


def _number(value: str | None, low: float, high: float) -> float | None:
    """``value`` as a number within ``low..high``, else None."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


def fit_zoom(extent: tuple[float, float, float, float], width: int, height: int) -> int:
    """The largest whole zoom at which ``extent`` (lon/lat) fits ``width``×``height`` pixels."""
    west, south, east, north = extent
    lat = math.radians((south + north) / 2)
    spans = (
        (max(east - west, 1e-6), width),
        (max(north - south, 1e-6) / math.cos(lat), height),  # Mercator: degrees of lat stretch
    )
    zoom = min(math.log2(360.0 * pixels / (256.0 * span)) for span, pixels in spans)
    return max(MIN_ZOOM, min(MAX_ZOOM, math.floor(zoom)))


def fit_view(
    extent: tuple[float, float, float, float] | None,
    pixels: tuple[int, int],
    center: tuple[float, float],
    zoom: float,
) -> tuple[list[float], float]:
    """Centre ``[lat, lon]`` and zoom showing ``extent`` (lon/lat) in a map of ``pixels``;
    without an extent, ``center`` (lon, lat) at ``zoom``."""
    if extent is None:
        lon, lat = center
        return [lat, lon], zoom
    lon, lat = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    return [lat, lon], fit_zoom(extent, *pixels)


def initial_view(
    settings: Settings, query: dict[str, str], extent: tuple[float, float, float, float] | None
) -> tuple[list[float], float]:
    """Centre ``[lat, lon]`` and zoom of the first view: ``extent`` (the detailed part of the
    city, its grids) fitted to a typical screen, or a deep link ``/?lat=…&lon=…&zoom=…`` (each
    part that is missing or out of range falls back)."""
    (lat, lon), zoom = fit_view(extent, FIT_PIXELS, settings.city.center, INITIAL_ZOOM)
    lat = _number(query.get("lat"), -85, 85) or lat
    lon = _number(query.get("lon"), -180, 180) or lon
    zoom = _number(query.get("zoom"), MIN_ZOOM, MAX_ZOOM) or zoom
    return [lat, lon], zoom


def initial_layers(layers: tuple[Layer, ...], query: dict[str, str]) -> list[str]:
    """Layers switched on at first: the specs' defaults, or ``/?layers=a,b`` (known ids only)."""
    known = {layer.id for layer in layers}
    asked = [i for i in (query.get("layers") or "").split(",") if i in known]
    return asked or [layer.id for layer in layers if layer.visible]


def tile_layer(settings: Settings) -> list[dl.TileLayer]:
    """The base map's tile layer: none by default (nothing from other origins), an offline
    package served by the app itself, or opt-in online tiles."""
    tiles = basemaps.provider(
        settings.web.basemap, settings.web.basemap_url, settings.web.tianditu_key
    )
    if tiles is None:
        return []
    local = tiles.url.startswith("/")
    options: dict[str, object] = {"subdomains": tiles.subdomains} if tiles.subdomains else {}
    if local:  # the package's own zooms, scaled beyond them; no requests outside its bounds
        options.update(maxNativeZoom=tiles.max_zoom, minNativeZoom=tiles.min_zoom)
        if tiles.bounds:
            west, south, east, north = tiles.bounds
            options["bounds"] = [[south, west], [north, east]]
    return [
        dl.TileLayer(
            url=dash.get_relative_path(tiles.url) if local else tiles.url,
            attribution=tiles.attribution,
            maxZoom=MAX_ZOOM if local else tiles.max_zoom,
            className="package-tiles" if local else "online-tiles",
            **options,
        )
    ]


def map_view(
    center: list[float], zoom: float, layers: tuple[Layer, ...], lang: str, settings: Settings
) -> dl.Map:
    """The map: our own data as the base, a metric scale bar, a full-screen button."""
    return dl.Map(
        id=ids.MAP,
        center=center,
        zoom=zoom,
        minZoom=MIN_ZOOM,
        maxZoom=MAX_ZOOM,
        attributionControl=settings.web.basemap != "own",
        className="home-map own-base" if own_base.own_base(settings) else "home-map",
        children=[
            *tile_layer(settings),
            *own_base.panes(ids.MAP, "light"),
            *(
                leaflet.geojson(
                    layer, ids.layer_geojson(layer.id), lang, map_strings(lang), context.timezone()
                )
                for layer in layers
            ),
            dl.ScaleControl(position="bottomleft", imperial=False),
            dl.FullScreenControl(position="topleft", title=i18n.text("map.fullscreen", lang)),
        ],
    )


def _basemap_meta(settings: Settings) -> dict[str, float] | None:
    tiles = basemaps.provider(
        settings.web.basemap, settings.web.basemap_url, settings.web.tianditu_key
    )
    return basemaps.gcj_shift(tiles, *settings.city.center)


def layout(**query: str) -> html.Div:
    """The page: the map filling the screen, the layer panel and the time bar over it."""
    settings = context.settings()
    lang = i18n.language(settings.web.language)
    layers = _visible_layers()
    # The home map starts where the detail is (the deepest areas: grids); the wall shows the
    # whole city.
    center, zoom = initial_view(settings, query, city_extent(context.store_url(), "max"))
    shown = initial_layers(layers, query)
    extent = time_extent(
        context.store_url(), get_layer(TIME_LAYER), context.page_viewer(), context.timezone()
    )
    return html.Div(
        className="home",
        children=[
            dcc.Store(id=ids.LAYER_META, data=layer_meta(layers)),
            dcc.Store(id=ids.LAYER_STATUS, data={}),
            dcc.Store(id=ids.SELECTED_AREA, data=None),
            dcc.Store(id=ids.LIVE_TICK, data=None),
            dcc.Store(id=ids.BASEMAP_META, data=_basemap_meta(settings)),
            own_base.meta_store(settings, ids.MAP),
            html.Div(id=ids.BASEMAP_SHIFT, hidden=True),
            map_view(center, zoom, layers, lang, settings),
            home_panel.panel(layers, lang, shown),
            home_time.time_bar(extent, lang),
        ],
    )


def _clientside(function: str, *dependencies) -> None:
    """Register a clientside callback of ``assets/onemap_clientside.js``."""
    dash.clientside_callback(
        ClientsideFunction(namespace="onemap", function_name=function), *dependencies
    )


_GEOJSON_ALL = {"type": ids.LAYER_GEOJSON, "layer": ALL}
_TOGGLES_ALL = {"type": ids.LAYER_TOGGLES, "group": ALL}

_clientside(
    "layerData",
    Output(_GEOJSON_ALL, "data"),
    Output(ids.LAYER_STATUS, "data"),
    Input(ids.MAP, "bounds"),
    Input(ids.MAP, "zoom"),
    Input(_TOGGLES_ALL, "value"),
    Input(ids.TIME_SLIDER, "value"),
    Input(ids.SELECTED_AREA, "data"),
    Input(ids.LIVE_TICK, "data"),
    State(_GEOJSON_ALL, "id"),
    State(ids.LAYER_META, "data"),
    State(ids.MAP, "center"),
    State(ids.TIME_META, "data"),
    State(ids.LAYER_STATUS, "data"),
)
own_base.register(ids.MAP)
_clientside("zoomText", Output(ids.ZOOM_LEVEL, "children"), Input(ids.MAP, "zoom"))
_clientside(
    "legendVisibility",
    Output({"type": ids.LEGEND, "layer": ALL}, "style"),
    Input(_TOGGLES_ALL, "value"),
    State({"type": ids.LEGEND, "layer": ALL}, "id"),
)
_clientside(
    "selectArea",
    Output(ids.SELECTED_AREA, "data"),
    Input(_GEOJSON_ALL, "clickData"),
    Input(ids.AREA_CLEAR, "n_clicks"),
    State(ids.LAYER_META, "data"),
)
_clientside(
    "areaName",
    Output(ids.AREA_NAME, "children"),
    Output(ids.AREA_CHIP, "className"),
    Input(ids.SELECTED_AREA, "data"),
    Input(ids.LANG_SWITCH, "value"),
    State(ids.STRINGS, "data"),
)
_clientside(
    "timeLabel",
    Output(ids.TIME_LABEL, "children"),
    Input(ids.TIME_SLIDER, "value"),
    State(ids.TIME_META, "data"),
)
_clientside(
    "playToggle",
    Output(ids.TIME_TICK, "disabled"),
    Output(ids.TIME_PLAY, "className"),
    Input(ids.TIME_PLAY, "n_clicks"),
)
_clientside(
    "playTick",
    Output(ids.TIME_SLIDER, "value"),
    Input(ids.TIME_TICK, "n_intervals"),
    State(ids.TIME_SLIDER, "value"),
    State(ids.TIME_META, "data"),
)
_clientside(
    "incidentCount",
    Output(ids.INCIDENT_COUNT, "children"),
    Input(ids.LAYER_STATUS, "data"),
)
_clientside(
    "basemapShift",
    Output(ids.BASEMAP_SHIFT, "children"),
    Input(ids.MAP, "zoom"),
    State(ids.BASEMAP_META, "data"),
    State(ids.MAP, "id"),
)


@callback(
    Output(_TOGGLES_ALL, "options"),
    Output({"type": ids.LEGEND, "layer": ALL}, "children"),
    Output(_GEOJSON_ALL, "hideout"),
    Input(ids.LANG_SWITCH, "value"),
    State(_TOGGLES_ALL, "id"),
    State({"type": ids.LEGEND, "layer": ALL}, "id"),
    State(_GEOJSON_ALL, "id"),
    prevent_initial_call=True,
)
def relabel(lang: str, toggle_ids: list[dict], legend_ids: list[dict], geojson_ids: list[dict]):
    """Layer titles, legends and map tooltips/popups in the chosen language."""
    lang = i18n.language(lang)
    layers = _visible_layers()
    by_id = {layer.id: layer for layer in layers}
    groups = home_panel.groups(layers)
    options = [home_panel.layer_options(groups[tid["group"]], lang) for tid in toggle_ids]
    legends = [home_panel.legend_rows(by_id[lid["layer"]], lang) for lid in legend_ids]
    hideouts = [
        leaflet.hideout(by_id[gid["layer"]], lang, map_strings(lang), context.timezone())
        for gid in geojson_ids
    ]
    return options, legends, hideouts
