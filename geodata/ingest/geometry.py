"""Geometry checks of a batch: missing/empty/non-finite/wrong type refused, invalid repaired."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geodata.crs import WGS84, transform_geometries
from geodata.ingest.schema import LINE, POINT, POLYGON, LayerSchema

_FAMILY = {0: POINT, 4: POINT, 1: LINE, 2: LINE, 5: LINE, 3: POLYGON, 6: POLYGON}
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}  # fmt: skip
_PLURAL = {POINT: "points", LINE: "lines", POLYGON: "polygons"}


@dataclass
class GeometryResult:
    """Checked WGS84 geometries (None where refused), reasons per position, repairs made."""

    geoms: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    repaired: int = 0


def nonfinite_rows(geoms: np.ndarray) -> np.ndarray:
    """Positions of geometries with a NaN or infinite coordinate."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    return np.unique(index[bad])


def _same_family(geom, family: str):
    """The parts of a repaired geometry of the original ``family`` (polygons stay polygons)."""
    if geom is None:
        return None
    parts = shapely.get_parts(geom)
    parts = [p for p in parts if _FAMILY.get(int(shapely.get_type_id(p))) == family]
    if not parts:
        return None
    merged = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    if family == LINE and len(parts) > 1:
        merged = shapely.multilinestrings(parts)
    return merged if not merged.is_empty else None


def _to_multi(geoms: np.ndarray, family: str) -> np.ndarray:
    types = shapely.get_type_id(geoms)
    out = geoms.copy()
    single = types == (3 if family == POLYGON else 1)
    if single.any():
        maker = shapely.multipolygons if family == POLYGON else shapely.multilinestrings
        out[single] = [maker([g]) for g in geoms[single]]
    return out


def _single_points(geoms: np.ndarray, errors: dict[int, str]) -> np.ndarray:
    """MultiPoints of one point become that point; several points are refused."""
    types = shapely.get_type_id(geoms)
    out = geoms.copy()
    for i in np.flatnonzero(types == 4):
        n = shapely.get_num_geometries(geoms[i])
        if n == 1:
            out[i] = shapely.get_geometry(geoms[i], 0)
        else:
            errors[int(i)] = f"MultiPoint of {n} points; this layer takes single points"
            out[i] = None
    return out


def check_geometries(
    geoms: np.ndarray,
    schema: LayerSchema,
    src_crs: str,
    known_errors: dict[int, str] | None = None,
) -> GeometryResult:
    """Refuse missing, empty, non-finite and wrong-type geometries; transform to WGS84; repair
    invalid ones (polygon layers keep the polygonal part); make multi-part where the table is."""
    geoms = np.asarray(geoms, dtype=object).copy()
    errors: dict[int, str] = dict(known_errors or {})
    missing = np.flatnonzero(shapely.is_missing(geoms))
    for i in missing:
        errors.setdefault(int(i), "geometry missing or unreadable")
    empty = np.flatnonzero(shapely.is_empty(geoms) & ~shapely.is_missing(geoms))
    for i in empty:
        errors[int(i)] = "empty geometry"
    for i in nonfinite_rows(geoms):
        errors[int(i)] = "coordinates are NaN or infinite"
    types = shapely.get_type_id(geoms)
    allowed = set(schema.geometry)
    allowed_types = [t for t, fam in _FAMILY.items() if fam in allowed]
    for i in np.flatnonzero((types >= 0) & ~np.isin(types, allowed_types)):
        if int(i) in errors:
            continue
        takes = " or ".join(_PLURAL[f] for f in schema.geometry)
        errors[int(i)] = (
            f"wrong geometry type {_TYPE_NAMES.get(int(types[i]), types[i])}; layer "
            f"{schema.name} takes {takes}"
        )
    bad = np.fromiter(errors, dtype=np.int64, count=len(errors))
    geoms[bad] = None
    if POINT in allowed:
        geoms = _single_points(geoms, errors)
    ok = ~shapely.is_missing(geoms)
    if src_crs != WGS84 and ok.any():
        with np.errstate(all="ignore"):
            geoms[ok] = transform_geometries(geoms[ok], src_crs, WGS84)
        for i in nonfinite_rows(geoms):
            errors[int(i)] = f"coordinates cannot be transformed from {src_crs}"
            geoms[i] = None
    return _repair(geoms, schema, errors)


def _repair(geoms: np.ndarray, schema: LayerSchema, errors: dict[int, str]) -> GeometryResult:
    present = ~shapely.is_missing(geoms)
    if not schema.multi and (shapely.get_type_id(geoms[present]) == 0).all():
        return GeometryResult(geoms, errors, 0)  # finite points are always valid
    invalid = np.flatnonzero(present & ~shapely.is_valid(geoms))
    repaired = 0
    for i in invalid:
        family = _FAMILY[int(shapely.get_type_id(geoms[i]))]
        fixed = _same_family(shapely.make_valid(geoms[i]), family)
        if fixed is None or fixed.is_empty:
            errors[int(i)] = "invalid geometry with nothing left after repair"
            geoms[i] = None
        else:
            geoms[i] = fixed
            repaired += 1
    if schema.multi:
        geoms = _to_multi(geoms, schema.geometry[0])
    return GeometryResult(geoms, errors, repaired)
