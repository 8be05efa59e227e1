"""Coverage (覆盖分析): cameras over fire lanes and roads, hydrants, community service centres.

- :func:`camera_coverage`: the length of fire lanes (``facility`` kind ``fire_lane``) or roads
  inside any camera's field-of-view wedge (the map's wedge, SQL function
  ``onemap_camera_wedge``), its share, and the uncovered parts as geometries, computed live.
- :func:`refresh_gaps` precomputes the same per line into ``coverage_gap`` (migration 0010;
  ``python -m analytics coverage --refresh``); :func:`gap_page` reads it for the lines in a
  bbox while it is current (:func:`state_by`), else computes live — the ``coverage_gaps``
  layer (:mod:`layers.providers.coverage_gaps`) is made from it and says which.
  Statement-level triggers on ``device``, ``facility`` and ``road`` bump
  ``coverage_gap_state.version``; a refresh records the version it saw, so "current" means
  no camera or line changed since.
- :func:`hydrant_gaps`: buildings farther than ``coverage_hydrant_m`` from every hydrant.
- :func:`service_gaps`: homes of residents needing care (``coverage_care_tags``) farther than
  ``coverage_service_walk_m`` from a community service centre, walking the road network with
  pgRouting when roads are loaded and the extension can be had, else in a straight line; the
  answer says which, and why.

Lengths and distances are geodesic metres (``geography``). Lines and homes are limited to the
viewer's areas; cameras, hydrants, centres and roads count city-wide (a hydrant across the
grid's border still serves it). People are reported as counts per building, groups under
:data:`geodata.privacy.MIN_COUNT` withheld unless the viewer may see them
(:func:`analytics.questions.min_count`); for viewers who see counts only a building with a home
beyond the walk counts whole and every total is the sum of the shown buildings (docs/privacy.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from analytics.questions import min_count
from geodata.accounts.viewer import Viewer
from geodata.area_subtree import roots, subtree_ids
from geodata.engine import Execute, get_engine
from geodata.settings import Settings
from geodata.spatial_sql import ENVELOPE, camera_wedge, degrees_per_metre
from geodata.vocab import ResidentStatus

LineKind = Literal["fire_lanes", "roads"]
LINES: dict[str, tuple[str, str]] = {
    "fire_lanes": ("facility", "t.kind = 'fire_lane'"),
    "roads": ("road", "TRUE"),
}
"""Which rows are lines to cover: (table, condition on ``t``)."""
DIGITS = 7
WALKABLE = "r.kind <> 'motorway'"
NODE_SCALE = 1_000_000


@dataclass
class LineCoverage:
    """How much of a kind of line the cameras see."""

    kind: str
    lines: int
    length_m: float
    covered_m: float
    uncovered_lines: int
    """Lines no camera sees any part of."""
    gaps: list[dict[str, object]] = field(default_factory=list)
    """GeoJSON features of the uncovered parts (only when asked for)."""

    @property
    def share(self) -> float | None:
        """Covered length / total length (None without lines)."""
        return round(self.covered_m / self.length_m, 4) if self.length_m else None


@dataclass
class BuildingGaps:
    """Buildings farther than ``distance_m`` from every hydrant."""

    distance_m: float
    buildings: int
    beyond: int
    features: list[dict[str, object]] = field(default_factory=list)


@dataclass
class ServiceGaps:
    """Homes of residents needing care beyond a walk from every service centre."""

    distance_m: float
    method: Literal["network", "straight_line"]
    reason: str
    homes: int
    people: int
    homes_beyond: int
    people_beyond: int
    min_count: int
    withheld_groups: int
    features: list[dict[str, object]] = field(default_factory=list)
    """Buildings with people beyond the walk (count per building, small groups withheld)."""


# --- scope -------------------------------------------------------------------------------------


def _scope(conn: Connection, viewer: Viewer, alias: str, params: dict[str, object]) -> str:
    """The clause keeping ``alias`` rows inside the viewer's areas (their area subtrees,
    :mod:`geodata.area_subtree`), its parameters added to ``params``."""
    return _scope_by(_executor(conn), viewer, alias, params)


def _executor(conn: Connection) -> Execute:
    """Run a statement on ``conn`` and fetch its rows."""
    return lambda sql, params: list(conn.execute(text(sql), params).all())


def _scope_by(run: Execute, viewer: Viewer, alias: str, params: dict[str, object]) -> str:
    """:func:`_scope` through ``run``."""
    if viewer.area_ids is None:
        return "TRUE"
    params["scope"] = subtree_ids(run, roots("named", "id", viewer.area_ids))
    return f"{alias}.area_id = ANY(:scope)"


def _camera_margin(run: Execute, deg_per_m: float) -> float:
    (reach,) = run("SELECT coalesce(max(range_m), 0) FROM device WHERE kind = 'camera'", {})[0]
    return float(reach) * deg_per_m + 1e-9


# --- cameras over lines ------------------------------------------------------------------------


UNION_SQL = """LEFT JOIN LATERAL (
    SELECT ST_Union(c.g ORDER BY c.id) AS u FROM {wedges} c
    WHERE c.g && t.geom AND ST_Intersects(t.geom, c.g)
) s ON TRUE"""
"""The union of the wedges touching line ``t`` (in id order, so every way of computing a
line's gap unions the same wedges the same way and gets the same geometry)."""

MEASURES = """ST_Length(t.geom::geography) AS length_m,
       CASE WHEN s.u IS NULL THEN 0
            ELSE ST_Length(ST_Intersection(t.geom, s.u)::geography) END AS covered_m,
       CASE WHEN s.u IS NULL THEN t.geom ELSE ST_Difference(t.geom, s.u) END AS gap"""
"""A line's geodesic length, the length inside the wedges and the uncovered part."""


def lines_sql(kind: str, where: str) -> str:
    """Per line of ``kind`` matching ``where`` (over alias ``t`` and the view ``env``): id,
    name, length, covered length and the uncovered part (``gap``), computed live. Wedges are
    built once, for the cameras within reach of the lines (all of each line, not only the
    part in view)."""
    table, condition = LINES[kind]
    return f"""WITH {ENVELOPE},
lines AS MATERIALIZED (
    SELECT t.id, t.name, t.geom FROM "{table}" t, env WHERE {condition} AND {where}
),
cams AS MATERIALIZED (
    SELECT c.id, {camera_wedge("c")} AS g FROM device c
    WHERE c.kind = 'camera' AND c.geom && ST_Expand(
        ST_SetSRID((SELECT ST_Extent(geom) FROM lines)::geometry, 4326), :margin)
),
measured AS (SELECT t.id, t.name, {MEASURES} FROM lines t {UNION_SQL.format(wedges="cams")})
SELECT id, name, length_m, covered_m, gap FROM measured"""


def stored_sql(kind: str, where: str) -> str:
    """The same rows as :func:`lines_sql`, read from the precomputed ``coverage_gap``."""
    table, condition = LINES[kind]
    return f"""WITH {ENVELOPE}
SELECT t.id, t.name, g.length_m, g.covered_m, g.geom AS gap
FROM "{table}" t CROSS JOIN env
JOIN coverage_gap g ON g.kind = '{kind}' AND g.line_id = t.id
WHERE {condition} AND {where}"""


GAP = "gap IS NOT NULL AND length_m - covered_m >= 0.01 AND NOT ST_IsEmpty(gap)"
"""A line with an uncovered part worth drawing."""


def _json_float(column: str) -> str:
    """SQL text of float ``column`` as Python's ``json.dumps`` writes it (shortest repr,
    ``.0`` on whole numbers, ``null`` for NULL)."""
    whole = f"trunc({column})::bigint::text || '.0'"
    written = f"CASE WHEN {column} = trunc({column}) THEN {whole} ELSE {column}::text END"
    return f"coalesce({written}, 'null')"


def _feature_text_sql(kind: str) -> str:
    """SQL text of a row of ``shown`` as a GeoJSON feature of its uncovered part (compact, as
    ``json.dumps`` writes it)."""
    short = "fire_lane" if kind == "fire_lanes" else "road"
    return f"""'{{"type":"Feature","id":"{kind}-' || id || '","geometry":'
    || ST_AsGeoJSON(gap, {DIGITS}) || ',"properties":{{"kind":"{short}","line_id":' || id
    || ',"name":' || coalesce(to_json(name)::text, 'null')
    || ',"length_m":' || {_json_float("length_1")}
    || ',"uncovered_m":' || {_json_float("uncovered_1")}
    || ',"covered_share":' || {_json_float("share_4")} || '}}}}'"""


def _rounded(expr: str, digits: int) -> str:
    return f"round(({expr})::numeric, {digits})::float8"


def page_sql(kind: str, measured: str) -> str:
    """Totals of the lines of ``measured`` (length, covered length, lines, lines no camera
    sees, gaps) and the first ``:limit`` gaps by id (NULL: all) as GeoJSON feature texts, in
    one statement."""
    return f"""WITH m AS MATERIALIZED ({measured}),
page AS (SELECT * FROM m WHERE {GAP} ORDER BY id LIMIT :limit),
shown AS (
    SELECT id, name, gap, {_rounded("length_m", 1)} AS length_1,
           {_rounded("length_m - covered_m", 1)} AS uncovered_1,
           {_rounded("covered_m / NULLIF(length_m, 0)", 4)} AS share_4
    FROM page
)
SELECT (SELECT coalesce(sum(length_m ORDER BY id), 0) FROM m),
       (SELECT coalesce(sum(covered_m ORDER BY id), 0) FROM m),
       (SELECT count(*) FROM m), (SELECT count(*) FROM m WHERE covered_m = 0),
       (SELECT count(*) FROM m WHERE {GAP}),
       (SELECT coalesce(array_agg({_feature_text_sql(kind)} ORDER BY id), '{{}}') FROM shown)"""


WEDGES_SQL = f"""CREATE TEMP TABLE cov_wedge ON COMMIT DROP AS
SELECT c.id, {camera_wedge("c")} AS g FROM device c WHERE c.kind = 'camera'"""

REFRESH_SQL = """INSERT INTO coverage_gap (kind, line_id, length_m, covered_m, geom)
SELECT :kind, t.id, {measures} FROM "{table}" t {union} WHERE {condition}"""

REFRESH_LOCK = 0x0C0FE6A9
"""Advisory lock key serialising refreshes (two at once would insert the same rows)."""

STATE_SQL = """SELECT version, changed_at, refreshed_version, refreshed_at
FROM coverage_gap_state WHERE id = 1"""


@dataclass(frozen=True)
class GapState:
    """Whether the precomputed gaps are current: the change count and when it last moved,
    and the count and time of the last refresh (None: never refreshed)."""

    version: int
    changed_at: datetime | None
    refreshed_version: int | None
    refreshed_at: datetime | None

    @property
    def fresh(self) -> bool:
        """No camera, fire lane or road changed since the last refresh."""
        return self.refreshed_version == self.version


def gap_state(conn: Connection) -> GapState | None:
    """The precomputed gaps' state (None when the store predates migration 0010; never
    refreshed when a reset emptied the state table)."""
    return state_by(_executor(conn))


def state_by(run: Execute) -> GapState | None:
    """:func:`gap_state` through ``run``."""
    if run("SELECT to_regclass('coverage_gap_state')", {})[0][0] is None:
        return None
    rows = run(STATE_SQL, {})
    return GapState(*rows[0]) if rows else GapState(0, None, None, None)  # emptied: never


def refresh_gaps(url: str) -> tuple[GapState, dict[str, int]]:
    """Recompute ``coverage_gap`` for every fire lane and road (one transaction, one refresh at
    a time; readers see the old rows until it commits) and record the change count it saw.
    Returns the new state and the lines per kind."""
    counts: dict[str, int] = {}
    with get_engine(url).begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK})
        conn.execute(text("INSERT INTO coverage_gap_state (id) VALUES (1) ON CONFLICT DO NOTHING"))
        (version,) = conn.execute(text("SELECT version FROM coverage_gap_state WHERE id = 1")).one()
        conn.execute(text(WEDGES_SQL))
        conn.execute(text("CREATE INDEX ON cov_wedge USING gist (g)"))
        conn.execute(text("ANALYZE cov_wedge"))
        conn.execute(text("DELETE FROM coverage_gap"))
        for kind, (table, condition) in LINES.items():
            sql = REFRESH_SQL.format(
                measures=MEASURES,
                table=table,
                union=UNION_SQL.format(wedges="cov_wedge"),
                condition=condition,
            )
            counts[kind] = conn.execute(text(sql), {"kind": kind}).rowcount
        conn.execute(
            text(
                "UPDATE coverage_gap_state SET refreshed_version = :v, refreshed_at = now() "
                "WHERE id = 1"
            ),
            {"v": version},
        )
        state = GapState(*conn.execute(text(STATE_SQL)).one())
    return state, counts


