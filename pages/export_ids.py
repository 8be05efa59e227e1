"""Component ids of the planner's export page (``/export``), in one place for page and tests."""

from __future__ import annotations

MAP = "export-map"
LAYERS = "export-layers"
AREA_MODE = "export-area-mode"
AREA = "export-area"
LABELS_LANG = "export-labels-lang"
"""Store: the language the page's option labels are in."""
AREA_INDEX = "export-area-index"
AREA_SHAPE = "export-area-shape"
DRAW = "export-draw"
BBOX = "export-bbox"
BBOX_FROM_MAP = "export-bbox-from-map"
SELECTION = "export-selection"
FIELDS_BOX = "export-fields-box"
FIELDS = "export-fields"
"""Type of the per-layer field checklists: ``{"type": FIELDS, "layer": <export layer id>}``."""
FORMAT = "export-format"
CRS = "export-crs"
SUMMARY = "export-summary"
API_LINKS = "export-api-links"
DOWNLOAD_BUTTON = "export-download-button"
DOWNLOAD = "export-download"
STATUS = "export-status"
OGC_URL = "export-ogc-url"


def fields(layer_id: str) -> dict[str, str]:
    """The id of the field checklist of export layer ``layer_id``."""
    return {"type": FIELDS, "layer": layer_id}
