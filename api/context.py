"""What API views need from the app they run in: settings, store URL, the viewer."""

from __future__ import annotations

from flask import current_app

from geodata.settings import Settings
from geodata.viewer import Viewer, default_viewer

SETTINGS_KEY = "ONEMAP_SETTINGS"
STORE_URL_KEY = "ONEMAP_STORE_URL"


def settings() -> Settings:
    """The settings the app was created with."""
    return current_app.config[SETTINGS_KEY]


def store_url() -> str:
    """URL of the store the app serves."""
    return current_app.config[STORE_URL_KEY]


def viewer() -> Viewer:
    """The viewer of the current request (public until authentication lands)."""
    return default_viewer()
