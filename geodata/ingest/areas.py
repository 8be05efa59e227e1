"""Area assignment in Python: the deepest governance area covering each location.

Same rule as the trigger ``onemap_assign_area`` (migration 0001): among the areas whose polygon
covers the point (boundary included), the deepest wins, ties by the smallest id. The store's area
polygons are read once per import into a shapely STRtree; a batch of 50k points is assigned in
a few milliseconds, which spares the server a spatial join over the whole stage.
"""

from __future__ import annotations

import numpy as np
import psycopg
import shapely


class AreaIndex:
    """The store's areas (id, depth, polygon), queried in bulk."""

    def __init__(self, conn: psycopg.Connection) -> None:
        rows = conn.execute("SELECT id, depth, ST_AsBinary(geom) FROM area ORDER BY id").fetchall()
        self.ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.depths = np.array([r[1] for r in rows], dtype=np.int64)
        self.tree = shapely.STRtree(shapely.from_wkb([bytes(r[2]) for r in rows]))

    def assign(self, locs: np.ndarray) -> list[int | None]:
        """The area id of each point of ``locs`` (None where no area covers it)."""
        out = np.full(len(locs), None, dtype=object)
        if not len(self.ids) or not len(locs):
            return out.tolist()
        points, hits = self.tree.query(locs, predicate="covered_by")
        order = np.lexsort((self.ids[hits], -self.depths[hits], points))
        points, hits = points[order], hits[order]
        first = np.ones(len(points), dtype=bool)
        first[1:] = points[1:] != points[:-1]
        out[points[first]] = self.ids[hits[first]].tolist()
        return out.tolist()
