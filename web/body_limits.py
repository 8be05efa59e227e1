"""How large a request body may be, per route, checked before anything reads it.

The server's ``MAX_CONTENT_LENGTH`` is the largest body of all (:data:`MAX_BODY_BYTES`); each
route prefix in :data:`ROUTE_LIMITS` has its own, smaller cap, set on the request
(``request.max_content_length``) so a chunked body without ``Content-Length`` is cut off as it
is read. A body announced larger than its cap answers 413 at once, unread.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from geodata.errors import OneMapError
from web import context
from web.responses import json_response

KIB, MIB = 1024, 1024 * 1024
PHOTO_BYTES = 5 * MIB
"""Largest photo a grid worker attaches (``twin.grid_desk.PHOTO_MAX_BYTES``)."""
DASH_CALLBACK_BYTES = PHOTO_BYTES * 4 // 3 + 512 * KIB
"""A callback carries at most one photo, base64-encoded (4/3 of its bytes), and small values."""
ROUTE_LIMITS: tuple[tuple[str, int], ...] = (
    ("/_dash-update-component", DASH_CALLBACK_BYTES),
    ("/api/grid/actions", DASH_CALLBACK_BYTES),
    ("/api/grid/reports", 16 * KIB),
    ("/api/analyze", 512 * KIB),
    ("/open311/", 64 * KIB),
    ("/login", 16 * KIB),
    ("/logout", 16 * KIB),
)
"""Body caps by path prefix; ``/api/readings`` uses ``settings.twin.max_body_bytes``."""
DEFAULT_LIMIT = 64 * KIB
"""Any other route takes no more than a small form."""
MAX_BODY_BYTES = max(DASH_CALLBACK_BYTES, 16 * MIB)
"""The server's own cap (``MAX_CONTENT_LENGTH``): no route takes more."""


class BodyTooLarge(OneMapError):
    """A request body past its route's cap (413)."""

    status = 413
    code = "PayloadTooLarge"


def limit_for(path: str) -> int:
    """The body cap of the route at ``path``."""
    if path == "/api/readings":
        return context.settings().twin.max_body_bytes
    for prefix, limit in ROUTE_LIMITS:
        if path.startswith(prefix):
            return limit
    return DEFAULT_LIMIT


def _cap_body() -> None:
    """Before every request: set its cap, and refuse a body announced larger."""
    limit = min(limit_for(request.path), MAX_BODY_BYTES)
    request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge(f"the body of {length} bytes exceeds this route's {limit} bytes")


def _too_large(_exc: RequestEntityTooLarge) -> Response:
    """A body found larger than its cap while being read (no ``Content-Length``)."""
    message = f"the body exceeds this route's {request.max_content_length} bytes"
    return json_response({"error": message, "status": 413}, 413)


def install(server: Flask) -> None:
    """Cap every request's body (call before anything that reads bodies is installed)."""
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    server.before_request(_cap_body)
    server.register_error_handler(RequestEntityTooLarge, _too_large)
