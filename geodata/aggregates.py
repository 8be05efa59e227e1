"""Aggregated layer data: counts per H3 cell or governance area, residents, heatmap, hexagons.

Counting happens in SQL (``GROUP BY`` on the stored or derived H3 cell, see
:mod:`geodata.layer_sql`); Python only turns cell ids into hexagons (cached) and classes the
values into the colour ramp's ``level`` 0..5 relative to the largest value in view.

Residents are never returned one by one: counts of active residents per cell (or per building
when zoomed in), every group under the layer's ``min_count`` left out, and with ``care=<tag>``
the number and share with that tag, withheld (``null``) when 1..min_count-1. The counts come
from the materialized ``resident_stats`` (one row per building, area and H3 r9 cell; see
migration 0004), refreshed by the writers of residents — not from the resident table per request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

import h3

from geodata.layer_query import FeatureQueryError, LayerQuery
from geodata.layer_sql import cell_sql, conditions, h3_resolution, precision, tolerance
from geodata.spatial_sql import ENVELOPE
from geodata.viewer import Viewer
from layers.base import Layer

if TYPE_CHECKING:
    from geodata.features import Runner

LEVELS = 6
HEAT_POINT_DIGITS = 5
_h3 = h3.api.basic_int
_ASCII_JSON = json.JSONEncoder(separators=(",", ":")).encode
"""Compact JSON, ASCII-escaped (hexagon properties); built once, not per feature."""
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
"""Compact JSON, UTF-8 kept (features given as dicts)."""
_NO_EXTRA: Mapping[str, object] = MappingProxyType({})
"""No extra properties (shared, read-only)."""


def hexagon_geometry(cell: int) -> str:
    """The GeoJSON polygon of an H3 cell as text (rounded to ~1 m)."""
    ring = [(round(lng, 5), round(lat, 5)) for lat, lng in _h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    coords = ",".join(f"[{x},{y}]" for x, y in ring)
    return f'{{"type":"Polygon","coordinates":[[{coords}]]}}'


@lru_cache(maxsize=200_000)
def _hexagon_head(cell: int) -> str:
    """A hexagon feature's text up to its first two properties (cached per cell, so a thousand
    hexagons cost a string join, not a thousand polygons and nested lists)."""
    key = h3.int_to_str(cell)
    return (
        f'{{"type":"Feature","id":"{key}","geometry":{hexagon_geometry(cell)},'
        f'"properties":{{"aggregate":true,"h3":"{key}"'
    )


@lru_cache(maxsize=200_000)
def cell_centre(cell: int) -> tuple[float, float]:
    lat, lng = _h3.cell_to_latlng(cell)
    return round(lng, HEAT_POINT_DIGITS), round(lat, HEAT_POINT_DIGITS)


@lru_cache(maxsize=200_000)
def _heat_head(cell: int) -> str:
    """A heatmap point's text up to its first two properties (cached per cell)."""
    x, y = cell_centre(cell)
    return (
        f'{{"type":"Feature","id":"{h3.int_to_str(cell)}",'
        f'"geometry":{{"type":"Point","coordinates":[{x!r},{y!r}]}},'
        f'"properties":{{"aggregate":true,"heat":true'
    )


@lru_cache(maxsize=16)
def cell_area_km2(resolution: int) -> float:
    """Average area of an H3 cell at ``resolution`` (km²; within ±~10% of any one cell)."""
    return _h3.average_hexagon_area(resolution, "km^2")


def levels(values: Sequence[float], sqrt: bool) -> list[int]:
    """Class each value into 0..LEVELS-1 relative to the largest (square-root or linear
    scale: counts have long tails, shares do not)."""
    top = max(values, default=0)
    if top <= 0:
        return [0 for _ in values]
    last, root = LEVELS - 1, math.sqrt
    if sqrt:
        return [min(last, int(root(v / top) * LEVELS)) if v > 0 else 0 for v in values]
    return [min(last, int(v / top * LEVELS)) if v > 0 else 0 for v in values]


def hexagon_feature(cell: int, properties: dict[str, object]) -> str:
    """A GeoJSON feature (text) of one H3 cell with its aggregate properties."""
    if "aggregate" in properties or "h3" in properties:  # overrides keep their place
        key = h3.int_to_str(cell)
        props = _ASCII_JSON({"aggregate": True, "h3": key, **properties})
        geometry = hexagon_geometry(cell)
        return f'{{"type":"Feature","id":"{key}","geometry":{geometry},"properties":{props}}}'
    return hexagon_text(cell, _ASCII_JSON(properties)[1:-1])


