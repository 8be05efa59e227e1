"""Planner's page (``/export``): choose layers, an area, fields and a format, and download.

The area is a governance unit from the tree, a polygon drawn on the map (dash-leaflet's
EditControl) or a bounding box. Fields are the allow-listed ones of the viewer's role
(:mod:`geodata.exports.fields`: never personal identifiers); the file is written in-process by
the export services for the callback's viewer and handed over with ``dcc.Download``. The page
also shows the equivalent ``/api/export`` URLs and the OGC API address for QGIS/GDAL.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import dash
import dash_leaflet as dl
import shapely
from dash import ALL, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from flask import request
from shapely.geometry import mapping, shape

from geodata.accounts.viewer import Viewer
from geodata.errors import LayerForbiddenError
from geodata.exports import Filters
from geodata.exports.provider import TableProvider
from geodata.exports.query import parse_area, parse_polygon
from geodata.exports.sources import EXPORT_LAYERS
from geodata.exports.writers import FORMATS
from geodata.output_crs import WGS84_OUT, export_crs
from geodata.query import BBox, FeatureQueryError
from geodata.vocab import AreaLevel
from pages import export_files, export_qgis, guard
from pages import export_ids as ids
from pages import ids as shell_ids
from pages.drawing import DRAW_OPTIONS, drawn_polygons
from pages.home import fit_view
from pages.shell import t
from web import context, heavy, i18n
from web.i18n import pick

PATH = "/export"
dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="export")
export_qgis.register()

FORMAT_LABELS = {
    "geojson": "GeoJSON",
    "gpkg": "GeoPackage",
    "csv": "CSV",
    "shp": "Shapefile (zip)",
}
DEFAULT_FORMAT = "gpkg"
CRS_CHOICES = {
    WGS84_OUT.key: "export.crs.wgs84",
    "EPSG:4490": "export.crs.cgcs2000",
    "EPSG:4548": "export.crs.gk117",
    "EPSG:4527": "export.crs.gk39",
    "gcj02": "export.crs.gcj02",
}
"""The page's short list of coordinate systems (value → label key); scripts take any EPSG."""
AREA_MODES = ("city", "unit", "polygon", "bbox")
FIT_PIXELS = (1100, 760)
"""The map area the areas are fitted into on first view (a desktop screen minus the form)."""
CITY_ZOOM = 12
OUTLINE = {"color": "#5eead4", "weight": 1, "fill": False}
SELECTED = {"color": "#fbbf24", "weight": 2, "fillOpacity": 0.08}


# --- pieces of the layout -------------------------------------------------------------------


def _lang() -> str:
    return i18n.language(context.settings().web.language)


def layer_titles(viewer: Viewer, lang: str) -> dict[str, str]:
    """The titles in ``lang`` of the export layers the viewer may take, by layer id."""
    return {s.id: pick(s.title, lang) for s in export_files.layers_for(viewer)}


def layer_options(viewer: Viewer, lang: str) -> list[dict[str, str]]:
    """Checklist options: the export layers the viewer may take."""
    return [{"label": title, "value": id_} for id_, title in layer_titles(viewer, lang).items()]


def mode_options(lang: str) -> list[dict[str, str]]:
    keys = ("export.area_city", "export.area_unit", "export.area_polygon", "export.area_bbox")
    return [
        {"label": i18n.text(k, lang), "value": m} for m, k in zip(AREA_MODES, keys, strict=True)
    ]


def chosen_crs(value: object) -> str:
    """The page's CRS choice (WGS 84 for anything not on its list)."""
    return value if isinstance(value, str) and value in CRS_CHOICES else WGS84_OUT.key


def crs_options(lang: str) -> list[dict[str, str]]:
    """Radio options of :data:`CRS_CHOICES` in ``lang``."""
    return [{"label": i18n.text(k, lang), "value": v} for v, k in CRS_CHOICES.items()]


def _outlines(items: list[export_files.AreaItem]) -> dict:
    top = [a for a in items if a.level == AreaLevel.district] or items[:1]
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": a.geometry, "properties": {"code": a.code}} for a in top
        ],
    }


def ogc_url() -> str:
    """The OGC API address of this app as the browser reaches it."""
    return request.host_url.rstrip("/") + dash.get_relative_path("/ogc")


def _section(key: str, *children) -> html.Section:
    return html.Section(
        className="export-section", children=[html.H3(t(key), className="export-h"), *children]
    )