def refresh_if_stale(url: str) -> bool:
    """Refresh the precomputed gaps when a camera, fire lane or road changed since the last
    refresh (one cheap query when nothing did); True when it refreshed."""
    with get_engine(url).connect() as conn:
        state = gap_state(conn)
    if state is None or state.fresh:
        return False
    refresh_gaps(url)
    return True


def _measured(
    run: Execute,
    kind: str,
    viewer: Viewer,
    bbox,
    deg_per_m: float,
    stored: bool,
    params: dict[str, object],
) -> str:
    """The measured-lines SQL (:func:`lines_sql`, or :func:`stored_sql` with ``stored``) for
    the lines of ``kind`` in ``bbox`` the viewer may see; fills ``params``."""
    if not stored:
        params["margin"] = _camera_margin(run, deg_per_m)
    minx, miny, maxx, maxy = bbox or (-180.0, -90.0, 180.0, 90.0)
    params |= {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}
    where = f"t.geom && env.g AND {_scope_by(run, viewer, 't', params)}"
    return (stored_sql if stored else lines_sql)(kind, where)


def camera_coverage(
    url: str,
    viewer: Viewer,
    settings: Settings,
    kind: LineKind = "fire_lanes",
    bbox: tuple[float, float, float, float] | None = None,
    gaps: bool = False,
) -> LineCoverage:
    """How much of the fire lanes (or roads) the viewer may see lies in a camera's view
    (computed live, whatever the precomputed gaps say)."""
    if kind not in LINES:
        raise ValueError(f"kind must be one of {', '.join(LINES)}, not {kind!r}")
    deg_per_m = degrees_per_metre(settings.city.extent)
    params: dict[str, object] = {"limit": None if gaps else 0}
    with get_engine(url).connect() as conn:
        run = _executor(conn)
        measured = _measured(run, kind, viewer, bbox, deg_per_m, False, params)
        ((length, covered, lines, untouched, _, texts),) = run(page_sql(kind, measured), params)
    return LineCoverage(
        kind=kind,
        lines=lines,
        length_m=round(length, 1),
        covered_m=round(covered, 1),
        uncovered_lines=untouched,
        gaps=[json.loads(t) for t in texts],
    )


