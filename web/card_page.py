"""The small HTML pages served outside Dash: a card with the product name, a body and a link
to the other language (the sign-in form of :mod:`api.auth`, the gate's "forbidden" page).
While the store is down (:mod:`web.store_status`) a banner above the card says so."""

from __future__ import annotations

import html
import urllib.parse

from flask import Response, request

from web import context, i18n
from web.store_status import store_down

_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="/assets/favicon.ico">
<link rel="stylesheet" href="/assets/onemap.css"></head>
<body class="login-body">{banner}<main class="login-card">
<h1 class="login-title">◈ {app}</h1><p class="login-sub">{subtitle}</p>{body}
<p class="login-lang"><a href="{other_href}">{other_label}</a></p></main></body></html>"""


def language() -> str:
    """The language asked for (``lang``), else the app's."""
    asked = request.values.get("lang")
    return i18n.language(asked or context.settings().web.language)


def store_banner(lang: str) -> str:
    """The banner saying the store is down (HTML)."""
    message = html.escape(i18n.text("store.banner", lang))
    return f'<div class="store-banner" role="alert">{message}</div>'


def card_page(lang: str, body: str, status: int = 200) -> Response:
    """The card page holding ``body`` (HTML) in ``lang``, never cached nor framed; with the
    store's banner while it is down (not on a 503 page, which says so itself)."""
    other = "en" if lang == "zh" else "zh"
    banner = store_banner(lang) if status != 503 and store_down() else ""
    args = {k: v for k, v in request.args.items() if k != "lang"} | {"lang": other}
    page = _PAGE.format(
        lang="zh-CN" if lang == "zh" else "en",
        title=html.escape(i18n.text("login.title", lang)),
        app=html.escape(i18n.text("app.title", lang)),
        subtitle=html.escape(i18n.text("app.subtitle", lang)),
        body=body,
        banner=banner,
        other_href=html.escape(request.path + "?" + urllib.parse.urlencode(args)),
        other_label=i18n.LANGUAGES[other],
    )
    response = Response(page, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response
