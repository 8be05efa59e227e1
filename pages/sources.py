"""Data sources page ("/sources", admins only): each department's source, its expected update
cadence, its last successful import (city time), the rows that import wrote, and whether it is
overdue (last import older than the cadence plus ``twin_source_grace_hours``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
from dash import Input, Output, callback, html
from dash.development.base_component import Component

from analytics.freshness import source_rows
from geodata import city_time
from geodata.sources import Freshness
from pages import guard, ids
from pages.shell import data, t
from web import context, i18n

PATH = "/sources"
TABLE = "sources-table"
COUNT = "sources-count"
COLUMNS = ("title", "department", "cadence", "last", "rows", "runs", "status", "name")

STRINGS: dict[str, dict[str, str]] = {
    "sources.title": {"zh": "数据源更新情况", "en": "Data sources and their freshness"},
    "sources.note": {
        "zh": "各部门数据应按约定周期导入；超过周期（另加宽限）未更新即为逾期，"
        "并向责任区域派发低级别事件。",
        "en": "Each department's data should be imported at its agreed cadence; a source not "
        "updated for longer (plus a grace period) is overdue and raises a low-severity incident "
        "to its area.",
    },
    "sources.current_of": {"zh": "正常数据源", "en": "sources current"},
    "sources.col.title": {"zh": "数据源", "en": "Source"},
    "sources.col.department": {"zh": "责任部门", "en": "Department"},
    "sources.col.cadence": {"zh": "更新周期", "en": "Cadence"},
    "sources.col.last": {"zh": "最近成功导入", "en": "Last successful import"},
    "sources.col.rows": {"zh": "导入行数", "en": "Rows"},
    "sources.col.runs": {"zh": "导入次数（失败）", "en": "Runs (failed)"},
    "sources.col.status": {"zh": "状态", "en": "Status"},
    "sources.col.name": {"zh": "导入名", "en": "Import name"},
    "sources.status.current": {"zh": "正常", "en": "Current"},
    "sources.status.overdue": {"zh": "逾期", "en": "Overdue"},
    "sources.never": {"zh": "从未导入", "en": "Never imported"},
    "sources.cadence.hours": {"zh": "每 {n} 小时", "en": "Every {n} hours"},
    "sources.cadence.days": {"zh": "每 {n} 天", "en": "Every {n} days"},
    "sources.cadence.1": {"zh": "每天", "en": "Daily"},
    "sources.cadence.7": {"zh": "每周", "en": "Weekly"},
    "sources.cadence.30": {"zh": "每月", "en": "Monthly"},
}
i18n.STRINGS.update(STRINGS)

dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="sources")


def layout(**_query: str) -> html.Div:
    """The heading and the table (filled by :func:`show`)."""
    lang = i18n.language(context.settings().web.language)
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    head = html.Tr([html.Th(_heading(c, lang)) for c in COLUMNS])
    return html.Div(
        className="sources-page",
        children=[
            html.H2(t("sources.title", lang)),
            html.P(t("sources.note", lang)),
            html.P([html.Span(id=COUNT), " ", t("sources.current_of", lang)]),
            html.Table(
                className="sources-table", children=[html.Thead(head), html.Tbody(id=TABLE)]
            ),
        ],
    )


def _heading(column: str, lang: str) -> list:
    """A column heading; the time column names the zone its times are in."""
    label = t(f"sources.col.{column}", lang)
    if column != "last":
        return [label]
    zone = context.timezone()
    return [
        label,
        html.Span(f" ({city_time.zone_note(zone)})", className="sources-zone"),
    ]


def cadence_text(cadence: timedelta, lang: str) -> str:
    """A cadence in words: daily / weekly / monthly, else every n days or hours."""
    hours = cadence.total_seconds() / 3600
    if hours % 24:
        return i18n.text("sources.cadence.hours", lang).format(n=f"{hours:g}")
    days = int(hours // 24)
    key = f"sources.cadence.{days}"
    if key in i18n.STRINGS:
        return i18n.text(key, lang)
    return i18n.text("sources.cadence.days", lang).format(n=days)


def _row(r: Freshness, lang: str) -> html.Tr:
    zone = context.timezone()
    last = (
        city_time.fmt(r.last_import, zone, city_time.SECOND)
        if r.last_import
        else i18n.text("sources.never", lang)
    )
    status = "overdue" if r.overdue else "current"
    cells: list[str | Component] = [
        r.title_zh if lang == "zh" else r.title_en,
        r.department,
        cadence_text(r.cadence, lang),
        last,
        f"{r.last_rows or 0:,}",
        f"{r.runs:,} ({r.failed_runs:,})",
        html.Span(i18n.text(f"sources.status.{status}", lang), className=f"source-{status}"),
        html.Code(r.name),
    ]
    return html.Tr(
        [html.Td(c) for c in cells], className=f"source-row-{status}", **data("source", r.name)
    )


@callback(Output(TABLE, "children"), Output(COUNT, "children"), Input(ids.LANG_SWITCH, "value"))
def show(lang: str | None) -> tuple[list, str]:
    """The active sources at this moment, overdue first, in the page's language."""
    guard.require(PATH)
    lang = i18n.language(lang)
    grace = timedelta(hours=context.settings().rules.source_grace_hours)
    rows = source_rows(context.store_url(), datetime.now(UTC), grace)
    current = sum(not r.overdue for r in rows)
    return [_row(r, lang) for r in rows], f"{current} / {len(rows)}"