def gap_page(
    run: Execute,
    kind: str,
    viewer: Viewer,
    bbox: tuple[float, float, float, float],
    deg_per_m: float,
    stored: bool,
    limit: int,
) -> tuple[float, float, int, int, int, list[str]]:
    """The lines of ``kind`` in ``bbox`` the viewer may see, read from the precomputed gaps
    (``stored``) or computed live, in one statement: their length, covered length, how many
    lines, how many no camera sees, how many have a gap, and the first ``limit`` gaps by id as
    GeoJSON feature texts (made in SQL)."""
    params: dict[str, object] = {"limit": limit}
    measured = _measured(run, kind, viewer, bbox, deg_per_m, stored, params)
    ((length, covered, lines, untouched, gaps, texts),) = run(page_sql(kind, measured), params)
    return length, covered, lines, untouched, gaps, texts


# --- hydrants ----------------------------------------------------------------------------------

HYDRANT_SQL = """SELECT t.id, t.name, t.floors, ST_AsGeoJSON(t.geom, {digits}),
       (SELECT min(ST_Distance(t.geom::geography, h.geom::geography)) FROM (
            SELECT h.geom FROM facility h WHERE h.kind = 'hydrant'
            ORDER BY h.geom <-> t.geom LIMIT 5) h) AS nearest,
       count(*) OVER () AS beyond
FROM building t
WHERE {scope} AND NOT EXISTS (
    SELECT 1 FROM facility h WHERE h.kind = 'hydrant'
    AND h.geom && ST_Expand(t.geom, :margin)
    AND ST_DWithin(t.geom::geography, h.geom::geography, :distance))
ORDER BY t.id LIMIT :limit"""