def panel(viewer: Viewer, items: list[export_files.AreaItem], lang: str) -> html.Aside:
    """The form: layers, area, fields, format, summary, download, script URLs, OGC API."""
    ogc = ogc_url()
    return html.Aside(
        className="export-panel",
        children=[
            html.H2(t("export.title"), className="export-title"),
            _section(
                "export.layers",
                dcc.Checklist(
                    id=ids.LAYERS,
                    options=layer_options(viewer, lang),
                    value=[],
                    className="export-checklist",
                ),
            ),
            _section(
                "export.area",
                dcc.RadioItems(
                    id=ids.AREA_MODE,
                    options=mode_options(lang),
                    value="city",
                    className="export-radio",
                ),
                dcc.Dropdown(
                    id=ids.AREA,
                    options=export_files.area_options(items, lang),
                    placeholder=i18n.text("export.area_pick", lang),
                    className="export-area-dropdown",
                ),
                html.Div(t("export.draw_hint"), className="export-hint"),
                html.Div(
                    className="export-bbox-row",
                    children=[
                        dcc.Input(
                            id=ids.BBOX,
                            type="text",
                            placeholder=i18n.text("form.bbox_hint", lang),
                            debounce=True,
                            className="export-bbox",
                        ),
                        html.Button(
                            t("export.bbox_from_map"), id=ids.BBOX_FROM_MAP, className="export-btn"
                        ),
                    ],
                ),
            ),
            _section(
                "export.fields",
                html.Div(t("export.fields_hint"), className="export-hint"),
                html.Div(id=ids.FIELDS_BOX, className="export-fields-box"),
            ),
            _section(
                "export.format",
                dcc.RadioItems(
                    id=ids.FORMAT,
                    options=[{"label": FORMAT_LABELS[f], "value": f} for f in FORMATS],
                    value=DEFAULT_FORMAT,
                    className="export-radio",
                ),
            ),
            _section(
                "export.crs",
                dcc.RadioItems(
                    id=ids.CRS,
                    options=crs_options(lang),
                    value=WGS84_OUT.key,
                    className="export-radio",
                ),
                html.Div(t("export.crs_hint"), className="export-hint"),
            ),
            _section("export.summary", html.Div(id=ids.SUMMARY, className="export-summary")),
            html.Button(
                t("export.download"), id=ids.DOWNLOAD_BUTTON, className="export-download-button"
            ),
            html.Div(id=ids.STATUS, className="export-status", role="status"),
            dcc.Download(id=ids.DOWNLOAD),
            _section("export.api", html.Div(id=ids.API_LINKS, className="export-api-links")),
            _section(
                "export.ogc",
                dcc.Input(id=ids.OGC_URL, value=ogc, readOnly=True, className="export-ogc-url"),
                html.P(t("export.ogc_hint"), className="export-hint"),
                html.P(t("export.gdal_hint"), className="export-hint"),
                html.Pre(
                    f'GDAL_HTTP_HEADERS="Authorization: Bearer <token>" ogrinfo OAPIF:{ogc}',
                    className="export-code",
                ),
            ),
            export_qgis.section(),
        ],
    )


def map_view(items: list[export_files.AreaItem]) -> dl.Map:
    """The map (first on where the detail is, as the home map): district outlines, the chosen
    area, and the drawing tools."""
    center, zoom = fit_view(
        export_files.detail_extent(items), FIT_PIXELS, context.settings().city.center, CITY_ZOOM
    )
    return dl.Map(
        id=ids.MAP,
        center=center,
        zoom=zoom,
        attributionControl=False,
        className="export-map",
        children=[
            dl.GeoJSON(data=_outlines(items), style=OUTLINE, interactive=False),
            dl.GeoJSON(id=ids.AREA_SHAPE, data=None, style=SELECTED, interactive=False),
            dl.FeatureGroup([dl.EditControl(id=ids.DRAW, draw=DRAW_OPTIONS, position="topright")]),
            dl.ScaleControl(position="bottomleft", imperial=False),
        ],
    )


def layout(**_query: str) -> html.Div:
    """The page: the form on the left, the map on the right (forbidden text for other roles)."""
    lang = _lang()
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    viewer = context.page_viewer()
    items = export_files.areas(context.store_url(), viewer)
    index = {a.code: a.id for a in items}
    return html.Div(
        className="export-page",
        children=[
            dcc.Store(id=ids.AREA_INDEX, data=index),
            dcc.Store(id=ids.SELECTION, data={}),
            dcc.Store(id=ids.LABELS_LANG, data=lang),
            panel(viewer, items, lang),
            map_view(items),
        ],
    )


# --- helpers of the callbacks ---------------------------------------------------------------


def drawn_polygon(geojson: dict | None) -> str | None:
    """The polygons drawn on the map as one GeoJSON geometry text (None when none)."""
    shapes = [shape(g) for g in drawn_polygons(geojson)]
    if not shapes:
        return None
    return json.dumps(mapping(shapely.union_all(shapes)))


