"""Areas drawn on a dash-leaflet map (``dl.EditControl``): the tools offered and the shapes
read back from the control's ``geojson``."""

from __future__ import annotations

DRAW_OPTIONS = {
    "polygon": {"allowIntersection": False, "showArea": False},
    "rectangle": True,
    "polyline": False,
    "circle": False,
    "marker": False,
    "circlemarker": False,
}
"""Polygons and rectangles only."""


def drawn_polygons(geojson: dict | None) -> list[dict]:
    """The (Multi)Polygon geometries drawn on the map, oldest first."""
    return [
        f["geometry"]
        for f in (geojson or {}).get("features", [])
        if (f.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")
    ]
