"""The frame around every page: header with the product name and the language switch.

Text that changes with the language is a :func:`t` element; one clientside callback swaps them
all when the switch changes, so pages only add ``t("key")`` and never a callback of their own.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html

from geodata.accounts.viewer import Viewer
from pages import ids, routes
from web import i18n

NAV: tuple[tuple[str, str], ...] = (
    ("/", "nav.map"),
    ("/twin", "nav.twin"),
    ("/wall", "nav.wall"),
    ("/grid", "nav.grid"),
    ("/export", "nav.export"),
    ("/analyze", "nav.analyze"),
    ("/assessment", "nav.assessment"),
    ("/audit", "nav.audit"),
    ("/sources", "nav.sources"),
    ("/account", "nav.account"),
)
"""Header links ``(path, i18n key)``. A new page adds one entry here and its key to
:data:`web.i18n.STRINGS` (e.g. ``("/twin", "nav.twin")``)."""


def t(key: str, lang: str = i18n.DEFAULT_LANGUAGE, **props: Any) -> html.Span:
    """A text element showing string ``key``, translated when the language changes."""
    return html.Span(i18n.text(key, lang), id=ids.i18n(key), **props)


def data(name: str, value: object) -> dict[str, Any]:
    """A ``data-<name>`` attribute of a component: ``html.Li(..., **data("id", 7))``."""
    return {f"data-{name}": str(value)}


def language_switch(lang: str) -> dcc.RadioItems:
    """The zh/en switch (remembered by the browser)."""
    return dcc.RadioItems(
        id=ids.LANG_SWITCH,
        options=[{"label": label, "value": code} for code, label in i18n.LANGUAGES.items()],
        value=lang,
        inline=True,
        persistence=True,
        persistence_type="local",
        className="lang-switch",
        inputClassName="lang-switch-input",
        labelClassName="lang-switch-label",
    )


def nav(lang: str, role: str | None = None) -> html.Nav:
    """Links to the app's pages (those the role may open)."""
    return html.Nav(
        id=ids.NAV,
        className="app-nav",
        children=[
            dcc.Link(t(key, lang), href=dash.get_relative_path(path), className="app-nav-link")
            for path, key in NAV
            if role is None or routes.may_open(role, path)
        ],
    )


def account_box(lang: str, viewer: Viewer | None) -> html.Div | None:
    """Who is signed in (name and role) and the sign-out button (assets/onemap_auth.js)."""
    if viewer is None or viewer.username is None:
        return None
    return html.Div(
        className="account-box",
        children=[
            html.Span(viewer.username, id=ids.ACCOUNT_NAME, className="account-name"),
            t(f"role.{viewer.role}", lang, className="account-role"),
            html.Button(t("shell.logout", lang), id=ids.LOGOUT, className="logout-button"),
        ],
    )


def live_indicator(lang: str) -> html.Div:
    """A dot and "live": green while changes stream in (state set by assets/onemap_live.js)."""
    dot = {"display": "inline-block", "width": "8px", "height": "8px", "borderRadius": "50%",
           "background": "#64748b", "marginRight": "6px"}  # fmt: skip
    return html.Div(
        id=ids.LIVE_INDICATOR,
        className="live-indicator live-off",
        style={"display": "flex", "alignItems": "center", "marginRight": "16px"},
        children=[html.Span(className="live-dot", style=dot), t("live.label", lang)],
    )


def header(lang: str, viewer: Viewer | None = None) -> html.Header:
    """The top bar: mark, product name, subtitle, page links, account, language switch."""
    return html.Header(
        className="app-header",
        children=[
            html.Div(className="app-mark", children="◈"),
            html.H1(t("app.title", lang), className="app-title"),
            html.Div(t("app.subtitle", lang), className="app-subtitle"),
            nav(lang, viewer.role if viewer else None),
            html.Div(className="app-header-spacer"),
            live_indicator(lang),
            account_box(lang, viewer),
            html.Div(
                className="lang-box",
                children=[
                    t("shell.language", lang, className="lang-caption"),
                    language_switch(lang),
                ],
            ),
        ],
    )


def store_banner(lang: str, down: bool) -> html.Div:
    """The banner saying the store is down: shown when ``down`` at layout time, and shown or
    hidden later by assets/onemap_store.js as callbacks answer 503 or succeed."""
    return html.Div(
        t("store.banner", lang),
        id=ids.STORE_BANNER,
        className="store-banner",
        role="alert",
        hidden=not down,
    )


def layout(lang: str, viewer: Viewer | None = None, store_down: bool = False) -> html.Div:
    """The app layout: the store's banner (while it is down), header, the current page below
    it, and the strings for the switch."""
    lang = i18n.language(lang)
    return html.Div(
        className="app-root",
        children=[
            dcc.Store(id=ids.STRINGS, data=i18n.STRINGS),
            store_banner(lang, store_down),
            header(lang, viewer),
            html.Main(dash.page_container, className="app-main"),
        ],
    )


dash.clientside_callback(
    ClientsideFunction(namespace="onemap", function_name="translate"),
    Output({"type": ids.I18N, "key": ALL}, "children"),
    Input(ids.LANG_SWITCH, "value"),
    State({"type": ids.I18N, "key": ALL}, "id"),
    State(ids.STRINGS, "data"),
)
