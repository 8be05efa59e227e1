"""Coordinate systems, including China's offset systems GCJ-02 (Mars) and BD-09 (Baidu).

CRS names used throughout OneMap are strings: ``"gcj02"``, ``"bd09"`` or anything pyproj accepts
(normalised by :func:`parse_crs`, usually ``"EPSG:<code>"``).

GCJ-02 is the public forward algorithm (Krasovsky 1940 ellipsoid, the transformlat/transformlon
polynomials); it is applied only inside the rough China box of :func:`in_china` — outside it
GCJ-02 equals WGS84. BD-09 is applied on top of GCJ-02 everywhere (as Baidu does). Both inverses
are solved by fixed-point iteration on the forward transform, so round trips close to far below
a centimetre (measured max 1e-5 m over a 0.25° grid of China; ``tests/unit/test_crs.py``).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as ProjCRSError

from geodata.errors import CRSError

WGS84 = "EPSG:4326"
GCJ02 = "gcj02"
BD09 = "bd09"

_A = 6378245.0  # Krasovsky 1940 semi-major axis
_EE = 0.00669342162296594323  # Krasovsky 1940 first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0
_M_PER_DEG = 111_320.0  # metres per degree of latitude (convergence tests only)

_ALIASES = {
    GCJ02: (
        "gcj02",
        "gcj-02",
        "gcj",
        "gcj02ll",
        "mars",
        "amap",
        "gaode",
        "autonavi",
        "tencent",
        "qq",
        "soso",
    ),
    BD09: ("bd09", "bd-09", "bd09ll", "baidu", "bmap"),
    WGS84: ("wgs84", "wgs-84", "wgs 84", "gps", "4326", "epsg:4326", "crs84", "ogc:crs84"),
}
_ALIAS_TO_CRS = {alias: crs for crs, aliases in _ALIASES.items() for alias in aliases}

Array = np.ndarray


# --- parsing ------------------------------------------------------------------------------------


def parse_crs(value: str | None) -> str:
    """Normalise user input to ``"gcj02"``, ``"bd09"`` or a pyproj-accepted string.

    ``None`` or ``""`` means WGS84. EPSG codes come back as ``"EPSG:<code>"``; WKT/PROJ input
    that pyproj identifies with an authority code becomes that code, otherwise its WKT.
    Raises :class:`CRSError` for input no one can interpret.
    """
    if value is None or not str(value).strip():
        return WGS84
    text = str(value).strip()
    key = re.sub(r"[\s_]+", "", text.lower()) if len(text) < 20 else text.lower()
    if key in _ALIAS_TO_CRS:
        return _ALIAS_TO_CRS[key]
    if key in ("bd09mc", "bdmercator", "baidumercator"):
        raise CRSError(
            f"CRS {value!r}: Baidu Mercator (BD-09 metres) is not supported; "
            "export lon/lat from Baidu (bd09ll) and pass --crs bd09"
        )
    if re.fullmatch(r"\d{4,6}", key):
        text = f"EPSG:{key}"
    try:
        crs = CRS.from_user_input(text)
    except ProjCRSError as exc:
        raise CRSError(
            f"unknown CRS {value!r}: expected gcj02, bd09, wgs84, an EPSG code such as "
            "EPSG:32650, or a WKT/PROJ string"
        ) from exc
    if crs.is_vertical or not (crs.is_geographic or crs.is_projected):
        raise CRSError(f"CRS {value!r} ({crs.name}) is not a horizontal 2D coordinate system")
    authority = crs.to_authority(min_confidence=90)
    if authority and authority[0] == "EPSG":
        return f"EPSG:{authority[1]}"
    if authority == ("OGC", "CRS84"):
        return WGS84
    return crs.to_wkt()


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str, thread: int) -> Transformer:
    """A cached pyproj transformer per thread (pyproj transformers are not thread-safe)."""
    del thread  # part of the cache key only
    return Transformer.from_crs(src, dst, always_xy=True)


def _proj(lon: Array, lat: Array, src: str, dst: str) -> tuple[Array, Array]:
    if src == dst:
        return lon, lat
    x, y = _transformer(src, dst, threading.get_ident()).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _as_arrays(lon: Any, lat: Any) -> tuple[Array, Array]:
    lon_a, lat_a = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    lon_b, lat_b = np.broadcast_arrays(lon_a, lat_a)
    return lon_b, lat_b


# --- GCJ-02 and BD-09 ---------------------------------------------------------------------------


def in_china(lon: Any, lat: Any) -> Array:
    """The usual rough box where GCJ-02 applies: lon 72.004–137.8347, lat 0.8293–55.8271."""
    lon_a, lat_a = _as_arrays(lon, lat)
    return (lon_a >= 72.004) & (lon_a <= 137.8347) & (lat_a >= 0.8293) & (lat_a <= 55.8271)


def _transform_lat(x: Array, y: Array) -> Array:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: Array, y: Array) -> Array:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    """GCJ-02 minus WGS84 in degrees at a WGS84 point (zero outside China)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Array, Array]:
    """WGS84 → GCJ-02 (the public forward algorithm; identity outside China)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def _solve_inverse(
    forward: Any, lon: Array, lat: Array, start: tuple[Array, Array], tol_m: float, max_iter: int
) -> tuple[Array, Array]:
    """Fixed-point iteration: find p with forward(p) == (lon, lat) to ``tol_m`` metres."""
    x, y = start
    tol_deg = tol_m / _M_PER_DEG
    for _ in range(max_iter):
        fx, fy = forward(x, y)
        ex, ey = lon - fx, lat - fy
        x, y = x + ex, y + ey
        err = np.hypot(ex * np.cos(np.radians(lat)), ey)
        if not err.size or np.nanmax(err) <= tol_deg:
            break
    return x, y


def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 20
) -> tuple[Array, Array]:
    """GCJ-02 → WGS84 by iterating the forward transform until it matches within ``tol_m``.

    Starts from the crude inverse (subtract the offset evaluated at the GCJ-02 point, ~1 m off)
    and usually converges to < 1 mm in 2–3 iterations. Identity outside China.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return _solve_inverse(
        wgs84_to_gcj02, lon_a, lat_a, (lon_a - dlon, lat_a - dlat), tol_m, max_iter
    )


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Array, Array]:
    """GCJ-02 → BD-09 (Baidu's public formula)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_to_gcj02_crude(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lon - 0.0065, lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_gcj02(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 20
) -> tuple[Array, Array]:
    """BD-09 → GCJ-02: the public closed-form inverse, refined by iteration to ``tol_m``."""
    lon_a, lat_a = _as_arrays(lon, lat)
    start = _bd09_to_gcj02_crude(lon_a, lat_a)
    return _solve_inverse(gcj02_to_bd09, lon_a, lat_a, start, tol_m, max_iter)


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Array, Array]:
    """WGS84 → BD-09 (via GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: Any, lat: Any, *, tol_m: float = 0.01) -> tuple[Array, Array]:
    """BD-09 → WGS84 (via GCJ-02, both inverses iterative)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat, tol_m=tol_m / 2), tol_m=tol_m / 2)


# --- any CRS ------------------------------------------------------------------------------------


def to_wgs84(lon: Any, lat: Any, crs: str) -> tuple[Array, Array]:
    """Coordinates in ``crs`` (x/lon first) → WGS84 lon/lat; ``crs`` as for :func:`parse_crs`."""
    crs = parse_crs(crs)
    lon_a, lat_a = _as_arrays(lon, lat)
    if crs == GCJ02:
        return gcj02_to_wgs84(lon_a, lat_a)
    if crs == BD09:
        return bd09_to_wgs84(lon_a, lat_a)
    return _proj(lon_a, lat_a, crs, WGS84)


def from_wgs84(lon: Any, lat: Any, crs: str) -> tuple[Array, Array]:
    """WGS84 lon/lat → coordinates in ``crs`` (x/lon first)."""
    crs = parse_crs(crs)
    lon_a, lat_a = _as_arrays(lon, lat)
    if crs == GCJ02:
        return wgs84_to_gcj02(lon_a, lat_a)
    if crs == BD09:
        return wgs84_to_bd09(lon_a, lat_a)
    return _proj(lon_a, lat_a, WGS84, crs)


def transform_coords(x: Any, y: Any, src: str, dst: str = WGS84) -> tuple[Array, Array]:
    """Coordinates from ``src`` to ``dst`` (through WGS84 when either is gcj02/bd09)."""
    src, dst = parse_crs(src), parse_crs(dst)
    x_a, y_a = _as_arrays(x, y)
    if src == dst:
        return x_a.copy(), y_a.copy()
    if src not in (GCJ02, BD09) and dst not in (GCJ02, BD09):
        return _proj(x_a, y_a, src, dst)
    return from_wgs84(*to_wgs84(x_a, y_a, src), dst)


def transform_geometries(geoms: Any, src: str, dst: str = WGS84) -> Array:
    """Shapely geometries (any type, array-like) from ``src`` to ``dst``; z values are kept."""
    src, dst = parse_crs(src), parse_crs(dst)
    arr = np.asarray(geoms, dtype=object)

    def _xy(coords: Array) -> Array:
        out = coords.copy()
        out[:, 0], out[:, 1] = transform_coords(coords[:, 0], coords[:, 1], src, dst)
        return out

    return shapely.transform(arr, _xy, include_z=None)


# --- diagnosing wrong CRSs ----------------------------------------------------------------------


def _inside(lon: Array, lat: Array, extent: tuple[float, float, float, float]) -> Array:
    west, south, east, north = extent
    return (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)


def _projected_candidates(extent: tuple[float, float, float, float]) -> list[str]:
    """Metric CRSs commonly used for data around ``extent``, most common in China first."""
    lon0 = (extent[0] + extent[2]) / 2
    lat0 = (extent[1] + extent[3]) / 2
    cands = []
    cm3 = round(lon0 / 3.0) * 3  # CGCS2000 3-degree Gauss-Kruger central meridian
    if 75 <= cm3 <= 135:
        cands += [f"EPSG:{4534 + (cm3 - 75) // 3}", f"EPSG:{4513 + (cm3 - 75) // 3}"]
    zone = int((lon0 + 180) // 6) + 1
    cands.append(f"EPSG:{(32600 if lat0 >= 0 else 32700) + zone}")
    cm6 = zone * 6 - 183
    if 75 <= cm6 <= 135:
        cands += [f"EPSG:{4502 + (cm6 - 75) // 6}", f"EPSG:{4491 + (cm6 - 75) // 6}"]
    cands.append("EPSG:3857")
    return cands


def offset_hint(lon: Any, lat: Any, extent: tuple[float, float, float, float]) -> str | None:
    """A short human reason why points fall outside the city ``extent`` (lon/lat bbox), or None.

    Looks at the points outside the extent only: swapped lat/lon, or projected metres (naming the
    common Chinese/UTM/Web Mercator CRS that puts most of them inside, when one does).
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    lon_a, lat_a = lon_a.ravel(), lat_a.ravel()
    ok = np.isfinite(lon_a) & np.isfinite(lat_a)
    out = ok & ~_inside(lon_a, lat_a, extent)
    if not out.any():
        return None
    x, y = lon_a[out], lat_a[out]
    if _inside(y, x, extent).mean() > 0.5:
        return "latitude and longitude look swapped (x must be longitude, y latitude)"
    if (np.abs(x) > 180).mean() > 0.5 or (np.abs(y) > 90).mean() > 0.5:
        for cand in _projected_candidates(extent):
            with np.errstate(all="ignore"):
                px, py = _proj(x, y, cand, WGS84)
            if _inside(px, py, extent).mean() > 0.5:
                name = CRS.from_user_input(cand).name
                return (
                    f"coordinates look projected (metres), not degrees — they fit {cand} "
                    f"({name}): pass --crs {cand}"
                )
        return "coordinates look projected (metres), not degrees — pass --crs EPSG:xxxx"
    return None


