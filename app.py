"""OneMap (社区一张图): the Dash app. ``python app.py`` serves the demo city.

:func:`create_app` only wires things together — pages, the API blueprint, local assets; the
pages hold their own callbacks, the providers hold the SQL.
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
from types import FrameType

import dash
from flask import has_request_context
from waitress import serve

from api import auth
from api.analyze import blueprint as analyze_blueprint
from api.basemap import blueprint as basemap_blueprint
from api.export import blueprint as export_blueprint
from api.grid_actions import blueprint as grid_actions_blueprint
from api.health import blueprint as health_blueprint
from api.layers import blueprint as layers_blueprint
from api.live import blueprint as live_blueprint
from api.ogc import blueprint as ogc_blueprint
from api.open311 import blueprint as open311_blueprint
from api.open311 import error_answer as open311_error
from api.open311 import moderation as open311_moderation_blueprint
from api.openapi import blueprint as openapi_blueprint
from api.photos import blueprint as photos_blueprint
from api.readings import blueprint as readings_blueprint
from api.tiles import blueprint as tiles_blueprint
from geodata import secret_keys
from geodata.accounts.viewer import Viewer
from geodata.settings import PROJECT_ROOT, Settings, get_settings
from layers.basemaps import BasemapError, check_basemap
from pages import routes, shell
from twin.bootstrap import prepare
from twin.live import stop_hub
from twin.service import Background, start_background
from web import (
    body_limits,
    compress,
    dash_guard,
    deck_bundle,
    errors,
    gate,
    headers,
    hosts,
    i18n,
    inputs,
    paths,
    pwa,
    store_status,
    throttles,
)
from web.context import BACKGROUND_KEY, SETTINGS_KEY, STORE_URL_KEY
from web.heavy import HEAVY_KEY, HeavyLimiter

log = logging.getLogger("onemap")


def create_app(
    settings: Settings, store_url: str, background: Background | None = None
) -> dash.Dash:
    """The OneMap web app for ``settings``, reading the store at ``store_url``; ``background``
    (the broker, MQTT intake and sweeper :func:`start_background` started) is reported by
    ``/readyz``."""
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PROJECT_ROOT / "pages"),
        assets_folder=str(PROJECT_ROOT / "assets"),
        assets_ignore=pwa.ASSETS_IGNORE,
        serve_locally=True,
        external_scripts=[],
        external_stylesheets=[],
        title=i18n.text("app.document_title", i18n.language(settings.web.language)),
        update_title=None,  # type: ignore[arg-type]  # Dash says str; its docs and renderer take None
        # No validation layout: Dash would build it from every page's layout once, for whoever
        # asked first, and send it to every client (pages differ by role: that is not ours to
        # share); the pages' own tests check their callbacks.
        suppress_callback_exceptions=True,
    )
    server = app.server
    server.config[SETTINGS_KEY] = settings
    server.config[STORE_URL_KEY] = store_url
    server.config[BACKGROUND_KEY] = background
    server.config[HEAVY_KEY] = HeavyLimiter.from_settings(settings)
    compress.install(server)
    for blueprint in (
        layers_blueprint,
        basemap_blueprint,
        deck_bundle.blueprint,
        pwa.blueprint,
        tiles_blueprint,
        export_blueprint,
        ogc_blueprint,
        live_blueprint,
        photos_blueprint,
        grid_actions_blueprint,
        readings_blueprint,
        open311_blueprint,
        open311_moderation_blueprint,
        analyze_blueprint,
        openapi_blueprint,
        auth.blueprint,
        health_blueprint,
    ):
        server.register_blueprint(blueprint)
    errors.install(
        server,
        {
            layers_blueprint: errors.json_error,
            photos_blueprint: errors.json_error,
            grid_actions_blueprint: errors.json_error,
            export_blueprint: errors.json_error,
            analyze_blueprint: errors.json_error,
            ogc_blueprint: errors.ogc_error,
            open311_blueprint: open311_error,
            open311_moderation_blueprint: errors.json_error,
        },
    )
    paths.install(server)  # unknown paths: a plain 404, before the gate
    body_limits.install(server)  # body caps, before anything reads a body
    gate.install(server, may_open=routes.may_open, home_page=routes.home_page)
    inputs.install(server)  # JSON depth, NUL and surrogates, for those the gate let in
    throttles.install(server, settings)
    dash_guard.install(app)
    headers.install(server, app, settings)
    server.wsgi_app = hosts.CanonicalHost(server.wsgi_app, settings)
    app.layout = lambda: shell.layout(settings.web.language, _signed_in(), _store_down())
    return app


def _signed_in() -> Viewer | None:
    """The signed-in viewer while serving a request (None when Dash checks the layout)."""
    return gate.current_viewer() if has_request_context() else None


def _store_down() -> bool:
    """Whether the store is down while serving a request (the layout shows a banner)."""
    return has_request_context() and store_status.store_down()


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def freeze_startup_objects() -> None:
    """Move everything allocated so far out of the garbage collector's scans (full collections
    over the app's start-up objects were ~128 ms pauses in request p95)."""
    gc.collect()
    gc.freeze()


def main() -> None:
    """Open the store, serve the app until Ctrl-C/SIGTERM, then close the store."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        settings = secret_keys.ready(get_settings())
        check_basemap(settings)
    except (secret_keys.DefaultSecret, BasemapError) as exc:
        log.error("%s", exc)
        sys.exit(2)
    try:
        store = prepare(settings)
    except KeyboardInterrupt:
        sys.exit(130)
    background = None
    try:
        background = start_background(settings, store.url, embedded=store.embedded)
        app = create_app(settings, store.url, background)
        freeze_startup_objects()
        log.info("OneMap serving on http://%s:%s", settings.web.host, settings.web.port)
        serve(
            app.server, host=settings.web.host, port=settings.web.port,
            threads=settings.web.threads, ident="OneMap",
        )  # fmt: skip
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        if background is not None:
            background.stop()
        stop_hub(store.url)
        store.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
