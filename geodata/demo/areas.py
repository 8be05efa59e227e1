"""The governance hierarchy: city → 4 districts → street offices → communities → grids.

Grids are the kept cells of the street lattice (:mod:`geodata.demo.mesh`), about 0.08 km²
each. Districts are the four quadrants around a junction of two lattice lines near the centre;
street offices and communities are compact, balanced groups of cells cut along lattice lines
(recursive bisection), so every boundary runs along a street. Every higher area is the exact
union (coverage union) of its grids, so each level partitions its parent with identical shared
edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geodata.demo.frame import to_lonlat
from geodata.demo.mesh import Mesh, build_mesh
from geodata.demo.names import DISTRICTS, community_names, street_names
from geodata.demo.rand import stream
from geodata.errors import DemoError
from geodata.vocab import LEVEL_DEPTH, AreaLevel

CORE_RADIUS_M = 1_200.0
MIN_SCALE = 0.15
# quadrant (north, east) → index into DISTRICTS
_QUADRANT = {(True, True): 0, (True, False): 1, (False, False): 2, (False, True): 3}


@dataclass
class Area:
    """One governance area row (geometry in lon/lat)."""

    id: int
    level: AreaLevel
    depth: int
    code: str
    name: str
    name_en: str
    parent_id: int | None
    geom: BaseGeometry


@dataclass(frozen=True)
class Side:
    """The road along one side of a grid: its kind and name."""

    kind: str
    name: str


@dataclass
class Grid:
    """A grid (网格) with its ancestors' names and its metric polygon for the layout."""

    area: Area
    poly: Polygon
    index: int
    cell: tuple[int, int]
    district_code: str
    district: str
    street: str
    community: str
    community_id: int
    street_id: int
    corners: np.ndarray  # (4, 2): the cell's corners, sides S, E, N, W start at them
    bulge: np.ndarray  # (4,): how far each bent side bows inside the corner-to-corner chord
    radius_m: float
    centrality_m: float  # distance to the nearest centre (main junction or district centre)
    sides: tuple[Side, ...] = ()


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
    mesh: Mesh
    labels: dict[tuple[int, int], tuple[int, int, int]]  # cell → (district, street, community)
    junction: tuple[int, int]  # (row line, column line) of the district axes
    seed: int

    @property
    def grids(self) -> list[Grid]:
        return [g for s in self.streets for g in s.grids]


