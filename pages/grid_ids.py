"""Component ids of the grid worker's page (``/grid``), in one place."""

from __future__ import annotations

PAGE = "grid-page"
MAP = "grid-map"
LAYER = "grid-layer"
"""Pattern type of the map's GeoJSON layers: ``{"type": LAYER, "layer": <layer id>}``."""
LAYER_META = "grid-layer-meta"
PICK_MARKER = "grid-pick-marker"
GRID_PICK = "grid-choose"
GRID_SCOPE = "grid-scope"
"""Store: the grid the page works on (admin's choice; a worker's own grids: None)."""
REFRESH = "grid-refresh"
TABS = "grid-tabs"
TAB = "grid-tab"
"""Pattern type of a tab: ``{"type": TAB, "tab": <name>}``."""
CATEGORIES = "grid-categories"
MESSAGE = "grid-message"
TASK_COUNT = "grid-task-count"
TASK_LIST = "grid-task-list"
TASK = "grid-task"
"""Pattern type of a task card: ``{"type": TASK, "event": <incident id>}``."""
SELECTED = "grid-selected"
TASK_PANEL = "grid-task-panel"
ACT = "grid-act"
"""Pattern type of a task button: ``{"type": ACT, "action": <accept|handle|escalate|close>}``."""
NOTE = "grid-note"
PHOTO = "grid-photo"
PHOTO_NAME = "grid-photo-name"
CATEGORY = "grid-category"
DESCRIPTION = "grid-description"
PICKED = "grid-picked"
PICKED_TEXT = "grid-picked-text"
LOCATE = "grid-locate"
SUBMIT = "grid-submit"
REPORT_KEY = "grid-report-key"
"""Store: the idempotency key of the report form as shown (a new one after each report)."""
LIVE = "grid-live"
"""Store: the last live change of an incident in the worker's grids ``{n, event, cue}``, set
by ``assets/grid.js`` from the live stream."""
CUE = "grid-cue"
"""The visible cue of a task that arrived live (new, or back at the grid as reported)."""
TASK_HISTORY = "grid-task-history"
"""The chosen task's steps and photos."""
HISTORY = "grid-history"
"""Checklist: draw closed incidents on the map too (off: open work only)."""
OFFLINE = "grid-offline"
"""The offline banner: offline or not, how many actions wait, what the queue sent or was refused
(``assets/grid_offline.js`` fills it; its words are data attributes from the layout)."""
REPORT_FORM = "grid-report-form"
"""Store: the report form's category, description and location as typed, mirrored clientside
for the offline queue (``assets/grid_offline.js``)."""
RESIDENTS = "grid-residents"
DEVICES = "grid-devices"


def layer(layer_id: str) -> dict[str, str]:
    """The id of the GeoJSON component drawing ``layer_id`` on the grid map."""
    return {"type": LAYER, "layer": layer_id}


def task(event_id: int) -> dict[str, object]:
    """The id of the card of incident ``event_id``."""
    return {"type": TASK, "event": event_id}


def act(action: str) -> dict[str, str]:
    """The id of a task button."""
    return {"type": ACT, "action": action}


def tab(name: str) -> dict[str, str]:
    """The id of the tab ``name``."""
    return {"type": TAB, "tab": name}
