"""Assessment page (``/assessment``, 监督考核; leaders, analysts, admins): how each grid, street
office, district or department handled the incidents received in a period — a sortable ranking
table, the trend (received, closed, time to close) and the report to download (CSV, PNG, PDF).

Figures come from :mod:`analytics.assessment` through :mod:`analytics.assessment_report`, for the
callback's viewer: a leader with a scope sees only the units in their areas (and only the
incidents there). Dates are the city's days (``ONEMAP_TIMEZONE``, named next to them), the
last one included; the presets (last 7, 30, 90 days) end today, or on the newest incident's day
when the store's history ends earlier.
"""

from __future__ import annotations

from datetime import date, timedelta

import dash
from dash import Input, Output, State, callback, ctx, dash_table, dcc, html
from dash.dash_table.Format import Format, Scheme
from dash.exceptions import PreventUpdate

from analytics import assessment_report as ar
from geodata import city_time
from geodata.taxonomy import DEFAULT_TAXONOMY
from pages import guard
from pages import ids as shell_ids
from pages.shell import t
from web import context, heavy, i18n

PATH = "/assessment"
DATES = "assessment-dates"
PRESET = "assessment-preset"
BY = "assessment-by"
CATEGORY = "assessment-category"
MEASURE = "assessment-measure"
LATEST = "assessment-latest"
SUMMARY = "assessment-summary"
TABLE = "assessment-table"
TREND = "assessment-trend"
CSV = "assessment-csv"
PNG = "assessment-png"
PDF = "assessment-pdf"
DOWNLOAD = "assessment-download"

PAGE_SIZE = 50
"""Table rows per page (a city has thousands of grids; sorting still covers them all)."""
PRESETS = (7, 30, 90)
DEFAULT_PRESET = 30
DEFAULT_MEASURE = "default"
TABLE_COLUMNS = ("rank", "name", "received", "closed", "closure_rate", "on_time_rate",
                 "median_hours", "p90_hours", "escalation_rate", "reopen_rate",
                 "after_photo_rate")  # fmt: skip
PERCENT = Format(precision=1, scheme=Scheme.percentage)
HOURS = Format(precision=1, scheme=Scheme.fixed)

STRINGS: dict[str, dict[str, str]] = {
    "assessment.title": {"zh": "监督考核", "en": "Assessment"},
    "assessment.period": {"zh": "受理时间", "en": "Received"},
    "assessment.preset": {"zh": "最近", "en": "Last"},
    "assessment.days": {"zh": "{n} 天", "en": "{n} days"},
    "assessment.by": {"zh": "考核对象", "en": "Assess each"},
    "assessment.by.grid": {"zh": "网格", "en": "Grid"},
    "assessment.by.street": {"zh": "街道", "en": "Street office"},
    "assessment.by.district": {"zh": "区", "en": "District"},
    "assessment.by.department": {"zh": "处置部门", "en": "Department"},
    "assessment.category": {"zh": "事件类别", "en": "Category"},
    "assessment.category_all": {"zh": "全部类别", "en": "All categories"},
    "assessment.measure": {"zh": "排名依据", "en": "Rank by"},
    "assessment.m.default": {
        "zh": "综合（按期办结率、办结率、时长）",
        "en": "On-time, then closure rate, then median time",
    },
    "assessment.download": {"zh": "下载报告", "en": "Download the report"},
    "assessment.summary": {
        "zh": "{units} 个单位，受理 {received} 件，办结 {closed} 件（{rate}）",
        "en": "{units} units, {received} incidents received, {closed} closed ({rate})",
    },
    "assessment.scoped": {"zh": "仅含您辖区内的单位。", "en": "Only the units of your areas."},
    "assessment.empty": {"zh": "本时段无事件。", "en": "No incidents in the period."},
    "assessment.empty_scoped": {
        "zh": "本时段您辖区内无此级单位的事件。",
        "en": "No incidents of units of this level in your areas in the period.",
    },
    "assessment.trend": {"zh": "趋势", "en": "Trend"},
    "assessment.received": {"zh": "受理", "en": "Received"},
    "assessment.closed": {"zh": "其中已办结", "en": "Of which closed"},
    "assessment.median": {"zh": "办结时长中位数（小时）", "en": "Median hours to close"},
    "assessment.p90": {"zh": "办结时长 90% 分位（小时）", "en": "90th percentile hours"},
    "assessment.hours": {"zh": "小时", "en": "hours"},
    "assessment.col.rank": {"zh": "排名", "en": "Rank"},
    "assessment.col.name": {"zh": "单位", "en": "Unit"},
    "assessment.col.received": {"zh": "受理", "en": "Received"},
    "assessment.col.closed": {"zh": "办结", "en": "Closed"},
    "assessment.col.closure_rate": {"zh": "办结率", "en": "Closure rate"},
    "assessment.col.on_time_rate": {"zh": "按期办结率", "en": "On-time rate"},
    "assessment.col.median_hours": {"zh": "时长中位数（时）", "en": "Median hours"},
    "assessment.col.p90_hours": {"zh": "时长 P90（时）", "en": "P90 hours"},
    "assessment.col.escalation_rate": {"zh": "上报率", "en": "Escalation rate"},
    "assessment.col.reopen_rate": {"zh": "重办率", "en": "Reopen rate"},
    "assessment.col.after_photo_rate": {"zh": "处置后照片率", "en": "After-photo rate"},
    "assessment.none": {"zh": "（未指定）", "en": "(none)"},
} | {f"assessment.m.{m}": dict(ar.LABELS[f"m.{m}"]) for m in ar.MEASURES}
i18n.STRINGS.update(STRINGS)

dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="assessment")


def preset_dates(latest: date, days: int) -> tuple[date, date]:
    """The first and last day of "the last ``days`` days" ending on ``latest``."""
    return latest - timedelta(days=days - 1), latest


def _category_options(lang: str) -> list[dict[str, str]]:
    options = []
    for group in (c for c in DEFAULT_TAXONOMY if c.parent is None):
        name = group.name_zh if lang == "zh" else group.name_en
        options.append({"label": name, "value": group.code})
        for leaf in (c for c in DEFAULT_TAXONOMY if c.parent == group.code):
            label = leaf.name_zh if lang == "zh" else leaf.name_en
            options.append({"label": f"　· {label}", "value": leaf.code})
    return options


def _measure_options(lang: str) -> list[dict[str, str]]:
    keys = (DEFAULT_MEASURE, *ar.MEASURES)
    return [{"label": i18n.text(f"assessment.m.{m}", lang), "value": m} for m in keys]


def _by_options(lang: str) -> list[dict[str, object]]:
    return [{"label": t(f"assessment.by.{by}", lang), "value": by} for by in ar.GROUPS]


def _preset_options(lang: str) -> list[dict[str, object]]:
    return [{"label": i18n.text("assessment.days", lang).format(n=n), "value": n} for n in PRESETS]


def _field(key: str, lang: str, control, *, tag=html.Label, wide: bool = False, note=None):
    """One filter: its title (and a note after it) above its control."""
    title = t(key, lang) if note is None else html.Span([t(key, lang), note])
    return tag(
        className="assessment-field assessment-wide" if wide else "assessment-field",
        children=[title, control],
    )


def zone_note() -> html.Span:
    """The city's zone the dates are days of: `` (Asia/Shanghai, UTC+08:00)``."""
    zone = context.timezone()
    return html.Span(f" ({city_time.zone_note(zone)})", className="assessment-zone")


def _radio(component_id: str, options: list[dict[str, object]], value: str | int) -> dcc.RadioItems:
    return dcc.RadioItems(
        id=component_id, options=options, value=value, inline=True, className="assessment-radio"
    )