def hydrant_gaps(
    url: str, viewer: Viewer, settings: Settings, distance_m: float | None = None, limit: int = 5000
) -> BuildingGaps:
    """Buildings (in the viewer's areas) with no hydrant within ``distance_m`` (default: the
    ``coverage_hydrant_m`` setting); each with the distance to its nearest hydrant."""
    distance = settings.analytics.coverage_hydrant_m if distance_m is None else distance_m
    if distance < 0:
        raise ValueError("distance_m cannot be negative")
    params: dict[str, object] = {
        "distance": distance,
        "margin": distance * degrees_per_metre(settings.city.extent) + 1e-9,
        "limit": limit,
    }
    with get_engine(url).connect() as conn:
        scope = _scope(conn, viewer, "t", params)
        rows = conn.execute(text(HYDRANT_SQL.format(digits=DIGITS, scope=scope)), params).all()
        total = conn.execute(
            text(f"SELECT count(*) FROM building t WHERE {scope}"), params
        ).scalar_one()
    features = [
        {
            "type": "Feature",
            "id": f"building-{r[0]}",
            "geometry": json.loads(r[3]),
            "properties": {
                "building_id": r[0],
                "name": r[1],
                "floors": r[2],
                "nearest_hydrant_m": None if r[4] is None else round(r[4], 1),
            },
        }
        for r in rows
    ]
    beyond = int(rows[0][5]) if rows else 0
    return BuildingGaps(distance, int(total), beyond, features)