def selection(mode: str, area: str | None, geojson: dict | None, bbox: str | None) -> dict:
    """The area filter as the query parameters of ``/api/export`` (checked; errors raised)."""
    if mode == "unit" and area:
        return {"area": parse_area(area)}
    if mode == "polygon":
        polygon = parse_polygon(drawn_polygon(geojson))
        if polygon is None:
            raise FeatureQueryError("polygon", "draw a polygon or rectangle on the map")
        return {"polygon": polygon}
    if mode == "bbox" and bbox:
        return {"bbox": ",".join(str(v) for v in BBox.parse(bbox).as_list())}
    return {}


def filters_of(chosen: dict) -> Filters:
    """The export filters of a selection made by :func:`selection`."""
    return Filters(
        area=chosen.get("area"),
        polygon=chosen.get("polygon"),
        bbox=BBox.parse(chosen["bbox"]) if chosen.get("bbox") else None,
    )


def api_url(layer_id: str, fmt: str, chosen: dict, crs: str | None = None) -> str:
    """The ``/api/export`` URL of one layer with the chosen area (and CRS, unless WGS 84)."""
    extra = {"crs": crs} if crs and crs != WGS84_OUT.key else {}
    query = urlencode({"format": fmt, **chosen, **extra})
    return dash.get_relative_path(f"/api/export/{layer_id}") + "?" + query


def _error(lang: str, exc: Exception) -> str:
    return i18n.text("export.error", lang).format(reason=str(exc))


# --- callbacks ------------------------------------------------------------------------------


@callback(
    Output(ids.FIELDS_BOX, "children"),
    Input(ids.LAYERS, "value"),
    Input(shell_ids.LANG_SWITCH, "value"),
    State({"type": ids.FIELDS, "layer": ALL}, "value"),
    State({"type": ids.FIELDS, "layer": ALL}, "id"),
)
def field_lists(layers: list[str], lang: str, values: list, checklist_ids: list[dict]):
    """One checklist of allowed fields per chosen layer (all ticked; earlier ticks kept)."""
    guard.require(PATH)
    lang = i18n.language(lang)
    viewer = context.viewer()
    kept = {cid["layer"]: v for cid, v in zip(checklist_ids, values, strict=True)}
    titles = layer_titles(viewer, lang)
    boxes = []
    for layer in layers or []:
        names = [f.name for f in export_files.fields_for(layer, viewer)]
        if not names:
            continue
        boxes.append(
            html.Fieldset(
                className="export-fieldset",
                children=[
                    html.Legend(titles.get(layer, layer)),
                    dcc.Checklist(
                        id=ids.fields(layer),
                        options=[{"label": n, "value": n} for n in names],
                        value=kept.get(layer, names),
                        inline=True,
                        className="export-field-list",
                    ),
                ],
            )
        )
    return boxes


