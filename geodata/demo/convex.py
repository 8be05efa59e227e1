"""Convex regions as half-planes ``n · p >= c``: offsets of a grid's sides, chords along a
direction, rectangle containment and the region's polygon (for the few shapely uses)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon

_EPS = 1e-9


@dataclass(frozen=True)
class Region:
    """The points ``p`` with ``normals @ p >= offsets`` (one row per half-plane)."""

    normals: np.ndarray  # (k, 2), unit length
    offsets: np.ndarray  # (k,)

    @classmethod
    def of_polygon(cls, corners: np.ndarray) -> Region:
        """The region of a counter-clockwise convex polygon given by its corners (k, 2)."""
        edges = np.roll(corners, -1, axis=0) - corners
        n = np.column_stack([-edges[:, 1], edges[:, 0]])
        n /= np.hypot(n[:, 0], n[:, 1])[:, None]
        return cls(n, np.einsum("ij,ij->i", n, corners))

    def inset(self, by: np.ndarray | list[float]) -> Region:
        """The region with each half-plane moved inwards by ``by`` metres."""
        return Region(self.normals, self.offsets + np.asarray(by, dtype=float))

    def also(self, normal: np.ndarray, offset: float) -> Region:
        """The region cut by one more half-plane."""
        return Region(np.vstack([self.normals, normal]), np.append(self.offsets, offset))

    def contains(self, pts: np.ndarray) -> bool:
        """Whether every point of ``pts`` (m, 2) lies in the region."""
        return bool(np.all(pts @ self.normals.T >= self.offsets - _EPS))

    def chord(self, q: np.ndarray, e: np.ndarray) -> tuple[float, float] | None:
        """The interval of ``t`` with ``q + t e`` inside the region (None when empty)."""
        a = self.normals @ e
        b = self.offsets - self.normals @ q
        lo, hi = -np.inf, np.inf
        par = np.abs(a) < _EPS
        if np.any(b[par] > _EPS):
            return None
        pos, neg = a > _EPS, a < -_EPS
        if np.any(pos):
            lo = float(np.max(b[pos] / a[pos]))
        if np.any(neg):
            hi = float(np.min(b[neg] / a[neg]))
        return (lo, hi) if lo < hi else None

    def corners(self, start: np.ndarray) -> np.ndarray:
        """The region's polygon: ``start`` (a convex polygon containing it) clipped."""
        pts = np.asarray(start, dtype=float)
        for n, c in zip(self.normals, self.offsets, strict=True):
            pts = _clip(pts, n, c)
            if len(pts) < 3:
                return np.empty((0, 2))
        return pts

    def polygon(self, start: np.ndarray) -> Polygon:
        return Polygon(self.corners(start))


def _clip(pts: np.ndarray, n: np.ndarray, c: float) -> np.ndarray:
    """Sutherland–Hodgman: the part of polygon ``pts`` with ``n · p >= c``."""
    d = pts @ n - c
    out = []
    k = len(pts)
    for i in range(k):
        j = (i + 1) % k
        if d[i] >= 0:
            out.append(pts[i])
        if (d[i] >= 0) != (d[j] >= 0):
            t = d[i] / (d[i] - d[j])
            out.append(pts[i] + t * (pts[j] - pts[i]))
    return np.array(out) if out else np.empty((0, 2))


def rectangle(centre: np.ndarray, e: np.ndarray, length: float, depth: float) -> np.ndarray:
    """Corners (4, 2) of a rectangle ``length`` along unit ``e`` and ``depth`` across it."""
    n = np.array([-e[1], e[0]])
    hl, hd = e * length / 2, n * depth / 2
    return np.array([centre - hl - hd, centre + hl - hd, centre + hl + hd, centre - hl + hd])
