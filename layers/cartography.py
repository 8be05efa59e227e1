"""The "own" base map: our data drawn as a map under the thematic layers.

Two answers per viewport, both GeoJSON text built in SQL and scoped to the viewer like every
map layer (:func:`geodata.spatial_sql.scope_clause`):

- :func:`shapes` — blocks (grid land), open space (emergency shelters: the demo's only open
  squares; no park or water table exists, so none is drawn) and roads by class;
- :func:`labels` — one point per name: governance areas of the level that suits the zoom
  (district → street office → community) at their representative point, and road names at
  street zooms at the middle of the road's longest piece inside the view, with its bearing.

Nothing is invented: every feature and name comes from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from geodata.accounts.viewer import Viewer
from geodata.conditions import Conditions
from geodata.engine import read_connection
from geodata.query import BBox
from geodata.spatial_sql import ENVELOPE, scope_clause
from layers.sql import precision, tolerance

AREA_LABEL_LEVELS: tuple[tuple[float, str], ...] = (
    (15.0, "community"),
    (13.0, "street"),
    (0.0, "district"),
)
"""``(from zoom, level)``: the one governance level labelled at a zoom (first match)."""
ROAD_LABEL_KINDS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (18.0, ("motorway", "trunk", "primary", "secondary", "tertiary", "residential", "service")),
    (16.0, ("motorway", "trunk", "primary", "secondary", "tertiary", "residential")),
    (15.0, ("motorway", "trunk", "primary", "secondary", "tertiary")),
)
"""``(from zoom, road classes)`` whose names are labelled; none below the last zoom."""
MAIN_ROADS = ("motorway", "trunk", "primary", "secondary")
ALL_ROADS_ZOOM = 14.0
"""Below this zoom only :data:`MAIN_ROADS` are drawn."""
BLOCK_ZOOM = 13.0
OPEN_SPACE_ZOOM = 14.0
LABEL_CAP = 300
"""At most this many labels per answer (names are one per feature, so a view has far fewer)."""
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class BaseQuery:
    """One viewport of the base map: box, zoom and the language of names."""

    bbox: BBox
    zoom: float
    lang: str = "zh"

    def __post_init__(self) -> None:
        if self.lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {LANGUAGES}, not {self.lang!r}")


def area_level(zoom: float) -> str:
    """The governance level whose names are shown at ``zoom``."""
    return next(level for start, level in AREA_LABEL_LEVELS if zoom >= start)


def road_label_kinds(zoom: float) -> tuple[str, ...]:
    """Road classes whose names are shown at ``zoom`` (none when zoomed out)."""
    return next((kinds for start, kinds in ROAD_LABEL_KINDS if zoom >= start), ())


def _scoped(where: Conditions, viewer: Viewer, alias: str) -> None:
    """Keep rows of table ``alias`` inside the viewer's areas (as the map layers do)."""
    if viewer.area_ids is not None:
        where.add(scope_clause(f"{alias}.loc", f"{alias}.geom"), scope=list(viewer.area_ids))


def _where(query: BaseQuery, viewer: Viewer, alias: str, *clauses: str) -> Conditions:
    where = Conditions()
    where.add(f"{alias}.geom && (SELECT g FROM env)", **query.bbox.params())
    for clause in clauses:
        where.add(clause)
    _scoped(where, viewer, alias)
    return where


def _feature(role: str, geom: str, props: str) -> str:
    return (
        f"json_build_object('type', 'Feature', 'geometry', {geom}::json, "
        f"'properties', json_build_object('role', '{role}', {props}))"
    )


