"""Analyst's page (``/analyze``): spatial questions without SQL, answered on map, table and CSV.

A form (:mod:`pages.analyze_form`) builds the JSON question of
:mod:`analytics.question_spec`: a subject layer with attribute and time filters, within an
area / drawn polygon / bbox, within or beyond a distance of another layer's features (with
their own filters), nearest N to a clicked point. Three presets fill it with the issue's
examples. The callback asks the engine in-process (:func:`analytics.questions.ask`) for the
callback's viewer — read-only, with a statement timeout; no SQL text leaves the browser. It runs
in a heavy-work slot (:mod:`web.heavy`): beyond the limits the status says to try again.
"""

from __future__ import annotations

from typing import cast

import dash
import dash_leaflet as dl
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from analytics.question_catalog import LAYERS
from analytics.question_spec import PROBLEMS, QuestionError
from analytics.questions import AnalysisAnswer, QuestionTimeout, ask
from geodata import city_time
from geodata.vocab import AreaLevel
from pages import analyze_form as form
from pages import analyze_ids as ids
from pages import analyze_values as values
from pages import export_files, guard
from pages import ids as shell_ids
from pages.drawing import DRAW_OPTIONS
from pages.home import fit_view
from pages.shell import data, t
from web import context, heavy, i18n
from web.i18n import pick

PATH = "/analyze"
dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="analyze")

PRESET_NAMES = ("elderly", "tall", "lanes")
AREA_MODES = ("any", "area", "polygon", "bbox")
TABLE_ROWS = form.TABLE_ROWS
FIT_PIXELS = (1100, 760)
CITY_ZOOM = 12
OUTLINE = {"color": "#5eead4", "weight": 1, "fill": False}
RESULT_STYLE = {"color": form.RESULT_COLOR, "weight": 3, "fillOpacity": 0.35}
POINT = {"variable": "onemapAnalyze.point"}
"""Points as circle markers (assets/analyze.js): no marker images."""


def _lang() -> str:
    return i18n.language(context.settings().web.language)


def _layer_options(specs, lang: str) -> list[dict[str, str]]:
    return [{"label": pick(s.title, lang), "value": s.name} for s in specs]


def field_options(layer: str | None, lang: str, kinds: tuple[str, ...] = ()) -> list[dict]:
    """Dropdown options of the fields of ``layer`` (only of ``kinds`` when given)."""
    spec = LAYERS.get(layer or "")
    if spec is None:
        return []
    return [
        {"label": pick(f.label, lang), "value": name}
        for name, f in spec.fields.items()
        if not kinds or f.kind in kinds
    ]


def operator_options(lang: str) -> list[dict[str, str]]:
    """The operators, words ones (``in``, ``between``, ``has``) named in ``lang``."""
    return [
        {"label": i18n.text(f"analyze.op.{op}", lang) if op.isalpha() else op, "value": op}
        for op in form.ALL_OPERATORS
    ]


PLACEHOLDERS: dict[str, str] = {
    ids.AREA: "export.area_pick",
    ids.BBOX: "form.bbox_hint",
    ids.NEAR_DISTANCE: "analyze.distance",
    ids.NEAR_LAYER: "analyze.near_layer",
    ids.NEAREST_POINT: "analyze.point_hint",
    ids.NEAREST_N: "analyze.n_hint",
    ids.TIME_FIELD: "analyze.time_field",
    ids.TIME_HOURS: "analyze.last_hours",
    ids.TIME_UNTIL: "analyze.until",
    ids.NEAR_TIME_FIELD: "analyze.time_field",
    ids.NEAR_TIME_HOURS: "analyze.last_hours",
    ids.NEAR_TIME_UNTIL: "analyze.until",
}
"""The placeholder (i18n key) of each input of the form outside the filter rows."""


def area_mode_options(lang: str) -> list[dict[str, str]]:
    keys = ("analyze.area_any", "export.area_unit", "export.area_polygon", "export.area_bbox")
    return [
        {"label": i18n.text(k, lang), "value": m} for m, k in zip(AREA_MODES, keys, strict=True)
    ]


