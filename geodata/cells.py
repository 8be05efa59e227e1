"""Representative points and H3 cells of feature geometries (computed on write), and the
SQL and GeoJSON text of those cells for their readers.

``loc`` is the point a feature is located at: the point itself, the middle of a line, or a point
on the surface of a polygon. H3 cells are stored as 64-bit integers at :data:`H3_RESOLUTIONS`.

Other resolutions: coarser cells (r5, r6) and r8 are derived in SQL from the stored integers by
the H3 bit layout (:func:`cell_sql`) — a parent cell is the child with its resolution field set
and the digits below it set to 7 (binary 111) — so no H3 extension is needed in PostgreSQL and
grouping stays one integer expression.

:func:`hexagon_text` writes a cell as the GeoJSON feature the map's hexagon layers send; the
stored risk forecast keeps the same text per cell (migration 0013), so the writer sits here,
below both the layers engine and analytics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache

import h3
import numpy as np
import shapely
from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

H3_RESOLUTIONS = (7, 9)
ASCII_JSON = json.JSONEncoder(separators=(",", ":")).encode
"""Compact JSON, ASCII-escaped (hexagon properties); built once, not per feature."""
JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON, UTF-8 kept (features given as dicts)."""
SRID = 4326
_latlng_to_int = h3.api.basic_int.latlng_to_cell


def to_shapely(value: object) -> BaseGeometry:
    """A shapely geometry from a WKB/WKT element, an (E)WKT string or a shapely geometry."""
    if isinstance(value, BaseGeometry):
        return value
    if isinstance(value, WKBElement | WKTElement):
        return to_shape(value)
    if isinstance(value, str):
        return shapely.from_wkt(
            value.split(";", 1)[1] if value.upper().startswith("SRID=") else value
        )
    if isinstance(value, bytes | bytearray | memoryview):
        return shapely.from_wkb(bytes(value))
    raise TypeError(f"cannot read a geometry from {type(value).__name__}")


def representative_point(geom: BaseGeometry) -> Point:
    """The point a feature is located at (for H3 cells and area assignment)."""
    if geom.is_empty:
        raise ValueError("empty geometry has no location")
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type in ("LineString", "MultiLineString"):
        line = geom if geom.geom_type == "LineString" else max(geom.geoms, key=lambda g: g.length)
        return line.interpolate(0.5, normalized=True)
    return geom.representative_point()


def representative_points(geoms: Sequence[BaseGeometry] | np.ndarray) -> np.ndarray:
    """Vectorised :func:`representative_point` for arrays of points and polygons."""
    arr = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(arr)
    out = arr.copy()
    polys = (types == 3) | (types == 6)
    out[polys] = shapely.point_on_surface(arr[polys])
    others = ~polys & (types != 0)
    for i in np.flatnonzero(others):
        out[i] = representative_point(arr[i])
    return out


def h3_cell(lon: float, lat: float, res: int) -> int:
    """The H3 cell (as int) of a lon/lat point at resolution ``res``."""
    return _latlng_to_int(lat, lon, res)


def h3_cells_array(lons: np.ndarray, lats: np.ndarray, res: int) -> np.ndarray:
    """H3 cells (int64) of many points."""
    return np.fromiter(
        (_latlng_to_int(la, lo, res) for lo, la in zip(lons.tolist(), lats.tolist(), strict=True)),
        dtype=np.int64,
        count=len(lons),
    )


def location_columns(geom: BaseGeometry) -> dict[str, object]:
    """``loc`` and ``h3_r*`` column values for one feature geometry."""
    p = representative_point(geom)
    cols: dict[str, object] = {"loc": from_shape(Point(p.x, p.y), srid=SRID)}
    for res in H3_RESOLUTIONS:
        cols[f"h3_r{res}"] = h3_cell(p.x, p.y, res)
    return cols


def cell_sql(resolution: int, alias: str = "t") -> str:
    """SQL of the H3 cell (bigint) of a row at ``resolution`` (0..9), from its stored
    ``h3_r7``/``h3_r9``."""
    if resolution in (7, 9):
        return f"{alias}.h3_r{resolution}"
    if not 0 <= resolution <= 9:
        raise ValueError(f"H3 resolution {resolution} is not stored or derivable")
    child = f"{alias}.h3_r7" if resolution < 7 else f"{alias}.h3_r9"
    low_bits = (1 << (3 * (15 - resolution))) - 1
    return f"(({child} & ~(15::bigint << 52)) | ({resolution}::bigint << 52) | {low_bits}::bigint)"


def hexagon_geometry(cell: int) -> str:
    """The GeoJSON polygon of an H3 cell as text (rounded to ~1 m)."""
    ring = [(round(lng, 5), round(lat, 5)) for lat, lng in h3.api.basic_int.cell_to_boundary(cell)]
    ring.append(ring[0])
    coords = ",".join(f"[{x},{y}]" for x, y in ring)
    return f'{{"type":"Polygon","coordinates":[[{coords}]]}}'


@lru_cache(maxsize=200_000)
def _hexagon_head(cell: int) -> str:
    """A hexagon feature's text up to its first two properties (cached per cell, so a thousand
    hexagons cost a string join, not a thousand polygons and nested lists)."""
    key = h3.int_to_str(cell)
    return (
        f'{{"type":"Feature","id":"{key}","geometry":{hexagon_geometry(cell)},'
        f'"properties":{{"aggregate":true,"h3":"{key}"'
    )


def hexagon_text(cell: int, members: str) -> str:
    """A hexagon feature whose properties after ``aggregate`` and ``h3`` are the JSON object
    members ``members`` (text such as ``"count":3,"level":1``; empty for none)."""
    head = _hexagon_head(cell)
    return f"{head},{members}}}}}" if members else f"{head}}}}}"
