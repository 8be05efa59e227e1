"""The feature provider: a layer's features inside a bounding box, ready for the map.

GeoJSON is built in SQL (``ST_AsGeoJSON`` + ``json_agg``), polygons are simplified to about half
a pixel at the requested zoom, coordinates are rounded to what that zoom can show, and the
number of features is capped. Zoomed out, layers that aggregate return H3 cell counts instead.
Identifiers come from the layer spec and are checked against the models; values are bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
from sqlalchemy import Table, text

from geodata.engine import get_engine
from geodata.errors import OneMapError
from geodata.models import Base
from geodata.viewer import Viewer
from layers.base import Layer

MIN_ZOOM, MAX_ZOOM = 0, 22
MAX_BBOX_SPAN = 30.0
"""Largest bbox side in degrees: more than any city view at the map's minimum zoom."""
PIXEL_FRACTION = 0.5
"""Simplification tolerance, in pixels at the requested zoom."""

_ENVELOPE = "WITH env AS (SELECT ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326) AS g)"
_SCOPE = (
    "EXISTS (SELECT 1 FROM area s WHERE s.id = ANY(:scope) "
    "AND (ST_Intersects(s.geom, t.loc) OR ST_Intersects(t.geom, s.loc)))"
)


class FeatureQueryError(OneMapError, ValueError):
    """A feature request that cannot be answered as asked (the message says why)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class LayerForbiddenError(OneMapError, PermissionError):
    """The viewer's role may not see the layer."""


@dataclass(frozen=True)
class BBox:
    """A lon/lat box in EPSG:4326."""

    minx: float
    miny: float
    maxx: float
    maxy: float

    @classmethod
    def parse(cls, value: str | None) -> BBox:
        """Read ``minx,miny,maxx,maxy``; :class:`FeatureQueryError` says what is wrong."""
        expected = "expected bbox=minx,miny,maxx,maxy in degrees (lon/lat, EPSG:4326)"
        if not value:
            raise FeatureQueryError("bbox", f"missing; {expected}")
        parts = value.split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise FeatureQueryError("bbox", f"{value!r} is not four numbers; {expected}") from None
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise FeatureQueryError("bbox", f"{value!r} is not four numbers; {expected}")
        box = cls(*numbers)
        box.check()
        return box

    def check(self) -> None:
        """Raise :class:`FeatureQueryError` unless the box is ordered, on Earth and not huge."""
        if not (-180 <= self.minx <= 180 and -180 <= self.maxx <= 180):
            raise FeatureQueryError("bbox", "longitudes must be within -180..180")
        if not (-90 <= self.miny <= 90 and -90 <= self.maxy <= 90):
            raise FeatureQueryError("bbox", "latitudes must be within -90..90")
        if self.minx >= self.maxx or self.miny >= self.maxy:
            raise FeatureQueryError("bbox", "inverted or empty: need minx < maxx and miny < maxy")
        if max(self.maxx - self.minx, self.maxy - self.miny) > MAX_BBOX_SPAN:
            raise FeatureQueryError(
                "bbox", f"too large: each side must be at most {MAX_BBOX_SPAN:g} degrees"
            )

    def params(self) -> dict[str, float]:
        """Bound parameters of the envelope."""
        return {"minx": self.minx, "miny": self.miny, "maxx": self.maxx, "maxy": self.maxy}

    def as_list(self) -> list[float]:
        return [self.minx, self.miny, self.maxx, self.maxy]


def parse_zoom(value: str | None) -> float:
    """Read a web-map zoom level (0..22, fractions allowed)."""
    if value is None or value == "":
        raise FeatureQueryError("zoom", f"missing; expected a number {MIN_ZOOM}..{MAX_ZOOM}")
    try:
        zoom = float(value)
    except ValueError:
        raise FeatureQueryError("zoom", f"{value!r} is not a number") from None
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise FeatureQueryError("zoom", f"{value} is outside {MIN_ZOOM}..{MAX_ZOOM}")
    return zoom


def parse_limit(value: str | None, max_features: int) -> int:
    """Read an optional feature limit (1..``max_features``; default ``max_features``)."""
    if value is None or value == "":
        return max_features
    try:
        limit = int(value)
    except ValueError:
        raise FeatureQueryError("limit", f"{value!r} is not a whole number") from None
    if not 1 <= limit <= max_features:
        raise FeatureQueryError("limit", f"{limit} is outside 1..{max_features}")
    return limit


def degrees_per_pixel(zoom: float) -> float:
    """Width of one 256-px-tile pixel at ``zoom``, in degrees of longitude."""
    return 360.0 / (256.0 * 2.0**zoom)


def tolerance(zoom: float) -> float:
    """Simplification tolerance (degrees) for ``zoom``: about half a pixel."""
    return PIXEL_FRACTION * degrees_per_pixel(zoom)


def precision(zoom: float) -> int:
    """Decimal digits that still resolve a pixel at ``zoom`` (at most 7, about 1 cm)."""
    return max(1, min(7, math.ceil(-math.log10(tolerance(zoom))) + 1))


def h3_resolution(zoom: float) -> int:
    """The stored H3 resolution (7 or 9) to aggregate at for ``zoom``."""
    return 7 if zoom < 13 else 9


