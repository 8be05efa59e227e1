"""OGC API – Features Part 2 (Coordinate Reference Systems by Reference) for :mod:`api.ogc`.

- ``crs=<uri>`` on items and item: the answer's CRS, one of
  :data:`geodata.output_crs.OGC_URIS` (CRS84 first, the default), coordinates in the order the
  CRS defines (EPSG:4326 and 4490 lat,lon; the CGCS2000 Gauss–Krüger zones northing,easting;
  CRS84 lon,lat); the answer names it in ``Content-Crs: <uri>``.
- ``bbox-crs=<uri>``: the CRS of ``bbox`` (its numbers in that CRS's axis order). A geographic
  box becomes a lon/lat box; a projected one a lon/lat polygon (its edges densified, so the
  filter follows the true outline), clipped first to the CRS's area of use.
- each collection lists ``crs`` and ``storageCrs``; ``/conformance`` adds :data:`CONFORMANCE`.

Anything else answers 400 ``InvalidParameterValue`` naming the supported URIs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import shapely
from flask import Response
from pyproj import CRS
from pyproj.exceptions import ProjError
from shapely.geometry import mapping

from geodata.crs import WGS84, transform_coords
from geodata.output_crs import CRS84_URI, OGC_URIS, OutputCrs, ogc_crs
from geodata.query import BBox, FeatureQueryError

CONFORMANCE = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
PARAMETERS = frozenset({"crs", "bbox-crs"})
EDGE_POINTS = 32
"""Points per edge when a projected bbox is turned into a lon/lat polygon."""


def answer_crs(value: str | None) -> OutputCrs:
    """The CRS asked for by ``crs=`` (CRS84 when absent)."""
    return ogc_crs(value, "crs")


def content_crs(response: Response, crs: OutputCrs) -> Response:
    """``response`` with ``Content-Crs: <uri>``."""
    response.headers["Content-Crs"] = f"<{crs.uri}>"
    return response


def collection_crs() -> dict[str, object]:
    """The members a collection document adds: the supported CRSs and the storage CRS."""
    return {"crs": list(OGC_URIS), "storageCrs": CRS84_URI}


def bbox_numbers(value: str, expected: str = "4 numbers in bbox-crs") -> list[float]:
    """The four numbers of a ``bbox`` (of six with heights, the horizontal ones); 400 naming
    ``expected`` otherwise."""
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise FeatureQueryError("bbox", f"{value[:100]!r}: expected {expected}")
    return numbers


@lru_cache(maxsize=16)
def _bounds(epsg: int) -> tuple[float, float, float, float]:
    """The area of use of EPSG:``epsg`` in its own x/y (easting, northing)."""
    area = CRS.from_epsg(epsg).area_of_use
    west, south, east, north = area.bounds if area else (-180.0, -85.0, 180.0, 85.0)
    lon, lat = _outline(west, south, east, north)
    x, y = transform_coords(lon, lat, WGS84, f"EPSG:{epsg}")
    return float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y))


def _outline(minx: float, miny: float, maxx: float, maxy: float) -> tuple[np.ndarray, np.ndarray]:
    """The box's boundary, densified, counter-clockwise."""
    t = np.linspace(0.0, 1.0, EDGE_POINTS, endpoint=False)
    dx, dy = maxx - minx, maxy - miny
    x = np.concatenate([minx + t * dx, np.full_like(t, maxx), maxx - t * dx, np.full_like(t, minx)])
    y = np.concatenate([np.full_like(t, miny), miny + t * dy, np.full_like(t, maxy), maxy - t * dy])
    return x, y


def bbox_filter(value: str, crs: OutputCrs) -> tuple[BBox | None, str | None]:
    """``bbox`` given in ``crs`` as the filter :mod:`geodata.exports.query` takes: a lon/lat
    :class:`BBox` (geographic CRSs) or a lon/lat GeoJSON polygon (projected ones)."""
    a, b, c, d = bbox_numbers(value)
    if crs.north_first:
        a, b, c, d = b, a, d, c
    if a > c or b > d:
        raise FeatureQueryError("bbox", f"{value[:100]!r}: need lower corner <= upper corner")
    if crs.geographic:
        x, y = transform_coords([a, c], [b, d], crs.pyproj, WGS84)

        def clamp(v: float, limit: float) -> float:
            return max(-limit, min(limit, float(v)))

        return BBox(clamp(x[0], 180), clamp(y[0], 90), clamp(x[1], 180), clamp(y[1], 90)), None
    assert crs.epsg is not None
    w, s, e, n = _bounds(crs.epsg)
    a, b, c, d = max(a, w), max(b, s), min(c, e), min(d, n)
    if a >= c or b >= d:
        raise FeatureQueryError(
            "bbox", f"{value[:100]!r} lies outside the area of use of {crs.name}"
        )
    x, y = _outline(a, b, c, d)
    try:
        lon, lat = transform_coords(x, y, crs.pyproj, WGS84)
    except ProjError:
        lon = lat = np.array([np.nan])
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise FeatureQueryError("bbox", f"{value[:100]!r} cannot be transformed from {crs.name}")
    polygon = shapely.Polygon(np.column_stack([lon, lat]))
    if not polygon.is_valid:
        raise FeatureQueryError("bbox", f"{value[:100]!r} does not map to a valid area")
    return None, json.dumps(mapping(polygon))


def bbox_crs(value: str | None) -> OutputCrs:
    """The CRS asked for by ``bbox-crs=`` (CRS84 when absent)."""
    return ogc_crs(value, "bbox-crs")


def openapi_parameters(parameter: Callable[..., dict]) -> dict[str, dict]:
    """The ``crs`` and ``bbox-crs`` parameters of the OpenAPI document (``parameter`` builds one
    as :func:`api.ogc._parameter` does)."""
    schema = {"type": "string", "format": "uri", "enum": list(OGC_URIS), "default": CRS84_URI}
    return {
        "crs": parameter("crs", schema, "CRS of the answer's coordinates (Part 2)"),
        "bbox-crs": parameter("bbox-crs", schema, "CRS of bbox, in its own axis order (Part 2)"),
    }
