"""Building layout of one grid: residential compounds and other buildings on a rotated lattice.

The grid's edges are the roads. Inside a 16 m setback, a lattice of 72 × 52 m plots, turned
to the grid's orientation (south-facing slabs, ±20°), is kept where a plot fits entirely; each
building sits inside one plot, so footprints never overlap and never leave the grid.
Residential buildings are added plot by plot around an anchor until the grid holds enough
homes for its target of occupied households (300–500, see :mod:`geodata.demo.homes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon

from geodata.demo.areas import Grid
from geodata.demo.names import compound_name, road_name

SLOT_W, SLOT_H, SLOT_MARGIN = 72.0, 52.0, 3.0
SETBACK_M = 16.0
MIN_OCCUPIED, MAX_OCCUPIED = 300, 500

# kind: (use, length range, depth range, floors range, units, homes per unit-floor, years)
KINDS: dict[str, tuple[str, tuple, tuple, tuple, int, int, tuple]] = {
    "low_slab": ("residential", (36, 60), (11, 13), (5, 7), 0, 2, (1985, 2006)),
    "mid_slab": ("residential", (30, 48), (13, 15), (11, 18), 2, 2, (2000, 2016)),
    "high_slab": ("residential", (36, 54), (14, 17), (24, 33), 2, 2, (2008, 2023)),
    "tower": ("residential", (24, 30), (22, 28), (26, 33), 1, 4, (2006, 2023)),
    "mixed": ("mixed", (40, 60), (14, 17), (8, 18), 2, 2, (1995, 2015)),
    "shop": ("commercial", (18, 40), (10, 14), (1, 3), 0, 0, (1990, 2022)),
    "mall": ("commercial", (55, 66), (32, 44), (4, 6), 0, 0, (2005, 2022)),
    "office": ("office", (30, 46), (20, 26), (8, 30), 0, 0, (2000, 2023)),
    "school": ("school", (50, 62), (15, 18), (4, 5), 0, 0, (1990, 2020)),
    "public": ("public", (28, 44), (16, 20), (2, 5), 0, 0, (1995, 2022)),
    "industrial": ("industrial", (44, 62), (24, 36), (1, 3), 0, 0, (1980, 2010)),
    "other": ("other", (12, 20), (8, 12), (1, 2), 0, 0, (1985, 2020)),
}
RESIDENTIAL_KINDS = ("low_slab", "mid_slab", "high_slab", "tower", "mixed")


@dataclass
class Building:
    """One building in local metres; ``homes`` counts the homes it holds."""

    id: int
    grid: Grid
    kind: str
    use: str
    poly: Polygon
    cx: float
    cy: float
    angle: float
    length: float
    depth: float
    floors: int
    height: float
    year: int
    name: str
    address: str
    units: int = 0
    per_floor: int = 0
    first_home_floor: int = 1
    compound: int | None = None
    label: str = ""

    @property
    def homes(self) -> int:
        if self.units == 0:
            return 0
        return self.units * self.per_floor * (self.floors - self.first_home_floor + 1)


@dataclass
class Compound:
    """A residential compound (小区): its buildings, and the gate on the nearest road."""

    index: int
    name: str
    gate: tuple[float, float]
    heading: float  # degrees clockwise from north, looking from the gate towards the road
    buildings: list[int] = field(default_factory=list)


@dataclass
class Layout:
    grid: Grid
    inner: Polygon
    safe: Polygon
    angle: float
    road: str
    buildings: list[Building]
    compounds: list[Compound]
    free: np.ndarray
    target_occupied: int
    vacancy: float


def _slots(inner: Polygon, angle: float, rng: np.random.Generator) -> np.ndarray:
    """Centres (n, 2) of lattice plots lying entirely inside ``inner``."""
    c, s = math.cos(angle), math.sin(angle)
    cx, cy = inner.centroid.x, inner.centroid.y
    half = max(inner.bounds[2] - inner.bounds[0], inner.bounds[3] - inner.bounds[1])
    u0, v0 = rng.uniform(0, SLOT_W), rng.uniform(0, SLOT_H)
    us = np.arange(-half - u0, half + SLOT_W, SLOT_W)
    vs = np.arange(-half - v0, half + SLOT_H, SLOT_H)
    uu, vv = np.meshgrid(us, vs)
    uu, vv = uu.ravel(), vv.ravel()
    centres = np.column_stack([cx + uu * c - vv * s, cy + uu * s + vv * c])
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * [SLOT_W / 2, SLOT_H / 2]
    rot = np.array([[c, s], [-s, c]])
    ring = corners @ rot
    rects = shapely.polygons(centres[:, None, :] + ring[None, :, :])
    shapely.prepare(inner)
    return centres[shapely.contains(inner, rects)]


def _footprint(cx: float, cy: float, length: float, depth: float, angle: float) -> Polygon:
    c, s = math.cos(angle), math.sin(angle)
    pts = [
        (-length / 2, -depth / 2),
        (length / 2, -depth / 2),
        (length / 2, depth / 2),
        (-length / 2, depth / 2),
    ]
    return Polygon([(cx + u * c - v * s, cy + u * s + v * c) for u, v in pts])


def _residential_mix(radius_m: float) -> np.ndarray:
    """Probabilities of low/mid/high slab, tower, mixed: older walk-ups near the centre."""
    old = math.exp(-radius_m / 2500.0)
    p = np.array([0.15 + 0.45 * old, 0.30, 0.25 - 0.15 * old, 0.18 - 0.08 * old, 0.12])
    return p / p.sum()


def _make(
    rng: np.random.Generator, grid: Grid, kind: str, centre: np.ndarray, angle: float
) -> dict:
    use, lr, dr, fr, units, per_floor, years = KINDS[kind]
    length = float(rng.uniform(*lr))
    depth = float(rng.uniform(*dr))
    room_u = (SLOT_W - 2 * SLOT_MARGIN - length) / 2
    room_v = (SLOT_H - 2 * SLOT_MARGIN - depth) / 2
    du, dv = rng.uniform(-room_u, room_u), rng.uniform(-room_v, room_v)
    c, s = math.cos(angle), math.sin(angle)
    cx, cy = centre[0] + du * c - dv * s, centre[1] + du * s + dv * c
    floors = int(rng.integers(fr[0], fr[1] + 1))
    if kind == "low_slab":
        units = max(2, round(length / 16))
    elif kind == "mid_slab" and length >= 40:
        units = 3
    ground = 4.5 if use in ("commercial", "mixed", "public", "school", "office") else 3.0
    return {
        "kind": kind,
        "use": use,
        "poly": _footprint(cx, cy, length, depth, angle),
        "cx": cx,
        "cy": cy,
        "angle": angle,
        "length": length,
        "depth": depth,
        "floors": floors,
        "height": round(ground + 3.0 * (floors - 1) + float(rng.uniform(0.3, 1.5)), 1),
        "year": int(rng.integers(years[0], years[1] + 1)),
        "units": units,
        "per_floor": per_floor,
        "first_home_floor": 2 if kind == "mixed" else 1,
    }


def _heading(dx: float, dy: float) -> float:
    """Compass bearing (degrees clockwise from north) of the vector (dx, dy)."""
    deg = round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)
    return 0.0 if deg >= 360.0 else deg


def lay_out(grid: Grid, rng: np.random.Generator, next_id: int, public_label: str) -> Layout:
    """Lay out the buildings of ``grid``; building ids start at ``next_id``."""
    inner = grid.poly.buffer(-SETBACK_M)
    safe = grid.poly.buffer(-3.0)
    angle = math.radians(float(np.clip(rng.normal(0, 8), -20, 20)))
    slots = _slots(inner, angle, rng)
    road = road_name(rng)
    target = int(rng.integers(MIN_OCCUPIED + 20, MAX_OCCUPIED - 20 + 1))
    vacancy = float(rng.uniform(0.05, 0.15))
    needed = math.ceil(target / (1 - vacancy))

    free = np.ones(len(slots), dtype=bool)
    anchor = slots[int(rng.integers(len(slots)))] if len(slots) else np.zeros(2)
    order = np.argsort(np.hypot(*(slots - anchor).T), kind="stable")
    mix = _residential_mix(grid.radius_m)
    specs: list[dict] = []
    total = 0
    for slot in order:
        if total >= needed:
            break
        kind = RESIDENTIAL_KINDS[int(rng.choice(len(RESIDENTIAL_KINDS), p=mix))]
        spec = _make(rng, grid, kind, slots[slot], angle)
        per = spec["units"] * spec["per_floor"]
        homes = per * (spec["floors"] - spec["first_home_floor"] + 1)
        if total + homes > needed + 24:  # trim the last building to the homes still needed
            floors = spec["first_home_floor"] - 1 + math.ceil((needed - total) / per)
            spec["floors"] = max(floors, 3)
            spec["height"] = round(3.0 * spec["floors"] + 0.8, 1)
            homes = per * (spec["floors"] - spec["first_home_floor"] + 1)
        specs.append(spec)
        total += homes
        free[slot] = False
    if total < MIN_OCCUPIED:  # a cramped grid: raise every building to 33 floors
        for spec in specs:
            spec["floors"] = 33
            spec["height"] = round(3.0 * 33 + 0.8, 1)
        total = sum(
            s["units"] * s["per_floor"] * (s["floors"] - s["first_home_floor"] + 1) for s in specs
        )
    n_res = len(specs)

    # Other buildings in the remaining plots; shops on the plots nearest the road.
    frontage = shapely.distance(inner.exterior, shapely.points(slots)) if len(slots) else []
    others: list[str] = ["public"]
    if rng.random() < 0.35:
        others.append("school")
    if rng.random() < 0.12:
        others.append("mall")
    if grid.radius_m > 4000 and rng.random() < 0.2:
        others.append("industrial")
    others += ["office"] * int(rng.poisson(2.2 * math.exp(-grid.radius_m / 4000) + 0.3))
    others += ["other"] * int(rng.integers(0, 3))
    n_shops = int(rng.integers(3, 9))
    remaining = [int(i) for i in order if free[i]]
    by_frontage = sorted(remaining, key=lambda i: (frontage[i], i))
    for i in by_frontage[:n_shops]:
        specs.append(_make(rng, grid, "shop", slots[i], angle))
        free[i] = False
    remaining = [int(i) for i in order[::-1] if free[i]]
    for kind, slot in zip(others, remaining, strict=False):
        specs.append(_make(rng, grid, kind, slots[slot], angle))
        free[slot] = False

    # Compounds: one or two groups of the residential buildings, split across the lattice.
    n_comp = 2 if n_res >= 6 else 1
    res_u = np.array([s["cx"] * math.cos(angle) + s["cy"] * math.sin(angle) for s in specs[:n_res]])
    split = np.median(res_u) if n_comp == 2 else np.inf
    compounds: list[Compound] = []
    for k in range(n_comp):
        members = [i for i in range(n_res) if (res_u[i] > split) == (k == 1)]
        if not members:
            continue
        cxy = np.mean([[specs[i]["cx"], specs[i]["cy"]] for i in members], axis=0)
        edge = inner.exterior.interpolate(inner.exterior.project(shapely.Point(cxy)))
        dx, dy = edge.x - cxy[0], edge.y - cxy[1]
        norm = math.hypot(dx, dy) or 1.0
        gate = (edge.x - 4.0 * dx / norm, edge.y - 4.0 * dy / norm)
        compounds.append(
            Compound(len(compounds), compound_name(rng), gate, _heading(dx, dy), members)
        )

    buildings: list[Building] = []
    number = int(rng.integers(1, 60)) * 2 - 1
    for i, spec in enumerate(specs):
        comp = next((c for c in compounds if i in c.buildings), None)
        number += 2 * int(rng.integers(1, 4))
        addr = f"合肥市{grid.district}{road}{number}号"
        if comp is not None:
            nth = comp.buildings.index(i) + 1
            name = f"{comp.name}{nth}栋"
            addr += f"{comp.name}{nth}栋"
        else:
            name = _other_name(spec["kind"], road, number, public_label, rng)
        b = Building(id=next_id + i, grid=grid, name=name, address=addr, **spec)
        b.compound = comp.index if comp is not None else None
        b.label = public_label if spec["kind"] == "public" else ""
        buildings.append(b)
    return Layout(
        grid, inner, safe, angle, road, buildings, compounds, slots[free], target, vacancy
    )


def _other_name(kind: str, road: str, number: int, public_label: str, rng) -> str:
    if kind == "public":
        return public_label
    if kind == "office":
        return f"{road}{number}号写字楼"
    if kind == "mall":
        return f"{road}购物中心"
    if kind == "school":
        return f"{road}{('小学', '幼儿园', '中学')[int(rng.integers(3))]}"
    if kind == "industrial":
        return f"{road}{number}号厂房"
    if kind == "other":
        return f"{road}{number}号{('配电房', '车库', '泵房')[int(rng.integers(3))]}"
    return f"{road}{number}号商铺"
