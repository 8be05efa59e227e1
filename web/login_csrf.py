"""The sign-in form's CSRF protection, before any session exists.

The browser holds a random nonce in the cookie :data:`web.gate.CSRF_COOKIE`; the form carries
``HMAC-SHA256(session_key, nonce)``. A cookie someone planted (from a sibling subdomain, or a
man in the middle on plain HTTP) is useless on its own: without the server's ``session_key``
nobody can make the form token that goes with it. A pair fetched by an attacker from our own
sign-in page and planted whole is stopped by the origin check: a browser posting a form from
another site says so (``Sec-Fetch-Site``, ``Origin``), and such a sign-in is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import urllib.parse

from flask import request

from web import context
from web.hosts import SENT_HOST

NONCE_BYTES = 32
_PURPOSE = b"onemap-login-csrf\x00"


def _key() -> bytes:
    return context.settings().login.session_key.encode()


def new_nonce() -> str:
    """A fresh random nonce for the cookie."""
    return secrets.token_urlsafe(NONCE_BYTES)


def usable_nonce(value: str | None) -> bool:
    """Whether a cookie holds something shaped like our nonce (else a fresh one is made)."""
    return bool(value) and 32 <= len(value or "") <= 128 and (value or "").isascii()


def form_token(nonce: str) -> str:
    """The form token that goes with ``nonce``."""
    return hmac.new(_key(), _PURPOSE + nonce.encode(), hashlib.sha256).hexdigest()


def token_ok(nonce: str, sent: str) -> bool:
    """Whether ``sent`` is the form token of ``nonce`` (constant time)."""
    expected = form_token(nonce).encode()
    return usable_nonce(nonce) and hmac.compare_digest(expected, sent.encode("utf-8", "replace"))


def same_origin() -> bool:
    """False when the browser says the form was posted from another site or origin; requests
    that say nothing (scripts, old browsers) are left to the token check."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    # Host and port only: behind a TLS proxy the app sees http while the browser says https.
    # The host the browser addressed, or the public URL's (a proxy may rewrite Host).
    ours = {request.host, request.environ.get(SENT_HOST, request.host)}
    return urllib.parse.urlsplit(origin).netloc in ours
