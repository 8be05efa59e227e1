"""The ``forecast`` provider: the latest stored forecast run as H3 hexagons (or grids) in view.

``?horizon=7|30`` picks the horizon (7 by default), ``?group=<category group>`` the category
group (``all`` by default), ``?unit=h3|grid`` cells or governance grids. Each feature carries
the expected count, its 80% interval (``low``..``high``) and a zh/en label with both, for the
tooltip; ``level`` 0..5 classes the expected count against the largest of the whole run slice
(horizon, group, unit), so colours do not change when the map pans. The answer's ``note`` says
which model version ran when; with no run stored, the collection is empty and the note says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import h3

from analytics.forecast_common import ALL, HORIZONS, INTERVAL, UNITS
from geodata.aggregates import _ASCII_JSON, _JSON, hexagon_text, levels
from geodata.layer_query import LayerQuery
from geodata.layer_sql import precision, tolerance
from geodata.spatial_sql import ENVELOPE
from geodata.viewer import Viewer
from layers.base import Layer, Text

if TYPE_CHECKING:
    from geodata.features import Runner

NO_RUN: Text = {
    "zh": "尚无风险预测：请先运行 python -m analytics forecast。",
    "en": "No risk forecast yet: run python -m analytics forecast first.",
}
LATEST_RUN_SQL = """SELECT id, model_version, started_at, finished_at, cell_res, horizons, groups,
       origin, incidents
FROM forecast_run ORDER BY started_at DESC, id DESC LIMIT 1"""
SLICE = "f.run_id = :run AND f.horizon_days = :h AND f.category_group = :g AND f.unit = :u"
TOP = f"(SELECT max(f.expected) FROM forecast f WHERE {SLICE})"
POINT = "ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)"
NEAR = """f.lon BETWEEN :minx - :margin AND :maxx + :margin
  AND f.lat BETWEEN :miny - :margin AND :maxy + :margin"""
"""A cell's centre is in the bbox grown by ``:margin``."""


def _scope_sql(query: LayerQuery, viewer: Viewer, point: str) -> tuple[str, dict[str, object]]:
    """Clauses keeping ``point`` inside the selected area and the viewer's scope."""
    clauses, params = [], {}
    if query.area_id is not None:
        clauses.append(
            f"ST_Intersects({point}, (SELECT sel.geom FROM area sel WHERE sel.id = :area))"
        )
        params["area"] = query.area_id
    if viewer.area_ids is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM area s WHERE s.id = ANY(:scope) "
            f"AND ST_Intersects(s.geom, {point}))"
        )
        params["scope"] = list(viewer.area_ids)
    return "".join(f" AND {c}" for c in clauses), params


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


FEATURE_START = ',{"type":"Feature",'
"""Where a feature after the first starts in joined feature texts (a ``"`` inside a JSON string
is escaped, so this only occurs between features)."""


def drop_last(texts: str) -> str:
    """Joined feature texts without the last feature."""
    return texts[: max(texts.rfind(FEATURE_START), 0)]


def grids_sql(scope: str) -> str:
    """Forecast grids of one run slice whose polygon meets the bbox, simplified for the zoom."""
    return f"""WITH {ENVELOPE}
SELECT f.unit_id, f.expected, f.low, f.high, {TOP} AS top, a.name, a.name_en,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tol), :digits)::text
FROM forecast f JOIN area a ON a.id = f.unit_id, env
WHERE {SLICE} AND a.geom && env.g{scope}
ORDER BY f.expected DESC, f.unit_id LIMIT :fetch"""


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


def _cell_members(horizon: int, group: str) -> Callable[[tuple], str]:
    """A function writing :func:`forecast_properties` of a row as JSON object members (text),
    the parts shared by every cell of the answer written once: hundreds of cells per view."""

    @lru_cache(maxsize=1024)
    def labels(low: int, high: int) -> str:
        label = interval_label(low, high, horizon)
        return _ASCII_JSON({"name": label["zh"], "name_en": label["en"]})[1:-1]

    shared = _ASCII_JSON({"interval": INTERVAL, "horizon_days": horizon, "group": group})[1:-1]

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
    members = _cell_members(horizon, group)
    return [
        hexagon_text(int(c), members((c, e, lo, hi, top)))
        for c, e, lo, hi in zip(cells, expected, low, high, strict=True)
    ]


def run_note(run: tuple, horizon: int) -> Text:
    """Which model version ran when, and what the numbers mean (zh/en)."""
    _, version, started, _, _, _, _, origin, _ = run
    pct = round(INTERVAL * 100)
    return {
        "zh": f"模型 {version}，运行于 {started:%Y-%m-%d %H:%M} UTC；自 {origin:%Y-%m-%d} 起未来"
        f"{horizon}天的预计事件数，悬停查看 {pct}% 区间（泊松）。",
        "en": f"Model {version}, run {started:%Y-%m-%d %H:%M} UTC: incidents expected over the "
        f"{horizon} days from {origin:%Y-%m-%d}; hover for the {pct}% (Poisson) interval.",
    }


