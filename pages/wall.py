"""Command wall ("/wall"): the whole city (or a leader's areas) on one dark screen, live.

The map (dash-leaflet, our own data as the base) shows open incidents as H3 hexagons, the
latest risk forecast, sensors in alarm and the governance areas one level below the selection;
its layers are fetched clientside from ``/api/layers/<id>`` (assets/wall.js). Clicking an area
drills down district → street → community → grid; the breadcrumb goes back. KPI tiles, the
30-day trend and the ticker come from :mod:`analytics.wall_kpis` for the signed-in viewer and the
selected area. Live: assets/wall.js bumps a tick store when ``/api/live`` reports a change (and
every 30 s), and the callbacks update data props only (text, the trend chart's children,
GeoJSON data).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dash
import dash_leaflet as dl
from dash import ALL, ClientsideFunction, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from analytics import freshness, wall_kpis
from geodata import city_time
from geodata.accounts.viewer import Viewer
from layers import deck
from pages import guard, home, ids, own_base, twin, wall_view
from pages import wall_ids as wid
from pages.shell import t
from web import context, i18n

PATH = "/wall"
dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="wall")

CLOCK_MS = 1000
MAP_PIXELS = (900, 800)
"""About the map's size at 1920×1080: the first zoom before the map fits the area itself."""
CITY_ZOOM = 12
TWIN_OVERLAYS = ("buildings", "hexagons")
"""The 3D panel: buildings and incident columns (alarms are on the map; a second sensors
query per live tick would cost ~150 ms at 2 million residents)."""
TWIN_ZOOM, TWIN_PITCH, TWIN_BEARING = 15.2, 55.0, -25.0


def _now() -> datetime:
    return datetime.now(UTC)


def _area_id(area: dict | None) -> int | None:
    return (area or {}).get("id")


def _zone() -> ZoneInfo:
    """The city's zone (``ONEMAP_TIMEZONE``): its days are the wall's days."""
    return ZoneInfo(context.timezone())


def _window(now: datetime) -> str:
    """The ``start/end`` of the trend's 30 days (the twin's hexagon columns use it too)."""
    last = now.astimezone(_zone()).date()
    return f"{last - timedelta(days=wall_kpis.TREND_DAYS - 1)}/{last}"


def _twin_panel(
    bbox: tuple[float, float, float, float] | None, lang: str, now: datetime
) -> html.Div:
    lon, lat = context.settings().city.center
    zoom = TWIN_ZOOM
    if bbox:
        camera = wall_view.twin_camera(bbox)
        lat, lon, zoom = camera["latitude"], camera["longitude"], camera["zoom"]
    view = deck.View(lat, lon, zoom, TWIN_PITCH, TWIN_BEARING)
    return twin.deck_embed(
        wid.TWIN,
        TWIN_OVERLAYS,
        view,
        lang,
        time=_window(now),
        class_name="wall-twin-deck",
        base=True,
    )


def _panel(title_key: str, lang: str, *children, class_name: str = "") -> html.Section:
    return html.Section(
        className=f"wall-panel {class_name}",
        children=[html.H2(t(title_key, lang), className="wall-panel-title"), *children],
    )


def _map(bbox: tuple[float, float, float, float] | None, lang: str) -> dl.Map:
    center, zoom = home.fit_view(bbox, MAP_PIXELS, context.settings().city.center, CITY_ZOOM)
    return dl.Map(
        id=wid.MAP,
        className="wall-map",
        minZoom=8,
        maxZoom=19,
        zoomControl=False,
        zoomSnap=0.25,
        attributionControl=False,
        children=[
            *own_base.panes(wid.MAP, "dark"),
            *wall_view.map_layers(lang),
            dl.ScaleControl(position="bottomleft", imperial=False),
        ],
        center=center,
        zoom=zoom,
        viewport=wall_view.viewport(bbox, animate=False),
    )


