"""SQL fragments every reader of the store shares: the request's envelope, the camera wedge and
the map's spatial scope.

The wedge is the SQL function ``onemap_camera_wedge`` (migration 0015), so the map, the coverage
analysis and analyst questions measure the same polygon; each camera row also stores it, in the
generated column ``device.fov_wedge`` (migration 0031, GiST-indexed), which questions read.

Map layers (and the forecast cells they show) keep a row inside the selected area
(:func:`area_clause`) and the viewer's areas (:func:`scope_clause`) by geometry; exports,
questions and coverage scope by area subtree instead (:mod:`geodata.area_subtree`).
"""

from __future__ import annotations

import math

ENVELOPE = "env AS (SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS g)"
"""A CTE ``env(g)``: the bbox of bound parameters ``minx``..``maxy`` (EPSG:4326)."""


def camera_wedge(alias: str = "t") -> str:
    """SQL of the field-of-view wedge of camera row ``alias`` (its stored geometry when heading,
    field of view or range is unknown)."""
    return (
        f"onemap_camera_wedge({alias}.geom, {alias}.loc, {alias}.heading, {alias}.fov, "
        f"{alias}.range_m)"
    )


WEDGE_SQL = camera_wedge("t")
"""The wedge of row ``t``."""


def stored_wedge(alias: str = "t") -> str:
    """SQL of the stored wedge of camera row ``alias`` (equal to :func:`camera_wedge`; NULL for
    devices other than cameras)."""
    return f"{alias}.fov_wedge"


METRES_PER_DEGREE = 110_000
"""A little under the shortest degree of latitude (110,574 m): boxes and margins derived from it
err on the large side."""
SAFETY = 1.05


def degrees_per_metre(extent: tuple[float, float, float, float]) -> float:
    """Degrees that cover at least one metre anywhere in ``extent`` (longitude is the
    shortest at the highest latitude), with a safety margin."""
    lat = max(abs(extent[1]), abs(extent[3]))
    return SAFETY / (METRES_PER_DEGREE * math.cos(math.radians(lat)))


def area_clause(point: str) -> str:
    """``point`` lies in the selected area (its id: bound parameter ``area``)."""
    return f"ST_Intersects({point}, (SELECT sel.geom FROM area sel WHERE sel.id = :area))"


def scope_clause(point: str, geom: str | None = None) -> str:
    """The row lies in one of the viewer's areas (their ids: bound parameter ``scope``): its
    ``point`` is inside the area, or (given the row's ``geom``) that geometry meets the area's
    representative point."""
    meets = f"ST_Intersects(s.geom, {point})"
    if geom is not None:
        meets = f"({meets} OR ST_Intersects({geom}, s.loc))"
    return f"EXISTS (SELECT 1 FROM area s WHERE s.id = ANY(:scope) AND {meets})"