def _missing_note(run: tuple, horizon: int, group: str) -> Text | None:
    """A note when the latest run has no forecast for this horizon or group."""
    horizons, groups = run[5], run[6]
    if horizon not in horizons:
        have = ", ".join(str(h) for h in horizons)
        return {
            "zh": f"最新一次预测（第 {run[0]} 次）没有 {horizon} 天的结果，只有 {have} 天。",
            "en": f"The latest forecast run ({run[0]}) has no {horizon}-day horizon, only {have}.",
        }
    if group not in groups:
        have = ", ".join(groups)
        return {
            "zh": f"最新一次预测（第 {run[0]} 次）没有类别组 {group}，可选：{have}。",
            "en": f"The latest forecast run ({run[0]}) has no category group {group}; "
            f"it has {have}.",
        }
    return None


def _h3_answer(run: Runner, query: LayerQuery, viewer: Viewer, params: dict) -> tuple[str, int]:
    """The hexagon features in view as joined JSON text, highest first (at most limit), and how
    many cells matched (at most limit + 1). Stored texts when the run has them, else written
    here from the rows (runs stored before migration 0013)."""
    scope, scope_params = _scope_sql(query, viewer, POINT)
    margin = h3.average_hexagon_edge_length(params["res"], "km") / 111.0
    params = params | scope_params | {"margin": margin}
    n, missing, texts = run.all(texts_sql(scope), params)[0]
    if not missing:
        return (drop_last(texts) if n > query.limit else texts or ""), n
    rows = run.all(cells_sql(scope), params)
    members = _cell_members(params["h"], params["g"])
    return ",".join(hexagon_text(int(r[0]), members(r)) for r in rows[: query.limit]), len(rows)


def _grid_features(run: Runner, query: LayerQuery, viewer: Viewer, params: dict) -> list:
    """Grid polygons with their forecast, highest first (at most limit + 1)."""
    scope, scope_params = _scope_sql(query, viewer, "a.loc")
    params = params | scope_params | {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
    rows = run.all(grids_sql(scope), params)
    h, g = params["h"], params["g"]
    return [
        {
            "type": "Feature",
            "id": f"grid-{r[0]}",
            "geometry": json.loads(r[7]),
            "properties": {
                "aggregate": True,
                "area": int(r[0]),
                **forecast_properties(r, h, g, {"zh": r[5], "en": r[6]}),
            },
        }
        for r in rows
    ]


def provide(run: Runner, layer: Layer, query: LayerQuery, viewer: Viewer) -> None:
    """The ``forecast`` provider: the latest run's cells or grids in view, highest first."""
    horizon = int(query.option("horizon", str(HORIZONS[0])))
    group, unit = query.option("group", ALL), query.option("unit", UNITS[0])
    latest = run.all(LATEST_RUN_SQL, {})
    if not latest:
        run.answer.meta |= {"note": dict(NO_RUN), "pending": True}
        return
    last = latest[0]
    missing = _missing_note(last, horizon, group)
    if missing:
        run.answer.meta |= {"note": missing, "forecast": _about(last, horizon, group, unit)}
        return
    params = query.bbox.params() | {"run": last[0], "h": horizon, "g": group, "u": unit}
    params |= {"fetch": query.limit + 1, "res": last[4]}
    if unit == "h3":
        texts, n = _h3_answer(run, query, viewer, params)
    else:
        grids = _grid_features(run, query, viewer, params)
        texts, n = ",".join(map(_JSON, grids[: query.limit])), len(grids)
    run.answer.meta |= {
        "note": run_note(last, horizon),
        "forecast": _about(last, horizon, group, unit),
    }
    how = (
        {"by": "h3", "h3_resolution": last[4]} if unit == "h3" else {"by": "area", "level": "grid"}
    )
    _finish(run, texts, n, query.limit, **how, property="expected")


def _finish(run: Runner, texts: str, n: int, limit: int, **aggregate: object) -> None:
    """Set the answer's features (joined JSON text of at most ``limit``) and metadata, as
    :func:`geodata.aggregates._finish` does for a list."""
    run.answer.features_json = f"[{texts}]"
    run.answer.meta |= {"count": min(n, limit), "aggregate": aggregate}
    if n > limit:
        run.answer.meta["capped"] = True


def _about(run: tuple, horizon: int, group: str, unit: str) -> dict[str, object]:
    """The run and slice the answer shows, for clients and tests."""
    return {
        "run_id": run[0],
        "model_version": run[1],
        "run_at": run[2].isoformat(),
        "finished_at": run[3].isoformat(),
        "origin": run[7].isoformat(),
        "incidents": run[8],
        "cell_res": run[4],
        "horizon_days": horizon,
        "group": group,
        "unit": unit,
        "interval": INTERVAL,
    }
