"""Stored risk forecasts: train on the store's incident history, write a run and its forecasts.

One run (``python -m analytics forecast``) reads the incident history of table ``event``
counted per day, H3 cell (resolution 8 or 9, derived in SQL from the stored ``h3_r9``) and
category group (``event_category.parent``; a code without a taxonomy row counts under its first
dotted part) — the counting happens in PostgreSQL, so a million incidents arrive as a few
hundred thousand rows at most. For each horizon (7, 30 days) and each group, plus all
categories together, the model of :mod:`analytics.forecast` is fitted on that history and
predicts the expected incidents of every cell of the study region over the next period
(one task per horizon and group, run by :func:`analytics.forecast_exec.map_tasks`,
in-process or on Dask). Besides the history features, each cell's exposure enters the model:
residents and their care tags, buildings (number, mean year built, mean height), devices and
facilities (:data:`EXPOSURE_SQL`).

Uncertainty: the central 80% Poisson interval around each expected count (10th and 90th
percentiles of a Poisson variable with that mean).

Grids: a grid's expectation is the sum of its cells' expectations, each cell shared among grids
by where its past incidents happened (all categories), or given wholly to the grid holding its
centre when it had none. The same Poisson interval is taken around the sum.

A run is stored as a ``forecast_run`` row (model version, run time, history used) and its
``forecast`` rows, in one transaction; older runs are kept, the map shows the latest.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import h3
import numpy as np
import pandas as pd
import sklearn
from scipy import sparse, stats
from sqlalchemy import text

from analytics import forecast as fc
from analytics.forecast_cells import cell_features
from analytics.forecast_common import ALL, DEFAULT_RESOLUTION, HORIZONS, INTERVAL, RESOLUTIONS
from analytics.forecast_exec import executor_name, map_tasks, one_thread_per_fit
from analytics.hotspots import study_region
from geodata.bulk import copy_rows, one_value, raw_connection
from geodata.cells import cell_sql
from geodata.engine import get_engine
from geodata.errors import OneMapError
from geodata.vocab import AreaLevel

CONFIG = fc.ModelConfig()
"""The model: the configuration the Boston backtest chose on its validation origins."""
SMALL_DATA_CONFIG = fc.ModelConfig(kind="glm", alpha=1e-3)
"""The model when the history is too short for :data:`CONFIG` (see :func:`config_for`)."""
MIN_ROWS_PER_LEAF = 20
"""Gradient boosting needs this many training rows per ``min_samples_leaf``."""
GROUP_SQL = "COALESCE(c.parent, split_part(e.category, '.', 1))"
FORECAST_COLUMNS = (
    "run_id",
    "horizon_days",
    "category_group",
    "unit",
    "unit_id",
    "lon",
    "lat",
    "expected",
    "low",
    "high",
    "feature",
)


class ForecastError(OneMapError, ValueError):
    """A forecast that cannot be made from what the store holds (the message says why)."""


@dataclass
class History:
    """Daily incident counts per cell and group, and the study region of the run."""

    daily: pd.DataFrame  # cell (int64), grp, day (UTC), n
    region: np.ndarray  # H3 cells (int64), sorted
    resolution: int

    @cached_property
    def region_str(self) -> np.ndarray:
        """The region's cells as H3 text ids (same order: fixed-width hex sorts as the ints)."""
        return np.array([h3.int_to_str(int(c)) for c in self.region], dtype=object)

    @property
    def groups(self) -> list[str]:
        """The category groups with incidents, sorted, then :data:`ALL`."""
        return [*sorted(self.daily["grp"].unique()), ALL]


@dataclass
class ForecastResult:
    """What one run computed: the forecast rows and the run's record, before storing."""

    rows: pd.DataFrame  # FORECAST_COLUMNS without run_id
    run: dict[str, Any]
    """The ``forecast_run`` row: model, history span, horizons, config (JSON values)."""
    seconds: dict[str, float] = field(default_factory=dict)


# --- reading the history ------------------------------------------------------------------


