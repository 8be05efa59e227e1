"""Security headers on every answer, registered once by ``app.py`` with :func:`install`.

- ``Content-Security-Policy``: scripts only from this origin plus the sha256 hashes of Dash's
  own inline scripts (the renderer's start and the clientside callbacks, ``Dash.csp_hashes``),
  and ``'wasm-unsafe-eval'``: deck.gl's bundle (loaders.gl) compiles a small WebAssembly
  module as it loads on ``/twin`` and ``/wall`` — this allows compiling WebAssembly only,
  never ``eval`` of text; no page needs ``'unsafe-eval'`` (checked in Chromium, every page);
  styles from this origin and inline (Plotly, Leaflet and Dash set ``style`` attributes and
  inject ``<style>`` elements: styles cannot run code); images also as ``data:``/``blob:``
  (Leaflet's and Plotly's icons); workers and fetches from this origin and ``blob:``;
  ``object-src 'none'``, ``base-uri 'self'``, ``form-action 'self'`` and
  ``frame-ancestors 'none'``. No other origin, except the tile server of an opt-in online base
  map (``ONEMAP_BASEMAP``) for images. The hashes are taken when the first request arrives
  (every page and callback is registered by then).
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
  same-origin``, ``Cross-Origin-Opener-Policy: same-origin``.
- ``Cache-Control: no-store`` on every answer to a signed-in viewer (a session or an API token:
  pages, callbacks, API, OGC and exports may hold personal data), unless the answer marks
  itself ``public`` (the deck.gl bundle).
- ``Cache-Control: public, max-age=31536000, immutable`` on our own assets (``/assets/…``, the
  same files for everyone) when asked for with Dash's fingerprint (``?m=<mtime>``, a new URL
  whenever a file changes): a page load no longer revalidates ~20 files one by one (they were
  served ``no-cache``) before Dash starts.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable

import dash
from flask import Flask, Response, g, request

from geodata.settings import Settings
from layers.basemaps import BasemapError, provider

CSP_KEY = "ONEMAP_CSP"
IMMUTABLE = "public, max-age=31536000, immutable"
FINGERPRINT = "m"
"""Dash's query parameter carrying an asset's modification time (its fingerprint)."""


def tile_origin(settings: Settings) -> str | None:
    """The origin (with ``*.`` for ``{s}`` subdomains) of the opt-in online base map."""
    web = settings.web
    try:
        chosen = provider(web.basemap, web.basemap_url, web.tianditu_key)
    except BasemapError:
        return None
    if chosen is None:
        return None
    parts = urllib.parse.urlsplit(chosen.url)
    host = parts.netloc
    if "{s}" in host:  # t{s}.tianditu.gov.cn -> *.tianditu.gov.cn
        host = "*." + host.split(".", 1)[-1]
    return f"{parts.scheme}://{host}" if parts.scheme in ("http", "https") else None


def policy(script_hashes: Iterable[str], settings: Settings) -> str:
    """The Content-Security-Policy of the app."""
    tiles = tile_origin(settings)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'", *script_hashes],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else [])],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install(server: Flask, app: dash.Dash, settings: Settings) -> None:
    """Add the security headers to every answer of ``server`` (the Dash ``app``'s)."""
    assets = f"{app.config.routes_pathname_prefix}{app.config.assets_url_path.strip('/')}/"

    def headers(response: Response) -> Response:
        if (
            response.status_code == 200
            and request.path.startswith(assets)
            and FINGERPRINT in request.args
        ):
            response.headers["Cache-Control"] = IMMUTABLE
        csp = server.config.get(CSP_KEY)
        if csp is None:
            csp = server.config[CSP_KEY] = policy(app.csp_hashes(), settings)
        response.headers["Content-Security-Policy"] = csp
        for name, value in FIXED_HEADERS.items():
            response.headers[name] = value
        if g.get("viewer") is not None and not response.cache_control.public:
            response.headers["Cache-Control"] = "no-store"
        return response

    server.after_request(headers)
