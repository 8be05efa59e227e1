"""SQL fragments every reader of the store shares: the request's envelope and the camera wedge.

The wedge is the SQL function ``onemap_camera_wedge`` (migration 0015), so the map, the coverage
analysis and analyst questions measure the same polygon.
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


METRES_PER_DEGREE = 110_000
"""A little under the shortest degree of latitude (110,574 m): boxes and margins derived from it
err on the large side."""
SAFETY = 1.05


def degrees_per_metre(extent: tuple[float, float, float, float]) -> float:
    """Degrees that cover at least one metre anywhere in ``extent`` (longitude is the
    shortest at the highest latitude), with a safety margin."""
    lat = max(abs(extent[1]), abs(extent[3]))
    return SAFETY / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