def daily_counts_sql(resolution: int) -> str:
    """Incidents per H3 cell, category group and UTC day."""
    return f"""SELECT {cell_sql(resolution, "e")} AS cell, {GROUP_SQL} AS grp,
       (e.reported_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
FROM event e LEFT JOIN event_category c ON c.code = e.category
GROUP BY 1, 2, 3"""


def read_history(url: str, resolution: int) -> History:
    """The store's daily counts at ``resolution`` and their study region (cells with incidents
    and their ring-1 neighbours, as in the backtest)."""
    if resolution not in RESOLUTIONS:
        raise ForecastError(f"cell resolution {resolution}: expected one of {RESOLUTIONS}")
    with get_engine(url).connect() as conn:
        daily = pd.read_sql_query(text(daily_counts_sql(resolution)), conn)
    if daily.empty:
        raise ForecastError("the store has no incidents (table event): nothing to forecast from")
    daily["day"] = pd.to_datetime(daily["day"]).dt.tz_localize(UTC)
    daily["cell"] = daily["cell"].astype(np.int64)
    cells = np.sort(daily["cell"].unique())
    return History(daily, study_region(cells.tolist(), rings=1), resolution)


def horizon_edges(history: History, horizon_days: int) -> pd.DatetimeIndex:
    """Period boundaries of ``horizon_days`` ending at midnight after the last incident."""
    edges = fc.period_edges(history.daily["day"], horizon_days)
    if len(edges) - 1 < fc.WARMUP_PERIODS + 1:
        first, last = history.daily["day"].min(), history.daily["day"].max()
        raise ForecastError(
            f"{len(edges) - 1} whole periods of {horizon_days} days in the history "
            f"({first:%Y-%m-%d} … {last:%Y-%m-%d}); at least {fc.WARMUP_PERIODS + 1} are needed: "
            "use a shorter horizon or load more incident history"
        )
    return edges


def group_grid(history: History, group: str, edges: pd.DatetimeIndex) -> fc.Grid:
    """The counts of ``group`` (or :data:`ALL`) per period of ``edges`` and region cell."""
    daily = history.daily if group == ALL else history.daily[history.daily["grp"] == group]
    return fc.grid_from_daily(
        daily, history.region, edges, history.resolution, names=history.region_str
    )


EXPOSURE_SQL = {
    "residents": "SELECT {cell} AS cell, sum(t.n) FROM resident_stats t GROUP BY 1",
    "care_tags": "SELECT {cell} AS cell, sum(c.value::bigint) "
    "FROM resident_stats t, jsonb_each_text(t.care) c GROUP BY 1",
    "buildings": "SELECT {cell} AS cell, count(*) FROM building t GROUP BY 1",
    "year_built": "SELECT {cell} AS cell, avg(t.year_built) FROM building t GROUP BY 1",
    "height": "SELECT {cell} AS cell, avg(coalesce(t.height, t.floors * 3.0)) "
    "FROM building t GROUP BY 1",
    "devices": "SELECT {cell} AS cell, count(*) FROM device t GROUP BY 1",
    "facilities": "SELECT {cell} AS cell, count(*) FROM facility t GROUP BY 1",
}
"""Exposure per cell, one query each: people (and care tags, from the materialized
``resident_stats``), buildings (number, mean year built and height), devices, facilities."""
MEAN_EXPOSURES = frozenset({"year_built", "height"})
"""Exposures that are means (a cell without buildings has none: NaN), not counts (0)."""


def read_exposure(url: str, history: History) -> pd.DataFrame:
    """Exposure per region cell (index: cell id as text), columns in :data:`EXPOSURE_SQL` order."""
    return cell_exposure(url, history.region_str, history.resolution)


def cell_exposure(url: str, cells: np.ndarray | Sequence[str], resolution: int) -> pd.DataFrame:
    """Exposure of these H3 cells (text ids, at ``resolution``; index: the ids), columns in
    :data:`EXPOSURE_SQL` order: counts 0 where a cell has none, means NaN."""
    cell = cell_sql(resolution, "t")
    ids = [h3.str_to_int(c) for c in cells]
    columns = {}
    with get_engine(url).connect() as conn:
        for name, sql in EXPOSURE_SQL.items():
            values: dict[int | str, float | None] = dict(
                conn.execute(text(sql.format(cell=cell))).all()
            )
            column = pd.Series({int(c): float(v) for c, v in values.items() if v is not None})
            column = column.reindex(ids)
            columns[name] = column if name in MEAN_EXPOSURES else column.fillna(0.0)
    frame = pd.DataFrame(columns)
    frame.index = pd.Index(list(cells))
    return frame


