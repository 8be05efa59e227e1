"""The ``hotspots`` provider: Getis-Ord Gi* classes of incident counts per H3 cell in view.

Counts incidents per cell in SQL (the whole study area, not the bbox: the region does not depend
on the viewport), hands them to :func:`analytics.hotspots.hotspots_of_arrays` for the classes,
and writes the study cells in view as hexagons, strongest |z| first.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from analytics.hotspots import (
    CLASS_INDEX,
    CLASSES,
    CODES,
    DEFAULT_RESOLUTION,
    NOT_SIGNIFICANT,
    RINGS,
    Hotspots,
    hotspots_of_arrays,
    strongest_in_view,
)
from geodata.accounts.viewer import Viewer
from geodata.cells import ASCII_JSON, cell_sql, hexagon_text
from geodata.engine import Execute
from layers.base import Layer
from layers.geojson import finish
from layers.providers import cell_rollup
from layers.providers.base import Context
from layers.query import LayerQuery
from layers.sql import conditions


def counts_sql(layer: Layer, where: str, resolution: int) -> str:
    """Incidents per H3 cell over the whole study area (no bbox: the region is city-wide)."""
    return f"""SELECT {cell_sql(resolution)} AS cell, count(*) AS n
FROM "{layer.source}" AS t WHERE {where} GROUP BY 1"""


def cell_counts(
    execute: Execute, layer: Layer, query: LayerQuery, viewer: Viewer, resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """Incidents per cell (unique cells, counts) in the query's window, filters, area and the
    viewer's scope."""
    rolled = cell_rollup.counts(execute, layer, query, viewer, resolution, spatial=False)
    if rolled is not None:
        rows: list = sorted(rolled)
    else:
        where = conditions(layer, query, viewer, None)
        rows = execute(counts_sql(layer, where.sql, resolution), where.params)
    cells = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return cells, np.fromiter((r[1] for r in rows), dtype=float, count=len(rows))


def resolution_of(query: LayerQuery) -> int:
    """The H3 resolution asked for (``?res=8|9``; 8 by default)."""
    return int(query.option("res", str(DEFAULT_RESOLUTION)))


def properties_of_class(code: str) -> dict[str, object]:
    """The properties every cell of class ``code`` shares."""
    cls = CLASSES[CLASS_INDEX[code]]
    return {
        "class": code,
        "confidence": int(code[-2:]) if code != NOT_SIGNIFICANT else None,
        "level": CLASS_INDEX[code],
        "name": cls.zh,
        "name_en": cls.en,
    }


def properties(spots: Hotspots, i: int) -> dict[str, object]:
    """The feature properties of study cell ``i``."""
    return {
        "count": int(spots.counts[i]),
        "z": round(float(spots.z[i]), 3),
        "p": round(float(spots.p[i]), 4),
        **properties_of_class(spots.classes[i]),
    }


@cache
def _class_members(level: int) -> str:
    """:func:`properties_of_class` of class ``level`` as JSON object members (ASCII text)."""
    return ASCII_JSON(properties_of_class(CODES[level]))[1:-1]


def members(spots: Hotspots, i: int) -> str:
    """:func:`properties` of study cell ``i`` as JSON object members (text, same bytes)."""
    z, p = round(float(spots.z[i]), 3), round(float(spots.p[i]), 4)  # finite: see gi_star
    head = f'"count":{int(spots.counts[i])},"z":{z!r},"p":{p!r}'
    return f"{head},{_class_members(int(spots.levels[i]))}"


def provide(ctx: Context) -> None:
    """Gi* classes of the study cells in view, strongest first."""
    query = ctx.query
    resolution = resolution_of(query)
    spots = hotspots_of_arrays(*cell_counts(ctx.execute, ctx.layer, query, ctx.viewer, resolution))
    order = strongest_in_view(spots, query.bbox, resolution)
    kept = order[: query.limit].tolist()
    cells = spots.cells.tolist()
    features = [hexagon_text(cells[i], members(spots, i)) for i in kept]
    tally = np.bincount(spots.levels, minlength=len(CLASSES)).tolist()
    finish(
        ctx.answer,
        features,
        len(order) > query.limit,
        by="h3",
        h3_resolution=resolution,
        property="class",
        method="Getis-Ord Gi*",
        inference="analytical z" if not spots.permutations else "permutations",
        rings=RINGS,
        study_cells=len(spots.cells),
        incidents=int(spots.counts.sum()),
        classes=dict(zip(CODES, tally, strict=True)),
    )
