"""Stored forecast cells: the latest run, one run slice's cells or grids in a view, and the
feature text each H3 cell is stored with.

A run slice is (run, horizon, category group, unit). :func:`latest_run` reads the newest run;
:func:`stored_texts`, :func:`cells_in_view` and :func:`grids_in_view` read a slice's rows near a
bbox, highest expected count first, inside the selected area and the viewer's scope (``scope``:
`` AND …`` clauses appended to the WHERE clause, made by the layer's provider with
:func:`geodata.spatial_sql.area_clause` and :func:`~geodata.spatial_sql.scope_clause`). The
``risk_forecast`` layer (:mod:`layers.providers.forecast`) makes its answer from them.

Each H3 row is stored with the GeoJSON feature text the layer answers for it
(:func:`cell_features`, migration 0013), written once when the run is stored; ``level`` 0..5
classes the expected count against the largest of the whole run slice, so colours do not change
when the map pans. Light: no model libraries (the web app imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from analytics.forecast_common import INTERVAL
from analytics.levels import levels
from geodata.cells import ASCII_JSON, hexagon_text
from geodata.engine import Execute
from geodata.spatial_sql import ENVELOPE
from geodata.vocab import Text

LATEST_RUN_SQL = """SELECT id, model_version, started_at, finished_at, cell_res, horizons, groups,
       origin, incidents
FROM forecast_run ORDER BY started_at DESC, id DESC LIMIT 1"""
SLICE = "f.run_id = :run AND f.horizon_days = :h AND f.category_group = :g AND f.unit = :u"
TOP = f"(SELECT max(f.expected) FROM forecast f WHERE {SLICE})"
POINT = "ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)"
NEAR = """f.lon BETWEEN :minx - :margin AND :maxx + :margin
  AND f.lat BETWEEN :miny - :margin AND :maxy + :margin"""
"""A cell's centre is in the bbox grown by ``:margin``."""


def latest_run(execute: Execute) -> tuple | None:
    """The newest run ``(id, model_version, started_at, finished_at, cell_res, horizons,
    groups, origin, incidents)``, None when none is stored."""
    rows = execute(LATEST_RUN_SQL, {})
    return tuple(rows[0]) if rows else None


def cells_sql(scope: str) -> str:
    """Forecast cells of one run slice whose centre is in the bbox grown by ``:margin``."""
    return f"""SELECT f.unit_id, f.expected, f.low, f.high, {TOP} AS top
FROM forecast f
WHERE {SLICE} AND {NEAR}{scope}
ORDER BY f.expected DESC, f.unit_id LIMIT :fetch"""


def texts_sql(scope: str) -> str:
    """The stored feature texts of the cells :func:`cells_sql` selects, joined highest first,
    with how many matched (at most ``:fetch``) and how many lack a text."""
    return f"""WITH c AS (
SELECT f.unit_id, f.expected, f.feature
FROM forecast f
WHERE {SLICE} AND {NEAR}{scope}
ORDER BY f.expected DESC, f.unit_id LIMIT :fetch)
SELECT count(*), count(*) - count(c.feature),
       string_agg(c.feature, ',' ORDER BY c.expected DESC, c.unit_id)
FROM c"""


def grids_sql(scope: str) -> str:
    """Forecast grids of one run slice whose polygon meets the bbox, simplified for the zoom."""
    return f"""WITH {ENVELOPE}
SELECT f.unit_id, f.expected, f.low, f.high, {TOP} AS top, a.name, a.name_en,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tol), :digits)::text
FROM forecast f JOIN area a ON a.id = f.unit_id, env
WHERE {SLICE} AND a.geom && env.g{scope}
ORDER BY f.expected DESC, f.unit_id LIMIT :fetch"""


def stored_texts(execute: Execute, scope: str, params: dict) -> tuple[int, int, str | None]:
    """How many H3 cells of the slice are near the bbox (at most ``:fetch``), how many of them
    lack a stored text, and their stored texts joined highest first."""
    n, missing, texts = execute(texts_sql(scope), params)[0]
    return n, missing, texts


def cells_in_view(execute: Execute, scope: str, params: dict) -> list:
    """Rows ``(unit_id, expected, low, high, top)`` of the slice's H3 cells near the bbox,
    highest first (at most ``:fetch``)."""
    return execute(cells_sql(scope), params)


def grids_in_view(execute: Execute, scope: str, params: dict) -> list:
    """Rows ``(unit_id, expected, low, high, top, name, name_en, geometry text)`` of the
    slice's grids meeting the bbox, highest first (at most ``:fetch``)."""
    return execute(grids_sql(scope), params)


def level(value: float, top: float | None) -> int:
    """Colour class 0..5 of an expected count against the slice's largest (square-root scale,
    as the other count layers)."""
    return levels([value, top or 0.0], sqrt=True)[0] if top else 0


def interval_label(low: int, high: int, horizon: int) -> Text:
    """The tooltip text of one forecast, zh and en: horizon and interval (the map appends the
    expected ``count`` and the layer's unit: "… · 24.7 起（预计）")."""
    pct = round(INTERVAL * 100)
    return {
        "zh": f"未来{horizon}天 · {pct}% 区间 {low}–{high} 起",
        "en": f"next {horizon} days · {pct}% interval {low}–{high}",
    }


def forecast_properties(
    row: tuple, horizon: int, group: str, name: Text | None = None
) -> dict[str, object]:
    """The feature properties of one stored forecast row ``(unit_id, expected, low, high, top)``."""
    _, expected, low, high, top = row[:5]
    label = interval_label(low, high, horizon)
    if name:
        label = {lang: f"{name[lang] or name['zh']} · {label[lang]}" for lang in ("zh", "en")}
    return {
        "expected": round(float(expected), 3),
        "low": int(low),
        "high": int(high),
        "interval": INTERVAL,
        "horizon_days": horizon,
        "group": group,
        "count": round(float(expected), 1),
        "level": level(float(expected), top),
        "name": label["zh"],
        "name_en": label["en"],
    }


def cell_members(horizon: int, group: str) -> Callable[[tuple], str]:
    """A function writing :func:`forecast_properties` of a row as JSON object members (text),
    the parts shared by every cell of the answer written once: hundreds of cells per view."""

    @lru_cache(maxsize=1024)
    def labels(low: int, high: int) -> str:
        label = interval_label(low, high, horizon)
        return ASCII_JSON({"name": label["zh"], "name_en": label["en"]})[1:-1]

    shared = ASCII_JSON({"interval": INTERVAL, "horizon_days": horizon, "group": group})[1:-1]

    def members(row: tuple) -> str:
        _, expected, low, high, top = row[:5]
        e, lo, hi = float(expected), int(low), int(high)
        return (
            f'"expected":{round(e, 3)!r},"low":{lo},"high":{hi},{shared},'
            f'"count":{round(e, 1)!r},"level":{level(e, top)},{labels(lo, hi)}'
        )

    return members


def cell_features(
    cells: Sequence[int],
    expected: Sequence[float],
    low: Sequence[int],
    high: Sequence[int],
    horizon: int,
    group: str,
) -> list[str]:
    """The GeoJSON feature text of every H3 cell of one run slice (as the layer answers it),
    ``level`` against the slice's largest expected count: written once when a run is stored."""
    top = max(expected, default=None)
    members = cell_members(horizon, group)
    return [
        hexagon_text(int(c), members((c, e, lo, hi, top)))
        for c, e, lo, hi in zip(cells, expected, low, high, strict=True)
    ]