def layout(**_query: str) -> html.Div:
    """The wall for the signed-in viewer (the forbidden message for other roles)."""
    lang = i18n.language(context.settings().web.language)
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    viewer = context.page_viewer()
    url, now = context.store_url(), _now()
    bbox = wall_kpis.extent(url, viewer)
    figures = wall_kpis.figures(url, viewer, None, now, _zone())
    return html.Div(
        id=wid.ROOT,
        className="wall",
        children=[
            dcc.Store(id=wid.AREA, data=wall_view.area_store(None, bbox)),
            dcc.Store(id=wid.LAYER_META, data=wall_view.layer_meta()),
            dcc.Store(id=wid.LAYER_STATUS, data={}),
            dcc.Store(id=wid.TICK, data=0),
            own_base.meta_store(context.settings(), wid.MAP),
            dcc.Interval(id=wid.CLOCK, interval=CLOCK_MS),
            html.Header(
                className="wall-head",
                children=[
                    html.H1(t("wall.title", lang), className="wall-title"),
                    html.Nav(
                        wall_view.crumbs(None, viewer.scoped, lang),
                        id=wid.CRUMBS,
                        className="wall-crumbs",
                    ),
                    html.Div(className="wall-spacer"),
                    _freshness_line(lang, now),
                    t("wall.updated", lang, className="wall-updated-label"),
                    html.Span(_clock(now), id=wid.UPDATED, className="wall-updated"),
                ],
            ),
            html.Div(
                id=wid.KPIS,
                className="wall-kpis",
                children=[wall_view.tiles(wall_view.kpi_values(figures.kpis, lang), lang)],
            ),
            _panel(
                "wall.map",
                lang,
                _map(bbox, lang),
                html.Div(
                    [t("wall.map_hint", lang), wall_view.legend(lang)], className="wall-map-foot"
                ),
                class_name="wall-map-panel",
            ),
            _panel(
                "wall.twin",
                lang,
                _twin_panel(wall_kpis.detail_extent(url, viewer, None) or bbox, lang, now),
                class_name="wall-twin",
            ),
            _panel(
                "wall.trend",
                lang,
                html.Div(
                    wall_view.trend_chart(figures.trend, lang),
                    id=wid.TREND,
                    className="wall-trend-body",
                ),
                class_name="wall-trend",
            ),
            _panel(
                "wall.ticker",
                lang,
                html.Ul(
                    wall_view.ticker_rows(figures.ticker, lang),
                    id=wid.TICKER,
                    className="wall-ticker-list",
                ),
                class_name="wall-ticker",
            ),
        ],
    )


own_base.register(wid.MAP)


def _clock(now: datetime) -> str:
    return city_time.fmt(now, context.timezone(), city_time.CLOCK)


def _freshness(lang: str, now: datetime) -> tuple[str, str | None, str]:
    """Text, hover title and class of the data-freshness line: ``数据更新 n/m 正常`` (and the
    overdue count) for the departments' sources at ``now``, the hover listing the overdue ones.
    Empty when no source is registered."""
    grace = timedelta(hours=context.settings().rules.source_grace_hours)
    s = freshness.summary(freshness.source_rows(context.store_url(), now, grace))
    if not s.total:
        return "", None, "wall-freshness"
    words = i18n.text("wall.freshness", lang).format(current=s.current, total=s.total)
    if not s.overdue:
        return words, None, "wall-freshness"
    late = i18n.text("wall.freshness_late", lang).format(n=len(s.overdue))
    names = ("、" if lang == "zh" else ", ").join(o[lang] for o in s.overdue)
    title = i18n.text("wall.freshness_title", lang).format(names=names)
    return f"{words} · {late}", title, "wall-freshness late"


def _freshness_line(lang: str, now: datetime) -> html.Span:
    text, title, class_name = _freshness(lang, now)
    return html.Span(text, id=wid.FRESHNESS, className=class_name, title=title)


# --- callbacks ---------------------------------------------------------------------------------

_LAYERS_ALL = {"type": wid.LAYER, "layer": ALL}
_CRUMBS_ALL = {"type": wid.CRUMB, "area": ALL}


def _clientside(function: str, *dependencies, **kwargs) -> None:
    dash.clientside_callback(
        ClientsideFunction(namespace="onemap_wall", function_name=function),
        *dependencies,
        **kwargs,
    )


_clientside(
    "tick", Output(wid.TICK, "data"), Input(wid.CLOCK, "n_intervals"), State(wid.TICK, "data")
)
_clientside(
    "layers",
    Output(_LAYERS_ALL, "data"),
    Output(wid.LAYER_STATUS, "data"),
    Input(wid.MAP, "bounds"),
    Input(wid.MAP, "zoom"),
    Input(wid.AREA, "data"),
    Input(wid.TICK, "data"),
    State(_LAYERS_ALL, "id"),
    State(wid.LAYER_META, "data"),
    State(wid.LAYER_STATUS, "data"),
)


