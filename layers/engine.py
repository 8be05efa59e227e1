"""The layers engine: one viewport request of one layer, answered top-down.

parse (:class:`layers.query.LayerQuery`, by the caller) → layer (may the viewer see it, is it
drawn at this zoom; the registry checked its columns at import) → scope and SQL (the layer's
provider, :data:`layers.providers.registry.PROVIDERS`, with :mod:`layers.sql`) → run
(:class:`Runner`: one pooled read connection per answer) → encode (:mod:`layers.geojson`). Plain
feature layers zoomed out are counted per H3 cell or governance area instead (:data:`AGGREGATES`).

Also the extents the map starts from: a layer's time span (:func:`time_extent`) and the city's
box (:func:`city_extent`).
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, text

from geodata import city_time
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine, read_connection
from geodata.errors import LayerForbiddenError
from geodata.settings import Settings
from layers.base import AggregateBy, Layer, ProviderName
from layers.geojson import Answer
from layers.providers import area_counts, h3_counts
from layers.providers.base import Context, Provider
from layers.providers.registry import PROVIDERS
from layers.query import LayerQuery

AGGREGATES: dict[AggregateBy, Provider] = {"h3": h3_counts.provide, "area": area_counts.provide}
"""How a ``features`` layer is counted below its ``aggregate_below_zoom``."""


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
        rows = list(self._conn.execute(text(sql), params).all())
        self.answer.sql_seconds += time.perf_counter() - started
        self.answer.statements.append((sql, params))
        return rows

    def close(self) -> None:
        """Return the connection to the pool (if a statement took one)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def meta(layer: Layer, query: LayerQuery, count: int) -> dict[str, object]:
    """The metadata every answer starts with."""
    return {"layer": layer.id, **query.echo(), "count": count, "capped": False}


def provider_for(layer: Layer, zoom: float) -> Provider:
    """The provider of ``layer`` at ``zoom``: its own, or its counts when zoomed out."""
    if layer.provider == ProviderName.FEATURES and layer.aggregated_at(zoom):
        return AGGREGATES[layer.aggregate_by]
    return PROVIDERS[layer.provider]


def answer(url: str, layer: Layer, query: LayerQuery, viewer: Viewer, settings: Settings) -> Answer:
    """The layer's answer to ``query`` for ``viewer`` from the store at ``url`` (features or
    aggregates); :class:`LayerForbiddenError` when the viewer may not see the layer."""
    if not layer.allows(viewer.role):
        raise LayerForbiddenError(f"role {viewer.role!r} may not see layer {layer.id!r}")
    run = Runner(url, Answer(meta(layer, query, 0)))
    try:
        if not layer.shown_at(query.zoom):
            run.answer.meta["note"] = (
                f"layer {layer.id!r} is drawn at zoom {layer.min_zoom}..{layer.max_zoom}; "
                f"asked for zoom {query.zoom:g}"
            )
        else:
            provide = provider_for(layer, query.zoom)
            provide(Context(layer, query, viewer, settings, run.answer, run.all))
    finally:
        run.close()
    return run.answer


def time_extent(
    url: str, layer: Layer, viewer: Viewer, zone: str = city_time.DEFAULT_ZONE
) -> tuple[str, str] | None:
    """First and last day (ISO dates, days of the city's zone ``zone``) of ``layer``'s time
    column that ``viewer`` may see."""
    if not layer.time_column or not layer.allows(viewer.role):
        return None
    column = f't."{layer.time_column}"'
    sql = (
        f"SELECT min({column} AT TIME ZONE :tz)::date, max({column} AT TIME ZONE :tz)::date "
        f'FROM "{layer.source}" AS t'
    )
    with get_engine(url).connect() as conn:
        first, last = conn.execute(text(sql), {"tz": zone}).one()
    return (first.isoformat(), last.isoformat()) if first else None


def city_extent(url: str, level: str = "min") -> tuple[float, float, float, float] | None:
    """The lon/lat box of the top (``level='min'``) or deepest (``'max'``: where the detail
    is, e.g. the demo's core of grids) governance level in the store (None: no areas)."""
    if level not in ("min", "max"):
        raise ValueError(f"level must be 'min' or 'max' (got {level!r})")
    sql = (
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e "
        f"FROM area WHERE depth = (SELECT {level}(depth) FROM area)) AS x"
    )
    with get_engine(url).connect() as conn:
        row = conn.execute(text(sql)).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])
