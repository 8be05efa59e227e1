"""Every component id of the pages, in one place (pattern-matching ids via functions)."""

from __future__ import annotations

# --- the shell (every page) ------------------------------------------------------------------
LANG_SWITCH = "lang-switch"
STRINGS = "i18n-strings"
I18N = "i18n"
"""Type of pattern-matching ids of translated text: ``{"type": I18N, "key": <string key>}``."""
NAV = "app-nav"
ACCOUNT_NAME = "account-name"
LOGOUT = "logout-button"
"""Sign-out button (assets/onemap_auth.js posts /logout with the CSRF token)."""
LIVE_INDICATOR = "live-indicator"
"""Header dot + label of the live-update connection (assets/onemap_live.js sets its class)."""
STORE_BANNER = "store-banner"
"""The store-down banner (shown by the layout, and by assets/onemap_store.js on a 503)."""

# --- the home map ----------------------------------------------------------------------------
MAP = "home-map"
LAYER_TOGGLES = "layer-toggles"
"""Type of the per-group layer checklists: ``{"type": LAYER_TOGGLES, "group": <group>}``."""
LEGEND = "layer-legend"
"""Type of each layer's legend block: ``{"type": LEGEND, "layer": <id>}``."""
LAYER_META = "layer-meta"
LAYER_STATUS = "layer-status"
ZOOM_LEVEL = "zoom-level"
LAYER_GEOJSON = "layer-geojson"
"""Type of pattern-matching ids of the map's GeoJSON layers: ``{"type": …, "layer": <id>}``."""
BASEMAP_META = "basemap-meta"
BASEMAP_SHIFT = "basemap-shift"
BASE_META = "base-meta"
"""Type of the own base map's store of API urls: ``{"type": …, "map": <map id>}`` (data None
when the base is a tile package or online)."""
BASE_PART = "base-part"
"""Type of the own base map's GeoJSON layers: ``{"type": …, "map": <map id>, "part": …}``."""
LIVE_TICK = "live-tick"
"""Store assets/onemap_live.js bumps when a change affects the map's layers (refetch them)."""

# --- the selected area (other widgets read it) -----------------------------------------------
SELECTED_AREA = "selected-area"
"""Store: ``{"id", "name", "name_en", "layer"}`` of the area clicked on the map, or None."""
AREA_CHIP = "selected-area-chip"
AREA_NAME = "selected-area-name"
AREA_CLEAR = "selected-area-clear"

# --- the time slider --------------------------------------------------------------------------
TIME_SLIDER = "time-slider"
TIME_META = "time-meta"
TIME_LABEL = "time-label"
TIME_PLAY = "time-play"
TIME_TICK = "time-tick"
INCIDENT_COUNT = "incident-count"


def i18n(key: str) -> dict[str, str]:
    """The id of a translated text element showing string ``key``."""
    return {"type": I18N, "key": key}


def layer_geojson(layer_id: str) -> dict[str, str]:
    """The id of the GeoJSON component drawing layer ``layer_id``."""
    return {"type": LAYER_GEOJSON, "layer": layer_id}


def layer_toggles(group: str) -> dict[str, str]:
    """The id of the checklist of the layers of ``group``."""
    return {"type": LAYER_TOGGLES, "group": group}


def legend(layer_id: str) -> dict[str, str]:
    """The id of the legend block of layer ``layer_id``."""
    return {"type": LEGEND, "layer": layer_id}
