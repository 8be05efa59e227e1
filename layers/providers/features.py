"""The ``features`` provider: a layer's own rows in the bbox as GeoJSON built in SQL.

``ST_AsGeoJSON`` + ``json_agg``, sent on as text without being parsed in Python; polygons
simplified to about half a pixel at the zoom, coordinates rounded to what that zoom can show,
the number capped (``capped``/``total``). Zoomed out, the engine asks :mod:`.h3_counts` or
:mod:`.area_counts` instead.

A layer with a time column keeps the newest features. Over a long history a view can hold
hundreds of thousands of matches; ranking them all to keep the newest 2,000 cost most of a
second at full city size. So when the planner expects more than ten pages of matches, they are
counted, and the newest are searched in a time window ending at the newest instant that widens
until it holds a page (:func:`newest_page`); fewer are ranked all at once, in one scan — either
way the same features and total as ranking every match. Zoomed out far enough, the count comes
from the per-cell rollup (cells inside the view) and the rows of the view's edge cells
(:func:`match_count`), and the first window is sized from it.

The page's text is joined in SQL as ``json_agg`` would write it; areas' outlines at whole zooms
are read from ``area_shape`` (migration 0030) instead of being simplified per request.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from geodata.accounts.viewer import Viewer
from geodata.engine import planned_rows
from geodata.spatial_sql import ENVELOPE, WEDGE_SQL
from layers.base import Layer
from layers.providers import cell_rollup
from layers.providers.base import Context
from layers.query import LayerQuery
from layers.sql import conditions, precision, tolerance

WEDGE_MARGIN_DEG = 0.003
"""Cameras up to ~300 m outside the bbox still have their wedge drawn."""

SHORTEST_WINDOW = timedelta(hours=1)
"""The newest features are looked for first in the window that would hold a page if the whole
city were in view (the table's rows per second, from the planner's row estimate), at least an
hour long …"""
RANK_ALL_PAGES = 10
"""Up to this many pages of matches (as the planner expects) are ranked all at once."""
WIDEN = 6
"""… then, when the window held nothing, in one six times as long; when it held some, in one
long enough for the page at the rate found, with half again to spare (2× to 64× as long) —
until the page is full or the window holds all."""


def _order_sql(layer: Layer) -> str:
    """Which features are kept when capped: newest first, else the biggest."""
    if layer.time_column:
        return f'extract(epoch FROM t."{layer.time_column}")'
    return "ST_Area(t.geom)"


def _properties(layer: Layer) -> str:
    return ", ".join(
        [f"'{c}', t.\"{c}\"" for c in layer.columns]
        + [f"'{name}', {sql}" for name, sql in layer.computed]
    )


STORED_SHAPES = {"area": "area_shape"}
"""Tables whose outlines are stored simplified at whole zooms (migration 0030), by the table
of them (``area_id``, ``tol``, ``digits``, ``geojson``)."""


def _geometry_sql(layer: Layer) -> str:
    """A feature's GeoJSON geometry text: simplified to ``:tol`` with ``:digits`` digits; read
    from the stored outlines where they hold exactly that tolerance and those digits."""
    geom = WEDGE_SQL if layer.shape == "fov_wedge" else "t.geom"
    computed = f"ST_AsGeoJSON(ST_SimplifyPreserveTopology({geom}, :tol), :digits)"
    shapes = STORED_SHAPES.get(layer.source)
    if shapes is None or layer.shape == "fov_wedge":
        return f"COALESCE({computed}, 'null')"
    stored = (
        f"(SELECT s.geojson FROM {shapes} AS s "
        "WHERE s.area_id = t.id AND s.tol = :tol AND s.digits = :digits)"
    )
    return f"COALESCE({stored}, {computed}, 'null')"


def _page_sql(layer: Layer, hits: str, count: str) -> str:
    """``hits(id, rank[, total])`` (a CTE body) turned into (count, FeatureCollection features).

    The features' text is joined as ``json_agg(json_build_object(…))`` would write it, byte for
    byte, without parsing each geometry's GeoJSON into ``json`` and writing it out again."""
    return f"""WITH {ENVELOPE},
hits AS ({hits})
SELECT {count} AS n,
       COALESCE('[' || string_agg('{{"type" : "Feature", "id" : ' || to_json(t.id)::text
           || ', "geometry" : ' || {_geometry_sql(layer)}
           || ', "properties" : ' || json_build_object({_properties(layer)})::text || '}}',
           ', ' ORDER BY h.rank DESC, t.id) || ']', '[]')
FROM hits h JOIN "{layer.source}" AS t ON t.id = h.id"""


def features_sql(layer: Layer, where: str) -> str:
    """Features of ``layer`` in the bbox (at most ``:limit``) and how many match in all.

    One scan: the matches are ranked and counted (``count(*) OVER ()``) from ids and ranks
    alone; geometry and properties are built only for the page that is sent.
    """
    hits = f"""
    SELECT t.id, {_order_sql(layer)} AS rank, count(*) OVER () AS total
    FROM "{layer.source}" AS t, env WHERE {where}
    ORDER BY rank DESC, t.id LIMIT :limit"""
    return _page_sql(layer, hits, "coalesce(max(h.total), 0)")