# --- community service centres -----------------------------------------------------------------


def _node(point: str) -> str:
    """A road-network node id from a point's coordinates (0.1 m grid; unique in lon/lat)."""
    return (
        f"(round((ST_X({point}) + 180) * {NODE_SCALE})::bigint * 1000000000"
        f" + round((ST_Y({point}) + 90) * {NODE_SCALE})::bigint)"
    )


EDGES_SQL = f"""CREATE TEMP TABLE cov_all ON COMMIT DROP AS
WITH parts AS (SELECT (ST_Dump(r.geom)).geom AS g FROM road r WHERE {WALKABLE}),
noded AS (SELECT (ST_Dump(ST_Node(ST_Collect(ST_Force2D(g))))).geom AS g FROM parts)
SELECT row_number() OVER ()::bigint AS id, g AS geom,
       {_node("ST_StartPoint(g)")} AS source, {_node("ST_EndPoint(g)")} AS target,
       ST_Length(g::geography) AS cost
FROM noded WHERE ST_Length(g) > 0"""

MAIN_SQL = """CREATE TEMP TABLE cov_edge ON COMMIT DROP AS
WITH cc AS (SELECT node, component FROM pgr_connectedComponents(
    'SELECT id, source, target, cost, cost AS reverse_cost FROM cov_all')),
main AS (SELECT component FROM cc GROUP BY 1 ORDER BY count(*) DESC, component LIMIT 1)
SELECT e.* FROM cov_all e JOIN cc ON cc.node = e.source JOIN main USING (component)"""
"""The largest connected part of the network: homes and centres are reached from it (a
service road that touches no street would otherwise strand the homes beside it)."""

