"""Sign-in, sign-out and the gate every request passes.

- ``GET/POST /login``: a plain HTML form (works without JavaScript); on success a session
  cookie (HttpOnly, SameSite=Lax, Secure over HTTPS or when ``cookie_secure``) and a CSRF cookie
  the Dash renderer echoes as ``X-CSRFToken`` on its callbacks.
- ``POST /logout``: ends the session (CSRF-checked like every state-changing request).
- The gate (:func:`install`): every page and every ``/api``, ``/ogc`` and export route needs a
  session or ``Authorization: Bearer <API token>``; the device intake (``X-Gateway-Key``) and
  Open311 (its own keys) are exempt, as are static assets. Unsigned page visits are sent to the
  login page; everything else gets 401. Pages limited to some roles answer 403 to the others.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import urllib.parse
from datetime import timedelta

from flask import Blueprint, Flask, Response, g, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from api import context
from api.identity_cache import cache_for
from geodata import access
from geodata.accounts import (
    LoginRefused,
    close_session,
    open_session,
    session_identity,
    sign_in,
    token_hash,
    token_identity,
)
from geodata.engine import get_engine
from geodata.viewer import Viewer
from pages import i18n

blueprint = Blueprint("auth", __name__)

SESSION_COOKIE = "onemap_session"
CSRF_COOKIE = "_csrf_token"
"""The cookie name the Dash renderer reads to send ``X-CSRFToken`` with every callback."""
CSRF_HEADER = "X-CSRFToken"
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/", "/open311/")
OPEN_PATHS = frozenset({"/login", "/api/readings", "/_favicon.ico", "/favicon.ico"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DATA_PREFIXES = ("/api/", "/ogc", "/_dash-", "/vendor/")


# --- who is asking ---------------------------------------------------------------------------


def _lookup(kind: str, secret: str) -> tuple[Viewer, str | None] | None:
    """The viewer (and CSRF token, for sessions) of a session cookie or bearer token: what
    this process remembers (:mod:`api.identity_cache`: forgotten as soon as the store says an
    account, scope, session or token changed), else the store's answer."""
    url = context.store_url()
    return cache_for(url).lookup(_cache_key(kind, secret), lambda: _load(url, kind, secret))


def _cache_key(kind: str, secret: str) -> str:
    return f"{kind}:{token_hash(secret)}"


def _load(url: str, kind: str, secret: str):
    """``((viewer, CSRF token), expires_at)`` of a session or token from the store, or None."""
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        found = (session_identity if kind == "session" else token_identity)(conn, secret)
    return ((access.viewer_of(found.identity), found.csrf), found.expires_at) if found else None


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _identify() -> tuple[Viewer, str | None, str] | None:
    """``(viewer, CSRF token, how)`` of the request, or None when it carries no valid identity."""
    bearer = _bearer()
    if bearer:
        found = _lookup("token", bearer)
        return (found[0], None, "token") if found else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = _lookup("session", cookie)
        return (found[0], found[1], "session") if found else None
    return None


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


