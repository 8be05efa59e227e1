"""The local metric frame the city is laid out in, and its conversion to lon/lat (EPSG:4326).

Geometry is generated in metres around the city centre (azimuthal equidistant projection) and
converted once per chunk; identical metric vertices give identical lon/lat vertices, so edges
shared in the metric layout stay exactly shared in the store.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

CENTER_LON, CENTER_LAT = 117.283, 31.861
_LOCAL = f"+proj=aeqd +lat_0={CENTER_LAT} +lon_0={CENTER_LON} +datum=WGS84 +units=m +no_defs"


@lru_cache(maxsize=1)
def _to_lonlat() -> Transformer:
    return Transformer.from_crs(_LOCAL, "EPSG:4326", always_xy=True)


def xy_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert local metres to lon/lat degrees."""
    lon, lat = _to_lonlat().transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def _transform_coords(coords: np.ndarray) -> np.ndarray:
    lon, lat = xy_to_lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def to_lonlat(geoms: np.ndarray) -> np.ndarray:
    """Convert an array of metric shapely geometries to lon/lat (SRID 4326 set)."""
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return arr
    out = shapely.transform(arr, _transform_coords)
    return shapely.set_srid(out, 4326)
