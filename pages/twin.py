"""3D twin page ("/twin"): extruded buildings, incident hexagon columns and heatmap, alarm
beacons and camera wedges in deck.gl — the same extent as the 2D map, fully offline.

The page ships a pydeck ``Deck.to_json()`` spec (:mod:`layers.deck`) in a store; the
clientside glue (``assets/deck_glue.js``) loads the deck.gl bundle the app serves
(:mod:`web.deck_bundle`), creates the deck once and fills each layer's data from
``/api/layers/<id>?bbox=&zoom=[&time=&category=]`` for the view (browser ↔ API, the Dash
server never sees the data). Deep links: ``/twin?lat=&lon=&zoom=&pitch=&bearing=`` (zoom on the
2D map's scale); links between 2D and 3D keep the view.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from typing import Any

import dash
from dash import MATCH, ClientsideFunction, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from geodata.vocab import DeviceStatus, Text
from layers import deck
from layers.base import Layer
from layers.engine import time_extent
from layers.registry import UnknownLayerError, get_layer
from pages import ids
from pages.shell import t
from web import context, i18n
from web.deck_bundle import bundle_path

# --- ids of this page (only used here and handed to the glue through the spec) ---------------
DECK = "twin-deck"
SPEC = "twin-spec"
PANEL = "twin-panel"
TOGGLES = "twin-toggles"
DATES = "twin-dates"
PRESET = "twin-preset"
CATEGORY = "twin-category"
PITCH = "twin-pitch"
BEARING = "twin-bearing"
STATUS = "twin-status"
ERROR = "twin-error"
LEGEND = "twin-legend"
LINK_2D = "twin-link-2d"

STRINGS: dict[str, dict[str, str]] = {
    "nav.twin": {"zh": "三维孪生", "en": "3D twin"},
    "twin.title": {"zh": "三维数字孪生", "en": "3D digital twin"},
    "twin.layers": {"zh": "图层", "en": "Layers"},
    "twin.time": {"zh": "时间范围", "en": "Time window"},
    "twin.category": {"zh": "事件类别", "en": "Incident category"},
    "twin.camera": {"zh": "视角", "en": "Camera"},
    "twin.pitch": {"zh": "俯仰", "en": "Pitch"},
    "twin.bearing": {"zh": "方位", "en": "Bearing"},
    "twin.legend": {"zh": "图例", "en": "Legend"},
    "twin.to_2d": {"zh": "二维地图", "en": "2D map"},
    "twin.hint": {
        "zh": "拖动平移，右键或 Ctrl+拖动旋转倾斜，滚轮缩放。",
        "en": "Drag to pan, right-drag or Ctrl+drag to tilt and turn, scroll to zoom.",
    },
    "twin.in_view": {"zh": "视图内事件", "en": "In view:"},
    "twin.incidents_unit": {"zh": "起", "en": "incidents"},
    "twin.count": {"zh": "数量", "en": "Count"},
    "twin.all_categories": {"zh": "全部类别", "en": "All categories"},
    "twin.heat_low": {"zh": "较少", "en": "Fewer"},
    "twin.heat_high": {"zh": "密集", "en": "Dense"},
}
_clash = sorted(k for k in STRINGS if k in i18n.STRINGS and i18n.STRINGS[k] != STRINGS[k])
if _clash:
    raise ValueError(f"twin strings clash with web.i18n: {_clash}")
i18n.STRINGS.update(STRINGS)  # registered once at import, like the page itself

dash.register_page(
    __name__, path="/twin", title=i18n.text("app.document_title"), name="twin", order=1
)

DEFAULT_ZOOM = 15.6
MIN_ZOOM, MAX_ZOOM = 8.0, 20.0
DEFAULT_PITCH, DEFAULT_BEARING = 52.0, -24.0
DEFAULT_WINDOW_DAYS = 90
INCIDENT_LAYER = "incidents"
INCIDENT_RAMP = ("#451a03", "#92400e", "#d97706", "#f59e0b", "#fbbf24", "#fde68a")
"""Amber, low → high: incident columns stand apart from the buildings' use colours."""
CATEGORY_GROUPS: dict[str, Text] = {
    "environment": {"zh": "环境卫生", "en": "Environment"},
    "city": {"zh": "城市管理", "en": "City management"},
    "fire_safety": {"zh": "消防安全", "en": "Fire safety"},
    "public_safety": {"zh": "社会治安", "en": "Public safety"},
    "facility": {"zh": "公共设施", "en": "Public facilities"},
    "care": {"zh": "民生关爱", "en": "Care and welfare"},
    "alarm": {"zh": "设备报警", "en": "Device alarms"},
}
"""Top-level incident category codes (the API's ``category=`` matches dotted sub-codes)."""

