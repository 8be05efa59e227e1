"""The grid worker's page (``/grid``, tablet 1280×800, touch): my grid's map, my tasks with
accept / handle / escalate / close (note and photo), reporting a new incident by tapping the map
or with the device's location, my residents needing care (audited) and my devices.

Everything is read and changed through :mod:`twin.grid_desk`, which limits it to the viewer's
grids; the map reuses the viewport API (``/api/layers``, scoped to the viewer) and the home
map's clientside loader (``assets/grid.js``).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import dash
import dash_leaflet as dl
from dash import ALL, ClientsideFunction, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from flask import request

from geodata.accounts.viewer import Viewer
from geodata.errors import OneMapError
from geodata.vocab import OPEN_STATUSES, EventStatus
from layers import leaflet
from layers.base import Layer
from layers.registry import layers_for
from pages import grid_ids as gid
from pages import grid_tasks, guard, ids
from pages.home import fit_view, map_strings
from pages.shell import t
from twin import grid_desk
from twin.clock import SystemClock
from web import context, i18n

PATH = "/grid"
dash.register_page(__name__, path=PATH, title=i18n.text("grid.title"), name="grid")

MAP_LAYERS = ("grids", "buildings", "sensors", "incidents")
"""Layers drawn on the grid map (those the role may see)."""
TAP_THROUGH = ("grids", "buildings")
"""Layers whose features let a tap through to the map (tooltip only, no popup)."""
TABS = ("tasks", "report", "residents", "devices")
CITY_ZOOM = 12
MAP_PIXELS = (620, 660)
"""The map's size on a 1280×800 tablet (a little less, so the grid fits with a margin)."""
TOUCH_MARKER = {"radius": 12, "weight": 24, "opacity": 0}
"""Point markers on the tablet: 24 px drawn (radius 12), and an invisible 24 px stroke around
them, so a tap 24 px from the centre (a 48 px target) still hits the marker."""
OPEN_WORK = ",".join(OPEN_STATUSES)
"""The incidents' status filter while closed history is hidden (the map's default)."""


# --- layout ------------------------------------------------------------------------------------


def _map_layers(role: str) -> tuple[Layer, ...]:
    """The registry layers drawn on the grid map."""
    return tuple(layer for layer in layers_for(role) if layer.id in MAP_LAYERS)


def _layer_meta(role: str) -> dict[str, object]:
    """What the clientside loader needs (the shape of the home map's layer meta)."""
    return {
        "api": dash.get_relative_path("/api/layers"),
        "token": uuid.uuid4().hex,
        "map": gid.MAP,
        "shown": [layer.id for layer in _map_layers(role)],
        "layers": {
            layer.id: {
                "min_zoom": layer.min_zoom,
                "max_zoom": layer.max_zoom,
                "time": False,
                "area": layer.group != "base",
                "selectsArea": False,
                "query": {"status": OPEN_WORK} if layer.id == "incidents" else {},
            }
            for layer in _map_layers(role)
        },
    }


def fitted_view(box: tuple[float, float, float, float] | None) -> dict[str, object]:
    """Centre ``[lat, lon]`` and zoom showing ``box`` in the map (the city centre without)."""
    center, zoom = fit_view(box, MAP_PIXELS, context.settings().city.center, CITY_ZOOM)
    return {"center": center, "zoom": zoom}


def map_layer(layer: Layer, lang: str, strings: dict[str, str]) -> dl.GeoJSON:
    """One registry layer on the grid map; areas and buildings get no popup, so a tap on them
    reaches the map (a bound popup stops the click) and picks the report location."""
    component = leaflet.geojson(layer, gid.layer(layer.id), lang, strings, context.timezone())
    if layer.id in TAP_THROUGH:
        component.hideout = {**component.hideout, "popup": []}
    if layer.geometry == "point":
        style = {**component.hideout["style"], **TOUCH_MARKER}
        component.hideout = {**component.hideout, "style": style, "valueStyle": {}}
    return component