def _controls(lang: str, latest: date) -> html.Div:
    first, last = preset_dates(latest, DEFAULT_PRESET)
    dates = dcc.DatePickerRange(
        id=DATES,
        start_date=first.isoformat(),
        end_date=last.isoformat(),
        display_format="YYYY-MM-DD",
        minimum_nights=0,
        first_day_of_week=1,
    )
    category = dcc.Dropdown(
        id=CATEGORY,
        options=_category_options(lang),
        placeholder=i18n.text("assessment.category_all", lang),
        clearable=True,
        className="assessment-dropdown",
    )
    measure = dcc.Dropdown(
        id=MEASURE,
        options=_measure_options(lang),
        value=DEFAULT_MEASURE,
        clearable=False,
        className="assessment-dropdown",
    )
    return html.Div(
        className="assessment-controls",
        children=[
            _field("assessment.period", lang, dates, note=zone_note()),
            _field(
                "assessment.preset",
                lang,
                _radio(PRESET, _preset_options(lang), DEFAULT_PRESET),
                tag=html.Div,
            ),
            _field("assessment.by", lang, _radio(BY, _by_options(lang), "grid"), tag=html.Div),
            _field("assessment.category", lang, category, wide=True),
            _field("assessment.measure", lang, measure, wide=True),
        ],
    )


def _downloads(lang: str) -> html.Div:
    return html.Div(
        className="assessment-downloads",
        children=[
            t("assessment.download", lang, className="assessment-downloads-title"),
            html.Button("CSV", id=CSV, className="assessment-button"),
            html.Button("PNG", id=PNG, className="assessment-button"),
            html.Button("PDF", id=PDF, className="assessment-button"),
            dcc.Download(id=DOWNLOAD),
        ],
    )