# (overlay id, registry layer, extra) in drawing order; layers the registry lacks are skipped.
_OVERLAYS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("districts", "districts", {"style": "outline", "visible": False}),
    ("streets", "streets", {"style": "outline"}),
    ("grids", "grids", {"style": "outline"}),
    ("roads", "roads", {}),
    ("cameras", "cameras", {"min_zoom": 15, "visible": False}),
    ("buildings", "buildings", {}),
    ("incident_heatmap", "incident_heatmap", {"visible": False}),
    (
        "hexagons",
        "hexagons",
        {"params": {"of": "incidents", "metric": "count"}, "ramp": INCIDENT_RAMP},
    ),
    ("incidents", "incidents", {"min_zoom": 14, "style": "points", "visible": False}),
    (
        "alarms",
        "sensors",
        {
            "params": {"status": DeviceStatus.alarm},
            "style": "beacon",
            "min_zoom": 15,
            "title": {"zh": "报警设备", "en": "Alarms"},
        },
    ),
)


def overlays() -> tuple[deck.Overlay, ...]:
    """The twin's deck layers, fed by the registry's layers (those that exist)."""
    found = []
    for overlay_id, layer_id, extra in _OVERLAYS:
        try:
            layer = get_layer(layer_id)
        except UnknownLayerError:
            continue
        found.append(deck.Overlay(overlay_id, layer, **extra))  # type: ignore[arg-type]
    return tuple(found)


BASE_LABELS = "base_labels"
"""Overlay id of the base map's names in an embedded view."""


def base_overlays() -> tuple[deck.Overlay, ...]:
    """The own base under an embedded view: district and street outlines and roads (fetched
    per view; a live tick refetches only the layers it names)."""
    found = []
    parts: tuple[tuple[str, str, deck.Style], ...] = (
        ("base_districts", "districts", "outline"),
        ("base_streets", "streets", "outline"),
        ("base_roads", "roads", "auto"),
    )
    for overlay_id, layer_id, style in parts:
        with contextlib.suppress(UnknownLayerError):
            found.append(deck.Overlay(overlay_id, get_layer(layer_id), style=style))
    return tuple(found)


def base_labels(lang: str) -> deck.Overlay:
    """Names by zoom in ``lang`` (``/api/basemap/labels``), drawn over everything; fetched per
    view, never on a live tick."""
    return deck.Overlay(
        BASE_LABELS,
        get_layer("districts"),
        params={"lang": lang},
        style="labels",
        url=dash.get_relative_path("/api/basemap/labels"),
    )


def _number(value: str | None, low: float, high: float) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and low <= number <= high else None


def initial_view(center: tuple[float, float], query: dict[str, str]) -> deck.View:
    """The first view: the city centre ``(lon, lat)`` or the deep link's parts that are valid."""
    lon, lat = center
    pitch = _number(query.get("pitch"), 0, 75)
    bearing = _number(query.get("bearing"), -180, 180)
    return deck.View(
        latitude=_number(query.get("lat"), -85, 85) or lat,
        longitude=_number(query.get("lon"), -180, 180) or lon,
        zoom=_number(query.get("zoom"), MIN_ZOOM, MAX_ZOOM) or DEFAULT_ZOOM,
        pitch=DEFAULT_PITCH if pitch is None else pitch,
        bearing=DEFAULT_BEARING if bearing is None else bearing,
    )