def hexagon_text(cell: int, members: str) -> str:
    """A hexagon feature whose properties after ``aggregate`` and ``h3`` are the JSON object
    members ``members`` (text such as ``"count":3,"level":1``; empty for none)."""
    head = _hexagon_head(cell)
    return f"{head},{members}}}}}" if members else f"{head}}}}}"


def _count_members(n: int, level: int) -> str:
    """The members of ``{"count": n, "value": n, "level": level}`` (ints) as JSON text."""
    return f'"count":{n},"value":{n},"level":{level}'


def _finish(run: Runner, features: list[dict | str], capped: bool, **aggregate: object) -> None:
    """Set the answer's features (dicts or ready GeoJSON text) and its aggregate metadata."""
    texts = [f if isinstance(f, str) else _JSON(f) for f in features]
    run.answer.features_json = "[" + ",".join(texts) + "]"
    run.answer.meta |= {"count": len(features), "aggregate": aggregate}
    if capped:
        run.answer.meta["capped"] = True


# --- plain counts of a feature layer ----------------------------------------------------------


def h3_counts_sql(layer: Layer, where: str, resolution: int) -> str:
    cell = cell_sql(resolution)
    return f"""WITH {ENVELOPE}
SELECT {cell} AS cell, count(*) AS n FROM "{layer.source}" AS t, env WHERE {where}
GROUP BY 1 ORDER BY n DESC, cell LIMIT :fetch"""


def area_counts_sql(layer: Layer, where: str) -> str:
    """Counts per governance area of ``:level`` (rows map to it through ``area_id``)."""
    return f"""WITH RECURSIVE {ENVELOPE},
up AS (
    SELECT a.id, a.id AS top FROM area a WHERE a.level = :level
    UNION ALL SELECT c.id, up.top FROM area c JOIN up ON c.parent_id = up.id
),
counts AS (
    SELECT up.top, count(*) AS n FROM "{layer.source}" AS t JOIN up ON up.id = t.area_id, env
    WHERE {where} GROUP BY up.top ORDER BY n DESC LIMIT :fetch
)
SELECT a.id, a.name, a.name_en, c.n,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tol), :digits)::text
FROM counts c JOIN area a ON a.id = c.top ORDER BY c.n DESC, a.id"""


def _value_properties(counts: Sequence[float], metric: str) -> list[dict[str, object]]:
    classes = levels(counts, sqrt=metric != "share")
    return [{"value": v, "level": c} for v, c in zip(counts, classes, strict=True)]


