"""Component ids of the command wall (``/wall``), in one place (assets/wall.js repeats the few
it needs, each marked with the name here)."""

from __future__ import annotations

ROOT = "wall"
MAP = "wall-map"
AREA = "wall-area"
"""Store: the selected area ``{"id", "level", "name", "name_en", "bbox", "child"}`` or the
viewer's whole extent ``{"id": None, "bbox", "child": "districts"}``."""
CRUMBS = "wall-crumbs"
CRUMB = "wall-crumb"
"""Type of the breadcrumb buttons: ``{"type": CRUMB, "area": <area id, 0 = top>}``."""
LAYER = "wall-layer"
"""Type of the map's GeoJSON layers: ``{"type": LAYER, "layer": <wall layer key>}``."""
LAYER_META = "wall-layer-meta"
LAYER_STATUS = "wall-layer-status"
"""Store: per wall layer key, ``{"count", "sum"}`` of its last answer (tests read it)."""
CLOCK = "wall-clock"
"""Interval: each second, assets/wall.js decides whether live changes call for a refresh."""
TICK = "wall-tick"
"""Store: bumped on live changes (and every 30 s, assets/wall.js): the data callbacks' trigger."""
UPDATED = "wall-updated"
FRESHNESS = "wall-freshness"
"""The header's data-freshness line (``数据更新 n/m 正常``; its title lists the overdue sources)."""
KPIS = "wall-kpis"
TREND = "wall-trend"
"""The trend panel's body: :func:`pages.wall_view.trend_chart` as its children."""
TICKER = "wall-ticker"
TWIN = "wall"
"""Name of the embedded deck view (pages.twin.deck_embed)."""


def kpi(key: str) -> str:
    """The id of the value of KPI tile ``key``."""
    return f"wall-kpi-{key}"


def kpi_note(key: str) -> str:
    """The id of the small line under KPI tile ``key``."""
    return f"wall-kpi-{key}-note"


def layer(key: str) -> dict[str, str]:
    """The id of the map layer ``key``."""
    return {"type": LAYER, "layer": key}


def crumb(area_id: int | None) -> dict[str, object]:
    """The id of the breadcrumb button of ``area_id`` (None: the top)."""
    return {"type": CRUMB, "area": area_id or 0}