def near_mode_options(lang: str) -> list[dict[str, str]]:
    return [
        {"label": i18n.text("analyze.near_within", lang), "value": "within"},
        {"label": i18n.text("analyze.near_beyond", lang), "value": "beyond"},
    ]


def near_on_options(lang: str) -> list[dict[str, str]]:
    return [{"label": i18n.text("analyze.near_on", lang), "value": "on"}]


HIDDEN = values.HIDDEN
PICKER_LABELS = ("select_all", "deselect_all", "selected_count", "search", "clear_search",
                 "clear_selection", "no_options_found")  # fmt: skip
"""The words of Dash's dropdown (:func:`picker_labels`)."""


def picker_labels(lang: str) -> dcc.Dropdown.Labels:
    """The value picker's own words (its search box, select-all …) in ``lang``."""
    words = {key: i18n.text(f"analyze.pick.{key}", lang) for key in PICKER_LABELS}
    return cast(dcc.Dropdown.Labels, words)


def _filter_row(side: str, index: int, layer: str | None, lang: str) -> html.Div:
    return html.Div(
        className="analyze-filter-row",
        children=[
            dcc.Dropdown(
                id=ids.row(ids.WHERE_FIELD, side, index),
                options=field_options(layer, lang),
                placeholder=i18n.text("analyze.field", lang),
                className="analyze-field",
            ),
            dcc.Dropdown(
                id=ids.row(ids.WHERE_OP, side, index),
                options=operator_options(lang),
                value="=",
                clearable=False,
                className="analyze-op",
            ),
            dcc.Input(
                id=ids.row(ids.WHERE_VALUE, side, index),
                type="text",
                placeholder=i18n.text("analyze.value", lang),
                className="analyze-value",
            ),
            dcc.Dropdown(
                id=ids.row(ids.WHERE_PICK, side, index),
                options=[],
                searchable=True,
                placeholder=i18n.text("analyze.pick", lang),
                labels=picker_labels(lang),
                className="analyze-pick",
                style=HIDDEN,
            ),
        ],
    )


def _time_row(field_id: str, hours_id: str, until_id: str, layer: str | None, lang: str):
    return html.Div(
        className="analyze-time-row",
        children=[
            dcc.Dropdown(
                id=field_id,
                options=field_options(layer, lang, ("timestamp",)),
                placeholder=i18n.text(PLACEHOLDERS[field_id], lang),
                className="analyze-field",
            ),
            dcc.Input(
                id=hours_id,
                type="number",
                min=0,
                placeholder=i18n.text(PLACEHOLDERS[hours_id], lang),
                className="analyze-hours",
            ),
            dcc.Input(
                id=until_id,
                type="text",
                placeholder=i18n.text(PLACEHOLDERS[until_id], lang),
                className="analyze-until",
            ),
        ],
    )


def _section(key: str, *children) -> html.Section:
    return html.Section(
        className="analyze-section", children=[html.H3(t(key), className="analyze-h"), *children]
    )