def grid_map(role: str, box: tuple[float, float, float, float] | None, lang: str) -> dl.Map:
    """The map fitted to the worker's grids; tapping it picks a report location."""
    strings = map_strings(lang)
    return dl.Map(
        id=gid.MAP,
        **fitted_view(box),
        minZoom=8,
        maxZoom=19,
        className="grid-map",
        attributionControl=False,
        children=[
            *(map_layer(layer, lang, strings) for layer in _map_layers(role)),
            dl.LayerGroup(id=gid.PICK_MARKER),
            dl.ScaleControl(position="bottomleft", imperial=False),
        ],
    )


def grid_picker(grids: list[grid_desk.Grid], viewer: Viewer, lang: str) -> html.Div:
    """Which grid the page works on: an admin must choose; a worker with several may."""
    label = "name_en" if lang == "en" else "name"
    options = [{"label": getattr(g, label) or g.name, "value": g.id} for g in grids]
    value = grids[0].id if viewer.area_ids is not None and len(grids) == 1 else None
    hint = "grid.choose_hint" if viewer.area_ids is None else None
    if viewer.area_ids is not None and not grids:
        hint = "grid.none"
    return html.Div(
        className="grid-picker",
        children=[
            dcc.Dropdown(
                id=gid.GRID_PICK,
                options=options,
                value=value,
                clearable=viewer.area_ids is not None,
                searchable=True,
                placeholder=i18n.text("grid.choose", lang),
                className="grid-choose",
            ),
            t(hint, lang, className="grid-picker-hint") if hint else None,
            dcc.Checklist(
                id=gid.HISTORY,
                options=[{"label": i18n.text("grid.history", lang), "value": "closed"}],
                value=[],
                className="grid-history",
                inputClassName="grid-history-box",
                labelClassName="grid-history-label",
            ),
        ],
    )


def tasks_tab(lang: str) -> html.Div:
    """The task list beside the chosen task's panel."""
    return html.Div(
        className="grid-tasks",
        children=[
            html.Div(
                className="grid-task-column",
                children=[
                    html.Div(id=gid.CUE, className="grid-cue", role="status"),
                    html.Div(id=gid.TASK_COUNT, className="grid-count"),
                    html.Div(id=gid.TASK_LIST, className="grid-task-list"),
                ],
            ),
            html.Div(
                id=gid.TASK_PANEL,
                className="grid-task-panel",
                children=grid_tasks.task_panel(None, [], lang),
            ),
        ],
    )


def report_tab(categories: list[dict], lang: str) -> html.Div:
    """Report a new incident: category, description, the location tapped or located."""
    return html.Div(
        className="grid-report",
        children=[
            t("grid.location_hint", lang, className="grid-hint"),
            html.Div(
                className="grid-report-where",
                children=[
                    html.Button(t("grid.locate", lang), id=gid.LOCATE, className="grid-locate"),
                    html.Span(id=gid.PICKED_TEXT, className="grid-picked-text"),
                ],
            ),
            html.Label(t("grid.category", lang), className="grid-label"),
            dcc.Dropdown(
                id=gid.CATEGORY,
                options=category_options(categories, lang),
                searchable=True,
                placeholder=i18n.text("grid.category_search", lang),
                className="grid-category",
            ),
            html.Label(t("grid.description", lang), className="grid-label"),
            dcc.Textarea(id=gid.DESCRIPTION, className="grid-description", value=""),
            html.Button(t("grid.submit", lang), id=gid.SUBMIT, className="grid-submit"),
        ],
    )


def category_options(categories: list[dict], lang: str) -> list[dict[str, object]]:
    """Dropdown options of the report categories in ``lang``, under a heading (a disabled
    option) per taxonomy group; typing searches names in both languages and the group."""
    key, group_key = ("name_en", "grp_en") if lang == "en" else ("name_zh", "grp_zh")
    options: list[dict[str, object]] = []
    shown_group = None
    for c in categories:
        group = c.get("grp")
        if group != shown_group:
            shown_group = group
            label = f"— {c.get(group_key) or group} —"
            options.append({"label": label, "value": f"group:{group}", "disabled": True})
        words = (c["name_zh"], c["name_en"], c.get("grp_zh"), c.get("grp_en"))
        search = " ".join(w for w in words if w)
        options.append({"label": c[key], "value": c["code"], "search": search})
    return options