def _spec(items: tuple[deck.Overlay, ...], view: deck.View, lang: str, container: str) -> dict:
    return deck.spec(
        items,
        view,
        lang,
        api=dash.get_relative_path("/api/layers"),
        bundle=dash.get_relative_path(bundle_path()),
        container=container,
        strings={k: i18n.text(k, lang) for k in STRINGS},
        zone=context.timezone(),
    )


def twin_spec(view: deck.View, lang: str) -> dict[str, object]:
    """The spec the glue draws (deck JSON, data sources, tooltips, ids of the page widgets)."""
    return _spec(overlays(), view, lang, DECK) | {
        "status": STATUS,
        "statusFrom": ["hexagons", "incident_heatmap"],
        "link2d": {"id": LINK_2D, "href": dash.get_relative_path("/")},
        "syncUrl": True,
    }


# --- a deck view other pages can embed ---------------------------------------------------------
EMBED_SPEC = "deck-embed-spec"
EMBED_ERROR = "deck-embed-error"


def deck_embed(
    name: str,
    overlay_ids: tuple[str, ...],
    view: deck.View,
    lang: str,
    *,
    time: str | None = None,
    category: str | None = None,
    class_name: str = "deck-embed",
    base: bool = False,
) -> html.Div:
    """A self-contained deck.gl view of some twin overlays (e.g. the incident heatmap on the
    2D page), over the own base (:func:`base_overlays`) when ``base``. Its store
    (``{"type": EMBED_SPEC, "name": name}``) holds the spec; a callback that writes a new
    ``filters`` ({"time": "start/end", "category": code}) or ``visible`` into it redraws the
    view with data for the new request, without a page reload."""
    chosen = tuple(o for o in overlays() if o.id in overlay_ids)
    if base:
        chosen = (*base_overlays(), *chosen, base_labels(lang))
    container = f"deck-embed-{name}"
    spec = _spec(chosen, view, lang, container) | {
        "visible": [o.id for o in chosen],
        "filters": {"time": time, "category": category},
    }
    return html.Div(
        className=class_name,
        children=[
            dcc.Store(id={"type": EMBED_SPEC, "name": name}, data=spec),
            html.Div(id=container, className="twin-deck"),
            html.Div(id={"type": EMBED_ERROR, "name": name}, className="twin-error"),
        ],
    )


def default_window(extent: tuple[str, str] | None, days: int) -> tuple[str, str]:
    """The last ``days`` days of the incidents' dates (ending today when there are none)."""
    last = date.fromisoformat(extent[1]) if extent else date.today()
    first = date.fromisoformat(extent[0]) if extent else last
    return max(first, last - timedelta(days=days - 1)).isoformat(), last.isoformat()


# --- panel -------------------------------------------------------------------------------------


def _swatch(color: str, shape: str = "swatch") -> html.Span:
    return html.Span(className=shape, style={"background": color})


def _overlay_color(overlay: deck.Overlay) -> str:
    layer = overlay.layer
    if overlay.style == "beacon":
        return "#ef4444"
    if overlay.ramp or layer.ramp:
        return (overlay.ramp or layer.ramp)[-2]
    if layer.ramp:
        return layer.ramp[-2]
    return layer.legend[0].color if layer.legend else str(layer.style.get("color", "#60a5fa"))


def layer_options(items: tuple[deck.Overlay, ...], lang: str) -> list[dict[str, object]]:
    """Checklist options of the overlays (top-drawn first)."""
    return [
        {
            "label": html.Span(
                [_swatch(_overlay_color(o)), i18n.pick(o.label, lang)], className="layer-option"
            ),
            "value": o.id,
        }
        for o in reversed(items)
    ]


def category_options(lang: str) -> list[dict[str, str]]:
    """All categories, then each top-level group."""
    return [{"label": i18n.text("twin.all_categories", lang), "value": ""}] + [
        {"label": i18n.pick(label, lang), "value": code} for code, label in CATEGORY_GROUPS.items()
    ]