def panel(areas: list[export_files.AreaItem], lang: str) -> html.Aside:
    """The question form."""
    subject = form.Form().subject
    return html.Aside(
        className="analyze-panel",
        children=[
            html.H2(t("analyze.title"), className="analyze-title"),
            _section(
                "analyze.presets",
                *(
                    html.Button(
                        t(f"analyze.preset.{name}"),
                        id=ids.preset(name),
                        className="analyze-preset",
                    )
                    for name in PRESET_NAMES
                ),
            ),
            _section(
                "analyze.subject",
                dcc.Dropdown(
                    id=ids.SUBJECT,
                    options=_layer_options(form.subject_layers(), lang),
                    value=subject,
                    clearable=False,
                ),
            ),
            _section(
                "analyze.where",
                *(_filter_row("subject", i, subject, lang) for i in range(form.ROWS["subject"])),
            ),
            _section(
                "analyze.time",
                _time_row(ids.TIME_FIELD, ids.TIME_HOURS, ids.TIME_UNTIL, subject, lang),
            ),
            _section(
                "analyze.area",
                dcc.RadioItems(
                    id=ids.AREA_MODE,
                    options=area_mode_options(lang),
                    value="any",
                    inline=True,
                    className="analyze-radio",
                ),
                dcc.Dropdown(
                    id=ids.AREA,
                    options=export_files.area_options(areas, lang),
                    placeholder=i18n.text(PLACEHOLDERS[ids.AREA], lang),
                ),
                dcc.Input(
                    id=ids.BBOX,
                    type="text",
                    placeholder=i18n.text(PLACEHOLDERS[ids.BBOX], lang),
                    className="analyze-bbox",
                ),
            ),
            _section(
                "analyze.near",
                dcc.Checklist(
                    id=ids.NEAR_ON,
                    options=near_on_options(lang),
                    value=[],
                    inline=True,
                    className="analyze-radio",
                ),
                html.Div(
                    className="analyze-near-row",
                    children=[
                        dcc.RadioItems(
                            id=ids.NEAR_MODE,
                            options=near_mode_options(lang),
                            value="within",
                            inline=True,
                            className="analyze-radio",
                        ),
                        dcc.Input(
                            id=ids.NEAR_DISTANCE,
                            type="number",
                            min=0,
                            placeholder=i18n.text(PLACEHOLDERS[ids.NEAR_DISTANCE], lang),
                            className="analyze-distance",
                        ),
                    ],
                ),
                dcc.Dropdown(
                    id=ids.NEAR_LAYER,
                    options=_layer_options(form.reference_layers(), lang),
                    placeholder=i18n.text(PLACEHOLDERS[ids.NEAR_LAYER], lang),
                ),
                *(_filter_row("near", i, None, lang) for i in range(form.ROWS["near"])),
                _time_row(
                    ids.NEAR_TIME_FIELD, ids.NEAR_TIME_HOURS, ids.NEAR_TIME_UNTIL, None, lang
                ),
            ),
            _section(
                "analyze.nearest",
                html.Div(t("analyze.nearest_hint"), className="analyze-hint"),
                html.Div(
                    className="analyze-near-row",
                    children=[
                        dcc.Input(
                            id=ids.NEAREST_POINT,
                            type="text",
                            placeholder=i18n.text(PLACEHOLDERS[ids.NEAREST_POINT], lang),
                            className="analyze-bbox",
                        ),
                        dcc.Input(
                            id=ids.NEAREST_N,
                            type="number",
                            min=1,
                            placeholder=i18n.text(PLACEHOLDERS[ids.NEAREST_N], lang),
                            className="analyze-distance",
                        ),
                    ],
                ),
            ),
            html.Div(
                className="analyze-actions",
                children=[
                    html.Button(t("analyze.run"), id=ids.RUN, className="analyze-run"),
                    html.Button(t("analyze.csv"), id=ids.CSV, className="analyze-csv"),
                ],
            ),
            html.Div(id=ids.STATUS, className="analyze-status", role="status"),
            dcc.Download(id=ids.DOWNLOAD),
        ],
    )


def map_view(areas: list[export_files.AreaItem]) -> dl.Map:
    """The map (first on where the detail is): district outlines, the answer, the drawing
    tools."""
    center, zoom = fit_view(
        export_files.detail_extent(areas), FIT_PIXELS, context.settings().city.center, CITY_ZOOM
    )
    outlines = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": a.geometry, "properties": {}}
            for a in areas
            if a.level == AreaLevel.district
        ],
    }
    return dl.Map(
        id=ids.MAP,
        center=center,
        zoom=zoom,
        attributionControl=False,
        className="analyze-map",
        children=[
            dl.GeoJSON(data=outlines, style=OUTLINE, interactive=False),
            dl.GeoJSON(id=ids.RESULT, data=None, style=RESULT_STYLE, pointToLayer=POINT),
            dl.FeatureGroup([dl.EditControl(id=ids.DRAW, draw=DRAW_OPTIONS)]),
            dl.ScaleControl(position="bottomleft", imperial=False),
        ],
    )