def side_panel(categories: list[dict], lang: str) -> html.Div:
    """The tabs: tasks, report, residents in care, devices."""
    contents = {
        "tasks": tasks_tab(lang),
        "report": report_tab(categories, lang),
        "residents": html.Div(
            className="grid-care",
            children=[
                t("grid.residents_note", lang, className="grid-hint"),
                html.Div(id=gid.RESIDENTS, className="grid-list"),
            ],
        ),
        "devices": html.Div(id=gid.DEVICES, className="grid-list"),
    }
    return html.Div(
        className="grid-side",
        children=[
            grid_tasks.offline_words(lang),
            html.Div(id=gid.MESSAGE, className="grid-message", role="status"),
            dcc.Tabs(
                id=gid.TABS,
                value="tasks",
                className="grid-tabs",
                parent_className="grid-tabs-parent",
                content_className="grid-tab-content",
                children=[
                    dcc.Tab(
                        id=gid.tab(name),
                        label=i18n.text(f"grid.tab_{name}", lang),
                        value=name,
                        className="grid-tab",
                        selected_className="grid-tab-selected",
                        children=contents[name],
                    )
                    for name in TABS
                ],
            ),
        ],
    )


def layout(**_query: str) -> html.Div:
    """The page: the map on the left, the tabs on the right."""
    lang = i18n.language(context.settings().web.language)
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    viewer = context.page_viewer()
    grids, categories = grid_desk.page_setup(context.store_url(), viewer)
    mine = grids if viewer.area_ids is not None else []
    return html.Div(
        id=gid.PAGE,
        className="grid-page",
        children=[
            dcc.Store(id=gid.LAYER_META, data=_layer_meta(viewer.role)),
            dcc.Store(id=gid.REFRESH, data=0),
            dcc.Store(id=gid.LIVE, data=None),
            dcc.Store(id=gid.SELECTED, data=None),
            dcc.Store(id=gid.PICKED, data=None),
            dcc.Store(id=gid.CATEGORIES, data=categories),
            dcc.Store(id=gid.REPORT_KEY, data=uuid.uuid4().hex),
            dcc.Store(id=gid.REPORT_FORM, data=None),
            html.Div(
                className="grid-map-column",
                children=[
                    grid_picker(grids, viewer, lang),
                    grid_map(viewer.role, grid_desk.extent(mine), lang),
                ],
            ),
            side_panel(categories, lang),
        ],
    )


# --- callbacks ---------------------------------------------------------------------------------


def _now() -> datetime:
    return SystemClock().now()


def _client() -> str | None:
    """Who asked, for the audit trail (the remote address)."""
    return request.remote_addr


def _refusal(exc: Exception, lang: str) -> html.Div:
    """An error line for a refused action (what the desk or the workflow said)."""
    return html.Div(
        i18n.text("grid.refused", lang).format(reason=str(exc)),
        className="grid-error",
        role="alert",
    )