def shapes_sql(query: BaseQuery, viewer: Viewer) -> tuple[str, dict[str, object]]:
    """SQL (one row, one GeoJSON text) and parameters of the base shapes in the view."""
    digits, tol = precision(query.zoom), tolerance(query.zoom)
    geom = f"ST_AsGeoJSON(ST_SimplifyPreserveTopology(t.geom, {tol!r}), {digits})"
    parts: list[tuple[str, Conditions, str]] = []
    if query.zoom >= BLOCK_ZOOM:
        where = _where(query, viewer, "t", "t.level = 'grid'")
        parts.append((_feature("block", geom, "'id', t.id"), where, "area"))
    if query.zoom >= OPEN_SPACE_ZOOM:
        where = _where(
            query,
            viewer,
            "t",
            "t.kind = 'shelter'",
            "GeometryType(t.geom) IN ('POLYGON', 'MULTIPOLYGON')",
        )
        parts.append((_feature("open", geom, "'name', t.name"), where, "facility"))
    roads = _where(query, viewer, "t")
    if query.zoom < ALL_ROADS_ZOOM:
        roads.add("t.kind = ANY(:main)", main=list(MAIN_ROADS))
    parts.append((_feature("road", geom, "'kind', t.kind, 'name', t.name"), roads, "road"))
    params: dict[str, object] = {}
    selects = []
    for feature, where, table in parts:
        params |= where.params
        selects.append(f"SELECT {feature} AS f FROM {table} AS t WHERE {where.sql}")
    sql = (
        f"WITH {ENVELOPE} SELECT json_build_object('type', 'FeatureCollection', 'features', "
        f"coalesce(json_agg(f), '[]'::json))::text FROM ({' UNION ALL '.join(selects)}) AS s"
    )
    return sql, params


def labels_sql(query: BaseQuery, viewer: Viewer) -> tuple[str, dict[str, object]]:
    """SQL (one row, one GeoJSON text) and parameters of the labels in the view."""
    name = "coalesce(t.name_en, t.name)" if query.lang == "en" else "t.name"
    areas = _where(query, viewer, "t", "ST_Intersects(t.loc, (SELECT g FROM env))")
    areas.add("t.level = :level", level=area_level(query.zoom))
    selects = [
        f"SELECT 'area' AS role, t.level AS kind, {name} AS name, t.loc AS p, 0.0 AS angle, "
        f"0 AS rank FROM area AS t WHERE {areas.sql}"
    ]
    params = dict(areas.params)
    kinds = road_label_kinds(query.zoom)
    if kinds:
        roads = _where(query, viewer, "t", "t.name IS NOT NULL", "t.name <> ''")
        roads.add("t.kind = ANY(:kinds)", kinds=list(kinds))
        params |= roads.params
        selects.append(
            "SELECT 'road', kind, name, ST_LineInterpolatePoint(g, 0.5), "
            "degrees(ST_Azimuth(ST_LineInterpolatePoint(g, 0.45), "
            "ST_LineInterpolatePoint(g, 0.55))), 1 FROM ("
            "SELECT DISTINCT ON (name) name, kind, g FROM ("
            "SELECT t.name, t.kind, (ST_Dump(ST_LineMerge(ST_Intersection(t.geom, "
            f"(SELECT g FROM env))))).geom AS g FROM road AS t WHERE {roads.sql}) AS pieces "
            "WHERE GeometryType(g) = 'LINESTRING' ORDER BY name, ST_Length(g) DESC) AS best"
        )
    digits = precision(query.zoom)
    sql = (
        f"WITH {ENVELOPE}, l AS ({' UNION ALL '.join(selects)} LIMIT {LABEL_CAP}) "
        "SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg("
        f"json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(l.p, {digits})::json, "
        "'properties', json_build_object('role', l.role, 'kind', l.kind, 'name', l.name, "
        "'angle', round(l.angle::numeric, 1))) ORDER BY l.rank, l.name), '[]'::json))::text FROM l"
    )
    return sql, params


def _one(url: str, sql: str, params: dict[str, object]) -> str:
    with read_connection(url) as conn:
        return str(conn.execute(text(sql), params).scalar_one())


def shapes(url: str, query: BaseQuery, viewer: Viewer) -> str:
    """GeoJSON text of the base shapes (``role``: block, open, road) in the view."""
    return _one(url, *shapes_sql(query, viewer))


def labels(url: str, query: BaseQuery, viewer: Viewer) -> str:
    """GeoJSON text of the labels (``role``: area, road; ``kind``: level or road class;
    ``name`` in ``query.lang``; ``angle``: a road's bearing in degrees) in the view."""
    return _one(url, *labels_sql(query, viewer))
