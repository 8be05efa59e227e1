"""Role checks for pages and their callbacks (the rules live in :mod:`pages.routes`).

The gate (:mod:`web.gate`) refuses a direct visit to a page the role may not open, but Dash
also switches pages in the browser and any signed-in client can call any callback: so a page's
layout starts with :func:`allowed` and each of its data callbacks with :func:`require`.
"""

from __future__ import annotations

from dash import html
from dash.exceptions import PreventUpdate

from pages import routes
from web import context, i18n


def allowed(path: str) -> bool:
    """True when the viewer building this page's layout may open ``path``."""
    return routes.may_open(context.page_viewer().role, path)


def require(path: str) -> None:
    """In a callback of the page at ``path``: stop (no update) unless the caller may open it."""
    if not routes.may_open(context.viewer().role, path):
        raise PreventUpdate


def forbidden(lang: str) -> html.Div:
    """What a page shows to a role that may not open it."""
    return html.Div(
        className="page-forbidden",
        role="alert",
        children=i18n.text("login.forbidden", lang),
    )
