"""Export batches from stored WGS 84 into the export's CRS: vectorised (pyproj over whole
coordinate arrays, GCJ-02 by :mod:`geodata.crs`'s forward algorithm), never per feature."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from geodata.crs import WGS84, transform_geometries
from geodata.output_crs import OutputCrs

LON, LAT = "lon", "lat"
"""The point columns the provider adds for CSV (WGS 84)."""


def coordinate_names(crs: OutputCrs) -> tuple[str, str]:
    """Names of the x and y columns of a CSV in ``crs``: ``lon``/``lat`` for WGS 84,
    ``lon_gcj02``/``lat_gcj02``, ``easting_epsg4548``/``northing_epsg4548``…"""
    if crs.is_wgs84:
        return LON, LAT
    if crs.geographic:
        return f"{LON}_{crs.label}", f"{LAT}_{crs.label}"
    return f"easting_{crs.label}", f"northing_{crs.label}"


def wkt_column(crs: OutputCrs) -> str:
    """Name of a CSV's geometry column: ``WKT``, ``WKT_EPSG4548``, ``WKT_GCJ02``."""
    return "WKT" if crs.is_wgs84 else f"WKT_{crs.label.upper()}"


def reproject(batch: pa.RecordBatch, crs: OutputCrs) -> pa.RecordBatch:
    """``batch`` with its WKB ``geometry`` in ``crs`` (x = easting/longitude first) and its
    ``lon``/``lat`` columns, if any, replaced by x/y in ``crs`` named by
    :func:`coordinate_names`, rounded to ``crs.digits``."""
    if crs.is_wgs84:
        return batch
    names = batch.schema.names
    index = names.index("geometry")
    wkb = batch.column(index).to_numpy(zero_copy_only=False)
    geoms = transform_geometries(shapely.from_wkb(wkb), WGS84, crs.pyproj)
    field = batch.schema.field(index)
    out = batch.set_column(index, field, pa.array(shapely.to_wkb(geoms), field.type))
    if LON in names and LAT in names:
        x_name, y_name = coordinate_names(crs)
        empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        for name, new, values in (
            (LON, x_name, shapely.get_x(geoms)),
            (LAT, y_name, shapely.get_y(geoms)),
        ):
            rounded = np.round(np.asarray(values, dtype=float), crs.digits)
            column = pa.array(rounded, pa.float64(), mask=empty)
            i = out.schema.names.index(name)
            out = out.set_column(i, pa.field(new, pa.float64()), column)
    return out
