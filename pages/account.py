"""My account (``/account``): the signed-in person's own API tokens for QGIS, GDAL and scripts.

Create one (a name and an expiry from :data:`geodata.accounts.tokens.EXPIRY_DAYS`), see its
value once right after creation (copy button: assets/account.js), see every token's name,
creation, expiry and last use in the city's time zone, and revoke one. The limits are the
CLI's (:mod:`geodata.accounts.tokens`); both actions are audited. Callbacks act on the
caller's own account only: a token id of somebody else's token revokes nothing.
"""

from __future__ import annotations

from datetime import datetime

import dash
from dash import ALL, Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate
from flask import request

from geodata import city_time
from geodata.accounts import tokens
from geodata.accounts.tokens import TokenInfo, TokenLimit
from geodata.engine import get_engine
from pages import guard
from pages import ids as shell_ids
from pages.account_ids import (
    COPY,
    CREATE,
    DAYS,
    MAX_ID,
    NAME,
    NEW,
    REVOKE,
    STATUS,
    TABLE,
    TIME_FORMAT,
    VALUE,
    VERSION,
    ZONE,
)
from pages.shell import data, t
from web import context, i18n

PATH = "/account"
DEFAULT_DAYS = 90
COLUMNS = ("name", "created", "expires", "used", "state", "action")

STRINGS: dict[str, dict[str, str]] = {
    "account.title": {"zh": "我的账户", "en": "My account"},
    "account.user": {"zh": "当前用户：", "en": "Signed in as:"},
    "account.tokens": {"zh": "API 令牌", "en": "API tokens"},
    "account.tokens_hint": {
        "zh": "QGIS、GDAL 和脚本用令牌访问本系统的 OGC API 和数据接口，权限与您的账户相同。"
        "请求头写作 Authorization: Bearer <令牌>。",
        "en": "QGIS, GDAL and scripts use a token to read this system's OGC API and data "
        "routes with your account's rights. Send it as the header Authorization: Bearer <token>.",
    },
    "account.limits": {
        "zh": f"每个账户最多 {tokens.MAX_ACTIVE} 个有效令牌，有效期最长 {tokens.MAX_DAYS} 天。",
        "en": f"At most {tokens.MAX_ACTIVE} active tokens per account, each valid for at most "
        f"{tokens.MAX_DAYS} days.",
    },
    "account.name": {"zh": "用途名称", "en": "Name"},
    "account.name_hint": {"zh": "例如：办公室 QGIS", "en": "e.g. office QGIS"},
    "account.expiry": {"zh": "有效期", "en": "Expires after"},
    "account.days": {"zh": "{n} 天", "en": "{n} days"},
    "account.create": {"zh": "生成令牌", "en": "Create token"},
    "account.created": {
        "zh": "令牌“{name}”已生成。它只显示这一次，请现在复制并妥善保存：",
        "en": "Token “{name}” created. It is shown only this once: copy it now and keep it safe:",
    },
    "account.copy": {"zh": "复制", "en": "Copy"},
    "account.copied": {"zh": "已复制", "en": "Copied"},
    "account.revoke": {"zh": "撤销", "en": "Revoke"},
    "account.revoked": {"zh": "令牌“{name}”已撤销，立即失效。", "en": "Token “{name}” revoked."},
    "account.not_found": {
        "zh": "没有这个有效令牌，未做任何更改。",
        "en": "No such active token of yours; nothing changed.",
    },
    "account.err.name": {
        "zh": f"名称需为 1–{tokens.MAX_NAME} 个可打印字符。",
        "en": f"A name is 1–{tokens.MAX_NAME} printable characters.",
    },
    "account.err.days": {"zh": "请从列表中选择有效期。", "en": "Choose an expiry from the list."},
    "account.err.count": {
        "zh": f"您已有 {tokens.MAX_ACTIVE} 个有效令牌，请先撤销一个。",
        "en": f"You have {tokens.MAX_ACTIVE} active tokens already; revoke one first.",
    },
    "account.none": {"zh": "还没有令牌。", "en": "No tokens yet."},
    "account.never": {"zh": "从不过期", "en": "Never"},
    "account.unused": {"zh": "尚未使用", "en": "Not used yet"},
    "account.state.active": {"zh": "有效", "en": "Active"},
    "account.state.revoked": {"zh": "已撤销", "en": "Revoked"},
    "account.state.expired": {"zh": "已过期", "en": "Expired"},
    "account.col.name": {"zh": "名称", "en": "Name"},
    "account.col.created": {"zh": "创建时间", "en": "Created"},
    "account.col.expires": {"zh": "到期时间", "en": "Expires"},
    "account.col.used": {"zh": "最近使用", "en": "Last used"},
    "account.col.state": {"zh": "状态", "en": "State"},
    "account.col.action": {"zh": "操作", "en": "Action"},
    "account.times": {"zh": "时间为 {zone}（{offset}）。", "en": "Times in {zone} ({offset})."},
    "account.use": {"zh": "使用方法", "en": "How to use a token"},
    "account.use_qgis": {
        "zh": "QGIS：在“数据导出”页下载 QGIS 工程文件，按页上的说明填入令牌。",
        "en": "QGIS: download the QGIS project file on the Export page and add the token "
        "as described there.",
    },
    "account.use_gdal": {"zh": "GDAL / ogr2ogr：", "en": "GDAL / ogr2ogr:"},
}
i18n.STRINGS.update(STRINGS)

