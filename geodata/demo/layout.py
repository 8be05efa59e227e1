"""Building layout of one grid, the way Chinese urban blocks are built.

The grid's sides are roads (see :mod:`geodata.demo.roads`); buildings stand behind each road's
red line plus a setback. Shops (or office towers near the centres) line the main streets; the
rest of the block is split by a service road into halves, each holding a residential compound
(小区) of parallel rows of slab blocks or point towers spaced for sunlight, and after the
compound's homes are placed, rows of schools, offices, public or other buildings. Residential
rows are added until the grid holds enough homes for its target of occupied households (300–500,
see :mod:`geodata.demo.homes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import LineString, Polygon

from geodata.demo.areas import Grid
from geodata.demo.convex import Region, rectangle
from geodata.demo.kinds import HOMES_PER_M2, KINDS, RESIDENTIAL, height, residential_mix, row_gap
from geodata.demo.kinds import units as unit_count
from geodata.demo.names import compound_name
from geodata.demo.roads import HALF_ROW_M, KIND_RANK, SETBACK_M

MIN_OCCUPIED, MAX_OCCUPIED = 300, 500
SPINE_M = 12.0  # width kept free for the service road through the block
BACK_LANE_M = 8.0  # between the street frontage and the block's interior
_FRONTAGE_P = {
    "trunk": 0.9,
    "primary": 0.9,
    "secondary": 0.75,
    "tertiary": 0.45,
    "residential": 0.05,
}


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
    inner: Polygon  # where buildings may stand
    safe: Polygon  # off the carriageways: inside the kerbs
    angle: float
    road: str
    buildings: list[Building]
    compounds: list[Compound]
    free: np.ndarray  # centres of open spaces (squares, sports fields)
    target_occupied: int
    vacancy: float
    services: list[LineString] = field(default_factory=list)  # roads inside the grid


@dataclass
class _Spec:
    """A building before it gets its id and name."""

    kind: str
    centre: np.ndarray
    axis: np.ndarray  # unit vector along the length
    length: float
    depth: float
    floors: int
    height: float
    year: int
    road: str
    units: int = 0
    per_floor: int = 0
    half: int | None = None

    @property
    def homes(self) -> int:
        return self.units * self.per_floor * self.floors


@dataclass
class _Frame:
    """The grid's local frame: ``u`` along its south side, ``v`` towards the north."""

    origin: np.ndarray
    e: np.ndarray
    n: np.ndarray

    def at(self, u: float, v: float) -> np.ndarray:
        return self.origin + u * self.e + v * self.n

    def uv(self, pts: np.ndarray) -> np.ndarray:
        d = pts - self.origin
        return np.column_stack([d @ self.e, d @ self.n])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / math.hypot(*v)


def _bearing(d: np.ndarray) -> float:
    deg = round(math.degrees(math.atan2(d[0], d[1])) % 360.0, 1)
    return 0.0 if deg >= 360.0 else deg


def _floors(rng: np.random.Generator, kind: str) -> int:
    lo, hi = KINDS[kind].floors
    return int(rng.integers(lo, hi + 1))


def _spec(rng: np.random.Generator, kind: str, centre, axis, length, depth, floors, road) -> _Spec:
    k = KINDS[kind]
    n_units = unit_count(kind, length) if k.per_floor else 0
    return _Spec(
        kind, np.asarray(centre), axis, float(length), float(depth), floors,
        height(kind, floors, rng), int(rng.integers(k.years[0], k.years[1] + 1)), road,
        n_units, k.per_floor,
    )  # fmt: skip