def _grid(value: object) -> int | None:
    """The chosen grid id from the dropdown (anything else: None)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


dash.clientside_callback(
    ClientsideFunction(namespace="onemapGridOffline", function_name="form"),
    Output(gid.REPORT_FORM, "data"),
    Input(gid.CATEGORY, "value"),
    Input(gid.DESCRIPTION, "value"),
    Input(gid.PICKED, "data"),
)

dash.clientside_callback(
    ClientsideFunction(namespace="onemapGrid", function_name="layers"),
    Output({"type": gid.LAYER, "layer": ALL}, "data"),
    Input(gid.MAP, "bounds"),
    Input(gid.MAP, "zoom"),
    Input(gid.REFRESH, "data"),
    Input(gid.GRID_PICK, "value"),
    Input(gid.HISTORY, "value"),
    Input(gid.LIVE, "data"),
    State({"type": gid.LAYER, "layer": ALL}, "id"),
    State(gid.LAYER_META, "data"),
    State(gid.MAP, "center"),
)
dash.clientside_callback(
    ClientsideFunction(namespace="onemapGrid", function_name="pick"),
    Output(gid.PICKED, "data"),
    Input(gid.MAP, "clickData"),
    Input(gid.LOCATE, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(gid.MAP, "viewport"),
    Input(gid.GRID_PICK, "value"),
    prevent_initial_call=True,
)
def fit_grid(grid: object) -> dict[str, object]:
    """Fit the map to the chosen grid (or all the worker's grids)."""
    guard.require(PATH)
    try:
        box = grid_desk.grid_bbox(context.store_url(), context.viewer(), _grid(grid))
    except OneMapError:
        raise PreventUpdate from None
    if box is None:
        raise PreventUpdate
    return fitted_view(box)


def _live_cue(live: object) -> int | None:
    """The incident a live change named as a cue (``{"event": id, "cue": true}``), if any."""
    if not isinstance(live, dict) or live.get("cue") is not True:
        return None
    event = live.get("event")
    return event if isinstance(event, int) and not isinstance(event, bool) else None


@callback(
    Output(gid.TASK_COUNT, "children"),
    Output(gid.TASK_LIST, "children"),
    Output(gid.CUE, "children"),
    Input(gid.REFRESH, "data"),
    Input(gid.GRID_PICK, "value"),
    Input(ids.LANG_SWITCH, "value"),
    Input(gid.LIVE, "data"),
    State(gid.SELECTED, "data"),
)
def show_tasks(_refresh: int, grid: object, lang: str, live: object, selected: int | None):
    """The open incidents of the grid; after a live change that brought a task (new, or back
    at the grid), that task is marked and named in the cue line."""
    guard.require(PATH)
    lang = i18n.language(lang)
    try:
        tasks, total = grid_desk.task_view(context.store_url(), context.viewer(), _grid(grid))
    except OneMapError as exc:
        return "", [_refusal(exc, lang)], []
    arrived = _live_cue(live) if ctx.triggered_id == gid.LIVE else None
    count, cards = grid_tasks.task_list(tasks, total, lang, _now(), selected, arrived)
    shown = grid_tasks.cue(tasks, arrived, lang) if arrived is not None else dash.no_update
    return count, cards, shown


@callback(
    Output(gid.SELECTED, "data"),
    Input({"type": gid.TASK, "event": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def choose_task(clicks: list[int | None]) -> int:
    """Remember the task tapped last."""
    guard.require(PATH)
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks):
        raise PreventUpdate
    return trigger["event"]


@callback(
    Output(gid.TASK_PANEL, "children"),
    Input(gid.SELECTED, "data"),
    Input(gid.REFRESH, "data"),
    Input(ids.LANG_SWITCH, "value"),
    State(gid.GRID_PICK, "value"),
    prevent_initial_call=True,
)
def show_task(selected: object, _refresh: int, lang: str, grid: object) -> list:
    """The chosen task with its note, photo and buttons (nothing for an id outside the grid)."""
    guard.require(PATH)
    lang = i18n.language(lang)
    viewer = context.viewer()
    if not isinstance(selected, int):
        return grid_tasks.task_panel(None, [], lang)
    try:
        row = grid_desk.one_task(context.store_url(), viewer, _grid(grid), selected)
        steps, photos = grid_desk.history(context.store_url(), viewer, _grid(grid), selected)
    except OneMapError as exc:
        return [_refusal(exc, lang)]
    shown = grid_desk.buttons(row, viewer.role) if row else []
    past = grid_tasks.history(steps, photos, lang) if row else None
    return grid_tasks.task_panel(row, shown, lang, past)


@callback(
    Output({"type": gid.TAB, "tab": ALL}, "label"),
    Output(gid.CATEGORY, "options"),
    Output({"type": gid.LAYER, "layer": ALL}, "hideout"),
    Output(gid.GRID_PICK, "placeholder"),
    Output(gid.HISTORY, "options"),
    Input(ids.LANG_SWITCH, "value"),
    Input(gid.CATEGORY, "id"),  # fires when the page appears, not on other pages
    State({"type": gid.TAB, "tab": ALL}, "id"),
    State(gid.CATEGORIES, "data"),
    State({"type": gid.LAYER, "layer": ALL}, "id"),
    prevent_initial_call=True,
)
def relabel(
    lang: str, _page: str, tab_ids: list[dict], categories: list[dict], layer_ids: list[dict]
):
    """Tab titles, category names, the map's tooltips and the grid picker's words in the
    chosen language."""
    guard.require(PATH)
    lang = i18n.language(lang)
    labels = [i18n.text(f"grid.tab_{tid['tab']}", lang) for tid in tab_ids]
    strings = map_strings(lang)
    by_id = {layer.id: layer for layer in _map_layers(context.viewer().role)}
    hideouts = [map_layer(by_id[lid["layer"]], lang, strings).hideout for lid in layer_ids]
    history = [{"label": i18n.text("grid.history", lang), "value": "closed"}]
    return (
        labels,
        category_options(categories or [], lang),
        hideouts,
        i18n.text("grid.choose", lang),
        history,
    )


@callback(
    Output(gid.PHOTO_NAME, "children"),
    Input(gid.PHOTO, "filename"),
    State(ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def photo_name(filename: str | None, lang: str) -> str:
    """Say which photo goes with the next action."""
    guard.require(PATH)
    if not filename:
        return ""
    return i18n.text("grid.photo_ready", i18n.language(lang)).format(name=filename)


def decode_upload(contents: str | None) -> tuple[bytes, str | None] | None:
    """The bytes and declared media type of a ``dcc.Upload`` data URL (None when none;
    ValueError when malformed)."""
    if not contents:
        return None
    try:
        head, encoded = contents.split(",", 1)
        media = head.removeprefix("data:").split(";", 1)[0] or None
        return base64.b64decode(encoded, validate=True), media
    except (ValueError, binascii.Error):
        raise ValueError("the photo upload is not a base64 data URL") from None


@callback(
    Output(gid.MESSAGE, "children"),
    Output(gid.REFRESH, "data"),
    Output(gid.SELECTED, "data", allow_duplicate=True),
    Input({"type": gid.ACT, "action": ALL}, "n_clicks"),
    State(gid.SELECTED, "data"),
    State(gid.NOTE, "value"),
    State(gid.PHOTO, "contents"),
    State(gid.GRID_PICK, "value"),
    State(ids.LANG_SWITCH, "value"),
    State(gid.REFRESH, "data"),
    prevent_initial_call=True,
)
def act(clicks, selected, note, photo, grid, lang, refresh):
    """Press a task button: the desk checks scope, the workflow the transition."""
    guard.require(PATH)
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or []):
        raise PreventUpdate
    lang = i18n.language(lang)
    action = str(trigger.get("action"))
    try:
        if not isinstance(selected, int):
            raise grid_desk.OutOfScope("no incident chosen")
        upload = decode_upload(photo)
        status = grid_desk.act(
            context.store_url(), context.viewer(), _grid(grid), selected, action, note, _now(),
            photo=grid_desk.Upload(context.settings().store.data_dir, *upload) if upload else None,
        )  # fmt: skip
    except (OneMapError, ValueError) as exc:
        return _refusal(exc, lang), dash.no_update, dash.no_update
    return (
        _action_done(selected, action, status, lang),
        (refresh or 0) + 1,
        (None if status == EventStatus.closed else dash.no_update),
    )


def _action_done(event_id: int, action: str, status: str, lang: str) -> html.Div:
    """The confirmation of a task button: a closed task says it left the queue."""
    if status == EventStatus.closed:
        done = i18n.text("grid.closed_done", lang).format(id=event_id)
    else:
        done = i18n.text("grid.done", lang).format(
            id=event_id,
            action=i18n.text(f"grid.act.{action}", lang),
            status=i18n.text(f"grid.event.{status}", lang),
        )
    return html.Div(done, className="grid-ok", role="status")


@callback(
    Output(gid.PICK_MARKER, "children"),
    Output(gid.PICKED_TEXT, "children"),
    Input(gid.PICKED, "data"),
    prevent_initial_call=True,
)
def show_pick(picked: dict | None):
    """A marker and the coordinates of the picked report location."""
    guard.require(PATH)
    if not picked:
        return [], ""
    lat, lon = float(picked["lat"]), float(picked["lon"])
    marker = dl.CircleMarker(center=[lat, lon], radius=12, color="#f97316", fillOpacity=0.6)
    return [marker], f"{lon:.5f}, {lat:.5f}"


REPORT_OUTPUTS = (
    Output(gid.MESSAGE, "children", allow_duplicate=True),
    Output(gid.REFRESH, "data", allow_duplicate=True),
    Output(gid.CATEGORY, "value"),
    Output(gid.DESCRIPTION, "value"),
    Output(gid.PICKED, "data", allow_duplicate=True),
    Output(gid.REPORT_KEY, "data"),
)
"""What a submit changes: the message, the map, and (after a report) the cleared form and a
new idempotency key."""


def _report_refused(exc: Exception, lang: str) -> tuple:
    """A refused submit: the message only; the form keeps what the worker typed."""
    return (_refusal(exc, lang), *([dash.no_update] * (len(REPORT_OUTPUTS) - 1)))


@callback(
    *REPORT_OUTPUTS,
    Input(gid.SUBMIT, "n_clicks"),
    State(gid.CATEGORY, "value"),
    State(gid.DESCRIPTION, "value"),
    State(gid.PICKED, "data"),
    State(gid.GRID_PICK, "value"),
    State(ids.LANG_SWITCH, "value"),
    State(gid.REFRESH, "data"),
    State(gid.REPORT_KEY, "data"),
    running=[(Output(gid.SUBMIT, "disabled"), True, False)],
    prevent_initial_call=True,
)
def submit_report(clicks, category, description, picked, grid, lang, refresh, key):
    """Create the reported incident (inside the grid only) once per form key; then clear the
    form and give it a new key."""
    guard.require(PATH)
    if not clicks:
        raise PreventUpdate
    lang = i18n.language(lang)
    if not category or str(category).startswith("group:"):
        return _report_refused(ValueError(i18n.text("grid.need_category", lang)), lang)
    if not picked:
        return _report_refused(ValueError(i18n.text("grid.need_location", lang)), lang)
    try:
        lon, lat = float(picked["lon"]), float(picked["lat"])
        event_id = grid_desk.report(
            context.store_url(), context.viewer(), _grid(grid), str(category), lon, lat,
            description, _now(), key=str(key) if key else None,
        )  # fmt: skip
    except (OneMapError, ValueError, KeyError, TypeError) as exc:
        return _report_refused(exc, lang)
    message = i18n.text("grid.reported", lang).format(id=event_id)
    ok = html.Div(message, className="grid-ok", role="status", **{"data-event": str(event_id)})
    return ok, (refresh or 0) + 1, None, "", None, uuid.uuid4().hex


@callback(
    Output(gid.RESIDENTS, "children"),
    Input(gid.TABS, "value"),
    Input(gid.GRID_PICK, "value"),
    Input(ids.LANG_SWITCH, "value"),
    Input(gid.REFRESH, "data"),
    prevent_initial_call=True,  # the page opens on the tasks tab
)
def show_residents(tab: str, grid: object, lang: str, _refresh: int):
    """The care list, only while its tab is open; each showing is audited."""
    guard.require(PATH)
    if tab != "residents":
        return []
    lang = i18n.language(lang)
    try:
        rows = grid_desk.shown_care_residents(
            context.store_url(), context.viewer(), _grid(grid), _client()
        )
    except OneMapError as exc:
        return [_refusal(exc, lang)]
    count = i18n.text("grid.residents_count", lang).format(n=len(rows))
    return [
        html.Div(count, className="grid-count"),
        *grid_tasks.resident_rows(rows, lang, _now().year),
    ]


@callback(
    Output(gid.DEVICES, "children"),
    Input(gid.TABS, "value"),
    Input(gid.GRID_PICK, "value"),
    Input(ids.LANG_SWITCH, "value"),
    Input(gid.REFRESH, "data"),
    prevent_initial_call=True,  # the page opens on the tasks tab
)
def show_devices(tab: str, grid: object, lang: str, _refresh: int):
    """The grid's devices and their state, while the tab is open."""
    guard.require(PATH)
    if tab != "devices":
        return []
    lang = i18n.language(lang)
    try:
        rows, counts = grid_desk.device_view(context.store_url(), context.viewer(), _grid(grid))
    except OneMapError as exc:
        return [_refusal(exc, lang)]
    summary = html.Div(grid_tasks.device_summary(counts, lang), className="grid-count")
    return [summary, *grid_tasks.device_rows(rows, lang)]
