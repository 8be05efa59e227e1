"""Sign-in and sign-out (the gate every request passes is :mod:`web.gate`).

- ``GET/POST /login``: a plain HTML form (works without JavaScript) whose CSRF token is
  signed with the session key (:mod:`web.login_csrf`: a planted cookie is useless); on success
  a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS or when ``cookie_secure``) and
  the session's CSRF cookie the Dash renderer echoes as ``X-CSRFToken`` on its callbacks; then
  the page asked for (``next``, a path on this site only: :mod:`web.next_page`), else the
  role's home page (the pages' rule, handed to :func:`web.gate.install` by ``app.py``).
  Failed sign-ins are throttled by :mod:`web.throttles`.
- ``POST /logout``: ends the session (CSRF-checked by the gate like every state-changing
  request).
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import TypeVar

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from geodata.accounts import LoginRefused, close_session, open_session, sign_in
from geodata.engine import get_engine
from web import context, gate, i18n, login_csrf
from web.card_page import card_page, language
from web.gate import CSRF_COOKIE, SESSION_COOKIE
from web.next_page import safe_next

blueprint = Blueprint("auth", __name__)

R = TypeVar("R", bound=BaseResponse)


def _login_form(lang: str, nonce: str, error: str | None = None, username: str = "") -> str:
    field = '<label>{label}<input name="{name}" type="{type}" value="{value}" {extra}></label>'
    error_html = f'<p class="login-error" role="alert">{html.escape(error)}</p>' if error else ""
    return (
        f'{error_html}<form method="post" class="login-form">'
        f'<input type="hidden" name="csrf_token" value="{login_csrf.form_token(nonce)}">'
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


def _with_login_csrf(response: R, csrf: str) -> R:
    response.set_cookie(
        CSRF_COOKIE, csrf, httponly=False, samesite="Strict", secure=_secure(), path="/"
    )
    return response


def _nonce() -> str:
    """The browser's pre-session nonce (kept while usable, so open tabs stay valid)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return cookie if cookie and login_csrf.usable_nonce(cookie) else login_csrf.new_nonce()


@blueprint.get("/login")
def login_page() -> Response:
    """The sign-in form (with a pre-session CSRF token signed with the session key)."""
    lang = language()
    nonce = _nonce()
    return _with_login_csrf(card_page(lang, _login_form(lang, nonce)), nonce)


def _refusal_text(refused: LoginRefused, lang: str) -> str:
    if refused.reason == "locked":
        minutes = context.settings().login.lockout_minutes
        return i18n.text("login.locked", lang).format(minutes=f"{minutes:g}")
    return i18n.text("login.bad_credentials", lang)


@blueprint.post("/login")
def login() -> BaseResponse:
    """Check the credentials; on success start a session and go to the role's page."""
    lang = language()
    nonce = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    if not login_csrf.same_origin() or not login_csrf.token_ok(nonce, sent):
        fresh = login_csrf.new_nonce()
        body = _login_form(lang, fresh, i18n.text("login.expired", lang))
        return _with_login_csrf(card_page(lang, body, 400), fresh)
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
        body = _login_form(lang, nonce, _refusal_text(refused, lang), username)
        return card_page(lang, body, 401)
    with engine.begin() as conn:
        token, csrf = open_session(
            conn,
            identity.account_id,
            timedelta(hours=settings.login.session_hours),
            request.remote_addr,
        )
    target = safe_next(request.form.get("next")) or gate.home_page(identity.role)
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
def logout() -> BaseResponse:
    """End the session and clear its cookies (CSRF-checked by the gate)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with get_engine(context.store_url()).begin() as conn:
            close_session(conn, token)
        gate.forget_session(token)
    response = redirect("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    # The offline page's caches and queue belong to this account: none survive a sign-out.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response