SNAP = """CROSS JOIN LATERAL (
    SELECT e.id AS edge, e.source, e.target, e.cost AS len,
           ST_LineLocatePoint(e.geom, {p}) * e.cost AS along,
           ST_Distance({p}::geography, e.geom::geography) AS access
    FROM cov_edge e ORDER BY e.geom <-> {p} LIMIT 1) s"""

STARTS_SQL = f"""CREATE TEMP TABLE cov_start ON COMMIT DROP AS
SELECT c.id AS centre, s.* FROM facility c {SNAP.format(p="c.geom")}
WHERE c.kind = 'service_centre'"""

REACH_SQL = """CREATE TEMP TABLE cov_reach ON COMMIT DROP AS
SELECT node, min(agg_cost) AS cost FROM pgr_drivingDistance(
    'SELECT id, source, target, cost, cost AS reverse_cost FROM cov_edge
     UNION ALL SELECT -2 * row_number() OVER () - 1, 0, source, access + along, -1 FROM cov_start
     UNION ALL SELECT -2 * row_number() OVER (), 0, target, access + len - along, -1
     FROM cov_start',
    0, :distance, true) GROUP BY node"""

HOMES = f"""homes AS (
    SELECT h.building_id, h.geom, count(DISTINCT h.id) AS homes, count(*) AS people
    FROM resident t JOIN house h ON h.id = t.house_id
    WHERE t.status = '{ResidentStatus.active}'
      AND t.care_tags && CAST(:tags AS varchar[]) AND {{scope}}
    GROUP BY h.building_id, h.geom
)"""
"""Homes of people needing care, grouped by building and point (a stairwell's units share
one): the homes and people at each."""

SPOTS = "spots AS (SELECT DISTINCT geom FROM homes)"
"""Homes share points (a stairwell's units): each distinct point is walked from once."""

NETWORK_WALK = f"""{SPOTS}, spot_walk AS (
    SELECT p.geom, s.access + least(s.along + rs.cost, s.len - s.along + rt.cost, same.d) AS walk
    FROM spots p {SNAP.format(p="p.geom")}
    LEFT JOIN cov_reach rs ON rs.node = s.source
    LEFT JOIN cov_reach rt ON rt.node = s.target
    LEFT JOIN LATERAL (SELECT min(st.access + abs(st.along - s.along)) AS d
                       FROM cov_start st WHERE st.edge = s.edge) same ON TRUE
), {{walked}}"""

STRAIGHT_WALK = f"""{SPOTS}, spot_walk AS (
    SELECT p.geom,
           (SELECT min(ST_Distance(p.geom::geography, c.geom::geography)) FROM facility c
            WHERE c.kind = 'service_centre' AND c.geom && ST_Expand(p.geom, :margin)) AS walk
    FROM spots p
), {{walked}}"""

WALKED = """walked AS (
    SELECT hm.building_id, hm.homes, hm.people, w.walk
    FROM homes hm JOIN spot_walk w ON w.geom = hm.geom
)"""

GAPS_SQL = """WITH {homes}, {walked},
beyond AS (SELECT * FROM walked WHERE walk IS NULL OR walk > :distance),
units AS (SELECT building_id AS b, sum(homes) AS homes, sum(people) AS n
          FROM walked GROUP BY 1),
groups AS (
    SELECT b, homes, n FROM units WHERE :whole AND b IN (SELECT building_id FROM beyond)
    UNION ALL
    SELECT building_id, sum(homes), sum(people) FROM beyond WHERE NOT :whole GROUP BY 1
),
shown AS (SELECT * FROM groups WHERE n >= :min_count),
page AS (
    SELECT g.b, bl.name, g.homes, g.n, ST_AsGeoJSON(bl.geom, {digits})::json AS geom
    FROM shown g JOIN building bl ON bl.id = g.b ORDER BY g.n DESC, g.b LIMIT :limit
)
SELECT (SELECT coalesce(sum(homes), 0) FROM units WHERE n >= :min_count),
       (SELECT coalesce(sum(n), 0) FROM units WHERE n >= :min_count),
       (SELECT coalesce(sum(homes), 0) FROM shown), (SELECT coalesce(sum(n), 0) FROM shown),
       (SELECT count(*) FROM groups WHERE n < :min_count),
       coalesce((SELECT json_agg(json_build_array(b, name, homes, n, geom) ORDER BY n DESC, b)
                 FROM page), '[]'::json)::text"""