dash.register_page(__name__, path=PATH, title=i18n.text("app.document_title"), name="account")


def _lang() -> str:
    return i18n.language(context.settings().web.language)


def day_options(lang: str) -> list[dict[str, object]]:
    """The expiries offered, labelled in ``lang``."""
    label = i18n.text("account.days", lang)
    return [{"label": label.format(n=n), "value": n} for n in tokens.EXPIRY_DAYS]


def _form(lang: str) -> html.Div:
    return html.Div(
        className="account-form",
        children=[
            html.Label(
                [
                    t("account.name", lang),
                    dcc.Input(
                        id=NAME,
                        type="text",
                        maxLength=tokens.MAX_NAME,
                        placeholder=i18n.text("account.name_hint", lang),
                        className="account-input",
                    ),
                ]
            ),
            html.Label(
                [
                    t("account.expiry", lang),
                    dcc.Dropdown(
                        id=DAYS,
                        options=day_options(lang),
                        value=DEFAULT_DAYS,
                        clearable=False,
                        searchable=False,
                        className="account-days",
                    ),
                ]
            ),
            html.Button(t("account.create", lang), id=CREATE, className="account-button"),
        ],
    )


def _ogc_command() -> str:
    ogc = request.host_url.rstrip("/") + dash.get_relative_path("/ogc")
    return f'GDAL_HTTP_HEADERS="Authorization: Bearer <token>" ogrinfo OAPIF:{ogc}'


def layout(**_query: str) -> html.Div:
    """Who is signed in, the token form, the new token (after creation) and the token list."""
    lang = _lang()
    if not guard.allowed(PATH):
        return guard.forbidden(lang)
    viewer = context.page_viewer()
    head = html.Tr([html.Th(t(f"account.col.{c}", lang)) for c in COLUMNS])
    return html.Div(
        className="account-page",
        children=[
            dcc.Store(id=VERSION, data=0),
            html.H2(t("account.title", lang)),
            html.P([t("account.user", lang), " ", html.B(viewer.username or "")]),
            html.Section(
                className="account-section",
                children=[
                    html.H3(t("account.tokens", lang)),
                    html.P(t("account.tokens_hint", lang), className="account-hint"),
                    html.P(t("account.limits", lang), className="account-hint"),
                    _form(lang),
                    html.Div(id=NEW, className="account-new"),
                    html.Div(id=STATUS, className="account-status", role="status"),
                    html.Table(
                        className="account-table",
                        children=[html.Thead(head), html.Tbody(id=TABLE)],
                    ),
                    html.P(_zone_note(lang), id=ZONE, className="account-hint account-zone"),
                ],
            ),
            html.Section(
                className="account-section",
                children=[
                    html.H3(t("account.use", lang)),
                    html.P(t("account.use_qgis", lang), className="account-hint"),
                    html.P(t("account.use_gdal", lang), className="account-hint"),
                    html.Pre(_ogc_command(), className="account-code"),
                ],
            ),
        ],
    )


# --- helpers of the callbacks ---------------------------------------------------------------


def _zone_note(lang: str) -> str:
    """Which zone the times are in, in ``lang``."""
    zone = context.timezone()
    return i18n.text("account.times", lang).format(zone=zone, offset=city_time.offset_label(zone))


def _when(instant: datetime | None, lang: str, empty: str) -> str:
    if instant is None:
        return i18n.text(empty, lang)
    return city_time.fmt(instant, context.timezone(), TIME_FORMAT)


def _state(token: TokenInfo) -> str:
    if token.active:
        return "active"
    return "revoked" if token.revoked else "expired"