def layout(**_query: str) -> html.Div:
    """Filters, the summary, the ranking table, the trend and the downloads (filled by
    :func:`show`)."""
    lang = i18n.language(context.settings().web.language)
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    latest = ar.latest_day(context.read_url(), tz=context.timezone())
    return html.Div(
        className="assessment-page",
        children=[
            dcc.Store(id=LATEST, data=latest.isoformat()),
            html.Div(
                className="assessment-head",
                children=[html.H2(t("assessment.title", lang)), _downloads(lang)],
            ),
            _controls(lang, latest),
            html.P(id=SUMMARY, className="assessment-summary"),
            html.Div(
                className="assessment-body",
                children=[
                    # dash.dash_table's __init__ is "# type: ignore" as a whole: mypy sees no names
                    dash_table.DataTable(  # type: ignore[attr-defined]
                        id=TABLE,
                        columns=_columns(lang),
                        data=[],
                        sort_action="native",
                        sort_mode="single",
                        page_action="native",
                        page_size=PAGE_SIZE,
                        style_table={"height": "100%", "overflowY": "auto"},
                        style_header={
                            "backgroundColor": "#0f172a",
                            "color": "#e2e8f0",
                            "fontWeight": 600,
                            "whiteSpace": "normal",
                            "height": "auto",
                            "border": "1px solid #1f2a3d",
                        },
                        style_cell={
                            "backgroundColor": "#111827",
                            "color": "#e2e8f0",
                            "border": "1px solid #1f2a3d",
                            "padding": "4px 8px",
                            "fontFamily": "inherit",
                            "fontSize": "13px",
                            "minWidth": "72px",
                        },
                        style_cell_conditional=[
                            {"if": {"column_id": "name"}, "textAlign": "left", "minWidth": "180px"}
                        ],
                    ),
                    html.Div(
                        className="assessment-chart",
                        children=[
                            html.H3(t("assessment.trend", lang)),
                            dcc.Graph(
                                id=TREND,
                                config={"displayModeBar": False, "responsive": True},
                                className="assessment-graph",
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


def _columns(lang: str) -> list[dict[str, object]]:
    columns: list[dict[str, object]] = []
    for column in TABLE_COLUMNS:
        spec: dict[str, object] = {
            "name": i18n.text(f"assessment.col.{column}", lang),
            "id": column,
            "type": "text" if column == "name" else "numeric",
        }
        if column.endswith("_rate"):
            spec["format"] = PERCENT
        elif column.endswith("_hours"):
            spec["format"] = HOURS
        columns.append(spec)
    return columns


def _day(value: str | None) -> date:
    if not value:
        raise PreventUpdate
    return date.fromisoformat(value[:10])


def _report(
    start: str | None, end: str | None, by: str | None, category: str | None, measure: str | None
) -> ar.Report:
    """The report of the filters for the callback's viewer (scoped to a leader's areas)."""
    if by not in ar.GROUPS:
        raise PreventUpdate
    tz = context.timezone()
    try:
        first, last = ar.day_range(_day(start), _day(end), tz)
    except ValueError:
        raise PreventUpdate from None
    viewer = context.viewer()
    return ar.build_report(
        context.read_url(),
        by,
        first,
        last,
        category=category or None,
        measure=None if measure in (None, DEFAULT_MEASURE) else measure,
        areas=viewer.area_ids,
        tz=tz,
    )


def table_rows(rows: list[dict], lang: str) -> list[dict]:
    """The table's rows: the shown columns of the assessment rows, with a display name."""
    none = i18n.text("assessment.none", lang)
    out = []
    for row in rows:
        name = row["name"] if row["name"] is not None else row["unit"]
        out.append(
            {**{c: row[c] for c in TABLE_COLUMNS}, "name": none if name is None else str(name)}
        )
    return out


MAX_DATE_TICKS = 12
"""At most this many labelled periods on the trend's time axis (every n-th beyond)."""


def date_ticks(x: list[str]) -> dict[str, object]:
    """One tick per period (``YYYY-MM-DD``; at most :data:`MAX_DATE_TICKS`), labelled
    ``MM-DD`` (with the year when the periods span years): never two ticks with one label,
    as plotly's own hourly ticks of a short range were."""
    step = max(1, -(-len(x) // MAX_DATE_TICKS))
    shown = x[::step]
    one_year = len({d[:4] for d in x}) <= 1
    return {
        "tickmode": "array",
        "tickvals": shown,
        "ticktext": [d[5:] if one_year else d for d in shown],
    }


def count_ticks(report: ar.Report) -> dict[str, object]:
    """Whole-number steps on the count axis when the counts are small (no "0.5 件")."""
    top = max((max(r["received"], r["closed"]) for r in report.trend), default=0)
    return {"tick0": 0, "dtick": 1} if top <= 10 else {}


def trend_figure(report: ar.Report, lang: str) -> dict[str, object]:
    """Received (bars), closed (line) and median / P90 hours (right axis) per period."""
    x = [r["bucket"].date().isoformat() for r in report.trend]

    def line(key: str, color: str, axis: str, dash_: str = "solid") -> dict[str, object]:
        return {
            "type": "scatter",
            "mode": "lines+markers",
            "x": x,
            "y": [r[key] for r in report.trend],
            "name": i18n.text(f"assessment.{key.removesuffix('_hours')}", lang),
            "yaxis": axis,
            "line": {"color": color, "width": 2, "dash": dash_},
            "marker": {"size": 4},
        }

    return {
        "data": [
            {
                "type": "bar",
                "x": x,
                "y": [r["received"] for r in report.trend],
                "name": i18n.text("assessment.received", lang),
                "marker": {"color": "#3b82f6"},
            },
            line("closed", "#5eead4", "y"),
            line("median_hours", "#fbbf24", "y2", "dot"),
            line("p90_hours", "#f87171", "y2", "dot"),
        ],
        "layout": {
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"color": "#cbd5e1", "size": 12},
            "margin": {"l": 48, "r": 48, "t": 36, "b": 40},
            "legend": {"orientation": "h", "x": 0, "y": 1.14},
            "xaxis": {"type": "date", "gridcolor": "#1f2a3d", **date_ticks(x)},
            "yaxis": {"gridcolor": "#1f2a3d", "rangemode": "tozero", **count_ticks(report)},
            "yaxis2": {
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
                "tickmode": "auto",  # its own round steps, shown to their precision
                "title": {"text": i18n.text("assessment.hours", lang)},
            },
            "bargap": 0.25,
        },
    }


def summary(report: ar.Report, lang: str, scoped: bool) -> list:
    """One line: units, received, closed and the closure rate; a note for a scoped viewer."""
    if not report.rows:
        return [i18n.text("assessment.empty_scoped" if scoped else "assessment.empty", lang)]
    received = sum(r["received"] for r in report.rows)
    closed = sum(r["closed"] for r in report.rows)
    parts = [
        i18n.text("assessment.summary", lang).format(
            units=len(report.rows),
            received=f"{received:,}",
            closed=f"{closed:,}",
            rate=f"{closed / received:.1%}",
        )
    ]
    if scoped:
        parts.append(" " + i18n.text("assessment.scoped", lang))
    return parts


@callback(
    Output(DATES, "start_date"),
    Output(DATES, "end_date"),
    Input(PRESET, "value"),
    State(LATEST, "data"),
    prevent_initial_call=True,
)
def apply_preset(days: int | None, latest: str | None) -> tuple[str, str]:
    """The dates of a preset (last 7, 30 or 90 days)."""
    guard.require(PATH)
    if days not in PRESETS or not latest:
        raise PreventUpdate
    first, last = preset_dates(date.fromisoformat(latest), days)
    return first.isoformat(), last.isoformat()


@callback(
    Output(CATEGORY, "options"),
    Output(CATEGORY, "placeholder"),
    Output(MEASURE, "options"),
    Output(PRESET, "options"),
    Input(shell_ids.LANG_SWITCH, "value"),
    Input(CATEGORY, "id"),  # fires when the page appears, not on other pages
)
def translate(lang: str | None, _page: str) -> tuple[list, str, list, list]:
    """The dropdown and preset labels in the chosen language."""
    guard.require(PATH)
    lang = i18n.language(lang)
    placeholder = i18n.text("assessment.category_all", lang)
    return _category_options(lang), placeholder, _measure_options(lang), _preset_options(lang)


@callback(
    Output(TABLE, "data"),
    Output(TABLE, "columns"),
    Output(TABLE, "sort_by"),
    Output(TREND, "figure"),
    Output(SUMMARY, "children"),
    Input(DATES, "start_date"),
    Input(DATES, "end_date"),
    Input(BY, "value"),
    Input(CATEGORY, "value"),
    Input(MEASURE, "value"),
    Input(shell_ids.LANG_SWITCH, "value"),
)
def show(start, end, by, category, measure, lang):
    """The ranking (in rank order: a column sort is cleared), the trend and the summary."""
    guard.require(PATH)
    lang = i18n.language(lang)
    report = _report(start, end, by, category, measure)
    scoped = context.viewer().area_ids is not None
    return (
        table_rows(report.rows, lang),
        _columns(lang),
        [],
        trend_figure(report, lang),
        summary(report, lang, scoped),
    )


@callback(
    Output(DOWNLOAD, "data"),
    Input(CSV, "n_clicks"),
    Input(PNG, "n_clicks"),
    Input(PDF, "n_clicks"),
    State(DATES, "start_date"),
    State(DATES, "end_date"),
    State(BY, "value"),
    State(CATEGORY, "value"),
    State(MEASURE, "value"),
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def download(_csv, _png, _pdf, start, end, by, category, measure, lang):
    """The report of the filters as CSV (UTF-8 with BOM), PNG or PDF, computed again for the
    caller."""
    guard.require(PATH)
    kind = {CSV: "csv", PNG: "png", PDF: "pdf"}.get(ctx.triggered_id)
    if kind is None:
        raise PreventUpdate
    try:
        with heavy.slot():
            report = _report(start, end, by, category, measure)
            name = f"assessment-{by}-{_day(start)}-{_day(end)}.{kind}"
            if kind == "csv":
                return dcc.send_string("\ufeff" + ar.report_csv(report), name)
            return dcc.send_bytes(ar.render(report, kind, i18n.language(lang)), name)
    except heavy.HeavyBusy:
        raise PreventUpdate from None
