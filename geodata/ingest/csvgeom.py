"""Geometry of CSV rows: a lon/lat column pair or a WKT column, found by common names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geodata.errors import MappingError, UnreadableInput

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "point_x")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "point_y")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何")


def _find(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


@dataclass(frozen=True)
class CSVGeometry:
    """Which columns hold the geometry: ``lon`` + ``lat`` or ``wkt``."""

    lon: str | None = None
    lat: str | None = None
    wkt: str | None = None

    def describe(self) -> str:
        if self.wkt:
            return f"geometry from WKT column {self.wkt!r}"
        return f"points from columns lon={self.lon!r}, lat={self.lat!r}"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.lon, self.lat, self.wkt) if c)

    def build(self, chunk: pd.DataFrame) -> tuple[np.ndarray, dict[int, str]]:
        """Geometries of a chunk, and a reason for every row whose geometry cannot be read."""
        if self.wkt:
            return _from_wkt(chunk[self.wkt])
        assert self.lon and self.lat, "a CSV geometry is lon + lat or wkt"
        return _from_lonlat(chunk[self.lon], chunk[self.lat], self.lon, self.lat)


def _from_wkt(col: pd.Series) -> tuple[np.ndarray, dict[int, str]]:
    text = col.to_numpy(dtype=object)
    geoms = shapely.from_wkt(np.where(pd.isna(text), None, text), on_invalid="ignore")
    errors = {
        int(i): f"not WKT: {str(text[i])[:40]!r}"
        for i in np.flatnonzero(pd.notna(text) & pd.isna(geoms))
    }
    return geoms, errors


def _from_lonlat(
    lon_col: pd.Series, lat_col: pd.Series, lon_name: str, lat_name: str
) -> tuple[np.ndarray, dict[int, str]]:
    lon = pd.to_numeric(lon_col, errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(lat_col, errors="coerce").to_numpy(dtype=float)
    geoms = shapely.points(lon, lat)
    errors: dict[int, str] = {}
    for name, raw, num in ((lon_name, lon_col, lon), (lat_name, lat_col, lat)):
        bad = np.flatnonzero(~np.isfinite(num))
        raw_values = raw.to_numpy(dtype=object)
        for i in bad:
            if int(i) in errors:
                continue
            value = raw_values[i]
            errors[int(i)] = (
                f"{name} is empty" if pd.isna(value) else f"{name} is not a number: {value!r}"
            )
    geoms[list(errors)] = None
    return geoms, errors


def csv_geometry(header: list[str], given: dict[str, str], file_name: str) -> CSVGeometry:
    """The geometry columns of a CSV: the user's ``--map lon=… lat=…``/``wkt=…`` or found by
    name (lon/lng/longitude/x/经度, lat/latitude/y/纬度, wkt/geometry)."""
    for key, column in given.items():
        if column not in header:
            raise MappingError(
                f"--map {key}={column}: {file_name} has no column {column!r} "
                f"(columns: {', '.join(header)})"
            )
    if "wkt" in given:
        return CSVGeometry(wkt=given["wkt"])
    lon = given.get("lon") or _find(header, LON_NAMES)
    lat = given.get("lat") or _find(header, LAT_NAMES)
    if lon and lat:
        return CSVGeometry(lon=lon, lat=lat)
    wkt = _find(header, WKT_NAMES)
    if wkt:
        return CSVGeometry(wkt=wkt)
    raise UnreadableInput(
        f"{file_name}: no geometry columns found; a CSV needs lon/lat columns (lon, lng, "
        "longitude, x, 经度 / lat, latitude, y, 纬度) or a WKT column (wkt, geometry); name "
        "them with --map lon=COLUMN --map lat=COLUMN or --map wkt=COLUMN "
        f"(columns: {', '.join(header)})"
    )
