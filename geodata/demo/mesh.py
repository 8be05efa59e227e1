"""The street lattice the city is cut from: a gently warped, slightly rotated quad mesh.

Lattice vertex ``v[j, i]`` lies on the j-th east–west line and the i-th north–south line; cell
``(j, i)`` is the quad between lines j, j+1 and i, i+1 (counter-clockwise: south, east, north,
west side). Spacings vary (blocks of about 0.06–0.11 km²) and a smooth displacement bends the
lines a little, so the streets look drawn rather than ruled. Cells are kept where their centre
lies inside a wobbly circle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SUBDIVISIONS = 4  # points per lattice edge: the streets follow the bent lines smoothly
COL_WIDTH_M = (235.0, 335.0)
ROW_HEIGHT_M = (225.0, 315.0)
MEAN_CELL_M2 = 0.25 * sum(COL_WIDTH_M) * sum(ROW_HEIGHT_M)


@dataclass
class Mesh:
    """The lattice: line positions before bending, the bend, and which cells are kept."""

    xs: np.ndarray  # north–south line positions (cols+1)
    ys: np.ndarray  # east–west line positions (rows+1)
    bend: tuple[float, ...]  # amplitudes, wavelengths, phases, rotation
    keep: np.ndarray  # (rows, cols) bool

    @property
    def shape(self) -> tuple[int, int]:
        return self.keep.shape

    def warp(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Points (n, 2) in metres of lattice coordinates ``x``, ``y``."""
        ax, ay, wx, wy, px, py, theta = self.bend
        bx = x + ax * np.sin(y / wx + px)
        by = y + ay * np.sin(x / wy + py)
        c, s = math.cos(theta), math.sin(theta)
        return np.column_stack([bx * c - by * s, bx * s + by * c])

    @property
    def v(self) -> np.ndarray:
        """Lattice vertices (rows+1, cols+1, 2)."""
        xx, yy = np.meshgrid(self.xs, self.ys)
        return self.warp(xx.ravel(), yy.ravel()).reshape(*xx.shape, 2)

    def edge(self, line: tuple[str, int], k: int) -> np.ndarray:
        """Points (SUBDIVISIONS+1, 2) of the k-th edge of a line, west→east or south→north.

        Always computed the same way, so the cells and roads sharing an edge share its points.
        """
        if line[0] == "ew":
            x = np.linspace(self.xs[k], self.xs[k + 1], SUBDIVISIONS + 1)
            return self.warp(x, np.full_like(x, self.ys[line[1]]))
        y = np.linspace(self.ys[k], self.ys[k + 1], SUBDIVISIONS + 1)
        return self.warp(np.full_like(y, self.xs[line[1]]), y)

    def line(self, line: tuple[str, int], start: int, end: int) -> np.ndarray:
        """Points of edges ``start``..``end``-1 of a line, joined."""
        parts = [self.edge(line, k)[:-1] for k in range(start, end)]
        return np.vstack([*parts, self.edge(line, end - 1)[-1:]])

    def sides(self, j: int, i: int) -> list[np.ndarray]:
        """The cell's sides (south, east, north, west), counter-clockwise."""
        return [
            self.edge(("ew", j), i),
            self.edge(("ns", i + 1), j),
            self.edge(("ew", j + 1), i)[::-1],
            self.edge(("ns", i), j)[::-1],
        ]

    def ring(self, j: int, i: int) -> np.ndarray:
        """The cell's outline (counter-clockwise, not closed)."""
        return np.vstack([side[:-1] for side in self.sides(j, i)])

    def corners(self, j: int, i: int) -> np.ndarray:
        """The cell's corners (4, 2), counter-clockwise from the south-west one."""
        return np.array([side[0] for side in self.sides(j, i)])

    def centres(self) -> np.ndarray:
        """Centres (rows, cols, 2) of all cells."""
        v = self.v
        return (v[:-1, :-1] + v[:-1, 1:] + v[1:, 1:] + v[1:, :-1]) / 4.0


def _spacings(rng: np.random.Generator, lo_hi: tuple[float, float], half: float) -> np.ndarray:
    """Line positions covering [-half, half], varied spacings, centred near 0."""
    n = int(2 * half / lo_hi[0]) + 3
    steps = rng.uniform(*lo_hi, size=n)
    pos = np.concatenate([[0.0], np.cumsum(steps)])
    return pos - pos[len(pos) // 2] + rng.uniform(-0.3, 0.3) * lo_hi[0]


def _outline(rng: np.random.Generator, radius: float, phi: np.ndarray) -> np.ndarray:
    a = rng.uniform(0, 2 * math.pi, 3)
    wobble = (
        0.07 * np.sin(2 * phi + a[0])
        + 0.05 * np.sin(3 * phi + a[1])
        + 0.03 * np.sin(5 * phi + a[2])
    )
    return radius * (1 + wobble)


def build_mesh(rng: np.random.Generator, radius: float) -> Mesh:
    """The lattice covering a wobbly disc of ``radius`` metres."""
    xs = _spacings(rng, COL_WIDTH_M, radius * 1.25)
    ys = _spacings(rng, ROW_HEIGHT_M, radius * 1.25)
    amp = rng.uniform(30.0, 60.0, 2)
    wave = rng.uniform(900.0, 1400.0, 2)
    ph = rng.uniform(0, 2 * math.pi, 2)
    theta = math.radians(rng.uniform(-7.0, 7.0))
    bend = (*amp.tolist(), *wave.tolist(), *ph.tolist(), theta)
    mesh = Mesh(xs, ys, bend, np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool))
    ctr = mesh.centres()
    phi = np.arctan2(ctr[..., 1], ctr[..., 0])
    mesh.keep = np.hypot(ctr[..., 0], ctr[..., 1]) < _outline(rng, radius, phi)
    return mesh