PRESET_LABELS: dict[int, Text] = {
    7: {"zh": "7天", "en": "7 d"},
    30: {"zh": "30天", "en": "30 d"},
    90: {"zh": "90天", "en": "90 d"},
    365: {"zh": "1年", "en": "1 y"},
}


def preset_options(lang: str) -> list[dict[str, object]]:
    """Quick windows: the last 7/30/90/365 days of the data."""
    return [{"label": i18n.pick(label, lang), "value": d} for d, label in PRESET_LABELS.items()]


def _legend_block(title: Text, rows: list[tuple[str, Text]], lang: str) -> html.Div:
    return html.Div(
        [html.Div(i18n.pick(title, lang), className="legend-title")]
        + [
            html.Div([_swatch(color), i18n.pick(label, lang)], className="legend-row")
            for color, label in rows
        ],
        className="legend-block",
    )


def legend(items: tuple[deck.Overlay, ...], lang: str) -> list[html.Div]:
    """Legends of the coloured overlays: building use, incident columns, heat, severity."""
    by_id = {o.id: o for o in items}
    blocks = []
    for overlay_id in ("buildings", "hexagons", "incident_heatmap", "incidents", "alarms"):
        overlay = by_id.get(overlay_id)
        if overlay is None:
            continue
        rows = [(i.color, i.label) for i in overlay.layer.legend]
        if overlay.ramp and len(rows) == 2:
            rows = [(overlay.ramp[1], rows[0][1]), (overlay.ramp[-2], rows[1][1])]
        if overlay.style == "beacon":
            rows = [
                (i.color, i.label) for i in overlay.layer.legend if i.value == DeviceStatus.alarm
            ]
        blocks.append(_legend_block(overlay.label, rows, lang))
    return blocks


def _slider(component_id: str, low: int, high: int, value: float, step: int) -> dcc.Slider:
    return dcc.Slider(
        id=component_id,
        min=low,
        max=high,
        step=step,
        value=value,
        marks=None,
        updatemode="mouseup",
        tooltip={"placement": "bottom", "always_visible": False},
        className="twin-slider",
    )


def panel(
    items: tuple[deck.Overlay, ...],
    view: deck.View,
    window: tuple[str, str],
    extent: tuple[str, str] | None,
    lang: str,
) -> html.Aside:
    """The floating panel: link to 2D, layers, time window, category, camera, legend."""
    return html.Aside(
        id=PANEL,
        className="map-panel twin-panel",
        children=[
            html.Div(
                [
                    html.H2(t("twin.title", lang), className="twin-title"),
                    html.A(
                        ["◧ ", t("twin.to_2d", lang)],
                        id=LINK_2D,
                        href=dash.get_relative_path("/"),
                        className="twin-link",
                    ),
                ],
                className="twin-head",
            ),
            html.Div(id=STATUS, className="twin-status"),
            html.H2(t("twin.layers", lang), className="panel-title"),
            dcc.Checklist(
                id=TOGGLES,
                options=layer_options(items, lang),
                value=[o.id for o in items if o.visible],
                className="layer-toggles",
                labelClassName="layer-toggle",
            ),
            html.H2(t("twin.time", lang), className="panel-title"),
            dcc.RadioItems(
                id=PRESET,
                options=preset_options(lang),
                value=DEFAULT_WINDOW_DAYS,
                inline=True,
                className="twin-presets",
            ),
            dcc.DatePickerRange(
                id=DATES,
                start_date=window[0],
                end_date=window[1],
                min_date_allowed=extent[0] if extent else None,
                max_date_allowed=extent[1] if extent else None,
                display_format="YYYY-MM-DD",
                className="twin-dates",
            ),
            html.H2(t("twin.category", lang), className="panel-title"),
            dcc.Dropdown(
                id=CATEGORY,
                options=category_options(lang),
                value="",
                clearable=False,
                searchable=False,
                className="twin-category",
            ),
            html.H2(t("twin.camera", lang), className="panel-title"),
            html.Div(
                [
                    t("twin.pitch", lang, className="twin-slider-label"),
                    _slider(PITCH, 0, 75, view.pitch, 1),
                ],
                className="twin-slider-row",
            ),
            html.Div(
                [
                    t("twin.bearing", lang, className="twin-slider-label"),
                    _slider(BEARING, -180, 180, view.bearing, 1),
                ],
                className="twin-slider-row",
            ),
            html.H2(t("twin.legend", lang), className="panel-title"),
            html.Div(legend(items, lang), id=LEGEND, className="twin-legend"),
            html.P(t("twin.hint", lang), className="panel-hint"),
        ],
    )


