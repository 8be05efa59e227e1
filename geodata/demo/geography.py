"""Hefei's real geography for the demo city.

The nine districts and counties with their official codes, names and outlines, and their 138
street offices, towns and zones (街道/乡镇) with official codes and names, are read from the
committed reference files in ``reference/`` (sources, licences and the script that regenerates
them: ``reference/NOTICE.md``, :mod:`geodata.demo.hefei_source`).

No licence-clean source publishes street office *outlines*, and we do not know where each one
lies. So their placement is modelled: inside the detailed core the street offices are groups of
lattice cells named after central street offices of their district (a plausible choice, not
their true location); outside the core each district's remainder is divided among its other
street offices and towns by a Voronoi partition of seed points (deterministic by seed; urban
street offices seeded nearer the centre, towns spread out), clipped to the remainder.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

REFERENCE = Path(__file__).with_name("reference")
URBAN_KINDS = ("subdistrict", "zone")
KIND_ORDER = {"subdistrict": 0, "zone": 1, "town": 2, "township": 3}
URBAN_FALLOFF_KM = 8.0
"""Urban street offices' seeds are drawn with weight exp(-distance / this) from the core."""

# Street offices of the four urban districts near the city centre, most central first (from
# general knowledge; only the order of naming the core's street offices depends on it).
CENTRAL_STREETS: dict[str, tuple[str, ...]] = {
    "340102": ("明光路街道", "胜利路街道", "三里街街道", "铜陵路街道", "七里站街道", "红光街道",
               "城东街道", "方庙街道", "和平路街道", "长淮街道"),
    "340103": ("双岗街道", "三孝口街道", "杏花村街道", "亳州路街道", "逍遥津街道", "林店街道",
               "海棠街道", "杏林街道", "四里河街道"),
    "340104": ("三里庵街道", "稻香村街道", "琥珀街道", "西园街道", "南七街道", "五里墩街道",
               "笔架山街道", "荷叶地街道"),
    "340111": ("包公街道", "芜湖路街道", "望湖街道", "常青街道", "骆岗街道", "义城街道",
               "烟墩街道"),
}  # fmt: skip

_GEOD = Geod(ellps="WGS84")
MAX_EDGE_DEG = 0.004
"""Outline edges are cut to at most this long (about 400 m) when read: an edge straight in
degrees bends in a metric projection, so a vertex only one side of a border has (where the
core's outline crosses it) would otherwise open slivers of square metres there."""


@dataclass(frozen=True)
class District:
    """A district or county (区/县/县级市) with its real outline (lon/lat)."""

    code: str
    name: str
    name_en: str
    geom: MultiPolygon


@dataclass(frozen=True)
class Unit:
    """A street office, town, township or zone (街道/镇/乡/开发区) with its official code."""

    code: str
    district: str
    name: str
    name_en: str
    kind: str


def _densify_ring(coords: np.ndarray) -> np.ndarray:
    """``coords`` (closed ring) with points added on long edges, the same points whichever way
    an edge runs (so a border two outlines share stays shared)."""
    out = [coords[:1]]
    for p, q in itertools.pairwise(coords):
        n = int(np.ceil(np.hypot(*(q - p)) / MAX_EDGE_DEG))
        if n > 1:
            a, b = (p, q) if tuple(p) <= tuple(q) else (q, p)
            t = np.arange(1, n)[:, None] / n
            mid = a + t * (b - a)
            out.append(mid if a is p else mid[::-1])
        out.append(q[None, :])
    return np.concatenate(out)


def _densify(geom: MultiPolygon) -> MultiPolygon:
    polys = [
        Polygon(
            _densify_ring(np.asarray(p.exterior.coords)),
            [_densify_ring(np.asarray(r.coords)) for r in p.interiors],
        )
        for p in geom.geoms
    ]
    return MultiPolygon(polys)


def _multi(geom: BaseGeometry) -> MultiPolygon:
    polys = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and g.area > 0]
    return shapely.set_srid(MultiPolygon(polys), 4326)


@lru_cache(maxsize=1)
def _outlines() -> tuple[tuple[dict[str, str], MultiPolygon], ...]:
    """The properties and outline (as committed) of each district."""
    doc = json.loads((REFERENCE / "districts.geojson").read_text(encoding="utf-8"))
    return tuple((f["properties"], _multi(shape(f["geometry"]))) for f in doc["features"])


@lru_cache(maxsize=1)
def districts() -> tuple[District, ...]:
    """The nine districts and counties of Hefei, by code (outlines densified)."""
    out = [
        District(p["adcode"], p["name"], p["name_en"], _multi(_densify(g))) for p, g in _outlines()
    ]
    return tuple(sorted(out, key=lambda d: d.code))