"""Groups per building beyond the walk: for a counts-only viewer (``:whole``) the whole
building (docs/privacy.md: a distance must not cut a unit), else its homes beyond; every total
is the sum of the units shown (buildings of ``:min_count`` people or more)."""


def ensure_pgrouting(url: str) -> str | None:
    """Create the pgRouting extension if it is missing (its own transaction). None when it is
    there; else why not (the caller falls back to straight lines)."""
    engine = get_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")
            ).first()
        if found:
            return None
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pgrouting"))
        return None
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"pgRouting is not available ({first})"


def _method(url: str) -> tuple[Literal["network", "straight_line"], str]:
    with get_engine(url).connect() as conn:
        roads = conn.execute(text("SELECT EXISTS (SELECT 1 FROM road)")).scalar_one()
    if not roads:
        return "straight_line", "no roads are loaded"
    problem = ensure_pgrouting(url)
    if problem:
        return "straight_line", problem
    return "network", "walking along the road network (pgRouting)"


def _prepare_network(conn: Connection, distance: float) -> None:
    conn.execute(text(EDGES_SQL))
    conn.execute(text(MAIN_SQL))
    conn.execute(text("CREATE INDEX ON cov_edge USING gist (geom)"))
    conn.execute(text("ANALYZE cov_edge"))
    conn.execute(text(STARTS_SQL))
    conn.execute(text(REACH_SQL), {"distance": distance})


def service_gaps(
    url: str, viewer: Viewer, settings: Settings, distance_m: float | None = None, limit: int = 5000
) -> ServiceGaps:
    """Homes of residents needing care, in the viewer's areas, farther than ``distance_m``
    (default ``coverage_service_walk_m``) from every community service centre."""
    distance = settings.analytics.coverage_service_walk_m if distance_m is None else distance_m
    if distance < 0:
        raise ValueError("distance_m cannot be negative")
    method, reason = _method(url)
    least = min_count(viewer)
    params: dict[str, object] = {
        "distance": distance,
        "tags": list(settings.analytics.coverage_care_tags),
        "margin": distance * degrees_per_metre(settings.city.extent) + 1e-9,
        "min_count": least,
        "whole": least > 1,
        "limit": limit,
    }
    with get_engine(url).begin() as conn:
        homes = HOMES.format(scope=_scope(conn, viewer, "t", params))
        if method == "network":
            _prepare_network(conn, distance)
        walk = NETWORK_WALK if method == "network" else STRAIGHT_WALK
        walked = walk.format(walked=WALKED)
        sql = GAPS_SQL.format(homes=homes, walked=walked, digits=DIGITS)
        row = conn.execute(text(sql), params).one()
    homes_n, people, homes_beyond, people_beyond, withheld, page = row
    features = [
        {
            "type": "Feature",
            "id": f"building-{b}",
            "geometry": geom,
            "properties": {"building_id": b, "name": name, "homes": h, "people": n},
        }
        for b, name, h, n, geom in json.loads(page)
    ]
    return ServiceGaps(
        distance_m=distance,
        method=method,
        reason=reason,
        homes=int(homes_n),
        people=int(people),
        homes_beyond=int(homes_beyond),
        people_beyond=int(people_beyond),
        min_count=least,
        withheld_groups=int(withheld),
        features=features,
    )