# --- the model run ----------------------------------------------------------------------------


def poisson_interval(expected: np.ndarray, coverage: float = INTERVAL) -> tuple[np.ndarray, ...]:
    """Central ``coverage`` interval (whole counts) of Poisson variables with these means."""
    mu = np.maximum(np.asarray(expected, dtype=float), 0.0)
    tail = (1.0 - coverage) / 2.0
    safe = np.where(mu > 0, mu, 1.0)
    low = np.where(mu > 0, stats.poisson.ppf(tail, safe), 0)
    high = np.where(mu > 0, stats.poisson.ppf(1.0 - tail, safe), 0)
    return low.astype(np.int64), high.astype(np.int64)


def code_version() -> str:
    """A digest of the forecasting code (this module and :mod:`analytics.forecast`)."""
    digest = hashlib.sha256()
    for module in (fc, sys.modules[__name__]):
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:12]


def model_version(config: fc.ModelConfig = CONFIG) -> str:
    """The model version: kind plus a digest of its configuration, the interval, the feature
    set, scikit-learn's version and the code."""
    recipe = {
        "config": asdict(config),
        "small_data": [asdict(SMALL_DATA_CONFIG), MIN_ROWS_PER_LEAF],
        "interval": INTERVAL,
        "features": fc.feature_names(),
        "exposure": EXPOSURE_SQL,
        "sklearn": sklearn.__version__,
        "code": code_version(),
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    return f"{config.kind}-{digest}"


def config_for(grid: fc.Grid, config: fc.ModelConfig = CONFIG) -> fc.ModelConfig:
    """``config``, or :data:`SMALL_DATA_CONFIG` when the training rows are too few for its
    gradient-boosting leaves (a 30-day horizon over one year of a small city: a single leaf,
    the same count everywhere)."""
    rows = max(grid.n_periods - fc.WARMUP_PERIODS, 1) * len(grid.cells)
    if config.kind == "hgb" and rows < MIN_ROWS_PER_LEAF * config.min_samples_leaf:
        return SMALL_DATA_CONFIG
    return config


def predict_grid(
    grid: fc.Grid, config: fc.ModelConfig = CONFIG, exposure: pd.DataFrame | None = None
) -> np.ndarray:
    """One task: fit on ``grid``'s history and predict the next period (module level, so that
    Dask workers can run it)."""
    one_thread_per_fit()
    return fc.predict_next(grid, config_for(grid, config), exposure)


def fit_all(
    history: History,
    horizons: tuple[int, ...],
    scheduler: str | None,
    config: fc.ModelConfig = CONFIG,
    exposure: pd.DataFrame | None = None,
) -> tuple[dict[tuple[int, str], np.ndarray], dict[str, str]]:
    """Expected counts per region cell for every (horizon, group), one task each, and the
    model each used."""
    keys, grids = [], []
    for horizon in horizons:
        edges = horizon_edges(history, horizon)
        for group in history.groups:
            keys.append((horizon, group))
            grids.append(group_grid(history, group, edges))
    results = map_tasks(predict_grid, grids, scheduler, config=config, exposure=exposure)
    models = {
        f"{h}/{g}": config_for(grid, config).label()
        for (h, g), grid in zip(keys, grids, strict=True)
    }
    return dict(zip(keys, results, strict=True)), models


# --- grids ------------------------------------------------------------------------------------

GRIDS_SQL = f"""SELECT id, ST_X(loc) AS lon, ST_Y(loc) AS lat FROM area
WHERE level = '{AreaLevel.grid}' ORDER BY id"""


def history_shares_sql(resolution: int) -> str:
    """Per cell and grid: the cell's incidents in that grid and in all (all categories)."""
    cell = cell_sql(resolution, "e")
    return f"""SELECT {cell} AS cell, a.id AS grid, count(*) AS n,
       sum(count(*)) OVER (PARTITION BY {cell}) AS total
FROM event e LEFT JOIN area a ON a.id = e.area_id AND a.level = '{AreaLevel.grid}'
GROUP BY 1, 2"""


CENTRE_GRIDS_SQL = f"""SELECT DISTINCT ON (c.cell) c.cell, a.id
FROM unnest(CAST(:cells AS bigint[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]))
     AS c(cell, x, y)
JOIN area a ON a.level = '{AreaLevel.grid}'
    AND ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(c.x, c.y), 4326))
ORDER BY c.cell, a.id"""


def cell_centres(cells: np.ndarray) -> np.ndarray:
    """(lon, lat) of each H3 cell's centre."""
    latlng = np.array([h3.api.basic_int.cell_to_latlng(int(c)) for c in cells]).reshape(-1, 2)
    return latlng[:, ::-1]


def allocation(
    url: str, history: History, grids: pd.DataFrame, centres: np.ndarray
) -> sparse.csr_matrix:
    """(grids × region cells) shares: where each cell's incidents fell, else its centre's grid."""
    index = {int(c): i for i, c in enumerate(history.region)}
    grid_index = {int(g): i for i, g in enumerate(grids["id"])}
    rows, cols, vals = [], [], []
    with get_engine(url).connect() as conn:
        shares = conn.execute(text(history_shares_sql(history.resolution))).all()
        seen = {int(cell) for cell, _, _, _ in shares}
        for cell, grid, n, total in shares:
            if grid is not None and int(cell) in index and int(grid) in grid_index:
                rows.append(grid_index[int(grid)])
                cols.append(index[int(cell)])
                vals.append(float(n) / float(total))
        quiet = [i for i, c in enumerate(history.region) if int(c) not in seen]
        params = {
            "cells": [int(history.region[i]) for i in quiet],
            "lons": [float(centres[i, 0]) for i in quiet],
            "lats": [float(centres[i, 1]) for i in quiet],
        }
        for cell, grid in conn.execute(text(CENTRE_GRIDS_SQL), params).all():
            rows.append(grid_index[int(grid)])
            cols.append(index[int(cell)])
            vals.append(1.0)
    shape = (len(grids), len(history.region))
    return sparse.csr_matrix((vals, (rows, cols)), shape=shape)


def read_grids(url: str) -> pd.DataFrame:
    """The grids (area level 'grid') with their representative point."""
    with get_engine(url).connect() as conn:
        return pd.read_sql_query(text(GRIDS_SQL), conn)


# --- assembling and storing -------------------------------------------------------------------


def forecast_rows(
    expected: dict[tuple[int, str], np.ndarray],
    history: History,
    centres: np.ndarray,
    grids: pd.DataFrame,
    shares: sparse.csr_matrix,
) -> pd.DataFrame:
    """The forecast rows (without ``run_id``) of every horizon, group, cell and grid."""
    parts = []
    for (horizon, group), values in expected.items():
        per_grid = shares @ values
        for unit, ids, lon, lat, mu in (
            ("h3", history.region, centres[:, 0], centres[:, 1], values),
            ("grid", grids["id"].to_numpy(), grids["lon"], grids["lat"], per_grid),
        ):
            low, high = poisson_interval(mu)
            texts = h3_features(ids, mu, low, high, horizon, group) if unit == "h3" else None
            parts.append(
                pd.DataFrame(
                    {
                        "horizon_days": horizon,
                        "category_group": group,
                        "unit": unit,
                        "unit_id": np.asarray(ids, dtype=np.int64),
                        "lon": np.asarray(lon, dtype=float),
                        "lat": np.asarray(lat, dtype=float),
                        "expected": np.asarray(mu, dtype=float),
                        "low": low,
                        "high": high,
                        "feature": texts,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def h3_features(
    cells: np.ndarray,
    expected: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    horizon: int,
    group: str,
) -> list[str]:
    """The layer's GeoJSON feature text of each cell of one (horizon, group) slice, from the
    values as stored (Python floats and ints round-trip exactly through float8/int4)."""
    return cell_features(
        np.asarray(cells, dtype=np.int64).tolist(),
        np.asarray(expected, dtype=float).tolist(),
        low.tolist(),
        high.tolist(),
        horizon,
        group,
    )


INSERT_RUN_SQL = """INSERT INTO forecast_run (model_version, started_at, finished_at, cell_res,
    horizons, groups, history_from, origin, incidents, config)
VALUES (%(model_version)s, %(started_at)s, %(finished_at)s, %(cell_res)s, %(horizons)s,
    %(groups)s, %(history_from)s, %(origin)s, %(incidents)s, %(config)s::jsonb)
RETURNING id"""


def store_run(url: str, result: ForecastResult) -> int:
    """Write the run and its forecast rows in one transaction; return the run id."""
    record = result.run | {"config": json.dumps(result.run["config"])}
    rows = result.rows
    with raw_connection(url) as conn:
        try:
            run_id = one_value(conn.execute(INSERT_RUN_SQL, record))
            values = zip(
                *(rows[c].tolist() for c in FORECAST_COLUMNS[1:]),
                strict=True,
            )
            copy_rows(conn, "forecast", FORECAST_COLUMNS, ((run_id, *v) for v in values))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return int(run_id)


def compute_forecast(
    url: str,
    resolution: int = DEFAULT_RESOLUTION,
    horizons: tuple[int, ...] = HORIZONS,
    scheduler: str | None = None,
    config: fc.ModelConfig = CONFIG,
) -> ForecastResult:
    """Read the history, fit every (horizon, group) and assemble the rows (nothing stored)."""
    unknown = [h for h in horizons if h not in HORIZONS]
    if unknown or not horizons:
        raise ForecastError(f"horizons {list(horizons)}: expected some of {list(HORIZONS)} days")
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    history = read_history(url, resolution)
    exposure = read_exposure(url, history)
    seconds = {"read": time.perf_counter() - clock}
    clock = time.perf_counter()
    expected, models = fit_all(history, horizons, scheduler, config, exposure)
    seconds["fit"] = time.perf_counter() - clock
    clock = time.perf_counter()
    centres = cell_centres(history.region)
    grids = read_grids(url)
    shares = allocation(url, history, grids, centres)
    rows = forecast_rows(expected, history, centres, grids, shares)
    seconds["grids"] = time.perf_counter() - clock
    days = history.daily["day"]
    run = {
        "model_version": model_version(config),
        "started_at": started_at,
        "cell_res": resolution,
        "horizons": list(horizons),
        "groups": history.groups,
        "history_from": days.min().to_pydatetime(),
        "origin": (days.max() + pd.Timedelta(days=1)).to_pydatetime(),
        "incidents": int(history.daily["n"].sum()),
        "config": {
            "model": asdict(config),
            "models": models,
            "interval": INTERVAL,
            "interval_kind": "poisson",
            "executor": executor_name(scheduler),
            "region_cells": len(history.region),
            "grids": len(grids),
        },
    }
    return ForecastResult(rows, run, seconds)


def run_forecast(
    url: str,
    resolution: int = DEFAULT_RESOLUTION,
    horizons: tuple[int, ...] = HORIZONS,
    scheduler: str | None = None,
    config: fc.ModelConfig = CONFIG,
) -> tuple[int, ForecastResult]:
    """A whole run: compute, then store with the run time; returns (run id, result)."""
    result = compute_forecast(url, resolution, horizons, scheduler, config)
    clock = time.perf_counter()
    result.run["finished_at"] = datetime.now(UTC)
    run_id = store_run(url, result)
    result.seconds["store"] = time.perf_counter() - clock
    return run_id, result


def refresh_forecast(url: str, max_age: timedelta, scheduler: str | None = None) -> int | None:
    """Run and store a forecast when the newest run is older than ``max_age`` (or there is
    none) and the store holds incidents; returns the new run's id, else None."""
    with get_engine(url).connect() as conn:
        newest, incidents = conn.execute(
            text("SELECT (SELECT max(finished_at) FROM forecast_run), EXISTS (SELECT 1 FROM event)")
        ).one()
    if not incidents or (newest is not None and datetime.now(UTC) - newest < max_age):
        return None
    run_id, _result = run_forecast(url, scheduler=scheduler)
    return run_id
