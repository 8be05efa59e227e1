"""The governance hierarchy: city → 4 districts → street offices → communities → grids.

Grids are the cells of one Voronoi diagram of jittered hexagonal seeds (about 0.34 km² each),
kept where the seed lies inside a wobbly circle. Every higher area is the exact union
(coverage union) of its grids, so each level partitions its parent with identical shared
edges, and the city outline is the irregular edge of the kept cells. Districts are sectors
around a junction near the centre with wavy borders; streets and communities are compact,
balanced groups of grids made by recursive bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geodata.demo.frame import to_lonlat
from geodata.demo.names import DISTRICTS, community_names, street_names
from geodata.demo.rand import stream
from geodata.errors import DemoError

GRID_AREA_M2 = 340_000.0
CORE_RADIUS_M = 2_500.0
MIN_SCALE = 0.15


@dataclass
class Area:
    """One governance area row (geometry in lon/lat)."""

    id: int
    level: str
    depth: int
    code: str
    name: str
    name_en: str
    parent_id: int | None
    geom: BaseGeometry


@dataclass
class Grid:
    """A grid (网格) with its ancestors' names and its metric polygon for the layout."""

    area: Area
    poly: Polygon
    index: int
    district_code: str
    district: str
    street: str
    community: str
    community_id: int
    street_id: int
    radius_m: float


@dataclass
class Street:
    """A street office and its grids: the unit the city is generated and loaded in."""

    area: Area
    index: int
    grids: list[Grid] = field(default_factory=list)


@dataclass
class City:
    areas: list[Area]
    streets: list[Street]

    @property
    def grids(self) -> list[Grid]:
        return [g for s in self.streets for g in s.grids]


def _seeds(rng: np.random.Generator, radius: float) -> np.ndarray:
    """Jittered hexagonal lattice covering a disc of ``radius`` plus a margin."""
    d = math.sqrt(GRID_AREA_M2 / (math.sqrt(3) / 2))
    n = int((radius + 3 * d) / d) + 1
    j, i = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    x = i * d + (j % 2) * d / 2
    y = j * d * math.sqrt(3) / 2
    pts = np.column_stack([x.ravel(), y.ravel()])
    return pts + rng.uniform(-0.27, 0.27, size=pts.shape) * d


def _outline_radius(rng: np.random.Generator, radius: float, phi: np.ndarray) -> np.ndarray:
    a = rng.uniform(0, 2 * math.pi, 3)
    wobble = (
        0.07 * np.sin(2 * phi + a[0])
        + 0.05 * np.sin(3 * phi + a[1])
        + 0.03 * np.sin(5 * phi + a[2])
    )
    return radius * (1 + wobble)


def _district_of(rng: np.random.Generator, xy: np.ndarray) -> np.ndarray:
    """Sector index (0..3) of each point around a junction near the centre, wavy borders."""
    jx, jy = rng.uniform(-300, 300, 2)
    dx, dy = xy[:, 0] - jx, xy[:, 1] - jy
    rho = np.hypot(dx, dy)
    phase = rng.uniform(0, 2 * math.pi)
    phi = np.degrees(np.arctan2(dy, dx)) - 12.0 * np.sin(rho / 900.0 + phase)
    starts = np.array([d[3] for d in DISTRICTS])
    rel = (phi[:, None] - starts[None, :]) % 360.0
    return np.argmin(rel, axis=1)


def _bisect(idx: np.ndarray, xy: np.ndarray, k: int) -> list[np.ndarray]:
    """Split point indices into ``k`` compact groups of near-equal size."""
    if k <= 1 or len(idx) <= 1:
        return [idx]
    k1 = k // 2
    pts = xy[idx] - xy[idx].mean(axis=0)
    _, _, vt = np.linalg.svd(pts, full_matrices=False)
    order = np.argsort(pts @ vt[0], kind="stable")
    n1 = max(1, min(len(idx) - 1, round(len(idx) * k1 / k)))
    return _bisect(idx[order[:n1]], xy, k1) + _bisect(idx[order[n1:]], xy, k - k1)


