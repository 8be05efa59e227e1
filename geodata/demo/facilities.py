"""Public facilities: hydrants along the roads, fire lanes beside residential slabs, AEDs,
service centres, elderly canteens, waste stations, e-bike chargers and shelters."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString

from geodata.demo.context import GridData, local_point
from geodata.vocab import FacilityStatus

HYDRANT_SPACING_M = 200.0  # per side of the road: one every ~100 m counting both sides


def make_facilities(gd: GridData, rng: np.random.Generator) -> None:
    """Add the grid's facilities to its chunk."""
    lay, grid = gd.layout, gd.layout.grid
    out = gd.chunk.features["facility"]
    footprints = [b.poly for b in lay.buildings]
    tree = shapely.STRtree(footprints)

    def add(kind: str, geom, name: str | None = None, capacity: int | None = None) -> None:
        r = rng.random()
        status = (
            FacilityStatus.ok
            if r < 0.94
            else (FacilityStatus.damaged if r < 0.98 else FacilityStatus.maintenance)
        )
        out.add(gd.ids.take("facility"), geom, gd.area_id, kind, name, status, capacity)

    def clear(geom) -> bool:
        return lay.safe.contains(geom) and len(tree.query(geom, predicate="intersects")) == 0

    kerb = lay.safe.exterior  # on the pavement, by the kerb
    offset = float(rng.uniform(0, HYDRANT_SPACING_M))
    service = shapely.union_all(lay.services) if lay.services else None
    for d in np.arange(offset, kerb.length, HYDRANT_SPACING_M):
        p = kerb.interpolate(float(d))
        if service is None or service.distance(p) > 6.0:
            add("hydrant", p, f"{lay.road}消火栓")
    for b in lay.buildings:
        if b.kind in ("low_slab", "mid_slab", "high_slab", "mixed"):
            for side in (-1, 1):
                v = side * (b.depth / 2 + 3.5)
                c, s = math.cos(b.angle), math.sin(b.angle)
                half = b.length / 2 + 3
                lane = LineString(
                    [
                        (b.cx - half * c - v * s, b.cy - half * s + v * c),
                        (b.cx + half * c - v * s, b.cy + half * s + v * c),
                    ]
                )
                if clear(lane):
                    add("fire_lane", lane, f"{b.name}消防通道")
                    break
        if b.kind in ("public", "school", "mall", "office") and rng.random() < 0.8:
            add("aed", local_point(b, 0.0, -b.depth / 2 + 1.0), f"{b.name}AED")
        if b.kind == "public" and gd.first_in_community:
            add("service_centre", local_point(b, 0.0, 0.0), f"{grid.community}党群服务中心")
        if b.kind == "public" and gd.second_in_community:
            add(
                "elderly_canteen",
                local_point(b, b.length / 4, 0.0),
                f"{grid.community}长者食堂",
                int(rng.integers(40, 150)),
            )
    for comp in lay.compounds:
        gx, gy = comp.gate
        rad = math.radians(comp.heading)
        inward = (-math.sin(rad), -math.cos(rad))
        for k, kind in enumerate(("aed", "ev_charger")):
            p = shapely.Point(gx + (8 + 5 * k) * inward[0], gy + (8 + 5 * k) * inward[1])
            if clear(p):
                add(
                    kind,
                    p,
                    f"{comp.name}{'AED' if kind == 'aed' else '充电桩'}",
                    None if kind == "aed" else int(rng.integers(10, 41)),
                )
        for bi in comp.buildings[: int(rng.integers(1, 4))]:
            b = lay.buildings[bi]
            p = local_point(b, b.length / 2 + 4.5, 0.0)
            if clear(p):
                add("waste_station", p, f"{comp.name}垃圾分类投放点")
    if gd.first_in_community and len(lay.free):
        cx, cy = lay.free[int(rng.integers(len(lay.free)))]
        c, s = math.cos(lay.angle), math.sin(lay.angle)
        pts = [(-25, -18), (25, -18), (25, 18), (-25, 18)]
        shelter = shapely.Polygon([(cx + u * c - v * s, cy + u * s + v * c) for u, v in pts])
        if clear(shelter):
            add("shelter", shelter, f"{grid.community}应急避难场所", int(shelter.area / 2))