def _junction(cells: np.ndarray, shape: tuple[int, int], centres: np.ndarray) -> tuple[int, int]:
    """The lattice vertex (row, column line) near the centre whose quadrants are most even."""
    best, key = (0, 0), None
    rows, cols = shape
    for j0 in range(max(1, rows // 2 - 4), min(rows, rows // 2 + 5)):
        for i0 in range(max(1, cols // 2 - 4), min(cols, cols // 2 + 5)):
            north, east = cells[:, 0] >= j0, cells[:, 1] >= i0
            counts = [np.sum((north == n) & (east == e)) for n, e in _QUADRANT]
            vert = (centres[j0 - 1, i0 - 1] + centres[min(j0, rows - 1), min(i0, cols - 1)]) / 2
            k = (-min(counts), round(float(np.hypot(*vert)) / 50.0), j0, i0)
            if key is None or k < key:
                best, key = (j0, i0), k
    return best


def _bisect(idx: np.ndarray, cells: np.ndarray, k: int) -> list[np.ndarray]:
    """Split cell indices into ``k`` compact groups of near-equal size, cutting along lattice
    lines (the longer extent first)."""
    if k <= 1 or len(idx) <= 1:
        return [idx]
    k1 = k // 2
    rc = cells[idx]
    spans = rc.max(axis=0) - rc.min(axis=0)
    axes = (1, 0) if spans[1] >= spans[0] else (0, 1)
    target = len(idx) * k1 / k
    for axis in axes:
        order = np.lexsort((rc[:, 1 - axis], rc[:, axis]))
        vals = rc[order, axis]
        cuts = np.flatnonzero(np.diff(vals)) + 1  # positions between distinct lines
        if len(cuts):
            n1 = int(cuts[np.argmin(np.abs(cuts - target))])
            break
    else:  # a single cell line: cut across it
        order = np.lexsort((rc[:, 0], rc[:, 1]))
        n1 = max(1, min(len(idx) - 1, round(target)))
    return _bisect(idx[order[:n1]], cells, k1) + _bisect(idx[order[n1:]], cells, k - k1)


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


def _bulge(mesh: Mesh, j: int, i: int) -> np.ndarray:
    """How far (m, ≥ 0) each side's points lie inside the chord between its corners."""
    out = np.zeros(4)
    for k, pts in enumerate(mesh.sides(j, i)):
        e = pts[-1] - pts[0]
        n = np.array([-e[1], e[0]]) / np.hypot(*e)
        out[k] = max(0.0, float(np.max((pts - pts[0]) @ n)))
    return out


def _districts(cells: np.ndarray, junction: tuple[int, int]) -> np.ndarray:
    north, east = cells[:, 0] >= junction[0], cells[:, 1] >= junction[1]
    return np.array([_QUADRANT[(bool(n), bool(e))] for n, e in zip(north, east, strict=True)])


def build_city(scale: float, seed: int) -> City:
    """Lay out the governance hierarchy for ``scale`` and ``seed``."""
    if not scale >= MIN_SCALE:
        raise DemoError(f"scale must be at least {MIN_SCALE} (got {scale})")
    rng = stream(seed, "areas")
    mesh = build_mesh(rng, CORE_RADIUS_M * math.sqrt(scale))
    cells = np.argwhere(mesh.keep)  # (n, 2) rows of (j, i), row-major
    if len(cells) < 6:
        raise DemoError(f"scale {scale} is too small for a city of four districts")
    centres = mesh.centres()
    junction = _junction(cells, mesh.shape, centres)
    district = _districts(cells, junction)
    if len(np.unique(district)) < len(DISTRICTS):
        raise DemoError(f"scale {scale} is too small for a city of four districts")
    xy = centres[cells[:, 0], cells[:, 1]]
    polys = np.array([Polygon(mesh.ring(j, i)) for j, i in cells.tolist()], dtype=object)
    cells_ll = to_lonlat(polys)
    district_centres = [xy[district == k].mean(axis=0) for k in range(len(DISTRICTS))]
    hubs = np.array([mesh.v[junction], *district_centres])

    areas: list[Area] = []
    streets: list[Street] = []
    labels: dict[tuple[int, int], tuple[int, int, int]] = {}

    def add(level: AreaLevel, code: str, name: str, en: str, parent, members) -> Area:
        depth = LEVEL_DEPTH[level]
        area = Area(len(areas) + 1, level, depth, code, name, en, parent, _union(cells_ll, members))
        areas.append(area)
        return area

    city = add(AreaLevel.city, "340100", "合肥市", "Hefei", None, np.arange(len(cells)))
    dist_areas, street_groups = [], []
    for k, (dcode, dname, den, _) in enumerate(DISTRICTS):
        members = np.flatnonzero(district == k)
        dist_areas.append(add(AreaLevel.district, dcode, dname, den, city.id, members))
        groups = _bisect(members, cells, _n_streets(len(members)))
        groups.sort(key=lambda g: float(np.hypot(*xy[g].mean(axis=0))))
        street_groups.append(groups)
    street_list = []
    for k, (dcode, _, _, _) in enumerate(DISTRICTS):
        names = street_names(dcode, stream(seed, "street-names", k))
        for i, members in enumerate(street_groups[k], start=1):
            zh, en = next(names)
            area = add(AreaLevel.street, f"{dcode}{i:03d}", zh, en, dist_areas[k].id, members)
            street_list.append((k, area, members))
    comm_names = community_names(stream(seed, "community-names"))
    comm_list = []
    for s_index, (_k, street, members) in enumerate(street_list):
        groups = _bisect(members, cells, _n_communities(len(members)))
        for j, cm in enumerate(groups, start=1):
            zh, en = next(comm_names)
            area = add(AreaLevel.community, f"{street.code}{j:03d}", zh, en, street.id, cm)
            comm_list.append((s_index, area, cm))
        streets.append(Street(street, s_index))
    for c_index, (s_index, comm, members) in enumerate(comm_list):
        k, street, _ = street_list[s_index]
        order = sorted(members.tolist(), key=lambda m: (-round(xy[m, 1]), round(xy[m, 0])))
        for n, m in enumerate(order, start=1):
            name, en = f"{comm.name}第{n}网格", f"{comm.name_en} Grid {n}"
            area = add(AreaLevel.grid, f"{comm.code}{n:03d}", name, en, comm.id, np.array([m]))
            j, i = (int(c) for c in cells[m])
            labels[(j, i)] = (k, s_index, c_index)
            grid = Grid(
                area=area,
                poly=polys[m],
                index=j * mesh.shape[1] + i,
                cell=(j, i),
                district_code=DISTRICTS[k][0],
                district=DISTRICTS[k][1],
                street=street.name,
                community=comm.name,
                community_id=comm.id,
                street_id=street.id,
                corners=mesh.corners(j, i),
                bulge=_bulge(mesh, j, i),
                radius_m=float(np.hypot(*xy[m])),
                centrality_m=float(np.min(np.hypot(*(hubs - xy[m]).T))),
            )
            streets[s_index].grids.append(grid)
    return City(areas, streets, mesh, labels, junction, seed)
