"""Probes for load balancers and systemd; open without sign-in (:mod:`web.gate`), never cached.

- ``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves; touches nothing else.
- ``GET /readyz``: each part's state — ``store`` (``down`` while the embedded PostgreSQL's
  watcher restarts it, else a ``SELECT 1`` on a new connection, given up after
  :data:`~twin.readiness.STORE_TIMEOUT_S`), ``leader`` (whether this process runs the
  once-only duties), ``broker``, ``subscriber``, ``sweeper``, ``replicas`` (the hot standbys,
  their lag, and whether reads fall back to the primary) (:mod:`twin.readiness`) —
  ``{"status": "ready" | "not ready", "parts": {name: {"state": "ok" | "down" | "off",
  "required": …, …}}}``; 200 when every required part is ``ok``, else
  503 with ``Retry-After``. No addresses, users or passwords appear in it.
"""

from __future__ import annotations

from flask import Blueprint, Response

from geodata.availability import RETRY_AFTER_S
from twin.readiness import background_parts, replicas_state, store_state
from web import context
from web.responses import json_response

blueprint = Blueprint("health", __name__)


def _uncached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/healthz")
def healthz() -> Response:
    """The process is alive and serving requests."""
    return _uncached(json_response({"status": "ok"}))


@blueprint.get("/readyz")
def readyz() -> Response:
    """Whether every part this process needs is working, and each part's state."""
    settings = context.settings()
    bg = context.background()
    parts = {"store": store_state(bg, context.store_url())} | background_parts(
        bg, settings.twin.sweep_interval_s
    )
    parts["replicas"] = replicas_state(context.read_replicas())
    ready = all(part.ready for part in parts.values())
    body = {
        "status": "ready" if ready else "not ready",
        "parts": {name: part.as_dict() for name, part in parts.items()},
    }
    response = json_response(body, 200 if ready else 503)
    if not ready:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return _uncached(response)
