"""The QGIS part of the export page (``/export``): the OGC API address, a QGIS project file
(``.qgs``, :mod:`layers.qgis_project`) with every collection the planner may read, how to add
the token in QGIS, and the GDAL command. The project never holds a token."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from flask import request

from geodata.exports.provider import TableProvider
from layers.qgis_project import AUTHCFG, project, readable
from pages import guard
from pages import ids as shell_ids
from pages.shell import t
from web import context, i18n

PATH = "/export"
BUTTON = "export-qgis-button"
DOWNLOAD = "export-qgis-download"
STATUS = "export-qgis-status"
FILE_NAME = "onemap.qgs"

STRINGS: dict[str, dict[str, str]] = {
    "export.qgis": {"zh": "下载 QGIS 工程文件（.qgs）", "en": "Download a QGIS project (.qgs)"},
    "export.qgis_button": {"zh": "下载 .qgs", "en": "Download .qgs"},
    "export.qgis_hint": {
        "zh": "工程包含您可读取的全部图层，颜色和标注与地图一致；文件中不含令牌。"
        "先在“我的账户”页生成令牌，再在 QGIS（3.24 及以上）中依次打开 设置 → 选项 → 认证，"
        "新建认证配置：类型",
        "en": "The project holds every layer you may read, with the map's colours and labels; "
        "it holds no token. Create a token on the My account page, then in QGIS (3.24 or "
        "later) open Settings → Options → Authentication and add a configuration of type",
    },
    "export.qgis_id": {"zh": "，编号改为", "en": "with the id"},
    "export.qgis_header": {
        "zh": "，添加请求头",
        "en": "and the header",
    },
    "export.qgis_done": {
        "zh": "工程文件已生成：{n} 个图层。",
        "en": "Project written: {n} layers.",
    },
    "export.token_link": {"zh": "在“我的账户”页生成令牌", "en": "Create a token on My account"},
    "qgis.title": {"zh": "社区一张图", "en": "OneMap"},
}
i18n.STRINGS.update(STRINGS)


def section() -> html.Section:
    """The QGIS project download and how to add the token in QGIS."""
    return html.Section(
        className="export-section",
        children=[
            html.H3(t("export.qgis"), className="export-h"),
            html.P(
                [
                    t("export.qgis_hint"),
                    " ",
                    html.Code("API Header"),
                    " ",
                    t("export.qgis_id"),
                    " ",
                    html.Code(AUTHCFG),
                    " ",
                    t("export.qgis_header"),
                    " ",
                    html.Code("Authorization: Bearer <token>"),
                ],
                className="export-hint",
            ),
            dcc.Link(
                t("export.token_link"),
                href=dash.get_relative_path("/account"),
                className="export-token-link",
            ),
            html.Button(
                t("export.qgis_button"), id=BUTTON, className="export-btn export-qgis-button"
            ),
            html.Div(id=STATUS, className="export-status", role="status"),
            dcc.Download(id=DOWNLOAD),
        ],
    )


def ogc_url() -> str:
    """The OGC API address of this app as the browser reaches it."""
    return request.host_url.rstrip("/") + dash.get_relative_path("/ogc")


def register() -> None:
    """The download's callback, registered by the export page's module (Dash runs page modules
    again for every app it creates; a helper module's own decorators would run once, for the
    first app only)."""
    callback(
        Output(DOWNLOAD, "data"),
        Output(STATUS, "children"),
        Input(BUTTON, "n_clicks"),
        State(shell_ids.LANG_SWITCH, "value"),
        prevent_initial_call=True,
    )(download)


def download(_clicks: object, lang: str | None):
    """The project of the caller's collections, its names in the page's language."""
    guard.require(PATH)
    lang = i18n.language(lang)
    items = readable(TableProvider(context.store_url()), context.viewer())
    body = project(items, ogc_url(), lang, i18n.text("qgis.title", lang))
    done = i18n.text("export.qgis_done", lang).format(n=len(items))
    return dcc.send_bytes(body, FILE_NAME, type="application/x-qgis-project"), done