def layout(**_query: str) -> html.Div:
    """The page: form left, map right, the answer's table below the map."""
    lang = _lang()
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    areas = export_files.areas(context.store_url(), context.page_viewer())
    return html.Div(
        className="analyze-page",
        children=[
            dcc.Store(id=ids.SPEC, data=None),
            dcc.Store(id=ids.LABELS_LANG, data=lang),
            panel(areas, lang),
            html.Div(
                className="analyze-main",
                children=[
                    map_view(areas),
                    html.Div(
                        className="analyze-answer",
                        children=[
                            html.Div(
                                id=ids.SUMMARY,
                                className="analyze-summary",
                                children=t("analyze.empty"),
                            ),
                            html.Div(id=ids.TABLE, className="analyze-table"),
                        ],
                    ),
                ],
            ),
        ],
    )


# --- answers as page content ----------------------------------------------------------------


def summary_text(answer: AnalysisAnswer, lang: str) -> str:
    """One line: how many found and shown (people and withheld groups for counts)."""
    meta = answer.meta
    if meta.get("by") == "building":
        return i18n.text("analyze.people", lang).format(
            people=meta["people"],
            total=meta["total"],
            withheld=meta["withheld_groups"],
            min=meta["min_count"],
        )
    return i18n.text("analyze.count", lang).format(total=meta["total"], count=meta["count"])


def table(answer: AnalysisAnswer, lang: str, tz: str) -> html.Table:
    """The answer's table (first :data:`TABLE_ROWS` rows), headers in ``lang``: codes by their
    names, instants in the city's zone ``tz``; the time columns' headings name the zone."""
    layer = answer.meta.get("layer")
    note = f" ({tz})"
    head = html.Tr(
        [
            html.Th([pick(label, lang), html.Span(note, className="analyze-zone")])
            if values.is_time(layer, name)
            else html.Th(pick(label, lang))
            for name, label in answer.columns
        ]
    )
    names = [name for name, _ in answer.columns]
    body = [
        html.Tr(
            [html.Td(values.shown(layer, n, v, lang, tz)) for n, v in zip(names, row, strict=True)],
            **data("row", i),
        )
        for i, row in enumerate(answer.rows[:TABLE_ROWS])
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="analyze-result-table")


def windows_text(answer: AnalysisAnswer, lang: str) -> list[str]:
    """Each time window asked, in the city's time: what "the last 24 hours" meant."""
    tz = answer.meta["timezone"]
    zone = city_time.zone_note(tz)
    out = []
    for window in answer.meta.get("windows", []):
        start, end = (
            values.instant(window[key], tz) or i18n.text("analyze.open_end", lang)
            for key in ("from", "to")
        )
        field = values.field_label(window["layer"], window["field"], lang)
        out.append(
            i18n.text("analyze.window", lang).format(field=field, start=start, end=end, zone=zone)
        )
    return out


def viewport(answer: AnalysisAnswer) -> object:
    """A map viewport fitting the answer's features (no change when there are none)."""
    points = [(x, y) for x, y in answer.points if x is not None and y is not None]
    if not points:
        return dash.no_update
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad = 0.002
    return {
        "bounds": [[min(ys) - pad, min(xs) - pad], [max(ys) + pad, max(xs) + pad]],
        "transition": "fitBounds",
    }


def not_an_option_text(exc: values.NotAnOption, lang: str) -> str:
    """Why a picked value was refused, in ``lang`` (the field by its name; the value itself,
    which no picker sent, is not repeated)."""
    field = values.field_label(exc.layer, exc.field, lang)
    return i18n.text("analyze.not_an_option", lang).format(field=field)


def _error_text(exc: Exception, lang: str) -> str:
    reason = (
        f"{pick(PROBLEMS[exc.code], lang)} — {exc}" if isinstance(exc, QuestionError) else str(exc)
    )
    return i18n.text("analyze.error", lang).format(reason=reason)


# --- callbacks ------------------------------------------------------------------------------

_SUBJECT_ROWS = {"side": "subject", "row": ALL}
_NEAR_ROWS = {"side": "near", "row": ALL}