@callback(
    Output(ids.SELECTION, "data"),
    Output(ids.AREA_SHAPE, "data"),
    Output(ids.STATUS, "children", allow_duplicate=True),
    Input(ids.AREA_MODE, "value"),
    Input(ids.AREA, "value"),
    Input(ids.DRAW, "geojson"),
    Input(ids.BBOX, "value"),
    State(ids.AREA_INDEX, "data"),
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def choose_area(mode, area, geojson, bbox, index, lang):
    """The chosen area as filters, and its outline on the map (an error in the status line)."""
    guard.require(PATH)
    lang = i18n.language(lang)
    try:
        chosen = selection(mode, area, geojson, bbox)
    except FeatureQueryError as exc:
        return {"error": str(exc)}, None, _error(lang, exc)
    outline = None
    if "area" in chosen and chosen["area"] in (index or {}):
        text = TableProvider(context.store_url()).get(
            EXPORT_LAYERS[export_files.AREAS], index[chosen["area"]], context.viewer()
        )
        outline = json.loads(text) if text else None
    elif "bbox" in chosen:
        minx, miny, maxx, maxy = BBox.parse(chosen["bbox"]).as_list()
        outline = {"type": "Feature", "properties": {},
                   "geometry": mapping(shapely.box(minx, miny, maxx, maxy))}  # fmt: skip
    return chosen, outline, ""


@callback(
    Output(ids.BBOX, "value"),
    Input(ids.BBOX_FROM_MAP, "n_clicks"),
    State(ids.MAP, "bounds"),
    prevent_initial_call=True,
)
def bbox_from_map(_clicks, bounds):
    """The map's current view as a bbox (lon/lat, 6 decimals)."""
    guard.require(PATH)
    if not bounds:
        raise PreventUpdate
    (south, west), (north, east) = bounds
    return ",".join(f"{v:.6f}" for v in (west, south, east, north))


@callback(
    Output(ids.SUMMARY, "children"),
    Output(ids.API_LINKS, "children"),
    Input(ids.LAYERS, "value"),
    Input(ids.SELECTION, "data"),
    Input(ids.FORMAT, "value"),
    Input(ids.CRS, "value"),
    Input(shell_ids.LANG_SWITCH, "value"),
)
def summary(layers, chosen, fmt, crs, lang):
    """How many features each chosen layer would export, and its script URL."""
    guard.require(PATH)
    lang = i18n.language(lang)
    chosen = chosen or {}
    if chosen.get("error"):
        return html.Div(_error(lang, ValueError(chosen["error"])), className="export-error"), []
    if not layers:
        return i18n.text("export.no_layers", lang), []
    viewer = context.viewer()
    titles = layer_titles(viewer, lang)
    rows, links = [], []
    try:
        filters = filters_of(chosen)
        for layer in layers:
            n = export_files.count(context.store_url(), layer, filters, viewer)
            rows.append(
                html.Li(
                    [
                        html.Span(titles.get(layer, layer), className="export-layer-name"),
                        html.Span(
                            f"{n:,}",
                            className="export-count",
                            **{"data-layer": layer, "data-count": str(n)},
                        ),
                        html.Span(i18n.text("export.features", lang), className="export-unit"),
                    ]
                )
            )
            url = api_url(layer, fmt or DEFAULT_FORMAT, chosen, chosen_crs(crs))
            links.append(html.Li(html.A(url, href=url, className="export-api-link")))
    except (FeatureQueryError, LayerForbiddenError) as exc:
        return html.Div(_error(lang, exc), className="export-error"), []
    return html.Ul(rows, className="export-summary-list"), html.Ul(links)


@callback(
    Output(ids.DOWNLOAD, "data"),
    Output(ids.STATUS, "children"),
    Input(ids.DOWNLOAD_BUTTON, "n_clicks"),
    State(ids.LAYERS, "value"),
    State(ids.SELECTION, "data"),
    State(ids.FORMAT, "value"),
    State(ids.CRS, "value"),
    State({"type": ids.FIELDS, "layer": ALL}, "value"),
    State({"type": ids.FIELDS, "layer": ALL}, "id"),
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def download(_clicks, layers, chosen, fmt, crs, values, checklist_ids, lang):
    """Write the chosen layers for the caller and hand the file to the browser."""
    guard.require(PATH)
    lang = i18n.language(lang)
    chosen = chosen or {}
    if not layers:
        return None, i18n.text("export.no_layers", lang)
    if chosen.get("error"):
        return None, _error(lang, ValueError(chosen["error"]))
    picked = {cid["layer"]: v or [] for cid, v in zip(checklist_ids, values, strict=True)}
    try:
        out_crs = export_crs(chosen_crs(crs))
        with heavy.slot():
            result = export_files.export(
                context.store_url(),
                layers,
                fmt,
                filters_of(chosen),
                picked,
                context.viewer(),
                heavy.engine(),
                out_crs,
                context.timezone(),
            )
    except (FeatureQueryError, LayerForbiddenError) as exc:
        return None, _error(lang, exc)
    except heavy.HeavyBusy as exc:
        return None, i18n.text("heavy.busy", lang).format(seconds=exc.retry_after)
    total = sum(result.counts.values())
    return (
        dcc.send_bytes(result.content, result.name),
        i18n.text("export.done", lang).format(n=f"{total:,}"),
    )


@callback(
    Output(ids.LAYERS, "options"),
    Output(ids.AREA_MODE, "options"),
    Output(ids.AREA, "options"),
    Output(ids.AREA, "placeholder"),
    Output(ids.BBOX, "placeholder"),
    Output(ids.CRS, "options"),
    Output(ids.LABELS_LANG, "data"),
    Input(shell_ids.LANG_SWITCH, "value"),
    Input(ids.LAYERS, "id"),  # fires when the page appears, not on other pages
    State(ids.LABELS_LANG, "data"),
)
def relabel(lang: str, _page: str, shown: str | None):
    """Option labels in the chosen language (the shell's ``t()`` texts switch by themselves)."""
    guard.require(PATH)
    lang = i18n.labels_to_write(lang, shown)
    viewer = context.viewer()
    items = export_files.areas(context.store_url(), viewer)
    return (
        layer_options(viewer, lang),
        mode_options(lang),
        export_files.area_options(items, lang),
        i18n.text("export.area_pick", lang),
        i18n.text("form.bbox_hint", lang),
        crs_options(lang),
        lang,
    )
