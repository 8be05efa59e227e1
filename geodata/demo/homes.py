"""Homes (房屋/户) in residential and mixed buildings, and who occupies them.

Each grid's occupied homes are fixed to lie in [300, 500]: the layout provides enough homes for
the grid's target, and the surplus is left vacant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geodata.demo.layout import MAX_OCCUPIED, MIN_OCCUPIED, Layout
from geodata.errors import DemoError

_FLOOR_AREA = {
    "low_slab": (50, 95),
    "mid_slab": (80, 130),
    "high_slab": (85, 140),
    "tower": (60, 110),
    "mixed": (60, 100),
}
_RENTED = {"low_slab": 0.35, "mid_slab": 0.22, "high_slab": 0.18, "tower": 0.3, "mixed": 0.4}


@dataclass
class Homes:
    """Column arrays of the homes of one grid."""

    id: np.ndarray
    building_id: np.ndarray
    building_idx: np.ndarray  # index into layout.buildings
    unit: np.ndarray
    floor: np.ndarray
    room: list[str]
    floor_area: np.ndarray
    occupancy: list[str]
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.id)


def _offsets(per_floor: int, width: float, depth: float) -> list[tuple[float, float]]:
    if per_floor <= 2:
        return [(-width / 4, 0.0), (width / 4, 0.0)][:per_floor]
    return [
        (-width / 4, depth / 4),
        (width / 4, depth / 4),
        (-width / 4, -depth / 4),
        (width / 4, -depth / 4),
    ][:per_floor]


def make_homes(layout: Layout, rng: np.random.Generator, next_id: int) -> Homes:
    """All homes of the grid's buildings; ids start at ``next_id``."""
    cols: dict[str, list] = {k: [] for k in ("b", "unit", "floor", "room", "area", "x", "y", "k")}
    for bi, b in enumerate(layout.buildings):
        if b.homes == 0:
            continue
        width = b.length / b.units
        c, s = math.cos(b.angle), math.sin(b.angle)
        lo, hi = _FLOOR_AREA[b.kind]
        for unit in range(1, b.units + 1):
            uc = -b.length / 2 + (unit - 0.5) * width
            for floor in range(b.first_home_floor, b.floors + 1):
                for r, (du, dv) in enumerate(_offsets(b.per_floor, width, b.depth), start=1):
                    u, v = uc + du, dv
                    cols["b"].append(bi)
                    cols["unit"].append(unit)
                    cols["floor"].append(floor)
                    cols["room"].append(f"{floor}{r:02d}")
                    cols["x"].append(b.cx + u * c - v * s)
                    cols["y"].append(b.cy + u * s + v * c)
                    cols["area"].append((lo, hi))
                    cols["k"].append(_RENTED[b.kind])
    n = len(cols["b"])
    occupied = min(MAX_OCCUPIED, max(MIN_OCCUPIED, round(n * (1 - layout.vacancy))))
    if n < occupied:
        raise DemoError(f"grid {layout.grid.area.code}: only {n} homes fit, need {occupied}")
    occ = np.full(n, "owner", dtype=object)
    occ[rng.choice(n, size=n - occupied, replace=False)] = "vacant"
    rented = rng.random(n) < np.asarray(cols["k"])
    occ[(occ == "owner") & rented] = "rented"
    bounds = np.asarray(cols["area"], dtype=float).reshape(n, 2)
    area = np.round(bounds[:, 0] + rng.random(n) * (bounds[:, 1] - bounds[:, 0]), 1)
    bidx = np.asarray(cols["b"], dtype=np.int64)
    bids = np.array([b.id for b in layout.buildings], dtype=np.int64)
    return Homes(
        id=np.arange(next_id, next_id + n, dtype=np.int64),
        building_id=bids[bidx] if n else bidx,
        building_idx=bidx,
        unit=np.asarray(cols["unit"]),
        floor=np.asarray(cols["floor"]),
        room=cols["room"],
        floor_area=area,
        occupancy=occ.tolist(),
        x=np.asarray(cols["x"]),
        y=np.asarray(cols["y"]),
    )
