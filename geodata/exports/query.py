"""What to select: filters, the WHERE clause (with the viewer's scope) and the SELECT lists.

SQL is written for psycopg (``%(name)s`` placeholders, a :class:`~geodata.conditions.Conditions`
in ``pyformat`` style); identifiers come from the sources and the field allow-list, never from
the request, and every value is bound. Geometries leave the
store snapped to 1e-7° (about 1 cm; 7 decimals in text formats) with polygon exteriors
counter-clockwise (RFC 7946 right-hand rule).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import psycopg
import shapely
from shapely.geometry import mapping, shape

from geodata import vocab
from geodata.accounts.viewer import Viewer
from geodata.area_subtree import roots, subtree_ids
from geodata.conditions import Clause, Conditions
from geodata.exports.fields import Field
from geodata.exports.sources import Source
from geodata.output_crs import CRS84_OUT, OutputCrs
from geodata.query import BBox, FeatureQueryError, in_range

DIGITS = 7
"""Decimal digits of exported coordinates (1e-7° ≈ 1 cm)."""
GEOMETRY = f"ST_ForcePolygonCCW(ST_SnapToGrid(t.geom, 1e-{DIGITS}))"
"""The exported geometry of row ``t``."""


@dataclass(frozen=True)
class Filters:
    """What the caller asked for: a bbox, a polygon, an area (with descendants), a level, a
    time span."""

    bbox: BBox | None = None
    area: str | None = None
    level: str | None = None
    interval: tuple[dt.datetime | None, dt.datetime | None] | None = None
    after: int | None = None
    """Keyset paging: only ids above this one (cheaper than a large OFFSET)."""
    polygon: str | None = None
    """A checked GeoJSON Polygon/MultiPolygon (lon/lat): rows whose geometry intersects it."""
    clause: Clause | None = None
    """A condition built from the caller's filter expression (OGC ``filter``), values bound;
    its parameter names start with ``cql``."""


MAX_POLYGON_BYTES = 16 * 1024
"""Largest ``polygon`` accepted (GeoJSON text; URL-encoded it stays under a 64 KiB request line)."""
MAX_POLYGON_VERTICES = 500
"""Most vertices a ``polygon`` may have (simplify a larger one first)."""


def parse_polygon(value: str | None) -> str | None:
    """A GeoJSON Polygon or MultiPolygon (geometry or Feature) in lon/lat, as normalised
    GeoJSON text, or None; :class:`FeatureQueryError` says what is wrong with it.

    Checked: size (:data:`MAX_POLYGON_BYTES`, :data:`MAX_POLYGON_VERTICES`), type, readable
    coordinates, longitudes/latitudes in range, validity (no self-intersection)."""
    if not value:
        return None
    if len(value.encode()) > MAX_POLYGON_BYTES:
        raise FeatureQueryError(
            "polygon", f"too large: at most {MAX_POLYGON_BYTES} bytes of GeoJSON; simplify it"
        )
    try:
        item = json.loads(value)
    except ValueError:
        raise FeatureQueryError(
            "polygon", 'not JSON; expected a GeoJSON Polygon {"type": "Polygon", ...}'
        ) from None
    if isinstance(item, dict) and item.get("type") == "Feature":
        item = item.get("geometry")
    if not isinstance(item, dict) or item.get("type") not in ("Polygon", "MultiPolygon"):
        raise FeatureQueryError("polygon", "expected a GeoJSON Polygon or MultiPolygon")
    try:
        geom = shape(item)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise FeatureQueryError("polygon", f"unreadable coordinates ({exc})") from None
    if shapely.get_num_coordinates(geom) > MAX_POLYGON_VERTICES:
        raise FeatureQueryError(
            "polygon", f"more than {MAX_POLYGON_VERTICES} vertices; simplify it"
        )
    if geom.is_empty:
        raise FeatureQueryError("polygon", "empty polygon")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FeatureQueryError(
            "polygon", "coordinates must be lon/lat degrees (lon -180..180, lat -90..90)"
        )
    if not geom.is_valid:
        raise FeatureQueryError("polygon", f"invalid polygon: {shapely.is_valid_reason(geom)}")
    return json.dumps(mapping(geom))


def parse_level(value: str | None) -> str | None:
    """An area level (city, district, street, community, grid) or None."""
    if not value:
        return None
    if value not in vocab.AREA_LEVELS:
        raise FeatureQueryError(
            "level",
            f"{value!r} is not an area level; expected one of {', '.join(vocab.AREA_LEVELS)}",
        )
    return value


def parse_area(value: str | None) -> str | None:
    """An area code (e.g. ``340104``) or None; whether it exists is checked by the query."""
    if not value:
        return None
    code = value.strip()
    if not code or len(code) > 32:
        raise FeatureQueryError("area", f"{value!r} is not an area code (1..32 characters)")
    return code


def _instant(text: str) -> dt.datetime | None:
    if text in ("", ".."):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise FeatureQueryError(
            "datetime", f"{text!r} is not an RFC 3339 date-time (e.g. 2024-05-01T08:00:00Z)"
        ) from None
    return in_range("datetime", moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def parse_interval(value: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """An RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``), as an inclusive span."""
    if not value:
        return None
    parts = value.split("/")
    if len(parts) > 2:
        raise FeatureQueryError("datetime", f"{value!r}: expected an instant or start/end")
    start, end = _instant(parts[0]), _instant(parts[-1])
    if len(parts) == 1 and start is None:
        raise FeatureQueryError("datetime", "'..' alone is not an instant")
    if start and end and start > end:
        raise FeatureQueryError("datetime", f"{value!r}: the start is after the end")
    return start, end


def conditions(
    conn: psycopg.Connection, source: Source, filters: Filters, viewer: Viewer
) -> Conditions:
    """The WHERE clause of ``source`` under ``filters`` and ``viewer``'s scope, with values.

    ``--area`` and the viewer's scope follow the catalogue's scope rule of the table: rows whose
    scope column (``area_id``; for areas themselves ``id``) is the area of that code (or one of
    the viewer's areas) or any of its descendants along ``parent_id``
    (:mod:`geodata.area_subtree`). Raises :class:`FeatureQueryError` for an unknown code or a
    filter that does not apply to ``source``.
    """
    where = Conditions("pyformat")
    for i, (column, value) in enumerate(source.where):
        where.add(f't."{column}" = {where.bind(value, f"w{i}")}')
    for i, (column, value) in enumerate(source.exclude):
        where.add(f't."{column}" IS DISTINCT FROM {where.bind(value, f"x{i}")}')
    area_column = f"t.{source.scope.column}"
    if filters.level is not None:
        if source.table != "area" or source.where:
            raise FeatureQueryError("level", f"applies to the areas layer only, not {source.id!r}")
        where.add(f"t.level = {where.bind(filters.level, 'level')}")
    if filters.bbox is not None:
        where.add(
            "ST_Intersects(t.geom, ST_MakeEnvelope(%(minx)s, %(miny)s, %(maxx)s, %(maxy)s, 4326))",
            **filters.bbox.params(),
        )
    if filters.polygon is not None:
        polygon = where.bind(filters.polygon, "polygon")
        where.add(f"ST_Intersects(t.geom, ST_SetSRID(ST_GeomFromGeoJSON({polygon}), 4326))")
    if filters.area is not None:
        ids = subtree_ids(conn.execute, roots("pyformat", "code", filters.area))
        if not ids:
            raise FeatureQueryError("area", f"no area has code {filters.area!r}")
        where.add(f"{area_column} = ANY({where.bind(ids, 'area_ids')})")
    if viewer.area_ids is not None:
        ids = subtree_ids(conn.execute, roots("pyformat", "id", viewer.area_ids))
        where.add(f"{area_column} = ANY({where.bind(ids, 'scope_ids')})")
    if filters.interval is not None and source.temporal:
        start, end = filters.interval
        if start is not None:
            where.add(f't."{source.temporal}" >= {where.bind(start, "t_start")}')
        if end is not None:
            where.add(f't."{source.temporal}" <= {where.bind(end, "t_end")}')
    if filters.clause is not None:
        where.add(filters.clause.sql, **filters.clause.params)
    if filters.after is not None:
        where.add(f"t.id > {where.bind(filters.after, 'after')}")
    return where


def export_sql(source: Source, fields: tuple[Field, ...], where: str, lonlat: bool) -> str:
    """Rows to write: WKB ``geometry``, the allowed fields, optional ``lon``/``lat``, ``_dim``."""
    cols = [f"ST_AsBinary({GEOMETRY}) AS geometry"]
    cols += [f'{f.sql} AS "{f.name}"' for f in fields]
    if lonlat:
        cols += [
            f"round(ST_X(t.geom)::numeric, {DIGITS})::float8 AS lon",
            f"round(ST_Y(t.geom)::numeric, {DIGITS})::float8 AS lat",
        ]
    if source.geometry_type == "Unknown":
        cols.append("ST_Dimension(t.geom)::int2 AS _dim")
    return f'SELECT {", ".join(cols)} FROM "{source.table}" AS t WHERE {where} ORDER BY t.id'


def geometry_sql(crs: OutputCrs = CRS84_OUT) -> str:
    """The exported geometry of row ``t`` in ``crs`` (an EPSG CRS), in the CRS's own axis
    order as OGC API – Features Part 2 wants it: ``ST_Transform`` off WGS 84, then
    ``ST_FlipCoordinates`` when its first axis points north (EPSG:4326, 4490, the CGCS2000
    Gauss–Krüger zones). All in SQL: no feature passes through Python."""
    if crs.epsg is None:
        raise ValueError(f"{crs.name} is not an EPSG CRS: transform it in Python")
    geom = GEOMETRY if crs.is_wgs84 else f"ST_Transform({GEOMETRY}, {int(crs.epsg)})"
    return f"ST_FlipCoordinates({geom})" if crs.north_first else geom


def _json_value(field: Field) -> str:
    if field.kind == "timestamp":
        return f"to_char({field.sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    return field.sql


def feature_json_sql(fields: tuple[Field, ...], crs: OutputCrs = CRS84_OUT) -> str:
    """A GeoJSON Feature (json) of row ``t`` with the allowed fields as properties, its
    geometry in ``crs`` (:func:`geometry_sql`)."""
    props = ", ".join(f"'{f.name}', {_json_value(f)}" for f in fields)
    return (
        "json_build_object('type', 'Feature', 'id', t.id, "
        f"'geometry', ST_AsGeoJSON({geometry_sql(crs)}, {crs.digits})::json, "
        f"'properties', json_build_object({props}))"
    )


def page_sql(
    source: Source, fields: tuple[Field, ...], where: str, crs: OutputCrs = CRS84_OUT
) -> str:
    """A page of Features at ``%(limit)s``/``%(offset)s``: how many, the last id, and the
    Features as one JSON array text (ordered by id), geometries in ``crs``."""
    return f"""SELECT count(*), max(id), COALESCE(json_agg(f ORDER BY id), '[]'::json)::text FROM (
    SELECT t.id, {feature_json_sql(fields, crs)} AS f FROM "{source.table}" AS t
    WHERE {where} ORDER BY t.id LIMIT %(limit)s OFFSET %(offset)s) AS p"""


def count_sql(source: Source, where: str) -> str:
    return f'SELECT count(*) FROM "{source.table}" AS t WHERE {where}'


def extent_sql(source: Source, where: str) -> str:
    return f"""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(t.geom) AS e FROM "{source.table}" AS t WHERE {where}) AS x"""


def estimated_extent_sql() -> str:
    """The extent of table ``%(table)s`` as PostGIS estimates it: from PostGIS 3.0 the union of
    its GiST index's root keys (grows with every insert, never shrinks, float4 rounded
    outwards), else its ANALYZE statistics; NULL on an empty table."""
    return """SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
    SELECT ST_EstimatedExtent(c.relnamespace::regnamespace::text, c.relname::text, 'geom') AS e
    FROM pg_class AS c WHERE c.oid = to_regclass(%(table)s)) AS x"""


def change_counts_sql() -> str:
    """Rows inserted and deleted per table of ``%(tables)s`` since the statistics were reset,
    as PostgreSQL's cumulative statistics know them (committed work, flushed by each backend
    within about a second); updates are left out (see :mod:`layers.collections`)."""
    return """SELECT c.relname::text, pg_stat_get_tuples_inserted(c.oid)
    + pg_stat_get_tuples_deleted(c.oid)
FROM pg_class AS c
WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) AS t)"""
