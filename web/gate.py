"""The gate every request passes: who is asking, and may they open what they ask for.

Every page and every ``/api``, ``/ogc``, ``/tiles`` and export route needs a session (the cookie
:data:`SESSION_COOKIE` set by the sign-in, :mod:`api.auth`) or ``Authorization: Bearer <API
token>``; the device intake (``X-Gateway-Key``) and Open311 (its own keys) are exempt, as are
static assets, the sign-in page and the probes ``/healthz`` and ``/readyz``. Unsigned page
visits are sent to the sign-in page; everything else gets 401. A state-changing request on a
session needs its CSRF token. Pages limited to some roles answer 403 to the others: which ones
is the pages' rule, handed to :func:`install` by ``app.py``. The viewer found is kept in ``g``
(:func:`web.context.viewer`).
"""

from __future__ import annotations

import hmac
import html
import urllib.parse
from collections.abc import Callable

from flask import Flask, Response, current_app, g, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from geodata.accounts import access, session_identity, token_hash, token_identity
from geodata.accounts.viewer import Viewer
from geodata.engine import read_connection
from web import context, i18n, pwa, token_use
from web.card_page import card_page, language
from web.identity_cache import cache_for
from web.responses import json_response

SESSION_COOKIE = "onemap_session"
CSRF_COOKIE = "_csrf_token"
"""The cookie name the Dash renderer reads to send ``X-CSRFToken`` with every callback."""
CSRF_HEADER = "X-CSRFToken"
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/", "/open311/")
OPEN_PATHS = frozenset(
    {"/login", "/api/readings", "/healthz", "/readyz", "/_favicon.ico", "/favicon.ico"}
    | pwa.OPEN_PATHS  # no data in either
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DATA_PREFIXES = ("/api/", "/ogc", "/_dash-", "/vendor/", "/tiles/")

MayOpen = Callable[[str, str], bool]
"""``may_open(role, path)``: True when the role may open the page at ``path``."""
HomePage = Callable[[str], str]
"""``home_page(role)``: the page the role lands on."""
HOME_PAGE_KEY = "ONEMAP_HOME_PAGE"
"""Config key of the pages' ``home_page`` rule (sign-in redirects and refused pages use it)."""


# --- who is asking ---------------------------------------------------------------------------


def _lookup(kind: str, secret: str) -> tuple[Viewer, str | None] | None:
    """The viewer (and CSRF token, for sessions) of a session cookie or bearer token: what
    this process remembers (:mod:`web.identity_cache`: forgotten as soon as the store says an
    account, scope, session or token changed), else the store's answer."""
    url = context.store_url()
    return cache_for(url).lookup(_cache_key(kind, secret), lambda: _load(url, kind, secret))


def _cache_key(kind: str, secret: str) -> str:
    return f"{kind}:{token_hash(secret)}"


def _load(url: str, kind: str, secret: str):
    """``((viewer, CSRF token), expires_at)`` of a session or token from the store, or None."""
    with read_connection(url) as conn:
        found = (session_identity if kind == "session" else token_identity)(conn, secret)
    return ((access.viewer_of(found.identity), found.csrf), found.expires_at) if found else None


def forget_session(token: str) -> None:
    """Forget what this process remembers of the session ``token`` (it was closed)."""
    cache_for(context.store_url()).forget(_cache_key("session", token))


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _identify() -> tuple[Viewer, str | None, str] | None:
    """``(viewer, CSRF token, how)`` of the request, or None when it carries no valid identity."""
    bearer = _bearer()
    if bearer:
        found = _lookup("token", bearer)
        if found is None:
            return None
        token_use.note(context.store_url(), bearer)
        return found[0], None, "token"
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = _lookup("session", cookie)
        return (found[0], found[1], "session") if found else None
    return None


def current_viewer() -> Viewer | None:
    """The viewer the gate identified for this request (None outside the gate)."""
    return g.get("viewer")


# --- the gate --------------------------------------------------------------------------------


def _is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _wants_page(path: str) -> bool:
    """A person's browser opening a page (not a script, not a data or form request)."""
    return (
        request.method in ("GET", "HEAD")
        and not path.startswith(DATA_PREFIXES)
        and "text/html" in request.headers.get("Accept", "")
    )


def _refused(message: str, status: int) -> Response:
    """A refusal as JSON ``{"error": …}`` (401s say how to authenticate)."""
    response = json_response({"error": message}, status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="OneMap"'
    return response


def _csrf_ok(expected: str | None) -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
    return bool(expected) and hmac.compare_digest(sent, expected or "")


def _forbidden_page(viewer: Viewer, home_page: HomePage) -> Response:
    lang = language()
    body = (
        f'<p class="login-error">{html.escape(i18n.text("login.forbidden", lang))}</p>'
        f'<p><a href="{home_page(viewer.role)}">{html.escape(i18n.text("login.home", lang))}'
        "</a></p>"
    )
    return card_page(lang, body, 403)


def home_page(role: str) -> str:
    """Where ``role`` lands (the pages' rule handed to :func:`install`)."""
    rule: HomePage = current_app.config[HOME_PAGE_KEY]
    return rule(role)


def _gate(may_open: MayOpen, home_page: HomePage) -> BaseResponse | None:
    """Before every request: identify it, or refuse it."""
    path = request.path
    if _is_open(path):
        return None
    who = _identify()
    if who is None:
        if _wants_page(path):
            target = request.full_path.rstrip("?")
            return redirect("/login?" + urllib.parse.urlencode({"next": target}))
        return _refused("sign in required (session or Authorization: Bearer token)", 401)
    viewer, csrf, how = who
    if request.method not in SAFE_METHODS and how == "session" and not _csrf_ok(csrf):
        return _refused("CSRF token missing or wrong", 403)
    if not may_open(viewer.role, path):
        if _wants_page(path):
            return _forbidden_page(viewer, home_page)
        return _refused("forbidden", 403)
    g.viewer = viewer
    return None


def install(server: Flask, *, may_open: MayOpen, home_page: HomePage) -> None:
    """Put the gate in front of every route of ``server``, with the pages' rules: which role
    may open which page (``may_open``) and where a refused role is sent (``home_page``)."""
    server.config[HOME_PAGE_KEY] = home_page

    def gate() -> BaseResponse | None:
        return _gate(may_open, home_page)

    server.before_request(gate)
