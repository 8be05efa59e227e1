"""What views, pages and callbacks need from the app they run in: settings, store URL, the viewer.

``app.py`` puts the settings and the store URL in the server's config under :data:`SETTINGS_KEY`
and :data:`STORE_URL_KEY`, and what it started in the background (:data:`BACKGROUND_KEY`,
for the readiness probe); the gate (:mod:`web.gate`) puts the request's viewer in ``g``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import abort, current_app, g

from geodata.accounts.viewer import PUBLIC, Viewer
from geodata.replicas import ReadReplicas
from geodata.replicas import read_replicas as replicas_of
from geodata.settings import Settings

if TYPE_CHECKING:
    from twin.service import Background

SETTINGS_KEY = "ONEMAP_SETTINGS"
STORE_URL_KEY = "ONEMAP_STORE_URL"
BACKGROUND_KEY = "ONEMAP_BACKGROUND"


def settings() -> Settings:
    """The settings the app was created with."""
    return current_app.config[SETTINGS_KEY]


def timezone() -> str:
    """The IANA zone every time shown to people is given in (``ONEMAP_TIMEZONE``)."""
    return settings().city.timezone


def store_url() -> str:
    """URL of the store the app serves."""
    return current_app.config[STORE_URL_KEY]


def read_replicas() -> ReadReplicas:
    """The standbys read-only work may read from (``ONEMAP_READ_DATABASE_URL``)."""
    store = settings().store
    return replicas_of(store_url(), store.read_database_url, store.read_max_lag_s)


def read_url() -> str:
    """Where read-only work reads (analyst questions, exports, OGC, assessment): a healthy hot
    standby, else the primary. Writes and reads of one's own writes use :func:`store_url`."""
    return read_replicas().url()


def background() -> Background | None:
    """The broker, MQTT intake and sweeper this process runs (None when it runs none)."""
    return current_app.config.get(BACKGROUND_KEY)


def viewer() -> Viewer:
    """The viewer of the current request, identified by the gate (:mod:`web.gate`); a request
    that reached a view without one is refused (fail closed)."""
    found = g.get("viewer")
    if found is None:
        abort(401)
    return found


def page_viewer() -> Viewer:
    """The viewer a page layout is built for: the signed-in viewer (the gate set it), else
    :data:`~geodata.accounts.viewer.PUBLIC` for a layout built outside a signed-in request."""
    return g.get("viewer") or PUBLIC
