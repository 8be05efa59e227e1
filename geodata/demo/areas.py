"""The governance hierarchy: 合肥市 → its 9 real districts/counties → street offices →
communities → grids.

The districts have their real outlines and the street offices their real names and codes
(:mod:`geodata.demo.geography`). Modelled detail lives in the *core*: the kept cells of the
street lattice (:mod:`geodata.demo.mesh`) around the centre, about 0.08 km² each; ``scale``
grows it outward. Each core cell belongs to the real district containing its centre; a
district's core cells are grouped into street offices (named after central street offices of
the district, a modelled placement) and communities, compact balanced groups cut along
lattice lines (recursive bisection), and every cell is a grid. The rest of each district is
divided among its other street offices and towns (modelled polygons, see
:func:`geodata.demo.geography.outer_partition`); they have no communities or grids. A district is
the union of its street offices and the city the union of its districts, so each level
partitions its parent. Populations are modelled (:mod:`geodata.demo.population`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geodata.demo.frame import CENTER_LAT, CENTER_LON, to_lonlat, xy_to_lonlat
from geodata.demo.geography import (
    Unit,
    city_outline,
    core_order,
    districts,
    outer_partition,
    seed_points,
)
from geodata.demo.mesh import Mesh, build_mesh
from geodata.demo.names import community_names
from geodata.demo.population import assign_population
from geodata.demo.rand import stream
from geodata.errors import DemoError
from geodata.vocab import LEVEL_DEPTH, AreaLevel

CORE_RADIUS_M = 1_200.0
MIN_SCALE = 0.15
CITY = ("340100", "合肥市", "Hefei")
CENTRE_LONLAT = (CENTER_LON, CENTER_LAT)
_SLIVER_DEG2 = 1e-10  # about 1 m²
# quadrant (north, east) of the lattice around the main junction (names the main axis)
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
    population: int | None = None


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


@dataclass(frozen=True)
class _StreetPlan:
    """A street office before it becomes an area: its unit, its kind for the population model
    (``core`` or the unit's kind), its polygon and (core only) its cells."""

    unit: Unit
    kind: str
    geom: MultiPolygon
    members: np.ndarray | None


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


def _solid(geom: BaseGeometry) -> MultiPolygon:
    """``geom`` without the sub-square-metre holes left where pieces computed apart meet."""
    polys = [
        Polygon(p.exterior, [r for r in p.interiors if Polygon(r).area > _SLIVER_DEG2])
        for p in getattr(geom, "geoms", [geom])
    ]
    return _multi(shapely.union_all(polys))


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


def _core_districts(cells_ll: np.ndarray, xy: np.ndarray, scale: float) -> np.ndarray:
    """Index (into :func:`districts`) of the real district containing each core cell's centre."""
    lon, lat = xy_to_lonlat(xy[:, 0], xy[:, 1])
    out = np.full(len(xy), -1)
    for k, d in enumerate(districts()):
        inside = shapely.contains_xy(d.geom, lon, lat) & (out < 0)
        out[inside] = k
    core = shapely.coverage_union_all(cells_ll)
    if (out < 0).any() or shapely.area(shapely.difference(core, city_outline())) > 0:
        raise DemoError(f"scale {scale} is too large: the detailed core leaves Hefei's outline")
    return out


def _plan_core(
    k: int, members: np.ndarray, cells: np.ndarray, cells_ll: np.ndarray, xy: np.ndarray,
) -> list[_StreetPlan]:  # fmt: skip
    """The core street offices of district ``k``: groups of its core cells, named after its
    central street offices (the most central group first)."""
    order = core_order(districts()[k].code)
    n_core = 0 if len(members) == 0 else max(1, min(_n_streets(len(members)), len(order) - 1))
    groups = _bisect(members, cells, n_core) if n_core else []
    groups.sort(key=lambda g: float(np.hypot(*xy[g].mean(axis=0))))
    return [
        _StreetPlan(u, "core", _union(cells_ll, g), g) for u, g in zip(order, groups, strict=False)
    ]


def _outer_seeds(k: int, n_core: int, core: BaseGeometry, seed: int) -> np.ndarray:
    """Seed points of district ``k``'s street offices outside the core."""
    district = districts()[k]
    rest = shapely.difference(district.geom, core)
    if rest.is_empty:
        raise DemoError(f"the detailed core covers all of {district.name}: use a smaller scale")
    kinds = [u.kind for u in core_order(district.code)[n_core:]]
    return seed_points(rest, kinds, CENTRE_LONLAT, stream(seed, "outer-streets", k))


def _plan_districts(
    district: np.ndarray, cells: np.ndarray, cells_ll: np.ndarray, xy: np.ndarray,
    core: BaseGeometry, seed: int,
) -> list[list[_StreetPlan]]:  # fmt: skip
    """Every district's street offices: the core ones, then the modelled outer ones."""
    n = len(districts())
    plans = [_plan_core(k, np.flatnonzero(district == k), cells, cells_ll, xy) for k in range(n)]
    seeds = [_outer_seeds(k, len(plans[k]), core, seed) for k in range(n)]
    for k, pieces in enumerate(outer_partition(core, seeds)):
        outer = core_order(districts()[k].code)[len(plans[k]) :]
        plans[k] += [_StreetPlan(u, u.kind, g, None) for u, g in zip(outer, pieces, strict=True)]
    return plans


def build_city(scale: float, seed: int) -> City:
    """Lay out the governance hierarchy for ``scale`` and ``seed``."""
    if not scale >= MIN_SCALE:
        raise DemoError(f"scale must be at least {MIN_SCALE} (got {scale})")
    rng = stream(seed, "areas")
    mesh = build_mesh(rng, CORE_RADIUS_M * math.sqrt(scale))
    cells = np.argwhere(mesh.keep)  # (n, 2) rows of (j, i), row-major
    if len(cells) < 6:
        raise DemoError(f"scale {scale} is too small for a city core of several grids")
    centres = mesh.centres()
    junction = _junction(cells, mesh.shape, centres)
    xy = centres[cells[:, 0], cells[:, 1]]
    polys = np.array([Polygon(mesh.ring(j, i)) for j, i in cells.tolist()], dtype=object)
    cells_ll = to_lonlat(polys)
    district = _core_districts(cells_ll, xy, scale)
    core = shapely.coverage_union_all(cells_ll)
    ks = sorted(set(district.tolist()))
    hubs = np.array([mesh.v[junction], *(xy[district == k].mean(axis=0) for k in ks)])

    areas: list[Area] = []
    streets: list[Street] = []
    labels: dict[tuple[int, int], tuple[int, int, int]] = {}

    def add(level: AreaLevel, code: str, name: str, en: str, parent, geom) -> Area:
        depth = LEVEL_DEPTH[level]
        area = Area(len(areas) + 1, level, depth, code, name, en, parent, geom)
        areas.append(area)
        return area

    plans = _plan_districts(district, cells, cells_ll, xy, core, seed)
    dist_geoms = [_solid(shapely.union_all([p.geom for p in ps])) for ps in plans]
    # The city is Hefei's outline as the union of its districts (so it has every vertex they
    # have on its border, where modelled borders meet it).
    city_geom = _solid(shapely.union_all(dist_geoms))
    city = add(AreaLevel.city, CITY[0], CITY[1], CITY[2], None, city_geom)
    dist_areas = [
        add(AreaLevel.district, d.code, d.name, d.name_en, city.id, g)
        for d, g in zip(districts(), dist_geoms, strict=True)
    ]
    street_list = []
    # the core's street offices first (their ids come first), then the modelled outer ones
    for core_first in (True, False):
        for k, ps in enumerate(plans):
            for p in ps:
                if (p.members is not None) != core_first:
                    continue
                u = p.unit
                area = add(AreaLevel.street, u.code, u.name, u.name_en, dist_areas[k].id, p.geom)
                if p.members is not None:
                    street_list.append((k, area, p.members))
    comm_names = community_names(stream(seed, "community-names"))
    comm_list = []
    for s_index, (_k, street, members) in enumerate(street_list):
        groups = _bisect(members, cells, _n_communities(len(members)))
        for j, cm in enumerate(groups, start=1):
            zh, en = next(comm_names)
            area = add(AreaLevel.community, f"{street.code}{j:03d}", zh, en, street.id,
                       _union(cells_ll, cm))  # fmt: skip
            comm_list.append((s_index, area, cm))
        streets.append(Street(street, s_index))
    for c_index, (s_index, comm, members) in enumerate(comm_list):
        k, street, _ = street_list[s_index]
        order = sorted(members.tolist(), key=lambda m: (-round(xy[m, 1]), round(xy[m, 0])))
        for n, m in enumerate(order, start=1):
            name, en = f"{comm.name}第{n}网格", f"{comm.name_en} Grid {n}"
            area = add(AreaLevel.grid, f"{comm.code}{n:03d}", name, en, comm.id,
                       _union(cells_ll, np.array([m])))  # fmt: skip
            j, i = (int(c) for c in cells[m])
            labels[(j, i)] = (k, s_index, c_index)
            grid = Grid(
                area=area,
                poly=polys[m],
                index=j * mesh.shape[1] + i,
                cell=(j, i),
                district_code=districts()[k].code,
                district=districts()[k].name,
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
    assign_population(areas, {p.unit.code: p.kind for ps in plans for p in ps})
    return City(areas, streets, mesh, labels, junction, seed)
