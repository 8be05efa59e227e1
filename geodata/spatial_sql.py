"""SQL fragments every reader of the store shares: the request's envelope and the camera wedge.

The wedge is the SQL function ``onemap_camera_wedge`` (migration 0015), so the map, the coverage
analysis and analyst questions measure the same polygon.
"""

from __future__ import annotations

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