def counts(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Counts of ``layer``'s rows per H3 cell (or per area) in the bbox."""
    where = conditions(layer, query, viewer, "t.geom && env.g")
    params = where.params | {"fetch": query.limit + 1}
    if layer.aggregate_by == "area":
        params |= {"level": layer.aggregate_level}
        params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
        rows = run.all(area_counts_sql(layer, where.sql), params)
        shown = rows[: query.limit]
        styled = _value_properties([r[3] for r in shown], "count")
        features = [
            {
                "type": "Feature",
                "id": f"area-{r[0]}",
                "geometry": json.loads(r[4]),
                "properties": {
                    "aggregate": True,
                    "area": r[0],
                    "name": r[1],
                    "name_en": r[2],
                    "count": r[3],
                    **s,
                },
            }
            for r, s in zip(shown, styled, strict=True)
        ]
        _finish(run, features, len(rows) > query.limit, by="area", level=layer.aggregate_level)
        return
    resolution = h3_resolution(query.zoom)
    rows = run.all(h3_counts_sql(layer, where.sql, resolution), params)
    shown = rows[: query.limit]
    classes = levels([n for _, n in shown], sqrt=True)
    features = [
        hexagon_text(cell, _count_members(n, c))
        for (cell, n), c in zip(shown, classes, strict=True)
    ]
    _finish(
        run, features, len(rows) > query.limit, by="h3", h3_resolution=resolution, property="count"
    )


# --- residents: counts only, small cells suppressed ---------------------------------------------


def _resident_where(layer: Layer, query: LayerQuery, viewer: Viewer):
    # resident_stats holds active residents only, one row per (building, area, H3 r9 cell)
    return conditions(layer, query, viewer, "t.geom && env.g")


def _tagged_sql(care: str | None) -> str:
    if care is None:
        return "NULL::bigint"
    return "sum(coalesce((t.care ->> :care)::bigint, 0))::bigint"


def residents_h3_sql(where: str, resolution: int, care: str | None) -> str:
    return f"""WITH {ENVELOPE}
SELECT {cell_sql(resolution)} AS cell, sum(t.n)::bigint AS n, {_tagged_sql(care)} AS k
FROM resident_stats AS t, env WHERE {where}
GROUP BY 1 HAVING sum(t.n) >= :min_count ORDER BY n DESC, cell LIMIT :fetch"""


def residents_building_sql(where: str, care: str | None) -> str:
    return f"""WITH {ENVELOPE},
counts AS (
    SELECT t.building_id AS b, sum(t.n)::bigint AS n, {_tagged_sql(care)} AS k
    FROM resident_stats AS t, env WHERE {where} AND t.building_id <> 0
    GROUP BY 1 HAVING sum(t.n) >= :min_count ORDER BY n DESC, b LIMIT :fetch
)
SELECT c.b, c.n, c.k, ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :tol), :digits)::text
FROM counts c JOIN building b ON b.id = c.b ORDER BY c.n DESC, c.b"""


def care_properties(n: int, k: int | None, min_count: int) -> dict[str, object]:
    """``tagged`` and ``share`` of a group, withheld when 1..min_count-1 people have the tag."""
    if k is None:
        return {}
    if 0 < k < min_count:
        return {"tagged": None, "share": None, "suppressed": True}
    return {"tagged": k, "share": round(k / n, 4)}


def _resident_groups(
    run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer, by_building: bool
) -> tuple[list, int | None]:
    """Rows ``(key, n, k[, geometry])`` of resident groups with at least ``min_count`` people."""
    care = query.option("care", "") or None
    where = _resident_where(layer, query, viewer)
    params = where.params | {"fetch": query.limit + 1, "min_count": layer.min_count or 1}
    if care:
        params["care"] = care
    if by_building:
        params |= {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
        return run.all(residents_building_sql(where.sql, care), params), None
    resolution = h3_resolution(query.zoom)
    return run.all(residents_h3_sql(where.sql, resolution, care), params), resolution


def residents(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Resident counts per H3 cell (zoomed out) or per building (zoomed in)."""
    by_building = not layer.aggregated_at(query.zoom)
    rows, resolution = _resident_groups(run, layer, query, viewer, by_building)
    shown = rows[: query.limit]
    care = query.option("care", "") or None
    metric = "share" if care else "count"
    values = [
        (care_properties(r[1], r[2], layer.min_count or 1).get("share") or 0) if care else r[1]
        for r in shown
    ]
    min_count = layer.min_count or 1
    features = []
    if care:
        for row, style in zip(shown, _value_properties(values, metric), strict=True):
            props = {"count": row[1], **care_properties(row[1], row[2], min_count), **style}
            members = _JSON(props)[1:-1] if by_building else _ASCII_JSON(props)[1:-1]
            features.append(_resident_feature(row, members, by_building))
    else:
        for row, level in zip(shown, levels(values, sqrt=True), strict=True):
            features.append(_resident_feature(row, _count_members(row[1], level), by_building))
    how = {"by": "building"} if by_building else {"by": "h3", "h3_resolution": resolution}
    _finish(
        run,
        features,
        len(rows) > query.limit,
        **how,
        property=metric,
        min_count=layer.min_count,
        care=care,
    )


def _resident_feature(row: Sequence, members: str, by_building: bool) -> str:
    """The feature text of a resident group row ``(key, n, k[, geometry])``."""
    return (
        _building_feature(row[0], row[3], members) if by_building else hexagon_text(row[0], members)
    )


def _building_feature(building: int, geometry: str, members: str) -> str:
    """A building's feature text: its GeoJSON geometry as the store wrote it, and the property
    members after ``aggregate`` and ``building``."""
    return (
        f'{{"type":"Feature","id":"building-{building}","geometry":{geometry},'
        f'"properties":{{"aggregate":true,"building":{building},{members}}}}}'
    )


# --- incident heatmap: weighted points ----------------------------------------------------------


def heat_sql(layer: Layer, where: str, resolution: int) -> str:
    return f"""WITH {ENVELOPE}
SELECT {cell_sql(resolution)} AS cell, count(*) AS n, sum(t.severity) AS s
FROM "{layer.source}" AS t, env WHERE {where}
GROUP BY 1 ORDER BY n DESC, cell LIMIT :fetch"""


def heatmap(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Weighted points (H3 cell centres, one level finer than the hexagons) for a heatmap."""
    resolution = min(9, h3_resolution(query.zoom) + 1)
    where = conditions(layer, query, viewer, "t.geom && env.g")
    rows = run.all(
        heat_sql(layer, where.sql, resolution), where.params | {"fetch": query.limit + 1}
    )
    shown = rows[: query.limit]
    classes = levels([n for _, n, _ in shown], sqrt=True)
    features = [
        f'{_heat_head(cell)},"count":{n},"weight":{n},"severity_sum":{int(s)},'
        f'"value":{n},"level":{c}}}}}'
        for (cell, n, s), c in zip(shown, classes, strict=True)
    ]
    _finish(
        run, features, len(rows) > query.limit, by="h3", h3_resolution=resolution, property="weight"
    )


# --- H3 hexagons of any point layer -------------------------------------------------------------


def _source_layer(of: str) -> Layer:
    from layers.registry import get_layer  # the registry imports every layer module

    return get_layer(of)


def _source_query(source: Layer, query: LayerQuery) -> LayerQuery:
    """``query`` restricted to the filters the source layer understands."""
    kept = {k: v for k, v in query.filters.items() if source.filter_for(k)}
    time = query.time if source.time_column else None
    return LayerQuery(query.bbox, query.zoom, query.limit, time, kept, query.area_id)


def hexagons(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Count, density (per km²) or care-tag share per H3 cell of the ``of`` layer."""
    source = _source_layer(query.option("of", "incidents"))
    metric = query.option("metric", "count")
    if not source.allows(viewer.role):
        raise FeatureQueryError("of", f"layer {source.id!r} is not available to this viewer")
    if metric == "share" and (source.id != "residents" or "care" not in query.filters):
        raise FeatureQueryError("metric", "share needs of=residents and care=<tag>")
    sub = _source_query(source, query)
    resolution = h3_resolution(query.zoom)
    if source.provider == "residents":
        care = sub.option("care", "") or None
        rows = _resident_groups(run, source, _at_cells(sub), viewer, by_building=False)[0]
        raw = [(c, n, care_properties(n, k, source.min_count or 1)) for c, n, k in rows]
    else:
        where = conditions(source, sub, viewer, "t.geom && env.g")
        rows = run.all(
            h3_counts_sql(source, where.sql, resolution), where.params | {"fetch": query.limit + 1}
        )
        raw, care = [(c, n, _NO_EXTRA) for c, n in rows], None
    _hexagon_answer(
        run, raw[: query.limit], len(raw) > query.limit, metric, resolution, of=source.id, care=care
    )


def _at_cells(query: LayerQuery) -> LayerQuery:
    """A zoom at which the residents provider groups by H3 (its building view starts at 16)."""
    return LayerQuery(
        query.bbox, min(query.zoom, 15.0), query.limit, query.time, query.filters, query.area_id
    )


def _metric_value(metric: str, n: int, extra: Mapping[str, object], resolution: int) -> float:
    if metric == "density":
        return round(n / cell_area_km2(resolution), 2)
    if metric == "share":
        return float(extra.get("share") or 0)
    return float(n)


def _hexagon_answer(
    run: Runner, raw: list, capped: bool, metric: str, resolution: int, **about: object
) -> None:
    values = [_metric_value(metric, n, extra, resolution) for _, n, extra in raw]
    classes = levels(values, sqrt=metric != "share")
    features = [
        hexagon_text(cell, f'"count":{n},"metric":"{metric}","value":{v!r},"level":{c}')
        if not extra  # values are floats: repr is their JSON text
        else hexagon_feature(cell, {"count": n, **extra, "metric": metric, "value": v, "level": c})
        for (cell, n, extra), v, c in zip(raw, values, classes, strict=True)
    ]
    _finish(
        run,
        features,
        capped,
        by="h3",
        h3_resolution=resolution,
        property=metric,
        cell_area_km2=round(cell_area_km2(resolution), 4),
        **about,
    )


# --- the risk-forecast slot ---------------------------------------------------------------------


def forecast(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """The latest stored forecast run's cells or grids in view (:mod:`analytics.forecast_layer`)."""
    from analytics.forecast_layer import provide  # analytics builds on this module

    provide(run, layer, query, viewer)


# --- hot and cold spots (Getis-Ord Gi*) ---------------------------------------------------------


def hotspots(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Gi* hot/cold-spot classes per H3 cell (:mod:`analytics.hotspots`)."""
    from analytics.hotspots import provide  # analytics builds on this module

    provide(run, layer, query, viewer)


# --- camera coverage gaps -----------------------------------------------------------------------


def coverage_gaps(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """Uncovered parts of fire lanes and roads in the bbox (:mod:`analytics.coverage`)."""
    from analytics.coverage import provide  # analytics builds on this module

    provide(run, layer, query, viewer)


PROVIDERS: dict[str, Callable[[Runner, Layer, LayerQuery, Viewer], None]] = {
    "residents": residents,
    "heatmap": heatmap,
    "hexagons": hexagons,
    "forecast": forecast,
    "hotspots": hotspots,
    "coverage_gaps": coverage_gaps,
}