def _table(layer: Layer) -> Table:
    """The model table behind ``layer``, after checking every column it names exists."""
    table = Base.metadata.tables.get(layer.source)
    if table is None:
        raise ValueError(f"layer {layer.id!r}: no table {layer.source!r}")
    names = {*layer.columns, *(c for c, _ in layer.where), "geom", "loc", "id"}
    unknown = sorted(n for n in names if n not in table.c)
    if unknown:
        raise ValueError(f"layer {layer.id!r}: table {layer.source!r} has no column {unknown}")
    return table


def _conditions(layer: Layer, viewer: Viewer, spatial: str) -> tuple[str, dict[str, object]]:
    """The WHERE clause shared by every query of ``layer`` and its parameters."""
    clauses, params = [spatial], {}
    for i, (column, value) in enumerate(layer.where):
        clauses.append(f't."{column}" = :w{i}')
        params[f"w{i}"] = value
    if viewer.area_ids is not None:
        clauses.append(_SCOPE)
        params["scope"] = list(viewer.area_ids)
    return " AND ".join(clauses), params


def _features_sql(layer: Layer, where: str) -> str:
    props = ", ".join(f"'{c}', t.\"{c}\"" for c in layer.columns)
    return f"""{_ENVELOPE},
hits AS (
    SELECT t.id, t.geom, json_build_object({props}) AS props, ST_Area(t.geom) AS size
    FROM "{layer.source}" AS t, env WHERE {where}
    ORDER BY size DESC, t.id LIMIT :fetch
),
page AS (SELECT * FROM hits ORDER BY size DESC, id LIMIT :limit)
SELECT (SELECT count(*) FROM hits) AS n,
       COALESCE(json_agg(json_build_object(
           'type', 'Feature', 'id', id,
           'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), :digits)::json,
           'properties', props) ORDER BY size DESC, id), '[]'::json) AS features
FROM page"""


def _count_sql(layer: Layer, where: str) -> str:
    return f'{_ENVELOPE} SELECT count(*) FROM "{layer.source}" AS t, env WHERE {where}'


def _aggregate_sql(layer: Layer, where: str, resolution: int) -> str:
    column = {7: "h3_r7", 9: "h3_r9"}[resolution]
    return f"""{_ENVELOPE}
SELECT t.{column} AS cell, count(*) AS n FROM "{layer.source}" AS t, env WHERE {where}
GROUP BY t.{column} ORDER BY n DESC, cell LIMIT :fetch"""


def _collection(layer: Layer, bbox: BBox, zoom: float, features: list) -> dict[str, object]:
    return {
        "type": "FeatureCollection",
        "layer": layer.id,
        "bbox": bbox.as_list(),
        "zoom": zoom,
        "features": features,
        "count": len(features),
        "capped": False,
    }


def _hexagon(cell: int, count: int) -> dict[str, object]:
    """A GeoJSON feature of one H3 cell with its count."""
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.api.basic_int.cell_to_boundary(cell)]
    ring.append(ring[0])
    return {
        "type": "Feature",
        "id": h3.int_to_str(cell),
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"aggregate": True, "h3": h3.int_to_str(cell), "count": count},
    }


class FeatureProvider:
    """Features of table-backed layers in the store at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def query(
        self, layer: Layer, bbox: BBox, zoom: float, viewer: Viewer, limit: int
    ) -> dict[str, object]:
        """The layer's features (or H3 counts) intersecting ``bbox``, at most ``limit``."""
        if not layer.allows(viewer.role):
            raise LayerForbiddenError(f"role {viewer.role!r} may not see layer {layer.id!r}")
        _table(layer)
        if not layer.shown_at(zoom):
            result = _collection(layer, bbox, zoom, [])
            result["note"] = (
                f"layer {layer.id!r} is drawn at zoom {layer.min_zoom}..{layer.max_zoom}; "
                f"asked for zoom {zoom:g}"
            )
            return result
        if layer.aggregated_at(zoom):
            return self._aggregates(layer, bbox, zoom, viewer, limit)
        return self._features(layer, bbox, zoom, viewer, limit)

    def _features(
        self, layer: Layer, bbox: BBox, zoom: float, viewer: Viewer, limit: int
    ) -> dict[str, object]:
        where, params = _conditions(layer, viewer, "ST_Intersects(t.geom, env.g)")
        params |= bbox.params() | {"limit": limit, "fetch": limit + 1}
        params |= {"tol": tolerance(zoom), "digits": precision(zoom)}
        with get_engine(self.url).connect() as conn:
            n, features = conn.execute(text(_features_sql(layer, where)), params).one()
            total = (
                conn.execute(text(_count_sql(layer, where)), params).scalar_one()
                if (n > limit)
                else n
            )
        result = _collection(layer, bbox, zoom, features)
        if total > limit:
            result |= {"capped": True, "total": total}
        return result

    def _aggregates(
        self, layer: Layer, bbox: BBox, zoom: float, viewer: Viewer, limit: int
    ) -> dict[str, object]:
        resolution = h3_resolution(zoom)
        where, params = _conditions(layer, viewer, "t.geom && env.g")
        params |= bbox.params() | {"fetch": limit + 1}
        with get_engine(self.url).connect() as conn:
            rows = conn.execute(text(_aggregate_sql(layer, where, resolution)), params).all()
        features = [_hexagon(cell, n) for cell, n in rows[:limit]]
        result = _collection(layer, bbox, zoom, features)
        result["aggregate"] = {"h3_resolution": resolution, "property": "count"}
        if len(rows) > limit:
            result["capped"] = True
        return result
