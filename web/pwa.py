"""What makes the grid worker's page an installable web app that opens offline.

- ``GET /sw.js``: the service worker (``assets/pwa/service-worker.js``) with the fingerprint of
  the assets as its cache version, served from the root so its scope covers ``/grid`` (no
  ``Service-Worker-Allowed`` needed), ``Cache-Control: no-cache`` so a new version is found.
- ``GET /manifest.webmanifest``: the web app manifest (zh or en name, ``start_url`` ``/grid``,
  icons under ``/assets/pwa/``, nothing from another origin).

Both are open (no session): they hold no data. The Dash pages never load the worker's source as
a script (:data:`ASSETS_IGNORE`).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from flask import Blueprint, Response, request

from geodata.settings import PROJECT_ROOT
from web import context, i18n
from web.responses import json_response

blueprint = Blueprint("pwa", __name__)
WORKER_PATH = "/sw.js"
MANIFEST_PATH = "/manifest.webmanifest"
OPEN_PATHS = frozenset({WORKER_PATH, MANIFEST_PATH})
ASSETS = PROJECT_ROOT / "assets"
WORKER_SOURCE = ASSETS / "pwa" / "service-worker.js"
ASSETS_IGNORE = r"service-worker\.js$"
"""Dash's ``assets_ignore``: the worker's source is not a page script."""
ICON_SIZES = (192, 512)
THEME = "#165da0"


@functools.cache
def fingerprint(folder: Path = ASSETS) -> str:
    """A short hash of every file under ``folder`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@blueprint.get(WORKER_PATH)
def service_worker() -> Response:
    """The service worker with this build's cache version."""
    source = WORKER_SOURCE.read_text(encoding="utf-8").replace("__VERSION__", fingerprint())
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def manifest(lang: str) -> dict[str, object]:
    """The web app manifest in ``lang``."""
    return {
        "name": f"{i18n.text('app.title', lang)} · {i18n.text('grid.title', lang)}",
        "short_name": i18n.text("grid.title", lang),
        "lang": "zh-CN" if lang == "zh" else "en",
        "start_url": "/grid",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [
            {"src": f"/assets/pwa/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png"}
            for n in ICON_SIZES
        ],
    }


@blueprint.get(MANIFEST_PATH)
def web_manifest() -> Response:
    """The manifest in the language asked for (``?lang=``), else the app's."""
    lang = i18n.language(request.args.get("lang") or context.settings().web.language)
    response = json_response(manifest(lang), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