def newest_sql(layer: Layer, where: str) -> str:
    """The newest ``:limit`` features of ``layer`` in the bbox at or after ``:since``, and how
    many that page holds."""
    column = f't."{layer.time_column}"'
    hits = f"""
    SELECT t.id, {column} AS rank
    FROM "{layer.source}" AS t, env WHERE {where} AND {column} >= :since
    ORDER BY {column} DESC, t.id LIMIT :limit"""
    return _page_sql(layer, hits, "count(*)")


def count_sql(layer: Layer, where: str) -> str:
    """How many features of ``layer`` match ``where`` in the bbox."""
    return f'WITH {ENVELOPE} SELECT count(*) FROM "{layer.source}" AS t, env WHERE {where}'


def time_span(ctx: Context) -> tuple[datetime, datetime, timedelta] | None:
    """The instants the layer's matches can lie between (the request's window, else the
    table's first and last; None: an empty table) and the first window to search. The ends come
    from the time index, the rows from the planner's estimate."""
    layer, query = ctx.layer, ctx.query
    column = f'"{layer.time_column}"'
    first, last, rows = ctx.execute(
        f"SELECT min({column}), max({column}), "
        f"(SELECT greatest(reltuples, 1) FROM pg_class WHERE oid = '\"{layer.source}\"'::regclass) "
        f'FROM "{layer.source}"',
        {},
    )[0]
    if first is None:
        return None
    window = max(SHORTEST_WINDOW, (last - first) * (query.limit / rows))
    if query.time is not None:
        first, last = max(first, query.time.start), min(last, query.time.end)
    return first, last, window


def many_matches(ctx: Context, where: str, params: dict) -> bool:
    """Whether the planner expects more than :data:`RANK_ALL_PAGES` pages of matches of a time
    layer in the bbox (then :func:`newest_page` searches them by time)."""
    if not ctx.layer.time_column:
        return False
    rows = f'WITH {ENVELOPE} SELECT 1 FROM "{ctx.layer.source}" AS t, env WHERE {where}'
    return planned_rows(ctx.execute, rows, params) > RANK_ALL_PAGES * ctx.query.limit


def match_count(ctx: Context, where: str, params: dict) -> int:
    """How many features match: from the per-cell rollup when it gives the same number
    (:func:`layers.providers.cell_rollup.matches`), else counted."""
    rolled = cell_rollup.matches(ctx.execute, ctx.layer, ctx.query, ctx.viewer)
    if rolled is not None:
        return rolled
    return ctx.execute(count_sql(ctx.layer, where), params)[0][0]


def newest_page(ctx: Context, where: str, params: dict) -> tuple[int, str]:
    """The newest features in the bbox of a view with many matches, and how many match in all
    (see the module's doc)."""
    layer, limit = ctx.layer, ctx.query.limit
    total = match_count(ctx, where, params)
    span = time_span(ctx)
    if total == 0 or span is None or span[0] > span[1]:
        return 0, "[]"
    first, last, width = span
    # the matches' own rate: a page with half again to spare if they are spread evenly
    width = max(width, SHORTEST_WINDOW, (last - first) * (1.5 * limit / total))
    while True:
        since = max(first, last - width)
        n, features_json = ctx.execute(newest_sql(layer, where), params | {"since": since})[0]
        if n >= limit or since <= first:
            return total, features_json
        width *= min(64.0, max(2.0, 1.5 * limit / n)) if n else WIDEN


def spatial_sql(layer: Layer) -> str:
    """The bbox condition of ``layer``'s rows (camera wedges reach beyond their camera)."""
    if layer.shape == "fov_wedge":
        return f"ST_Intersects(t.geom, ST_Expand(env.g, {WEDGE_MARGIN_DEG}))"
    return "ST_Intersects(t.geom, env.g)"


def page_query(layer: Layer, query: LayerQuery, viewer: Viewer) -> tuple[str, dict[str, object]]:
    """The WHERE clause of ``layer``'s features in the query's bbox for ``viewer``, and the
    parameters of every statement of the page (limit, simplification, digits)."""
    where = conditions(layer, query, viewer, spatial_sql(layer))
    params = where.params | {"limit": query.limit}
    return where.sql, params | {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}


def provide(ctx: Context) -> None:
    """Fill the answer with the layer's features in the bbox, capped at the limit."""
    layer, query = ctx.layer, ctx.query
    where, params = page_query(layer, query, ctx.viewer)
    if many_matches(ctx, where, params):
        n, features_json = newest_page(ctx, where, params)
    else:
        n, features_json = ctx.execute(features_sql(layer, where), params)[0]
    answer = ctx.answer
    answer.features_json = features_json
    answer.meta |= {"count": min(n, query.limit)}
    if n > query.limit:
        answer.meta |= {"capped": True, "total": n}
