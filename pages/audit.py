"""Audit trail page ("/audit", admins only): who viewed or exported personal data, when, in
which scope — newest first, filtered by user name, action and period."""

from __future__ import annotations

import json

import dash
from dash import Input, Output, callback, dcc, html

from geodata import city_time
from geodata.accounts.access import CLI_CLIENT, audit_trail
from geodata.engine import get_engine
from layers.registry import LAYERS
from pages import guard, ids
from pages.shell import t
from web import context, i18n

PATH = "/audit"
USER = "audit-user"
ACTION = "audit-action"
DAYS = "audit-days"
TABLE = "audit-table"
COUNT = "audit-count"
ACTIONS = ("view", "export", "token_create", "token_revoke")
PERIODS = (1, 7, 30, 365)
COLUMNS = ("at", "username", "action", "object_type", "scope", "detail", "client")

STRINGS: dict[str, dict[str, str]] = {
    "audit.title": {"zh": "个人信息访问审计", "en": "Personal data audit trail"},
    "audit.user": {"zh": "用户名", "en": "User name"},
    "audit.action": {"zh": "操作", "en": "Action"},
    "audit.days": {"zh": "时间范围（天）", "en": "Period (days)"},
    "audit.rows": {"zh": "条记录（最新 500 条）", "en": "rows (newest 500)"},
    "audit.col.at": {"zh": "时间", "en": "When"},
    "audit.col.username": {"zh": "用户", "en": "Who"},
    "audit.col.action": {"zh": "操作", "en": "Action"},
    "audit.col.object_type": {"zh": "对象", "en": "What"},
    "audit.col.scope": {"zh": "范围", "en": "Scope"},
    "audit.col.detail": {"zh": "详情", "en": "Detail"},
    "audit.col.client": {"zh": "来源", "en": "Client"},
    f"audit.client.{CLI_CLIENT}": {"zh": "命令行", "en": "Command line"},
    "audit.act.view": {"zh": "查看", "en": "View"},
    "audit.act.export": {"zh": "导出", "en": "Export"},
    "audit.act.outreach": {"zh": "外呼名单", "en": "Outreach list"},
    "audit.obj.resident_identity": {"zh": "居民身份信息", "en": "Residents' identities"},
    "audit.obj.event": {"zh": "事件", "en": "Incident"},
    "audit.act.token_create": {"zh": "生成令牌", "en": "Token created"},
    "audit.act.token_revoke": {"zh": "撤销令牌", "en": "Token revoked"},
    "audit.obj.api_token": {"zh": "API 令牌", "en": "API token"},
    "audit.scope.city": {"zh": "全市", "en": "Whole city"},
}
LAYER_TITLES = {layer.id: layer.title for layer in LAYERS}
"""Layer ids (an export's object) by their titles in both languages."""
i18n.STRINGS.update(STRINGS)

dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="audit")


def _filters(lang: str) -> html.Div:
    return html.Div(
        className="audit-filters",
        children=[
            html.Label([t("audit.user", lang), dcc.Input(id=USER, type="text", debounce=True)]),
            html.Label(
                [
                    t("audit.action", lang),
                    dcc.Dropdown(id=ACTION, options=_action_options(lang), clearable=True),
                ]
            ),
            html.Label(
                [
                    t("audit.days", lang),
                    dcc.RadioItems(id=DAYS, options=list(PERIODS), value=30, inline=True),
                ]
            ),
        ],
    )


def layout(**_query: str) -> html.Div:
    """The filters and the table (filled by :func:`show`)."""
    lang = i18n.language(context.settings().web.language)
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    head = html.Tr([html.Th(_heading(c, lang)) for c in COLUMNS])
    return html.Div(
        className="audit-page",
        children=[
            html.H2(t("audit.title", lang)),
            _filters(lang),
            html.P([html.Span(id=COUNT), " ", t("audit.rows", lang)]),
            html.Table(className="audit-table", children=[html.Thead(head), html.Tbody(id=TABLE)]),
        ],
    )


def _heading(column: str, lang: str) -> list:
    """A column heading; the time column names the zone its times are in."""
    label = t(f"audit.col.{column}", lang)
    if column != "at":
        return [label]
    zone = context.timezone()
    return [label, html.Span(f" ({city_time.zone_note(zone)})", className="audit-zone")]


def _action_options(lang: str) -> list[dict[str, str]]:
    return [{"label": _label("act", a, lang), "value": a} for a in ACTIONS]


def _label(kind: str, code: str, lang: str) -> str:
    """A recorded code in ``lang``: an action, an object (a layer's title) or the scope;
    a code without a label (area ids, a future action) as recorded."""
    key = f"audit.{kind}.{code}"
    if key in i18n.STRINGS:
        return i18n.text(key, lang)
    if kind == "obj" and code in LAYER_TITLES:
        return LAYER_TITLES[code][lang]
    return code


def _cell(column: str, value: object, lang: str) -> str | html.Code:
    if column == "at":
        return city_time.fmt(value, context.timezone(), city_time.SECOND)  # type: ignore[arg-type]
    if column == "detail":  # the record as stored, for the auditor: shown as data
        return html.Code(json.dumps(value or {}, ensure_ascii=False, sort_keys=True))
    if value is None:
        return ""
    kinds = {"action": "act", "object_type": "obj", "scope": "scope", "client": "client"}
    return _label(kinds[column], str(value), lang) if column in kinds else str(value)


@callback(
    Output(TABLE, "children"),
    Output(COUNT, "children"),
    Input(USER, "value"),
    Input(ACTION, "value"),
    Input(DAYS, "value"),
    Input(ids.LANG_SWITCH, "value"),
)
def show(
    username: str | None, action: str | None, days: int | None, lang: str | None
) -> tuple[list, str]:
    """The audit rows matching the filters, newest first, in the page's language."""
    guard.require(PATH)
    lang = i18n.language(lang)
    with get_engine(context.store_url()).connect() as conn:
        rows = audit_trail(conn, username=username, action=action, days=float(days or 30))
    body = [html.Tr([html.Td(_cell(c, row[c], lang)) for c in COLUMNS]) for row in rows]
    return body, str(len(rows))
