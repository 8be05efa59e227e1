"""The feature provider: a layer's data inside a bounding box, ready for the map.

Zoomed in, features: GeoJSON built in SQL (``ST_AsGeoJSON`` + ``json_agg``, sent on as text
without being parsed in Python), polygons simplified to about half a pixel at the zoom,
coordinates rounded to what that zoom can show, the number capped (``capped``/``total``).
Zoomed out, aggregates per H3 cell or governance area (:mod:`geodata.aggregates`). Residents,
heatmaps, hexagons and the forecast slot have providers of their own there.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from geodata import aggregates
from geodata.engine import get_engine
from geodata.errors import LayerForbiddenError
from geodata.layer_query import (  # noqa: F401  (re-exported: the API and tests import them here)
    BBox,
    FeatureQueryError,
    LayerQuery,
    TimeWindow,
    parse_filters,
    parse_limit,
    parse_zoom,
)
from geodata.layer_sql import (  # noqa: F401
    check_table,
    conditions,
    degrees_per_pixel,
    h3_resolution,
    precision,
    tolerance,
)
from geodata.spatial_sql import ENVELOPE, WEDGE_SQL
from geodata.viewer import Viewer
from layers.base import Layer

_table = check_table  # the name the unit tests use
WEDGE_MARGIN_DEG = 0.003
"""Cameras up to ~300 m outside the bbox still have their wedge drawn."""


@dataclass
class Answer:
    """A layer's answer: metadata plus the features as JSON text (never re-parsed)."""

    meta: dict[str, object]
    features_json: str = "[]"
    statements: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    sql_seconds: float = 0.0

    def to_json(self) -> str:
        """The GeoJSON FeatureCollection as text."""
        head = json.dumps({"type": "FeatureCollection", **self.meta}, ensure_ascii=False)
        return f'{head[:-1]}, "features": {self.features_json}}}'

    def as_dict(self) -> dict[str, object]:
        """The FeatureCollection as a dict (parses the features)."""
        return json.loads(self.to_json())


class Runner:
    """Runs a provider's statements on the store, timing them and keeping them for benches.

    All statements of one answer share one pooled connection, checked out at the first and
    returned by :meth:`close`; it runs in autocommit (reads only: no ``BEGIN``/``ROLLBACK``
    round trips, and under READ COMMITTED each statement sees the same as in a transaction).
    """

    def __init__(self, url: str, answer: Answer) -> None:
        self.url, self.answer = url, answer
        self._conn: Connection | None = None

    def all(self, sql: str, params: dict[str, object]) -> list:
        started = time.perf_counter()
        if self._conn is None:
            self._conn = read_connection(self.url)
        rows = self._conn.execute(text(sql), params).all()
        self.answer.sql_seconds += time.perf_counter() - started
        self.answer.statements.append((sql, params))
        return rows

    def close(self) -> None:
        """Return the connection to the pool (if a statement took one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def read_connection(url: str) -> Connection:
    """A pooled connection of the store at ``url`` in autocommit, for read-only statements."""
    return get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT")


def meta(layer: Layer, query: LayerQuery, count: int) -> dict[str, object]:
    """The metadata every answer starts with."""
    return {"layer": layer.id, **query.echo(), "count": count, "capped": False}


def _order_sql(layer: Layer) -> str:
    """Which features are kept when capped: newest first, else the biggest."""
    if layer.time_column:
        return f'extract(epoch FROM t."{layer.time_column}")'
    return "ST_Area(t.geom)"


def features_sql(layer: Layer, where: str) -> str:
    """Features of ``layer`` in the bbox (at most ``:limit``) and how many match in all.

    One scan: the matches are ranked and counted (``count(*) OVER ()``) from ids and ranks
    alone; geometry and properties are built only for the page that is sent.
    """
    geom = WEDGE_SQL if layer.shape == "fov_wedge" else "t.geom"
    props = ", ".join(f"'{c}', t.\"{c}\"" for c in layer.columns)
    return f"""WITH {ENVELOPE},