def _rows(kind: str, side: dict) -> dict:
    return {"type": kind, **side}


def field_lists(layer: str | None, lang: str, rows: int) -> tuple[list[list[dict]], list[dict]]:
    """The field options of ``layer`` for each of ``rows`` filter rows, and its time fields."""
    options = field_options(layer, lang)
    return [options for _ in range(rows)], field_options(layer, lang, ("timestamp",))


@callback(
    Output(_rows(ids.WHERE_FIELD, _SUBJECT_ROWS), "options"),
    Output(ids.TIME_FIELD, "options"),
    Input(ids.SUBJECT, "value"),
    Input(shell_ids.LANG_SWITCH, "value"),
    State(_rows(ids.WHERE_FIELD, _SUBJECT_ROWS), "id"),
)
def subject_fields(layer: str, lang: str, row_ids: list):
    """The subject's fields in the filter rows and its time fields."""
    guard.require(PATH)
    return field_lists(layer, i18n.language(lang), len(row_ids))


@callback(
    Output(_rows(ids.WHERE_FIELD, _NEAR_ROWS), "options"),
    Output(ids.NEAR_TIME_FIELD, "options"),
    Input(ids.NEAR_LAYER, "value"),
    Input(shell_ids.LANG_SWITCH, "value"),
    State(_rows(ids.WHERE_FIELD, _NEAR_ROWS), "id"),
)
def near_fields(layer: str | None, lang: str, row_ids: list):
    """The reference layer's fields in its filter row and its time fields."""
    guard.require(PATH)
    return field_lists(layer, i18n.language(lang), len(row_ids))


def _picked(layer, field, op, lang, value) -> tuple:
    shown = values.picker(layer, field, op, value, lang)
    return shown.options, shown.multi, shown.value, shown.pick_style, shown.text_style


def _picker_outputs(side: str) -> tuple[Output, ...]:
    pick = ids.row(ids.WHERE_PICK, side, MATCH)
    return (
        Output(pick, "options"),
        Output(pick, "multi"),
        Output(pick, "value"),
        Output(pick, "style"),
        Output(ids.row(ids.WHERE_VALUE, side, MATCH), "style"),
    )


def _picker_inputs(side: str) -> tuple[Input | State, ...]:
    return (
        Input(ids.row(ids.WHERE_FIELD, side, MATCH), "value"),
        Input(ids.row(ids.WHERE_OP, side, MATCH), "value"),
        Input(shell_ids.LANG_SWITCH, "value"),
        State(ids.row(ids.WHERE_PICK, side, MATCH), "value"),
    )


@callback(*_picker_outputs("subject"), Input(ids.SUBJECT, "value"), *_picker_inputs("subject"))
def subject_picker(layer, field, op, lang, value):
    """A subject filter row: the value picker (labels in the page's language) for a coded
    field, the text box for any other; the picked codes the new field still offers are kept."""
    guard.require(PATH)
    return _picked(layer, field, op, i18n.language(lang), value)


@callback(*_picker_outputs("near"), Input(ids.NEAR_LAYER, "value"), *_picker_inputs("near"))
def near_picker(layer, field, op, lang, value):
    """A reference filter row's value picker or text box (as :func:`subject_picker`)."""
    guard.require(PATH)
    return _picked(layer, field, op, i18n.language(lang), value)


def _row_values(
    rows: list[form.Filter], count: int, layer: str | None, lang: str
) -> tuple[list, list, list, list, list, list]:
    """The filter rows' fields, operators, typed values, and their pickers' values, options
    and whether they take several (a coded field's value is picked, never typed)."""
    padded = rows[:count] + [form.Filter() for _ in range(count - len(rows[:count]))]
    pickers = [values.picker(layer, r.field, r.op, r.value, lang) for r in padded]
    return (
        [r.field for r in padded],
        [r.op or "=" for r in padded],
        [
            "" if values.is_coded(layer, r.field) or r.value is None else str(r.value)
            for r in padded
        ],
        [p.value for p in pickers],
        [p.options for p in pickers],
        [p.multi for p in pickers],
    )


