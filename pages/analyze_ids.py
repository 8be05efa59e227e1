"""Component ids of the analyst's page (``/analyze``), in one place for page and tests."""

from __future__ import annotations

MAP = "analyze-map"
PRESET = "analyze-preset"
"""Type of the preset buttons: ``{"type": PRESET, "name": <preset>}``."""
SUBJECT = "analyze-subject"
WHERE_FIELD = "analyze-where-field"
WHERE_OP = "analyze-where-op"
WHERE_VALUE = "analyze-where-value"
WHERE_PICK = "analyze-where-pick"
"""Types of the filter rows: ``{"type": …, "side": "subject"|"near", "row": i}``. A row's
value is typed in ``WHERE_VALUE`` or, for a coded field, picked in ``WHERE_PICK`` (the other
one is hidden)."""
TIME_FIELD = "analyze-time-field"
TIME_HOURS = "analyze-time-hours"
TIME_UNTIL = "analyze-time-until"
AREA_MODE = "analyze-area-mode"
AREA = "analyze-area"
LABELS_LANG = "analyze-labels-lang"
"""Store: the language the page's option labels are in."""
BBOX = "analyze-bbox"
DRAW = "analyze-draw"
NEAR_ON = "analyze-near-on"
NEAR_LAYER = "analyze-near-layer"
NEAR_MODE = "analyze-near-mode"
NEAR_DISTANCE = "analyze-near-distance"
NEAR_TIME_FIELD = "analyze-near-time-field"
NEAR_TIME_HOURS = "analyze-near-time-hours"
NEAR_TIME_UNTIL = "analyze-near-time-until"
NEAREST_N = "analyze-nearest-n"
NEAREST_POINT = "analyze-nearest-point"
RUN = "analyze-run"
CSV = "analyze-csv"
DOWNLOAD = "analyze-download"
SPEC = "analyze-spec"
SUMMARY = "analyze-summary"
TABLE = "analyze-table"
RESULT = "analyze-result"
STATUS = "analyze-status"


def row(kind: str, side: str, index: int | object) -> dict[str, object]:
    """The id of part ``kind`` (field/op/value/pick) of filter row ``index`` on ``side``
    (``index`` may be a pattern-matching wildcard)."""
    return {"type": kind, "side": side, "row": index}


def preset(name: str) -> dict[str, str]:
    """The id of preset button ``name``."""
    return {"type": PRESET, "name": name}
