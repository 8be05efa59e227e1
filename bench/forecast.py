"""Benchmark: a full risk-forecast run (``python -m analytics forecast``) at ~1M incidents.

Builds the demo city into a fresh database (or uses ``--url``), tops its incidents up to
``--incidents`` by copying them in SQL, then times a whole forecast run — daily counts per cell
and category group in SQL, one model fit per horizon (7, 30 days) and group, grid allocation,
storing the run — against the historical-mean baseline over the same cells, groups and horizons
(the same SQL read, then each cell's mean per period instead of a model), best of two after a
warm-up, timed in the same run. ``--dask`` also times the run on a local Dask cluster (two
worker processes).

    .venv/bin/python bench/forecast.py --scale 40 --incidents 1000000 --dask
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from analytics import forecast_store as fs
from analytics.forecast_common import HORIZONS, RESOLUTIONS
from bench.common import add_incident_args, best, incident_demo
from geodata.engine import get_engine

TARGET_S = 300.0


def historical_mean_run(url: str, resolution: int) -> int:
    """The baseline: the same history read, each cell's mean count per period for every
    horizon and group; returns the number of cell forecasts made."""
    history = fs.read_history(url, resolution)
    made = 0
    for horizon in HORIZONS:
        edges = fs.horizon_edges(history, horizon)
        for group in history.groups:
            made += len(fs.group_grid(history, group, edges).counts.mean(axis=0))
    return made


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """Wall time of one call, and its result."""
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - started, result


def dask_run(url: str, resolution: int) -> tuple[float, fs.ForecastResult]:
    """The run on a two-process local Dask cluster (cluster start-up not timed)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        seconds, (_, result) = timed(
            fs.run_forecast, url, resolution, scheduler=cluster.scheduler_address
        )
    return seconds, result


def run(url: str, resolution: int, with_dask: bool) -> None:
    with get_engine(url).connect() as conn:
        n, first, last = conn.execute(
            text("SELECT count(*), min(reported_at), max(reported_at) FROM event")
        ).one()
    cells = historical_mean_run(url, resolution)  # warm: caches, imports
    base = best(lambda: historical_mean_run(url, resolution), 2)
    whole, (run_id, result) = timed(fs.run_forecast, url, resolution)
    cfg = result.run["config"]
    print(f"{n:,} incidents {first:%Y-%m-%d} … {last:%Y-%m-%d}; H3 r{resolution}: "
          f"{cfg['region_cells']:,} cells in the study region, {cfg['grids']} grids, "
          f"{len(result.run['groups'])} groups (with all) × horizons {list(HORIZONS)}")  # fmt: skip
    print(f"baseline (historical mean, same read): {base:7.1f} s  ({cells:,} cell forecasts)")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    verdict = "under" if whole < TARGET_S else "OVER"
    print(f"full forecast run {run_id} (in-process): {whole:7.1f} s  ({whole / base:.1f}× "
          f"baseline; {verdict} the {TARGET_S / 60:.0f}-minute target)  [{stages}]")  # fmt: skip
    print(f"  {len(result.rows):,} rows stored; models {sorted(set(cfg['models'].values()))}")
    if with_dask:
        seconds, remote = dask_run(url, resolution)
        same = remote.rows.equals(result.rows)
        print(f"full forecast run on a local Dask cluster (2 processes): {seconds:7.1f} s; "
              f"same numbers as in-process: {same}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_incident_args(parser, scale=40.0)
    parser.add_argument("--res", type=int, default=8, choices=RESOLUTIONS)
    parser.add_argument("--dask", action="store_true", help="also time the run on Dask")
    args = parser.parse_args()
    with incident_demo(args, "forecast") as url:
        run(url, args.res, args.dask)


if __name__ == "__main__":
    main()