def _row(token: TokenInfo, lang: str) -> html.Tr:
    action: html.Button | str = ""
    if token.active:
        action = html.Button(
            i18n.text("account.revoke", lang),
            id={"type": REVOKE, "token": token.id},
            className="account-revoke",
        )
    state = _state(token)
    cells = (
        token.name,
        _when(token.created_at, lang, "account.unused"),
        _when(token.expires_at, lang, "account.never"),
        _when(token.last_used_at, lang, "account.unused"),
        i18n.text(f"account.state.{state}", lang),
    )
    return html.Tr(
        className=f"account-token account-token-{state}",
        children=[*(html.Td(c) for c in cells), html.Td(action)],
        **data("token", token.id),
        **data("state", state),
    )


def _new_token(name: str, value: str, lang: str) -> html.Div:
    """The token just created, shown once, with its copy button."""
    return html.Div(
        className="account-new-token",
        children=[
            html.P(i18n.text("account.created", lang).format(name=name)),
            html.Div(
                className="account-new-row",
                children=[
                    dcc.Input(id=VALUE, value=value, readOnly=True, className="account-value"),
                    html.Button(
                        i18n.text("account.copy", lang),
                        id=COPY,
                        className="account-copy",
                        **data("target", VALUE),
                        **data("done", i18n.text("account.copied", lang)),
                    ),
                ],
            ),
        ],
    )


def _bump(version: object) -> int:
    return (version if isinstance(version, int) and not isinstance(version, bool) else 0) + 1


# --- callbacks ------------------------------------------------------------------------------


@callback(
    Output(TABLE, "children"),
    Output(DAYS, "options"),
    Output(NAME, "placeholder"),
    Output(ZONE, "children"),
    Input(VERSION, "data"),
    Input(shell_ids.LANG_SWITCH, "value"),
)
def show(_version: object, lang: str | None) -> tuple[list, list, str, str]:
    """The caller's tokens (and the form's labels) in the page's language."""
    guard.require(PATH)
    lang = i18n.language(lang)
    viewer = context.viewer()
    if viewer.account_id is None:
        raise PreventUpdate
    with get_engine(context.store_url()).connect() as conn:
        found = tokens.list_tokens(conn, viewer.account_id)
    rows = [_row(token, lang) for token in found]
    if not rows:
        rows = [html.Tr(html.Td(i18n.text("account.none", lang), colSpan=len(COLUMNS)))]
    return rows, day_options(lang), i18n.text("account.name_hint", lang), _zone_note(lang)


@callback(
    Output(NEW, "children"),
    Output(STATUS, "children"),
    Output(VERSION, "data"),
    Input(CREATE, "n_clicks"),
    State(NAME, "value"),
    State(DAYS, "value"),
    State(VERSION, "data"),
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def create(_clicks: object, name: object, days: object, version: object, lang: str | None):
    """Issue a token for the caller and show its value once."""
    guard.require(PATH)
    lang = i18n.language(lang)
    if name is not None and not isinstance(name, str):
        return None, i18n.text("account.err.name", lang), dash.no_update
    if isinstance(days, bool) or days not in tokens.EXPIRY_DAYS:
        return None, i18n.text("account.err.days", lang), dash.no_update
    try:
        with get_engine(context.store_url()).begin() as conn:
            new = tokens.create_token(
                conn,
                context.viewer(),
                name,
                float(days),
                request.remote_addr,
            )
    except TokenLimit as exc:
        return None, i18n.text(f"account.err.{exc.kind}", lang), dash.no_update
    shown = tokens.check_name(name)
    return _new_token(shown, new.value, lang), "", _bump(version)


@callback(
    Output(STATUS, "children", allow_duplicate=True),
    Output(NEW, "children", allow_duplicate=True),
    Output(VERSION, "data", allow_duplicate=True),
    Input({"type": REVOKE, "token": ALL}, "n_clicks"),
    State(VERSION, "data"),
    State(shell_ids.LANG_SWITCH, "value"),
    prevent_initial_call=True,
)
def revoke(clicks: object, version: object, lang: str | None):
    """Revoke the caller's token whose button was pressed (nobody else's)."""
    guard.require(PATH)
    lang = i18n.language(lang)
    pressed = dash.ctx.triggered_id
    if not isinstance(clicks, list) or not any(clicks) or not isinstance(pressed, dict):
        raise PreventUpdate  # the buttons were drawn, none pressed
    token_id = pressed.get("token")
    if isinstance(token_id, bool) or not isinstance(token_id, int) or not 0 < token_id < MAX_ID:
        return i18n.text("account.not_found", lang), dash.no_update, dash.no_update
    with get_engine(context.store_url()).begin() as conn:
        name = tokens.revoke_token(conn, context.viewer(), token_id, request.remote_addr)
    if name is None:
        return i18n.text("account.not_found", lang), dash.no_update, dash.no_update
    message = i18n.text("account.revoked", lang).format(name=name)
    return message, None, _bump(version)