@callback(
    Output(ids.SUBJECT, "value"),
    Output(_rows(ids.WHERE_FIELD, _SUBJECT_ROWS), "value"),
    Output(_rows(ids.WHERE_OP, _SUBJECT_ROWS), "value"),
    Output(_rows(ids.WHERE_VALUE, _SUBJECT_ROWS), "value"),
    Output(_rows(ids.WHERE_PICK, _SUBJECT_ROWS), "value", allow_duplicate=True),
    Output(_rows(ids.WHERE_PICK, _SUBJECT_ROWS), "options", allow_duplicate=True),
    Output(_rows(ids.WHERE_PICK, _SUBJECT_ROWS), "multi", allow_duplicate=True),
    Output(ids.TIME_FIELD, "value"),
    Output(ids.TIME_HOURS, "value"),
    Output(ids.AREA_MODE, "value"),
    Output(ids.NEAR_ON, "value"),
    Output(ids.NEAR_LAYER, "value"),
    Output(ids.NEAR_MODE, "value"),
    Output(ids.NEAR_DISTANCE, "value"),
    Output(_rows(ids.WHERE_FIELD, _NEAR_ROWS), "value"),
    Output(_rows(ids.WHERE_OP, _NEAR_ROWS), "value"),
    Output(_rows(ids.WHERE_VALUE, _NEAR_ROWS), "value"),
    Output(_rows(ids.WHERE_PICK, _NEAR_ROWS), "value", allow_duplicate=True),
    Output(_rows(ids.WHERE_PICK, _NEAR_ROWS), "options", allow_duplicate=True),
    Output(_rows(ids.WHERE_PICK, _NEAR_ROWS), "multi", allow_duplicate=True),
    Output(ids.NEAR_TIME_FIELD, "value"),
    Output(ids.NEAR_TIME_HOURS, "value"),
    Output(ids.NEAREST_N, "value"),
    Output(_rows(ids.WHERE_FIELD, _SUBJECT_ROWS), "options", allow_duplicate=True),
    Output(ids.TIME_FIELD, "options", allow_duplicate=True),
    Output(_rows(ids.WHERE_FIELD, _NEAR_ROWS), "options", allow_duplicate=True),
    Output(ids.NEAR_TIME_FIELD, "options", allow_duplicate=True),
    Input({"type": ids.PRESET, "name": ALL}, "n_clicks"),
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def apply_preset(_clicks, lang):
    """Fill the form with a preset question (the end of time windows is left as is); the
    field lists and the pickers' options come along, so the dropdowns keep the values they are
    given."""
    guard.require(PATH)
    lang = i18n.language(lang)
    name = (ctx.triggered_id or {}).get("name")
    if name not in form.PRESETS or not any(_clicks):
        raise PreventUpdate
    preset = form.PRESETS[name]
    return (
        preset.subject,
        *_row_values(preset.where, form.ROWS["subject"], preset.subject, lang),
        preset.time.field,
        preset.time.hours,
        preset.area_mode,
        ["on"] if preset.near_on else [],
        preset.near_layer,
        preset.near_mode,
        preset.near_distance,
        *_row_values(preset.near_where, form.ROWS["near"], preset.near_layer, lang),
        preset.near_time.field,
        preset.near_time.hours,
        preset.nearest_n,
        *field_lists(preset.subject, lang, form.ROWS["subject"]),
        *field_lists(preset.near_layer, lang, form.ROWS["near"]),
    )


@callback(
    Output(ids.NEAREST_POINT, "value"),
    Input(ids.MAP, "clickData"),
    prevent_initial_call=True,
)
def nearest_point(click):
    """A map click sets the point of the nearest-N search."""
    guard.require(PATH)
    latlng = (click or {}).get("latlng")
    if not latlng:
        raise PreventUpdate
    lat, lon = (latlng["lat"], latlng["lng"]) if isinstance(latlng, dict) else latlng
    return f"{lon:.6f},{lat:.6f}"


FORM_STATES = (
    State(ids.SUBJECT, "value"),
    State(_rows(ids.WHERE_FIELD, _SUBJECT_ROWS), "value"),
    State(_rows(ids.WHERE_OP, _SUBJECT_ROWS), "value"),
    State(_rows(ids.WHERE_VALUE, _SUBJECT_ROWS), "value"),
    State(_rows(ids.WHERE_PICK, _SUBJECT_ROWS), "value"),
    State(ids.TIME_FIELD, "value"),
    State(ids.TIME_HOURS, "value"),
    State(ids.TIME_UNTIL, "value"),
    State(ids.AREA_MODE, "value"),
    State(ids.AREA, "value"),
    State(ids.BBOX, "value"),
    State(ids.DRAW, "geojson"),
    State(ids.NEAR_ON, "value"),
    State(ids.NEAR_LAYER, "value"),
    State(ids.NEAR_MODE, "value"),
    State(ids.NEAR_DISTANCE, "value"),
    State(_rows(ids.WHERE_FIELD, _NEAR_ROWS), "value"),
    State(_rows(ids.WHERE_OP, _NEAR_ROWS), "value"),
    State(_rows(ids.WHERE_VALUE, _NEAR_ROWS), "value"),
    State(_rows(ids.WHERE_PICK, _NEAR_ROWS), "value"),
    State(ids.NEAR_TIME_FIELD, "value"),
    State(ids.NEAR_TIME_HOURS, "value"),
    State(ids.NEAR_TIME_UNTIL, "value"),
    State(ids.NEAREST_N, "value"),
    State(ids.NEAREST_POINT, "value"),
)


def form_of(*states) -> form.Form:
    """The :class:`~pages.analyze_form.Form` of the values of :data:`FORM_STATES`."""
    (subject, s_fields, s_ops, s_values, s_picks, t_field, t_hours, t_until, area_mode, area,
     bbox, drawn, near_on, n_layer, n_mode, n_distance, n_fields, n_ops, n_values, n_picks,
     nt_field, nt_hours, nt_until, nearest_n, nearest_point) = states  # fmt: skip

    def filters(layer, fields, ops, texts, picks) -> list[form.Filter]:
        """Each row's value: picked for a coded field, typed otherwise."""
        return [
            form.Filter(f, o, p if values.is_coded(layer, f) else t)
            for f, o, t, p in zip(fields, ops, texts, picks, strict=True)
        ]

    return form.Form(
        subject=subject,
        where=filters(subject, s_fields, s_ops, s_values, s_picks),
        time=form.TimeWindow(t_field, t_hours, t_until),
        area_mode=area_mode or "any",
        area=area,
        bbox=bbox,
        drawn=drawn,
        near_on=bool(near_on),
        near_layer=n_layer,
        near_mode=n_mode or "within",
        near_distance=n_distance,
        near_where=filters(n_layer, n_fields, n_ops, n_values, n_picks),
        near_time=form.TimeWindow(nt_field, nt_hours, nt_until),
        nearest_n=nearest_n,
        nearest_point=nearest_point,
    )


@callback(
    Output(ids.RESULT, "data"),
    Output(ids.TABLE, "children"),
    Output(ids.SUMMARY, "children"),
    Output(ids.SPEC, "data"),
    Output(ids.STATUS, "children"),
    Output(ids.MAP, "viewport"),
    Input(ids.RUN, "n_clicks"),
    *FORM_STATES,
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def run(_clicks, *states):
    """Ask the question of the form for the caller; the answer on map, table and summary. A
    picked value that is not one of the picker's options (no picker sends one) is refused in
    the status line, and the last answer stays as it was."""
    guard.require(PATH)
    lang = i18n.language(states[-1])
    try:
        spec = form.build_spec(form_of(*states[:-1]))
        with heavy.slot():
            answer = ask(context.read_url(), spec, context.viewer(), context.settings())
    except values.NotAnOption as exc:
        refused = html.Span(not_an_option_text(exc, lang), className="analyze-refused")
        return (dash.no_update,) * 4 + (refused, dash.no_update)
    except (form.FormError, QuestionError, QuestionTimeout) as exc:
        message = _error_text(exc, lang)
        return None, None, message, None, message, dash.no_update
    except heavy.HeavyBusy as exc:
        busy = i18n.text("heavy.busy", lang).format(seconds=exc.retry_after)
        return dash.no_update, dash.no_update, busy, dash.no_update, busy, dash.no_update
    data = {"type": "FeatureCollection", "features": answer.features}
    text = summary_text(answer, lang)
    summary = [
        html.Span(
            text,
            **{"data-total": str(answer.meta["total"]), "data-count": str(len(answer.rows))},
        ),
        *(html.Div(w, className="analyze-window") for w in windows_text(answer, lang)),
    ]
    shown = table(answer, lang, context.timezone())
    asked = html.Code(form.spec_text(spec), className="analyze-spec")  # the API question
    return data, shown, summary, spec, asked, viewport(answer)


@callback(
    Output(ids.DOWNLOAD, "data"),
    Input(ids.CSV, "n_clicks"),
    State(ids.SPEC, "data"),
    prevent_initial_call=True,
)
def download_csv(_clicks, spec):
    """The last answer's table as CSV (UTF-8 with BOM), asked again for the caller."""
    guard.require(PATH)
    if not spec:
        raise PreventUpdate
    try:
        with heavy.slot():
            answer = ask(context.read_url(), spec, context.viewer(), context.settings())
    except (QuestionError, QuestionTimeout, heavy.HeavyBusy):
        raise PreventUpdate from None
    name = f"onemap-{answer.meta['layer']}-analysis.csv"
    return dcc.send_string("\ufeff" + answer.to_csv(), name)


@callback(
    Output(ids.SUBJECT, "options"),
    Output(ids.NEAR_LAYER, "options"),
    Output(ids.AREA_MODE, "options"),
    Output(ids.NEAR_MODE, "options"),
    Output(ids.NEAR_ON, "options"),
    Output(ids.AREA, "options"),
    Output(ids.LABELS_LANG, "data"),
    Input(shell_ids.LANG_SWITCH, "value"),
    Input(ids.SUBJECT, "id"),  # fires when the page appears, not on other pages
    State(ids.LABELS_LANG, "data"),
)
def relabel(lang: str, _page: str, shown: str | None):
    """Option labels in the chosen language (the shell's ``t()`` texts switch by themselves)."""
    guard.require(PATH)
    lang = i18n.labels_to_write(lang, shown)
    areas = export_files.areas(context.store_url(), context.viewer())
    return (
        _layer_options(form.subject_layers(), lang),
        _layer_options(form.reference_layers(), lang),
        area_mode_options(lang),
        near_mode_options(lang),
        near_on_options(lang),
        export_files.area_options(areas, lang),
        lang,
    )


_ROWS = {"side": ALL, "row": ALL}


@callback(
    *(Output(key, "placeholder") for key in PLACEHOLDERS),
    Output(_rows(ids.WHERE_FIELD, _ROWS), "placeholder"),
    Output(_rows(ids.WHERE_VALUE, _ROWS), "placeholder"),
    Output(_rows(ids.WHERE_PICK, _ROWS), "placeholder"),
    Output(_rows(ids.WHERE_PICK, _ROWS), "labels"),
    Output(_rows(ids.WHERE_OP, _ROWS), "options"),
    Input(shell_ids.LANG_SWITCH, "value"),
    Input(ids.SUBJECT, "id"),  # fires when the page appears, not on other pages
    State(_rows(ids.WHERE_FIELD, _ROWS), "id"),
)
def relabel_inputs(lang: str, _page: str, row_ids: list):
    """Placeholders, operator names and the value pickers' words in the chosen language (no
    store query)."""
    guard.require(PATH)
    lang = i18n.language(lang)
    rows = len(row_ids)
    return (
        *(i18n.text(key, lang) for key in PLACEHOLDERS.values()),
        [i18n.text("analyze.field", lang)] * rows,
        [i18n.text("analyze.value", lang)] * rows,
        [i18n.text("analyze.pick", lang)] * rows,
        [picker_labels(lang)] * rows,
        [operator_options(lang)] * rows,
    )