hits AS (
    SELECT t.id, {_order_sql(layer)} AS rank, count(*) OVER () AS total
    FROM "{layer.source}" AS t, env WHERE {where}
    ORDER BY rank DESC, t.id LIMIT :limit
)
SELECT coalesce(max(h.total), 0) AS n,
       COALESCE(json_agg(json_build_object(
           'type', 'Feature', 'id', t.id,
           'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology({geom}, :tol), :digits)::json,
           'properties', json_build_object({props})) ORDER BY h.rank DESC, t.id), '[]'::json)::text
FROM hits h JOIN "{layer.source}" AS t ON t.id = h.id"""


def _spatial(layer: Layer) -> str:
    if layer.shape == "fov_wedge":
        return f"ST_Intersects(t.geom, ST_Expand(env.g, {WEDGE_MARGIN_DEG}))"
    return "ST_Intersects(t.geom, env.g)"


def features(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Fill ``run.answer`` with the layer's features in the bbox, capped at the limit."""
    where = conditions(layer, query, viewer, _spatial(layer))
    params = where.params | {"limit": query.limit}
    params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
    n, features_json = run.all(features_sql(layer, where.sql), params)[0]
    answer = run.answer
    answer.features_json = features_json
    answer.meta |= {"count": min(n, query.limit)}
    if n > query.limit:
        answer.meta |= {"capped": True, "total": n}


class FeatureProvider:
    """Data of the registry's layers from the store at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def answer(self, layer: Layer, query: LayerQuery, viewer: Viewer) -> Answer:
        """The layer's answer to ``query`` for ``viewer`` (features or aggregates)."""
        if not layer.allows(viewer.role):
            raise LayerForbiddenError(f"role {viewer.role!r} may not see layer {layer.id!r}")
        check_table(layer)
        run = Runner(self.url, Answer(meta(layer, query, 0)))
        try:
            if not layer.shown_at(query.zoom):
                run.answer.meta["note"] = (
                    f"layer {layer.id!r} is drawn at zoom {layer.min_zoom}..{layer.max_zoom}; "
                    f"asked for zoom {query.zoom:g}"
                )
            elif layer.provider != "features":
                aggregates.PROVIDERS[layer.provider](run, layer, query, viewer)
            elif layer.aggregated_at(query.zoom):
                aggregates.counts(run, layer, query, viewer)
            else:
                features(run, layer, query, viewer)
        finally:
            run.close()
        return run.answer

    def query(
        self,
        layer: Layer,
        bbox: BBox,
        zoom: float,
        viewer: Viewer,
        limit: int,
        **options: object,
    ) -> dict[str, object]:
        """The layer's features (or aggregates) in ``bbox`` as a dict, at most ``limit``.

        ``options`` are the other :class:`LayerQuery` fields (``time``, ``filters``,
        ``area_id``).
        """
        query = LayerQuery(bbox=bbox, zoom=zoom, limit=limit, **options)
        return self.answer(layer, query, viewer).as_dict()


def time_extent(url: str, layer: Layer, viewer: Viewer) -> tuple[str, str] | None:
    """First and last day (ISO dates, UTC) of ``layer``'s time column that ``viewer`` may see."""
    if not layer.time_column or not layer.allows(viewer.role):
        return None
    check_table(layer)
    column = f't."{layer.time_column}"'
    sql = (
        f"SELECT min({column} AT TIME ZONE 'UTC')::date, max({column} AT TIME ZONE 'UTC')::date "
        f'FROM "{layer.source}" AS t'
    )
    with get_engine(url).connect() as conn:
        first, last = conn.execute(text(sql)).one()
    return (first.isoformat(), last.isoformat()) if first else None


def city_extent(url: str) -> tuple[float, float, float, float] | None:
    """The lon/lat box of the top governance level in the store (None when it has no areas)."""
    sql = (
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e "
        "FROM area WHERE depth = (SELECT min(depth) FROM area)) AS x"
    )
    with get_engine(url).connect() as conn:
        row = conn.execute(text(sql)).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])
