"""Plain 404s for paths that are not ours, before the gate or Dash see them.

Dash answers every unmatched GET with its HTML shell (its catch-all route): only the registered
pages (``dash.page_registry``) may reach it; any other path answers a plain 404. A component
suite file (``/_dash-component-suites/<package>/<file>``) that Dash did not register answers
404 too, instead of the exception (and logged traceback) Dash raises for it — this is what
``..%2f`` path traversal attempts meet.
"""

from __future__ import annotations

import dash
from dash.exceptions import DependencyException
from flask import Flask, Response, request
from werkzeug.exceptions import NotFound

CATCH_ALL = "/<path:path>"
"""The endpoint name of Dash's catch-all route (``routes_pathname_prefix`` is ``/``)."""


def page_paths() -> frozenset[str]:
    """The paths of the registered Dash pages (without a trailing slash)."""
    return frozenset(page["path"].rstrip("/") or "/" for page in dash.page_registry.values())


def _not_ours() -> None:
    """Before the gate: 404 for a path only Dash's catch-all would answer."""
    if request.endpoint == CATCH_ALL and (request.path.rstrip("/") or "/") not in page_paths():
        raise NotFound(f"no page or route at {request.path[:200]}")


def _no_such_file(_exc: DependencyException) -> Response:
    return Response("not found\n", status=404, mimetype="text/plain")


def _plain_404(exc: NotFound) -> Response:
    return Response(f"{exc.description}\n", status=404, mimetype="text/plain")


def install(server: Flask) -> None:
    """Answer unknown paths and unregistered suite files with a plain 404 (install first)."""
    server.before_request(_not_ours)
    server.register_error_handler(DependencyException, _no_such_file)
    server.register_error_handler(NotFound, _plain_404)