def _pack(
    rng: np.random.Generator, lo: float, hi: float, kind: str, from_hi: bool
) -> list[tuple[float, float]]:
    """(centre, length) of buildings filling [lo, hi] evenly, aligned at ``hi`` if
    ``from_hi`` (a short row leaves its spare room at the other end)."""
    k = KINDS[kind]
    room = hi - lo
    gap = float(rng.uniform(*k.col_gap))
    n_max = int((room + gap) // (k.length[0] + gap))
    if n_max < 1:
        return []
    want = float(rng.uniform(*k.length))
    n = max(1, min(n_max, round((room + gap) / (want + gap))))
    length = min(k.length[1], (room - (n - 1) * gap) / n)
    if kind == "tower":
        length = min(length, want)
    out = []
    for m in range(n):
        c = m * (length + gap) + length / 2
        out.append((hi - c if from_hi else lo + c, length))
    return out


class _Block:
    """Places the rows of one half of the block's interior."""

    def __init__(self, core: Region, frame: _Frame, u_lo: float, u_hi: float, from_hi: bool):
        self.core, self.frame = core, frame
        self.u_lo, self.u_hi, self.from_hi = u_lo, u_hi, from_hi

    def span(self, v0: float, v1: float) -> tuple[float, float] | None:
        """The u-interval where a row between v0 and v1 fits entirely."""
        f = self.frame
        a = self.core.chord(f.at(0.0, v0), f.e)
        b = self.core.chord(f.at(0.0, v1), f.e)
        if a is None or b is None:
            return None
        lo, hi = max(a[0], b[0], self.u_lo), min(a[1], b[1], self.u_hi)
        return (lo, hi) if hi > lo else None

    def row(
        self, rng: np.random.Generator, kind: str, v0: float, depth: float
    ) -> list[tuple[np.ndarray, float]] | None:
        """Centres and lengths of a row of ``kind`` occupying [v0, v0 + depth]."""
        span = self.span(v0, v0 + depth)
        if span is None or span[1] - span[0] < KINDS[kind].length[0]:
            return None
        vm = v0 + depth / 2
        return [(self.frame.at(u, vm), length)
                for u, length in _pack(rng, span[0], span[1], kind, self.from_hi)]  # fmt: skip


def _frontage(rng: np.random.Generator, grid: Grid) -> list[tuple[int, str, float]]:
    """(side, building kind, band depth) of the sides lined with shops or office towers."""
    order = sorted(range(4), key=lambda k: (-KIND_RANK[grid.sides[k].kind], k))
    out: list[tuple[int, str, float]] = []
    for k in order:
        kind = grid.sides[k].kind
        if out and rng.random() >= _FRONTAGE_P[kind]:
            continue
        central = kind in ("trunk", "primary") and grid.centrality_m < 1800
        if central and rng.random() < 0.55:
            out.append((k, "office", float(rng.uniform(22, 26))))
        else:
            out.append((k, "shop", float(rng.uniform(14, 17))))
    return out


def _non_residential(rng: np.random.Generator, grid: Grid) -> str:
    """The kind of one row of the block that is not housing."""
    c = math.exp(-grid.centrality_m / 1500.0)
    far = 0.2 if grid.radius_m > 2500 else 0.0
    kinds = ("office", "school", "mall", "other", "industrial", "open")
    w = np.array([0.05 + 0.5 * c, 0.25, 0.1 * c, 0.14, far, 0.12])
    return kinds[int(rng.choice(len(kinds), p=w / w.sum()))]


class _Planner:
    """Lays out one grid: the frontage bands, then each half of the interior."""

    def __init__(self, grid: Grid, rng: np.random.Generator, public_label: str):
        self.grid, self.rng, self.public_label = grid, rng, public_label
        self.corners = grid.corners
        base = Region.of_polygon(self.corners).inset(grid.bulge)
        half = np.array([HALF_ROW_M[s.kind] for s in grid.sides])
        line = half + np.array([SETBACK_M[s.kind] for s in grid.sides])
        self.base, self.line = base, line
        self.kerb = base.inset(half - 1.5)
        self.inner = base.inset(line)
        e = _unit(self.corners[1] - self.corners[0])
        self.frame = _Frame(np.asarray(grid.poly.centroid.coords[0]), e, np.array([-e[1], e[0]]))
        self.specs: list[_Spec] = []
        self.free: list[np.ndarray] = []

    # --- the street frontage ---------------------------------------------------------------

    def frontage(self, bands: list[tuple[int, str, float]], spine: tuple[float, float] | None):
        """Shops or office towers along the sides in ``bands``; the first is the public one."""
        done: list[tuple[int, float]] = []
        for nb, (k, kind, depth) in enumerate(bands):
            p0, p1 = self.corners[k], self.corners[(k + 1) % 4]
            e = _unit(p1 - p0)
            n = self.base.normals[k]
            s0 = self.line[k]
            a = self.inner.chord(p0 + (s0 + 0.01) * n, e)
            b = self.inner.chord(p0 + (s0 + depth) * n, e)
            if a is None or b is None:
                continue
            t, hi = max(a[0], b[0]), min(a[1], b[1])
            public = nb == 0
            road = self.grid.sides[k].name
            while True:
                bk = "public" if public else kind
                spec = KINDS[bk]
                length = float(self.rng.uniform(*spec.length))
                if t + length > hi:
                    length = hi - t
                    if length < spec.length[0]:
                        break
                centre = p0 + (t + length / 2) * e + (s0 + depth / 2) * n
                rect = rectangle(centre, e, length, depth)
                if self._blocked(rect, done, spine):
                    t += 3.0
                    continue
                self.specs.append(
                    _spec(self.rng, bk, centre, e, length, depth, _floors(self.rng, bk), road)
                )
                public = False
                t += length + float(self.rng.uniform(*spec.col_gap))
            done.append((k, s0 + depth + 2.0))

    def _blocked(self, rect, done, spine) -> bool:
        """Whether a frontage rectangle leaves the building area, meets an earlier band's
        buildings or the service road."""
        if not self.inner.contains(rect):
            return True
        for k, s in done:
            if np.any(rect @ self.base.normals[k] < self.base.offsets[k] + s):
                return True
        if spine is not None:
            u = self.frame.uv(rect)[:, 0]
            if u.max() > spine[0] and u.min() < spine[1]:
                return True
        return False

    # --- the interior ----------------------------------------------------------------------

    def interior(
        self, core: Region, needed: int, south_first: bool, road: str
    ) -> tuple[int, list[int], float]:
        """Compounds and other rows in the core; returns homes placed, the halves holding
        compounds, and the spine's u (centre line of the service road)."""
        f = self.frame
        ua, ub = core.chord(f.origin, f.e) or (0.0, 0.0)
        uv = f.uv(core.corners(self.corners))
        v_lo, v_hi = float(uv[:, 1].min()), float(uv[:, 1].max())
        rng = self.rng
        self.spine = ub - ua >= 150
        if self.spine:
            us = (ua + ub) / 2 + float(rng.uniform(-15, 15))
            halves = [_Block(core, f, -np.inf, us - SPINE_M / 2, True),
                      _Block(core, f, us + SPINE_M / 2, np.inf, False)]  # fmt: skip
        else:
            us = (ua + ub) / 2
            halves = [_Block(core, f, -np.inf, np.inf, False)]
        mix = residential_mix(self.grid.radius_m)
        res_kinds = [RESIDENTIAL[int(rng.choice(len(RESIDENTIAL), p=mix))] for _ in halves]
        area = Polygon(f.uv(core.corners(self.corners))).area / len(halves)
        caps = [HOMES_PER_M2[k] * area for k in res_kinds]
        order = list(rng.permutation(len(halves)))
        quotas = [needed] * len(halves)
        if len(halves) == 2 and not (caps[order[0]] >= 1.15 * needed and rng.random() < 0.55):
            share = caps[order[0]] / sum(caps)
            quotas[order[0]] = math.ceil(needed * share)
        total, with_homes = 0, []
        for h in order:
            quota = quotas[h] if h == order[0] else needed - total
            got = self._fill(halves[h], res_kinds[h], quota, v_lo, v_hi, south_first, road, h)
            total += got
            if got:
                with_homes.append(int(h))
        return total, with_homes, us

    def _fill(self, blk: _Block, res: str, quota: int, v_lo, v_hi, up: bool, road, h) -> int:
        """Rows of ``res`` until ``quota`` homes, then other rows, across the half."""
        rng = self.rng
        v = v_lo if up else v_hi
        homes = 0
        kind = res if quota > 0 else _non_residential(rng, self.grid)
        while (v < v_hi) if up else (v > v_lo):
            depth_kind = "school" if kind == "open" else kind
            depth = float(rng.uniform(*KINDS[depth_kind].depth))
            v0 = v if up else v - depth
            if kind == "open":
                span = blk.span(v0, v0 + 40)
                if span and span[1] - span[0] > 50:
                    self.free.append(self.frame.at((span[0] + span[1]) / 2, v0 + 20))
                v += (1 if up else -1) * 50.0
                kind = _non_residential(rng, self.grid)
                continue
            row = blk.row(rng, kind, v0, depth)
            if not row:
                v += (1 if up else -1) * 4.0
                continue
            floors = _floors(rng, kind)
            tallest = 0.0
            for centre, length in row:
                if kind == res and homes >= quota:
                    break
                s = _spec(rng, kind, centre, self.frame.e, length, depth, floors, road)
                s.half = h if kind == res else None
                self.specs.append(s)
                homes += s.homes
                tallest = max(tallest, s.height)
            gap = row_gap(kind, tallest)
            if kind == "school":  # the sports ground behind the teaching blocks
                middle = np.mean([c for c, _ in row], axis=0)
                self.free.append(middle + (depth / 2 + 35.0) * (1 if up else -1) * self.frame.n)
                gap = max(gap, 70.0)
            v += (1 if up else -1) * (depth + gap)
            if kind != res or homes >= quota:
                kind = _non_residential(rng, self.grid)
        return homes


def _core(planner: _Planner, bands: list[tuple[int, str, float]]) -> Region:
    """The block's interior: the building area less the frontage bands and back lanes."""
    extra = np.zeros(4)
    for k, _, depth in bands:
        extra[k] = depth + BACK_LANE_M
    return planner.inner.inset(extra)


def _ensure_public(specs: list[_Spec], rng: np.random.Generator) -> None:
    """Every grid has its one public building (the community's service point)."""
    if any(s.kind == "public" for s in specs):
        return
    for kinds in (("shop", "office", "other", "mall"), ("school",)):  # a school as last resort
        for s in specs:
            if s.kind in kinds:
                s.kind, s.floors = "public", min(max(s.floors, 2), 5)
                s.height = height("public", s.floors, rng)
                return


def _raise_if_short(specs: list[_Spec], needed: int, rng: np.random.Generator) -> None:
    """A cramped grid: raise its residential buildings until the homes suffice."""
    res = [s for s in specs if s.per_floor]
    while sum(s.homes for s in res) < min(needed, MIN_OCCUPIED + 10) and res:
        low = [s for s in res if s.floors < 33]
        if not low:
            return
        for s in low:
            s.floors += 1
            s.height = height(s.kind, s.floors, rng)


def _compounds(
    p: _Planner, halves: list[int], us: float, core: Region, south_first: bool
) -> list[Compound]:
    f = p.frame
    va, vb = core.chord(f.at(us, 0.0), f.n) or (0.0, 0.0)
    v = va - 3.0 if south_first else vb + 3.0  # in the back lane, on the service road
    heading = _bearing(-f.n if south_first else f.n)
    out: list[Compound] = []
    for h in halves:
        members = [i for i, s in enumerate(p.specs) if s.half == h]
        gate = f.at(us + (-3.0 if h == 0 else 3.0), v)
        out.append(
            Compound(len(out), compound_name(p.rng), (float(gate[0]), float(gate[1])), heading,
                     members)
        )  # fmt: skip
    return out


def _service_road(p: _Planner, us: float) -> LineString | None:
    f = p.frame
    span = p.kerb.chord(f.at(us, 0.0), f.n)
    if span is None:
        return None
    return LineString([f.at(us, span[0] + 0.5), f.at(us, span[1] - 0.5)])


def lay_out(grid: Grid, rng: np.random.Generator, next_id: int, public_label: str) -> Layout:
    """Lay out the buildings of ``grid``; building ids start at ``next_id``."""
    p = _Planner(grid, rng, public_label)
    target = int(rng.integers(MIN_OCCUPIED + 20, MAX_OCCUPIED - 20 + 1))
    vacancy = float(rng.uniform(0.05, 0.15))
    needed = math.ceil(target / (1 - vacancy))
    bands = _frontage(rng, grid)
    core = _core(p, bands)
    south_first = bool(rng.random() < 0.6)
    road = grid.sides[0 if south_first else 2].name
    _, halves, us = p.interior(core, needed, south_first, road)
    spine = (us - SPINE_M / 2, us + SPINE_M / 2) if p.spine else None
    p.frontage(bands, spine)
    _ensure_public(p.specs, rng)
    _raise_if_short(p.specs, needed, rng)
    compounds = _compounds(p, halves, us, core, south_first)
    services = [r for r in [_service_road(p, us)] if r is not None] if p.spine else []
    buildings = _buildings(p, compounds, next_id, public_label)
    return Layout(
        grid=grid,
        inner=p.inner.polygon(p.corners),
        safe=p.kerb.polygon(p.corners),
        angle=math.atan2(p.frame.e[1], p.frame.e[0]),
        road=road,
        buildings=buildings,
        compounds=compounds,
        free=np.array(p.free).reshape(-1, 2),
        target_occupied=target,
        vacancy=vacancy,
        services=services,
    )


def _buildings(p: _Planner, compounds: list[Compound], next_id: int, label: str) -> list[Building]:
    rng, grid = p.rng, p.grid
    numbers: dict[str, int] = {}
    member = {i: c for c in compounds for i in c.buildings}
    out = []
    for i, s in enumerate(p.specs):
        number = numbers.get(s.road, int(rng.integers(1, 60)) * 2 - 1) + 2 * int(rng.integers(1, 4))
        numbers[s.road] = number
        addr = f"合肥市{grid.district}{s.road}{number}号"
        comp = member.get(i)
        if comp is not None:
            nth = comp.buildings.index(i) + 1
            name = f"{comp.name}{nth}栋"
            addr += name
        else:
            name = _other_name(s.kind, s.road, number, label, rng)
        angle = math.atan2(s.axis[1], s.axis[0])
        b = Building(
            id=next_id + i, grid=grid, kind=s.kind, use=KINDS[s.kind].use,
            poly=Polygon(rectangle(s.centre, s.axis, s.length, s.depth)),
            cx=float(s.centre[0]), cy=float(s.centre[1]), angle=angle, length=s.length,
            depth=s.depth, floors=s.floors, height=s.height, year=s.year, name=name,
            address=addr, units=s.units, per_floor=s.per_floor,
        )  # fmt: skip
        b.compound = comp.index if comp is not None else None
        b.label = label if s.kind == "public" else ""
        out.append(b)
    return out


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