def _json_error(message: str, status: int) -> Response:
    response = Response(json.dumps({"error": message}), status, mimetype="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="OneMap"'
    return response


def _csrf_ok(expected: str | None) -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token") or ""
    return bool(expected) and hmac.compare_digest(sent, expected or "")


def _gate() -> BaseResponse | None:
    """Before every request: identify it, or refuse it."""
    path = request.path
    if _is_open(path):
        return None
    who = _identify()
    if who is None:
        if _wants_page(path):
            target = request.full_path.rstrip("?")
            return redirect("/login?" + urllib.parse.urlencode({"next": target}))
        return _json_error("sign in required (session or Authorization: Bearer token)", 401)
    viewer, csrf, how = who
    if request.method not in SAFE_METHODS and how == "session" and not _csrf_ok(csrf):
        return _json_error("CSRF token missing or wrong", 403)
    if not access.may_open(viewer.role, path):
        return _forbidden_page(viewer) if _wants_page(path) else _json_error("forbidden", 403)
    g.viewer = viewer
    return None


def install(server: Flask) -> None:
    """Put the gate in front of every route of ``server`` and add the login routes."""
    server.register_blueprint(blueprint)
    server.before_request(_gate)


def current_viewer() -> Viewer | None:
    """The viewer the gate identified for this request (None outside the gate)."""
    return g.get("viewer")


# --- pages -----------------------------------------------------------------------------------

_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/assets/onemap.css"></head>
<body class="login-body"><main class="login-card">
<h1 class="login-title">◈ {app}</h1><p class="login-sub">{subtitle}</p>{body}
<p class="login-lang"><a href="{other_href}">{other_label}</a></p></main></body></html>"""


def _lang() -> str:
    asked = request.values.get("lang")
    return i18n.language(asked or context.settings().web.language)


def _page(lang: str, body: str, status: int = 200) -> Response:
    other = "en" if lang == "zh" else "zh"
    args = {k: v for k, v in request.args.items() if k != "lang"} | {"lang": other}
    page = _PAGE.format(
        lang="zh-CN" if lang == "zh" else "en",
        title=html.escape(i18n.text("login.title", lang)),
        app=html.escape(i18n.text("app.title", lang)),
        subtitle=html.escape(i18n.text("app.subtitle", lang)),
        body=body,
        other_href=html.escape(request.path + "?" + urllib.parse.urlencode(args)),
        other_label=i18n.LANGUAGES[other],
    )
    response = Response(page, status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _forbidden_page(viewer: Viewer) -> Response:
    lang = _lang()
    body = (
        f'<p class="login-error">{html.escape(i18n.text("login.forbidden", lang))}</p>'
        f'<p><a href="{access.home_page(viewer.role)}">{html.escape(i18n.text("login.home", lang))}'
        "</a></p>"
    )
    return _page(lang, body, 403)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, no ``//``) is followed after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _login_form(lang: str, csrf: str, error: str | None = None, username: str = "") -> str:
    field = '<label>{label}<input name="{name}" type="{type}" value="{value}" {extra}></label>'
    error_html = f'<p class="login-error" role="alert">{html.escape(error)}</p>' if error else ""
    return (
        f'{error_html}<form method="post" class="login-form">'
        f'<input type="hidden" name="csrf_token" value="{html.escape(csrf)}">'
        f'<input type="hidden" name="next" value="{html.escape(request.values.get("next", ""))}">'
        f'<input type="hidden" name="lang" value="{lang}">'
        + field.format(
            label=html.escape(i18n.text("login.username", lang)),
            name="username",
            type="text",
            value=html.escape(username),
            extra='autocomplete="username" required autofocus',
        )
        + field.format(
            label=html.escape(i18n.text("login.password", lang)),
            name="password",
            type="password",
            value="",
            extra='autocomplete="current-password" required',
        )
        + f'<button type="submit">{html.escape(i18n.text("login.submit", lang))}</button></form>'
    )


def _secure() -> bool:
    return request.is_secure or context.settings().login.cookie_secure


def _with_login_csrf(response: Response, csrf: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE, csrf, httponly=False, samesite="Strict", secure=_secure(), path="/"
    )
    return response


@blueprint.get("/login")
def login_page() -> Response:
    """The sign-in form (with a fresh pre-session CSRF token)."""
    lang = _lang()
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    return _with_login_csrf(_page(lang, _login_form(lang, csrf)), csrf)


def _refusal_text(refused: LoginRefused, lang: str) -> str:
    if refused.reason == "locked":
        minutes = context.settings().login.lockout_minutes
        return i18n.text("login.locked", lang).format(minutes=f"{minutes:g}")
    return i18n.text("login.bad_credentials", lang)


@blueprint.post("/login")
def login() -> Response:
    """Check the credentials; on success start a session and go to the role's page."""
    lang = _lang()
    cookie_csrf = request.cookies.get(CSRF_COOKIE, "")
    form_csrf = request.form.get("csrf_token", "")
    if not cookie_csrf or not hmac.compare_digest(cookie_csrf, form_csrf):
        fresh = secrets.token_urlsafe(32)
        body = _login_form(lang, fresh, i18n.text("login.expired", lang))
        return _with_login_csrf(_page(lang, body, 400), fresh)
    settings = context.settings()
    username = request.form.get("username", "").strip()[:64]
    engine = get_engine(context.store_url())
    try:
        identity = sign_in(
            engine,
            username,
            request.form.get("password", "")[:1024],
            max_failures=settings.login.max_failures,
            lockout=timedelta(minutes=settings.login.lockout_minutes),
        )
    except LoginRefused as refused:
        body = _login_form(lang, cookie_csrf, _refusal_text(refused, lang), username)
        return _page(lang, body, 401)
    with engine.begin() as conn:
        token, csrf = open_session(
            conn,
            identity.account_id,
            timedelta(hours=settings.login.session_hours),
            request.remote_addr,
        )
    target = _safe_next(request.form.get("next")) or access.home_page(identity.role)
    response = redirect(target, 303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.login.session_hours * 3600),
        httponly=True,
        samesite="Lax",
        secure=_secure(),
        path="/",
    )
    return _with_login_csrf(response, csrf)


@blueprint.post("/logout")
def logout() -> Response:
    """End the session and clear its cookies (CSRF-checked by the gate)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with get_engine(context.store_url()).begin() as conn:
            close_session(conn, token)
        cache_for(context.store_url()).forget(_cache_key("session", token))
    response = redirect("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
