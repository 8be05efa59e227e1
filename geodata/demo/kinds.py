# ruff: noqa: E501  (one kind per line reads best as a table)
"""Building kinds of the demo city: footprint, storeys, homes and spacing rules.

Residential rows follow the Chinese sunlight-spacing practice: the gap to the next row is a
multiple of the row's height (about 1.15 H for walk-ups, less for mid- and high-rise, about
0.5 H between point towers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Kind:
    use: str
    length: tuple[float, float]  # along the row / street, m
    depth: tuple[float, float]  # across, m
    floors: tuple[int, int]
    units: int  # 单元 (0: computed from the length, see :func:`units`)
    per_floor: int  # homes per unit and floor (0: no homes)
    years: tuple[int, int]
    row_gap: float  # gap to the next row, in multiples of the row's height
    col_gap: tuple[float, float]  # gap to the next building in the row, m


KINDS: dict[str, Kind] = {
    "low_slab": Kind("residential", (42, 66), (11.5, 13), (5, 7), 0, 2, (1982, 2005), 1.15, (6, 10)),
    "mid_slab": Kind("residential", (40, 60), (13, 15), (11, 18), 2, 2, (2000, 2016), 0.95, (10, 14)),
    "high_slab": Kind("residential", (36, 54), (14, 17), (24, 33), 2, 2, (2008, 2023), 0.75, (14, 18)),
    "tower": Kind("residential", (24, 28), (22, 26), (26, 33), 1, 4, (2006, 2023), 0.5, (16, 24)),
    "shop": Kind("commercial", (24, 60), (12, 16), (1, 3), 0, 0, (1990, 2022), 0.0, (4, 8)),
    "mall": Kind("commercial", (60, 90), (35, 45), (4, 6), 0, 0, (2005, 2022), 0.6, (15, 25)),
    "office": Kind("office", (30, 46), (20, 26), (10, 30), 0, 0, (2000, 2023), 0.4, (15, 25)),
    "school": Kind("school", (50, 66), (15, 18), (4, 5), 0, 0, (1990, 2020), 1.0, (12, 20)),
    "public": Kind("public", (30, 44), (16, 20), (2, 5), 0, 0, (1995, 2022), 0.8, (10, 16)),
    "industrial": Kind("industrial", (44, 62), (24, 36), (1, 3), 0, 0, (1980, 2010), 0.8, (12, 20)),
    "other": Kind("other", (12, 20), (8, 12), (1, 2), 0, 0, (1985, 2020), 0.8, (8, 14)),
}  # fmt: skip
RESIDENTIAL = ("low_slab", "mid_slab", "high_slab", "tower")
# rough homes per m² of compound land, to decide how much of a grid a compound needs
HOMES_PER_M2 = {"low_slab": 0.019, "mid_slab": 0.017, "high_slab": 0.018, "tower": 0.03}
MIN_ROW_GAP_M = 12.0


def units(kind: str, length: float) -> int:
    """Staircase units (单元) of a residential building of ``length`` metres."""
    if kind == "low_slab":
        return max(2, round(length / 15))
    if kind == "mid_slab":
        return 3 if length >= 52 else 2
    return KINDS[kind].units


def height(kind: str, floors: int, rng: np.random.Generator) -> float:
    """Height in metres: 3 m storeys, a taller ground floor for shops and public uses."""
    ground = (
        4.5 if KINDS[kind].use in ("commercial", "mixed", "public", "school", "office") else 3.0
    )
    return round(ground + 3.0 * (floors - 1) + float(rng.uniform(0.3, 1.5)), 1)


def row_gap(kind: str, height_m: float) -> float:
    return max(MIN_ROW_GAP_M, KINDS[kind].row_gap * height_m)


def residential_mix(radius_m: float) -> np.ndarray:
    """Probabilities of low slab, mid slab, high slab, tower: old walk-ups near the centre."""
    old = math.exp(-radius_m / 1500.0)
    p = np.array([0.2 + 0.5 * old, 0.32, 0.2 - 0.1 * old, 0.28 - 0.14 * old])
    return p / p.sum()
