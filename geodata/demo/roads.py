"""The street network: every lattice edge between or around grids is a road.

An edge's kind follows the highest boundary it separates: district → trunk (the east–west
axis) or primary, street office → secondary, community → tertiary, grid → residential; the
city's outer edge is tertiary. Each lattice line carries one name (real Hefei names for the
main lines, generated ones otherwise); consecutive edges of one kind along a line are merged
into segments of at most :data:`MAX_EDGES` edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geodata.demo.areas import City, Side
from geodata.demo.names import ROADS_EW, ROADS_NS, road_names
from geodata.demo.rand import stream

KIND_RANK = {"residential": 1, "tertiary": 2, "secondary": 3, "primary": 4, "trunk": 5}
HALF_ROW_M = {"trunk": 25.0, "primary": 21.0, "secondary": 15.0, "tertiary": 10.0,
              "residential": 7.0}  # fmt: skip
SETBACK_M = {"trunk": 10.0, "primary": 8.0, "secondary": 6.0, "tertiary": 4.0, "residential": 3.0}
LANES = {"trunk": 8, "primary": 6, "secondary": 4, "tertiary": 2, "residential": 2}
MAX_EDGES = 4
ONEWAY_SHARE = 0.12

Line = tuple[str, int]  # ("ew", row line) or ("ns", column line)


@dataclass
class RoadSegment:
    """One road row: a polyline in metres and its attributes."""

    coords: np.ndarray
    name: str
    kind: str
    oneway: bool
    lanes: int


@dataclass
class Network:
    segments: list[RoadSegment]
    sides: dict[tuple[int, int], tuple[Side, Side, Side, Side]]


def _edge_kind(a: tuple | None, b: tuple | None, ew: bool) -> str | None:
    """Kind of the road between cells labelled ``a`` and ``b`` (None: outside the city)."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        return "tertiary"
    if a[0] != b[0]:
        return "trunk" if ew else "primary"
    if a[1] != b[1]:
        return "secondary"
    return "tertiary" if a[2] != b[2] else "residential"


def _smooth(kinds: list[str | None]) -> list[str | None]:
    """Fill one-edge dips: a road does not drop a class for one block between two higher."""
    out = list(kinds)
    for n in range(1, len(kinds) - 1):
        a, b, c = kinds[n - 1], kinds[n], kinds[n + 1]
        if a and b and c:
            low = min(KIND_RANK[a], KIND_RANK[c])
            if KIND_RANK[b] < low:
                out[n] = a if KIND_RANK[a] == low else c
    return out


def _line_kinds(city: City) -> dict[Line, list[str | None]]:
    rows, cols = city.mesh.shape
    lab = city.labels.get
    lines: dict[Line, list[str | None]] = {}
    for j in range(rows + 1):
        lines[("ew", j)] = _smooth([_edge_kind(lab((j - 1, i)), lab((j, i)), True)
                                    for i in range(cols)])  # fmt: skip
    for i in range(cols + 1):
        lines[("ns", i)] = _smooth([_edge_kind(lab((j, i - 1)), lab((j, i)), False)
                                    for j in range(rows)])  # fmt: skip
    return {k: v for k, v in lines.items() if any(v)}


def _line_names(city: City, kinds: dict[Line, list[str | None]]) -> dict[Line, str]:
    """One name per line: real names for the most important lines, then generated ones."""
    rng = stream(city.seed, "road-names")
    taken = set(ROADS_EW) | set(ROADS_NS)
    real = {"ew": iter(ROADS_EW), "ns": iter(ROADS_NS)}
    major = road_names(rng, taken, minor=False)
    minor = road_names(rng, taken, minor=True)

    def importance(line: Line) -> tuple:
        ks = [KIND_RANK[k] for k in kinds[line] if k]
        return (-max(ks), -len(ks), line)

    names: dict[Line, str] = {}
    for line in sorted(kinds, key=importance):
        top = max(KIND_RANK[k] for k in kinds[line] if k)
        name = next(real[line[0]], None) if top >= KIND_RANK["secondary"] else None
        names[line] = name or next(major if top >= KIND_RANK["tertiary"] else minor)
    return names


def _segment_name(name: str, line: Line, city: City, coords: np.ndarray) -> str:
    """The east–west axis is named by part (长江西路 / 长江中路 / 长江东路), like Hefei's."""
    if line != ("ew", city.junction[0]) or not name.endswith("路"):
        return name
    x = float(coords[:, 0].mean())
    part = "西" if x < -700 else ("东" if x > 700 else "中")
    return f"{name[:-1]}{part}路"


def _segments(city: City, line: Line, kinds: list[str | None], name: str) -> list[RoadSegment]:
    rng = stream(city.seed, "road-line", 0 if line[0] == "ew" else 1, line[1])
    oneway = bool(rng.random() < ONEWAY_SHARE)
    wide_tertiary = bool(rng.random() < 0.3)
    out: list[RoadSegment] = []
    start = 0
    while start < len(kinds):
        kind = kinds[start]
        end = start + 1
        while end < len(kinds) and kinds[end] == kind and end - start < MAX_EDGES:
            end += 1
        if kind is not None:
            coords = city.mesh.line(line, start, end)
            lanes = LANES[kind] + (2 if kind == "tertiary" and wide_tertiary else 0)
            one = oneway and kind in ("tertiary", "residential")
            if one:
                lanes = 1 if kind == "residential" else 2
            label = _segment_name(name, line, city, coords)
            out.append(RoadSegment(coords, label, kind, one, lanes))
        start = end
    return out


def _side(kind: str | None, name: str) -> Side:
    # A grid's own cell is labelled, so the edge on each of its sides has a road (a kind).
    assert kind is not None
    return Side(kind, name)


def build_network(city: City) -> Network:
    """The city's roads, and the road along each side (S, E, N, W) of every grid."""
    kinds = _line_kinds(city)
    names = _line_names(city, kinds)
    segments = [
        s for line in sorted(kinds) for s in _segments(city, line, kinds[line], names[line])
    ]
    sides = {}
    for j, i in city.labels:
        south, north, west, east = ("ew", j), ("ew", j + 1), ("ns", i), ("ns", i + 1)
        sides[(j, i)] = (
            _side(kinds[south][i], names[south]),
            _side(kinds[east][j], names[east]),
            _side(kinds[north][i], names[north]),
            _side(kinds[west][j], names[west]),
        )
    for grid in city.grids:
        grid.sides = sides[grid.cell]
    return Network(segments, sides)
