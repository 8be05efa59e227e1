"""Every component id of the pages, in one place (pattern-matching ids via functions)."""

from __future__ import annotations

# --- the shell (every page) ------------------------------------------------------------------
LANG_SWITCH = "lang-switch"
STRINGS = "i18n-strings"
I18N = "i18n"
"""Type of pattern-matching ids of translated text: ``{"type": I18N, "key": <string key>}``."""

# --- the home map ----------------------------------------------------------------------------
MAP = "home-map"
LAYER_TOGGLES = "layer-toggles"
LEGEND = "layer-legend"
LAYER_META = "layer-meta"
ZOOM_LEVEL = "zoom-level"
LAYER_GEOJSON = "layer-geojson"
"""Type of pattern-matching ids of the map's GeoJSON layers: ``{"type": …, "layer": <id>}``."""


def i18n(key: str) -> dict[str, str]:
    """The id of a translated text element showing string ``key``."""
    return {"type": I18N, "key": key}


def layer_geojson(layer_id: str) -> dict[str, str]:
    """The id of the GeoJSON component drawing layer ``layer_id``."""
    return {"type": LAYER_GEOJSON, "layer": layer_id}