def _n_streets(n: int) -> int:
    return max(1, min(round(0.7 * math.sqrt(n)), n // 4))


def _n_communities(n: int) -> int:
    return max(1, min(round(0.8 * math.sqrt(n)), n // 2))


def _multi(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    return shapely.set_srid(MultiPolygon([geom]), 4326)


def _union(cells_ll: np.ndarray, members: np.ndarray) -> MultiPolygon:
    return _multi(shapely.set_srid(shapely.coverage_union_all(cells_ll[members]), 4326))


def build_city(scale: float, seed: int) -> City:
    """Lay out the governance hierarchy for ``scale`` and ``seed``."""
    if not scale >= MIN_SCALE:
        raise DemoError(f"scale must be at least {MIN_SCALE} (got {scale})")
    rng = stream(seed, "areas")
    radius = CORE_RADIUS_M * math.sqrt(scale)
    seeds = _seeds(rng, radius)
    cells = np.asarray(
        shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), ordered=True))
    )
    phi = np.arctan2(seeds[:, 1], seeds[:, 0])
    keep = np.hypot(seeds[:, 0], seeds[:, 1]) < _outline_radius(rng, radius, phi)
    xy, cells = seeds[keep], cells[keep]
    if len(xy) < 6:
        raise DemoError(f"scale {scale} is too small for a city of four districts")
    district = _district_of(rng, xy)
    for k in range(len(DISTRICTS)):  # a tiny city may leave a sector empty: borrow a cell
        if not np.any(district == k):
            counts = np.bincount(district, minlength=len(DISTRICTS))
            donors = np.flatnonzero(counts[district] > 1)
            mid = math.radians(DISTRICTS[k][3] + 45)
            ang = np.abs(np.angle(np.exp(1j * (np.arctan2(xy[donors, 1], xy[donors, 0]) - mid))))
            district[donors[np.argmin(ang)]] = k
    cells_ll = to_lonlat(cells)

    areas: list[Area] = []
    streets: list[Street] = []

    def add(level: str, depth: int, code: str, name: str, en: str, parent, members) -> Area:
        area = Area(len(areas) + 1, level, depth, code, name, en, parent, _union(cells_ll, members))
        areas.append(area)
        return area

    everything = np.arange(len(xy))
    city = add("city", 0, "340100", "合肥市", "Hefei", None, everything)
    dist_areas, street_groups = [], []
    for k, (dcode, dname, den, _) in enumerate(DISTRICTS):
        members = np.flatnonzero(district == k)
        dist_areas.append(add("district", 1, dcode, dname, den, city.id, members))
        groups = _bisect(members, xy, _n_streets(len(members)))
        groups.sort(key=lambda g: float(np.hypot(*xy[g].mean(axis=0))))
        street_groups.append(groups)
    street_list = []
    for k, (dcode, _, _, _) in enumerate(DISTRICTS):
        names = street_names(dcode, stream(seed, "street-names", k))
        for i, members in enumerate(street_groups[k], start=1):
            zh, en = next(names)
            area = add("street", 2, f"{dcode}{i:03d}", zh, en, dist_areas[k].id, members)
            street_list.append((k, area, members))
    comm_names = community_names(stream(seed, "community-names"))
    comm_list = []
    for s_index, (_k, street, members) in enumerate(street_list):
        groups = _bisect(members, xy, _n_communities(len(members)))
        for j, cm in enumerate(groups, start=1):
            zh, en = next(comm_names)
            area = add("community", 3, f"{street.code}{j:03d}", zh, en, street.id, cm)
            comm_list.append((s_index, area, cm))
        streets.append(Street(street, s_index))
    for s_index, comm, members in comm_list:
        k, street, _ = street_list[s_index]
        order = sorted(members.tolist(), key=lambda m: (-round(xy[m, 1]), round(xy[m, 0])))
        for n, m in enumerate(order, start=1):
            name, en = f"{comm.name}第{n}网格", f"{comm.name_en} Grid {n}"
            area = add("grid", 4, f"{comm.code}{n:03d}", name, en, comm.id, np.array([m]))
            grid = Grid(
                area=area,
                poly=cells[m],
                index=int(m),
                district_code=DISTRICTS[k][0],
                district=DISTRICTS[k][1],
                street=street.name,
                community=comm.name,
                community_id=comm.id,
                street_id=street.id,
                radius_m=float(np.hypot(*xy[m])),
            )
            streets[s_index].grids.append(grid)
    return City(areas, streets)
