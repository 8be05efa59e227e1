"""Modelled resident population (常住人口) of the demo's areas.

Every figure here is an estimate, not an official statistic. The 2020 (seventh) census reports
Hefei's resident population as :data:`CENSUS_2020` = 9,369,881; the census publishes the
development zones (高新区, 经开区, 新站区) apart from the districts they lie in, so the figures of
the nine districts and counties are modelled: :data:`DISTRICT_SHARE` gives plausible relative
sizes (thousands of residents) and :func:`apportion` scales them to sum exactly to the census
total. A district's figure is split among its street offices and towns by area times a density
weight of their kind (:data:`DENSITY`: the detailed core's street offices densest, rural towns
and townships least); a core street's figure among its communities and a community's among its
grids by their number of grids (the grids are of similar size). So every level sums exactly to
its parent. The residents the demo generates are a sample of the core (about 60,000 at scale 1),
not these figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
from shapely.geometry.base import BaseGeometry

from geodata.demo.geography import area_km2
from geodata.vocab import AreaLevel

CENSUS_2020 = 9_369_881
"""Hefei's resident population in the 2020 census (第七次全国人口普查)."""

DISTRICT_SHARE: dict[str, int] = {
    "340102": 1190,  # 瑶海区 (with part of 新站区)
    "340103": 870,  # 庐阳区
    "340104": 1390,  # 蜀山区 (with 高新区)
    "340111": 1370,  # 包河区
    "340121": 800,  # 长丰县
    "340122": 1000,  # 肥东县
    "340123": 1150,  # 肥西县 (with part of 经开区)
    "340124": 880,  # 庐江县
    "340181": 720,  # 巢湖市
}
"""Relative resident population of the nine districts/counties (modelled, thousands)."""

DENSITY: dict[str, float] = {
    "core": 40.0,
    "subdistrict": 8.0,
    "zone": 4.0,
    "town": 0.5,
    "township": 0.3,
}
"""Relative density (weight per km²) of a street office by kind; ``core``: in the detailed core."""


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` into whole numbers summing to ``total``
    (largest remainder; ties to the earlier item)."""
    w = np.asarray(weights, dtype=float)
    if len(w) == 0:
        return []
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum (got {weights})")
    exact = total * w / w.sum()
    out = np.floor(exact).astype(np.int64)
    short = int(total - out.sum())
    order = np.lexsort((np.arange(len(w)), -(exact - out)))
    out[order[:short]] += 1
    return [int(v) for v in out]


class AreaLike(Protocol):
    """What :func:`assign_population` reads and writes of an area."""

    population: int | None

    @property
    def id(self) -> int: ...
    @property
    def level(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def geom(self) -> BaseGeometry: ...


def assign_population(areas: Sequence[AreaLike], kinds: Mapping[str, str]) -> None:
    """Set the modelled ``population`` of every area of a city (``areas`` parents before
    children, the city first); ``kinds`` maps a street office's code to its kind in
    :data:`DENSITY`."""
    grids: dict[int, int] = {}
    children: dict[int, list[AreaLike]] = {}
    for a in reversed(areas):
        grids[a.id] = grids.get(a.id, 0) + (1 if a.level == AreaLevel.grid else 0)
        if a.parent_id is not None:
            grids[a.parent_id] = grids.get(a.parent_id, 0) + grids[a.id]
            children.setdefault(a.parent_id, []).insert(0, a)
    areas[0].population = CENSUS_2020
    for parent in areas:
        kids = children.get(parent.id, [])
        if not kids or parent.population is None:
            continue
        if parent.level == AreaLevel.city:
            weights = [float(DISTRICT_SHARE[c.code]) for c in kids]
        elif parent.level == AreaLevel.district:
            weights = [DENSITY[kinds[c.code]] * area_km2(c.geom) for c in kids]
        else:
            weights = [float(grids[c.id]) for c in kids]
        for child, n in zip(kids, apportion(parent.population, weights), strict=True):
            child.population = n