@lru_cache(maxsize=1)
def units() -> tuple[Unit, ...]:
    """Hefei's street offices, towns, townships and zones, by code."""
    with (REFERENCE / "streets.csv").open(encoding="utf-8", newline="") as f:
        rows = [Unit(r["code"], r["district"], r["name"], r["name_en"], r["kind"])
                for r in csv.DictReader(f)]  # fmt: skip
    return tuple(sorted(rows, key=lambda u: u.code))


@lru_cache(maxsize=1)
def city_outline() -> MultiPolygon:
    """Hefei's outline: the coverage union of its districts (which keeps every vertex; an
    overlay union would drop the points densifying added)."""
    return _multi(shapely.coverage_union_all(np.array([d.geom for d in districts()])))


def core_order(district: str) -> list[Unit]:
    """A district's units in the order the core takes names: its central street offices
    first, then other street offices, zones, towns and townships (by code)."""
    pref = {n: i for i, n in enumerate(CENTRAL_STREETS.get(district, ()))}
    mine = [u for u in units() if u.district == district]
    return sorted(mine, key=lambda u: (pref.get(u.name, len(pref)), KIND_ORDER[u.kind], u.code))


def area_km2(geom: BaseGeometry) -> float:
    """Geodesic area of a lon/lat geometry in km²."""
    return abs(_GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def _km(dlon: np.ndarray, dlat: np.ndarray, lat: float) -> np.ndarray:
    return np.hypot(dlon * 111.32 * math.cos(math.radians(lat)), dlat * 110.57)


def _candidates(region: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """About ``n`` uniform random points (lon, lat) inside ``region``."""
    x0, y0, x1, y1 = region.bounds
    shapely.prepare(region)
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        pts = rng.uniform((x0, y0), (x1, y1), size=(4 * n, 2))
        pts = pts[shapely.contains_xy(region, pts[:, 0], pts[:, 1])]
        out.append(pts)
        got += len(pts)
    return np.concatenate(out)[:n]


def seed_points(
    region: BaseGeometry, kinds: Sequence[str], centre: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """One seed point per unit: urban ones drawn nearer ``centre``, all kept apart."""
    cand = _candidates(region, 80 * len(kinds) + 400, rng)
    lat = centre[1]
    dist = _km(cand[:, 0] - centre[0], cand[:, 1] - centre[1], lat)
    spacing = 0.45 * math.sqrt(area_km2(region) / len(kinds))
    near = np.exp(-dist / URBAN_FALLOFF_KM)
    seeds: list[np.ndarray] = []
    for kind in kinds:
        w = near.copy() if kind in URBAN_KINDS else np.ones(len(cand))
        gap = spacing
        while True:
            ok = np.ones(len(cand), dtype=bool)
            for s in seeds:
                ok &= _km(cand[:, 0] - s[0], cand[:, 1] - s[1], lat) > gap
            if (w * ok).sum() > 0:
                break
            gap *= 0.7
        p = w * ok
        seeds.append(cand[rng.choice(len(cand), p=p / p.sum())])
    return np.array(seeds)


def outer_partition(core: BaseGeometry, seeds: Sequence[np.ndarray]) -> list[list[MultiPolygon]]:
    """``pieces[k][i]``: the part of district ``k`` outside ``core`` nearest to its seed ``i``
    (a Voronoi partition clipped to the district).

    All borders (districts, the core's outline, every district's Voronoi edges) are noded
    together and polygonized once, so where a modelled border meets a district border the
    vertex is shared by the pieces on both sides: every level tiles exactly."""
    ds = districts()
    lines = [shapely.boundary(d.geom) for d in ds] + [shapely.boundary(core)]
    for d, pts in zip(ds, seeds, strict=True):
        if len(pts) > 1:
            x0, y0, x1, y1 = d.geom.bounds
            frame = (x0 - 0.01, y0 - 0.01, x1 + 0.01, y1 + 0.01)
            edges = shapely.voronoi_polygons(
                shapely.multipoints(pts), extend_to=shapely.box(*frame), only_edges=True
            )
            lines.append(shapely.clip_by_rect(edges, *frame))
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    reps = shapely.get_coordinates(shapely.point_on_surface(faces))
    x, y = reps[:, 0], reps[:, 1]
    shapely.prepare(core)
    outside = ~shapely.contains_xy(core, x, y)
    out: list[list[MultiPolygon]] = []
    for d, pts in zip(ds, seeds, strict=True):
        shapely.prepare(d.geom)
        idx = np.flatnonzero(shapely.contains_xy(d.geom, x, y) & outside)
        near = np.argmin((x[idx, None] - pts[:, 0]) ** 2 + (y[idx, None] - pts[:, 1]) ** 2, axis=1)
        pieces = [faces[idx[near == i]] for i in range(len(pts))]
        if any(len(p) == 0 for p in pieces):
            raise ValueError(f"{d.name}: a modelled street office got no area")
        out.append([_multi(shapely.coverage_union_all(p)) for p in pieces])
    return out