def offset_likelihood(
    lon: Any,
    lat: Any,
    reference_polygons: Any,
    point_polygon: Sequence[int] | Array | None = None,
) -> dict[str, float]:
    """Share of points inside WGS84 reference polygons, read as given / as GCJ-02 / as BD-09.

    Without ``point_polygon`` a point counts when it is in any polygon; with it (one polygon
    index per point, -1 = unknown, ignored) only when it is in its own polygon — much sharper
    for small offsets (e.g. points labelled with their district). Keys: ``"as_given"``,
    ``"gcj02"``, ``"bd09"``; see :func:`suggest_offset_crs`.
    """
    lon_a, lat_a = _as_arrays(lon, lat)
    lon_a, lat_a = lon_a.ravel(), lat_a.ravel()
    polys = np.atleast_1d(np.asarray(reference_polygons, dtype=object))
    readings = {
        "as_given": (lon_a, lat_a),
        GCJ02: gcj02_to_wgs84(lon_a, lat_a),
        BD09: bd09_to_wgs84(lon_a, lat_a),
    }
    if point_polygon is None:
        area = shapely.union_all(polys)
        shapely.prepare(area)
        return {
            k: float(shapely.contains_xy(area, x, y).mean()) if x.size else 0.0
            for k, (x, y) in readings.items()
        }
    idx = np.asarray(point_polygon, dtype=int).ravel()
    known = idx >= 0
    shapely.prepare(polys)
    result = {}
    for key, (x, y) in readings.items():
        hits = shapely.contains_xy(polys[idx[known]], x[known], y[known])
        result[key] = float(hits.mean()) if hits.size else 0.0
    return result


def suggest_offset_crs(likelihood: dict[str, float], margin: float = 0.05) -> str | None:
    """``"gcj02"`` or ``"bd09"`` when that reading beats the as-given share by ``margin``."""
    best = max((GCJ02, BD09), key=lambda k: likelihood[k])
    return best if likelihood[best] >= likelihood["as_given"] + margin else None