def _selected(viewer: Viewer, area_id: int | None) -> wall_kpis.Selection | None:
    if not area_id:
        return None
    return wall_kpis.select_area(context.store_url(), viewer, int(area_id))


@callback(
    Output(wid.AREA, "data"),
    Output(wid.CRUMBS, "children"),
    Output(wid.MAP, "viewport"),
    Input(wid.layer("areas"), "clickData"),
    Input(_CRUMBS_ALL, "n_clicks"),
    Input(ids.LANG_SWITCH, "value"),
    State(wid.AREA, "data"),
    prevent_initial_call=True,
)
def select(click: dict | None, _clicks: list, lang: str, area: dict | None):
    """Drill down to a clicked area, or back to a breadcrumb's; relabel on a language switch."""
    guard.require(PATH)
    viewer, lang = context.viewer(), i18n.language(lang)
    trigger = ctx.triggered_id
    current = _area_id(area)
    if trigger == wid.layer("areas"):
        target = (click or {}).get("id")
    elif isinstance(trigger, dict) and trigger.get("type") == wid.CRUMB:
        if not ctx.triggered or not ctx.triggered[0].get("value"):
            raise PreventUpdate
        target = trigger["area"] or None
    else:
        target = current
    selection = _selected(viewer, target)
    if target and selection is None:
        raise PreventUpdate  # outside the viewer's scope, or gone: stay where we are
    bbox = (
        tuple(selection.area.bbox) if selection else wall_kpis.extent(context.store_url(), viewer)
    )
    moved = target != current
    return (
        wall_view.area_store(selection, bbox) if moved else dash.no_update,
        wall_view.crumbs(selection, viewer.scoped, lang),
        wall_view.viewport(bbox) if moved else dash.no_update,
    )


@callback(
    Output({"type": twin.EMBED_SPEC, "name": wid.TWIN}, "data"),
    Input(wid.AREA, "data"),
    Input(ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def follow(area: dict | None, lang: str):
    """The 3D panel flies to the selected area (city → district → street …): to its grids,
    where the buildings are, when it has any; its base map's names follow the language
    switch."""
    guard.require(PATH)
    spec = dash.Patch()
    if ctx.triggered_id == ids.LANG_SWITCH:
        spec["sources"][twin.BASE_LABELS]["params"]["lang"] = i18n.language(lang)
        return spec
    url, viewer = context.store_url(), context.viewer()
    bbox = (
        wall_kpis.detail_extent(url, viewer, _area_id(area))
        or (area or {}).get("bbox")
        or wall_kpis.extent(url, viewer)
    )
    if not bbox:
        raise PreventUpdate
    spec["camera"] = wall_view.twin_camera(bbox)
    return spec


@callback(
    Output(wid.FRESHNESS, "children"),
    Output(wid.FRESHNESS, "title"),
    Output(wid.FRESHNESS, "className"),
    Input(wid.TICK, "data"),
    Input(ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def sources_line(_tick: int, lang: str) -> tuple[str, str | None, str]:
    """The data-freshness line, again on each live tick and language switch."""
    guard.require(PATH)
    return _freshness(i18n.language(lang), _now())


@callback(
    *(Output(wid.kpi(key), "children") for key in wall_view.KPI_KEYS),
    *(Output(wid.kpi_note(key), "children") for key in wall_view.KPI_KEYS),
    Output(wid.TREND, "children"),
    Output(wid.TICKER, "children"),
    Output(wid.UPDATED, "children"),
    Input(wid.AREA, "data"),
    Input(wid.TICK, "data"),
    Input(ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def refresh(area: dict | None, _tick: int, lang: str):
    """KPIs, trend and ticker for the viewer and the selected area (data props only). The
    trend chart's sizes are in em of the wall, so a 4K screen scales it in CSS alone."""
    guard.require(PATH)
    lang, now = i18n.language(lang), _now()
    figures = wall_kpis.figures(context.store_url(), context.viewer(), _area_id(area), now, _zone())
    values = wall_view.kpi_values(figures.kpis, lang)
    return (
        *(values[key][0] for key in wall_view.KPI_KEYS),
        *(values[key][1] for key in wall_view.KPI_KEYS),
        wall_view.trend_chart(figures.trend, lang),
        wall_view.ticker_rows(figures.ticker, lang),
        _clock(now),
    )
