"""Throttles (Flask-Limiter), registered once by ``app.py`` with :func:`install`.

- **Sign-in** (``POST /login``): only failed attempts (401) count, in a moving window, by
  three keys — the account *and* the client address (``login_limit_account_address``, 10 per
  15 minutes: one guesser gets few tries at one account), the client address alone
  (``login_limit_address``: spraying many accounts), and the account alone
  (``login_limit_account``, 30 per minute: many addresses guessing one account). Why this shape:
  a stranger who types someone's name wrongly from one address reaches the first limit and is
  stopped without touching the owner, who signs in from another address as usual; only a
  stranger failing from many addresses at once reaches the per-account limit, and its short
  window lets the owner in again a minute after the attack stops. The store's own lock-out
  (``login_max_failures`` in a row, ``login_lockout_minutes``) stays a short backstop shared by
  all processes.
- **Open311**: ``POST`` requests by API key (``open311_limit_key``: a client's server posts
  for all its residents from one address, so valid keys are counted per key) and refused keys
  (403) by client address (``open311_limit_address``: guessing keys); reads by address.
- **Heavy work**: analyst questions (``/api/analyze``, ``.csv``) and exports per account, on
  top of the concurrency limit of :mod:`web.heavy`.

A refused request answers 429 with ``Retry-After`` in its blueprint's error shape
(:mod:`web.errors`: OneMap JSON, OGC, Open311), or a card page for the sign-in form. Counters
live in this process's memory: right for one process (the app runs one waitress process with
threads); several processes would each count on their own, so give Flask-Limiter a shared
storage (Redis, ``storage_uri``) before running more. Client addresses are
``request.remote_addr``: behind a reverse proxy that is the proxy's, so configure the proxy to
throttle too (or add ProxyFix with the proxy's address) before relying on per-address limits.

The Open311, analyze and export views are not edited: their registered view functions are
wrapped here, by endpoint name.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from geodata.errors import OneMapError
from geodata.settings import Settings
from twin.open311 import Open311Error
from web import i18n
from web.card_page import card_page, language
from web.responses import json_response

LIMITER_KEY = "ONEMAP_LIMITER"
LOGIN_ENDPOINT = "auth.login"
OPEN311_POST = "open311.create_request"
OPEN311_BLUEPRINT = "open311"
OPEN311_PREFIX = OPEN311_BLUEPRINT + "."
ANALYZE_ENDPOINTS = ("analyze_api.analyze", "analyze_api.analyze_csv")
EXPORT_ENDPOINTS = ("export_api.export",)


class Throttled(OneMapError):
    """Too many requests of one kind from one caller: try again after ``retry_after`` s."""

    status = 429
    code = "TooManyRequests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def details(self) -> dict[str, object]:
        """The code and when to try again."""
        return {"code": self.code, "retry_after": self.retry_after}


# --- keys ------------------------------------------------------------------------------------


def address() -> str:
    """The client's address (see the module's note on proxies)."""
    return request.remote_addr or "-"


def _account() -> str:
    """The account a sign-in names (case-folded, so case variants share a counter)."""
    return request.form.get("username", "").strip()[:64].casefold()


def _login_pair() -> str:
    return f"{_account()}|{address()}"


def _open311_key() -> str:
    return "key:" + request.values.get("api_key", "")[:128]


def _user() -> str:
    """The signed-in account (the gate identified it before the view); else the address."""
    viewer = g.get("viewer")
    name = getattr(viewer, "username", None)
    return f"user:{name}" if name else f"addr:{address()}"


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _key_refused(response: Response) -> bool:
    return response.status_code == 403


# --- answers ---------------------------------------------------------------------------------


def _retry_after(limiter: Limiter) -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _login_refused(retry_after: int) -> Response:
    lang = language()
    minutes = max(1, math.ceil(retry_after / 60))
    message = i18n.text("login.throttled", lang).format(minutes=minutes)
    return card_page(lang, f'<p class="login-error" role="alert">{html.escape(message)}</p>', 429)


def _answer(limiter: Limiter, exc: RateLimitExceeded) -> ResponseReturnValue:
    """429 in the blueprint's shape (through :mod:`web.errors`), with ``Retry-After``."""
    retry_after = _retry_after(limiter)
    if request.endpoint == LOGIN_ENDPOINT:
        response = _login_refused(retry_after)
    else:
        message = f"too many requests ({exc.description}): retry after {retry_after} s"
        throttled: OneMapError = Throttled(message, retry_after)
        if request.blueprint == OPEN311_BLUEPRINT:  # Open311 answers its own error list
            throttled = Open311Error(429, message)
        try:
            response = current_app.make_response(current_app.handle_user_exception(throttled))
        except OneMapError:  # no shape for this blueprint: the OneMap API's JSON
            body = {"error": message, "status": 429, "code": "TooManyRequests"}
            response = json_response(body, 429)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


# --- registration ----------------------------------------------------------------------------

View = Callable[..., Any]
Wrap = Callable[[View], View]


def _wrap(server: Flask, endpoint: str, *decorators: Wrap) -> None:
    view: View = server.view_functions[endpoint]
    for decorate in decorators:
        view = decorate(view)
    server.view_functions[endpoint] = view


def _login(limiter: Limiter, settings: Settings) -> tuple[Wrap, ...]:
    login = settings.login

    def failed(limit: str, key: Callable[[], str]) -> Wrap:
        return limiter.limit(limit, key_func=key, methods=["POST"], deduct_when=_failed)

    return (
        failed(login.limit_account_address, _login_pair),
        failed(login.limit_address, address),
        failed(login.limit_account, _account),
    )


def _open311_reads(server: Flask) -> list[str]:
    return [e for e in server.view_functions if e.startswith(OPEN311_PREFIX) and e != OPEN311_POST]


def install(server: Flask, settings: Settings) -> Limiter:
    """Throttle the sign-in, Open311, analyst questions and exports of ``server`` (their
    blueprints registered already); 429 answers in each blueprint's shape."""
    limiter = Limiter(
        key_func=address, app=server, storage_uri="memory://", strategy="moving-window"
    )
    server.config[LIMITER_KEY] = limiter
    _wrap(server, LOGIN_ENDPOINT, *_login(limiter, settings))
    o311 = settings.open311
    _wrap(
        server,
        OPEN311_POST,
        limiter.limit(o311.limit_key, key_func=_open311_key),
        limiter.limit(o311.limit_address, key_func=address, deduct_when=_key_refused),
    )
    reads = limiter.shared_limit(o311.limit_read_address, scope="open311-read", key_func=address)
    for endpoint in _open311_reads(server):
        _wrap(server, endpoint, reads)
    heavy = settings.analytics
    analyze = limiter.shared_limit(heavy.analyze_rate_per_user, scope="analyze", key_func=_user)
    for endpoint in ANALYZE_ENDPOINTS:
        _wrap(server, endpoint, analyze)
    export = limiter.shared_limit(heavy.export_rate_per_user, scope="export", key_func=_user)
    for endpoint in EXPORT_ENDPOINTS:
        _wrap(server, endpoint, export)
    server.register_error_handler(RateLimitExceeded, lambda exc: _answer(limiter, exc))
    return limiter
