"""The ``forecast`` provider: the latest stored forecast run as H3 hexagons (or grids) in view.

``?horizon=7|30`` picks the horizon (7 by default), ``?group=<category group>`` the category
group (``all`` by default), ``?unit=h3|grid`` cells or governance grids. Each feature carries
the expected count, its 80% interval (``low``..``high``) and a zh/en label with both, for the
tooltip (:func:`analytics.forecast_cells.forecast_properties`); hexagons are sent as the texts
stored with the run. The answer's ``note`` says which model version ran when; with no run
stored, the collection is empty and the note says so.
"""

from __future__ import annotations

import json

import h3

from analytics.forecast_cells import (
    POINT,
    cell_members,
    cells_in_view,
    forecast_properties,
    grids_in_view,
    latest_run,
    stored_texts,
)
from analytics.forecast_common import ALL, HORIZONS, INTERVAL, UNITS
from geodata import city_time
from geodata.cells import hexagon_text
from geodata.conditions import Conditions
from geodata.vocab import Text
from layers.geojson import JSON, finish_joined
from layers.providers.base import Context
from layers.sql import precision, scope_clauses, tolerance

NO_RUN: Text = {
    "zh": "尚无风险预测：请先运行 python -m analytics forecast。",
    "en": "No risk forecast yet: run python -m analytics forecast first.",
}
FEATURE_START = ',{"type":"Feature",'
"""Where a feature after the first starts in joined feature texts (a ``"`` inside a JSON string
is escaped, so this only occurs between features)."""


def drop_last(texts: str) -> str:
    """Joined feature texts without the last feature."""
    return texts[: max(texts.rfind(FEATURE_START), 0)]


def run_note(run: tuple, horizon: int, zone: str = city_time.DEFAULT_ZONE) -> Text:
    """Which model version ran when (in the city's zone ``zone``), and what the numbers mean
    (zh/en; the forecast's days are UTC days, as the model counts them)."""
    _, version, started, _, _, _, _, origin, _ = run
    pct = round(INTERVAL * 100)
    ran = f"{city_time.fmt(started, zone, '%Y-%m-%d %H:%M')} {city_time.offset_label(zone)}"
    return {
        "zh": f"模型 {version}，运行于 {ran}；自 {origin:%Y-%m-%d}（UTC）起未来"
        f"{horizon}天的预计事件数，悬停查看 {pct}% 区间（泊松）。",
        "en": f"Model {version}, run {ran}: incidents expected over the "
        f"{horizon} days from {origin:%Y-%m-%d} (UTC); hover for the {pct}% (Poisson) interval.",
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


def _scope(ctx: Context, point: str) -> Conditions:
    """The clauses keeping ``point`` inside the selected area and the viewer's scope."""
    where = Conditions()
    scope_clauses(where, ctx.query, ctx.viewer, point)
    return where


def _h3_answer(ctx: Context, params: dict) -> tuple[str, int]:
    """The hexagon features in view as joined JSON text, highest first (at most limit), and how
    many cells matched (at most limit + 1). Stored texts when the run has them, else written
    here from the rows (runs stored before migration 0013)."""
    query = ctx.query
    scope = _scope(ctx, POINT)
    margin = h3.average_hexagon_edge_length(params["res"], "km") / 111.0
    params = params | scope.params | {"margin": margin}
    n, missing, texts = stored_texts(ctx.execute, scope.and_sql, params)
    if not missing:
        if n > query.limit:
            assert texts is not None, "n > limit >= 0 cells, all with a text: string_agg is set"
            return drop_last(texts), n
        return texts or "", n
    rows = cells_in_view(ctx.execute, scope.and_sql, params)
    members = cell_members(params["h"], params["g"])
    return ",".join(hexagon_text(int(r[0]), members(r)) for r in rows[: query.limit]), len(rows)


def _grid_features(ctx: Context, params: dict) -> list:
    """Grid polygons with their forecast, highest first (at most limit + 1)."""
    query = ctx.query
    scope = _scope(ctx, "a.loc")
    params = params | scope.params | {"tol": tolerance(query.zoom), "digits": precision(query.zoom)}
    rows = grids_in_view(ctx.execute, scope.and_sql, params)
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


def provide(ctx: Context) -> None:
    """The latest run's cells or grids in view, highest first."""
    query, answer = ctx.query, ctx.answer
    horizon = int(query.option("horizon", str(HORIZONS[0])))
    group, unit = query.option("group", ALL), query.option("unit", UNITS[0])
    last = latest_run(ctx.execute)
    if last is None:
        answer.meta |= {"note": dict(NO_RUN), "pending": True}
        return
    missing = _missing_note(last, horizon, group)
    if missing:
        answer.meta |= {"note": missing, "forecast": _about(last, horizon, group, unit)}
        return
    params = query.bbox.params() | {"run": last[0], "h": horizon, "g": group, "u": unit}
    params |= {"fetch": query.limit + 1, "res": last[4]}
    if unit == "h3":
        texts, n = _h3_answer(ctx, params)
    else:
        grids = _grid_features(ctx, params)
        texts, n = ",".join(map(JSON, grids[: query.limit])), len(grids)
    answer.meta |= {
        "note": run_note(last, horizon, ctx.settings.city.timezone),
        "forecast": _about(last, horizon, group, unit),
    }
    how = (
        {"by": "h3", "h3_resolution": last[4]} if unit == "h3" else {"by": "area", "level": "grid"}
    )
    finish_joined(answer, texts, n, query.limit, **how, property="expected")


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