def layout(**query: str) -> html.Div:
    """The page: the deck filling the screen with the panel over it."""
    settings = context.settings()
    lang = i18n.language(settings.web.language)
    view = initial_view(settings.city.center, query)
    items = overlays()
    extent = _incident_extent()
    window = default_window(extent, DEFAULT_WINDOW_DAYS)
    return html.Div(
        className="twin",
        children=[
            dcc.Store(id=SPEC, data=twin_spec(view, lang)),
            dcc.Store(id=f"{SPEC}-extent", data=extent),
            html.Div(id=DECK, className="twin-deck"),
            html.Div(id=ERROR, className="twin-error"),
            panel(items, view, window, extent, lang),
        ],
    )


def _incident_extent() -> tuple[str, str] | None:
    try:
        layer: Layer = get_layer(INCIDENT_LAYER)
    except UnknownLayerError:
        return None
    return time_extent(context.store_url(), layer, context.page_viewer(), context.timezone())


# --- callbacks ---------------------------------------------------------------------------------

dash.clientside_callback(
    ClientsideFunction(namespace="onemap_deck", function_name="sync"),
    Output(ERROR, "children"),
    Input(SPEC, "data"),
    Input(TOGGLES, "value"),
    Input(DATES, "start_date"),
    Input(DATES, "end_date"),
    Input(CATEGORY, "value"),
    Input(PITCH, "value"),
    Input(BEARING, "value"),
)

dash.clientside_callback(
    ClientsideFunction(namespace="onemap_deck", function_name="embed"),
    Output({"type": EMBED_ERROR, "name": MATCH}, "children"),
    Input({"type": EMBED_SPEC, "name": MATCH}, "data"),
)

dash.clientside_callback(
    ClientsideFunction(namespace="onemap_deck", function_name="preset"),
    Output(DATES, "start_date"),
    Output(DATES, "end_date"),
    Input(PRESET, "value"),
    State(f"{SPEC}-extent", "data"),
    prevent_initial_call=True,
)

dash.clientside_callback(
    ClientsideFunction(namespace="onemap_deck", function_name="mapView"),
    Output(ids.NAV, "data-view"),
    Input(ids.MAP, "center"),
    Input(ids.MAP, "zoom"),
)


@callback(
    Output(SPEC, "data"),
    Output(TOGGLES, "options"),
    Output(CATEGORY, "options"),
    Output(PRESET, "options"),
    Output(LEGEND, "children"),
    Input(ids.LANG_SWITCH, "value"),
    State(SPEC, "data"),
)
def relabel(lang: str, spec: dict[str, Any] | None):
    """Tooltips, layer titles, options and legend in the chosen language (same view)."""
    lang = i18n.language(lang)
    if spec and spec.get("lang") == lang:
        raise PreventUpdate
    start = (spec or {}).get("deck", {}).get("initialViewState", {})
    view = deck.View(
        latitude=start.get("latitude", 0.0),
        longitude=start.get("longitude", 0.0),
        zoom=start.get("zoom", DEFAULT_ZOOM - 1) - deck.LEAFLET_TO_DECK_ZOOM,
        pitch=start.get("pitch", DEFAULT_PITCH),
        bearing=start.get("bearing", DEFAULT_BEARING),
    )
    items = overlays()
    return (
        twin_spec(view, lang),
        layer_options(items, lang),
        category_options(lang),
        preset_options(lang),
        legend(items, lang),
    )
