"""Benchmark: the forecast backtest on ten years of weekly history (issue 15).

Ten years are made from a real event file (``--events``, e.g. the Boston incidents): its events
are repeated back in time, shifted by whole multiples of its span, and ``--sample`` of them
drawn (seed 0) — about 6,000 events over ~300 H3 r8 cells, 52 test and 26 validation origins.

Baseline, measured in the same run: the old path, estimated as the time of one model fit at the
last origin (all history, BLAS/OpenMP threads as they come) × the number of fits it made
(every candidate at every validation origin, the chosen one at every test origin). Then the
whole backtest as it runs now (one thread per fit, fits capped at 156 periods, refits every 4
origins on long histories), with its time per phase.

    .venv/bin/python bench/backtest.py \
        --events ../shared/data/boston-incidents/boston_crime_incidents_2023_2025.csv
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from analytics.backtest import CANDIDATES, format_table, run_backtest
from analytics.events_file import read_event_file
from analytics.forecast import build_features, build_grid, fit_model
from analytics.forecast_exec import one_thread_per_fit

TARGET_S = 180.0


def ten_years(events: pd.DataFrame, years: int, sample: int) -> pd.DataFrame:
    """``events`` repeated back in time over ``years`` years, ``sample`` of them drawn."""
    times = events["time"]
    span = times.max() - times.min() + pd.Timedelta(days=1)
    copies = int(np.ceil(pd.Timedelta(days=365.25 * years) / span))
    end = times.max()
    tiled = pd.concat(
        [events.assign(time=times - span * k) for k in range(copies)], ignore_index=True
    )
    tiled = tiled[tiled["time"] > end - pd.Timedelta(days=365.25 * years)]
    rng = np.random.default_rng(0)
    return tiled.iloc[np.sort(rng.choice(len(tiled), sample, replace=False))]


def timed_fit(events: pd.DataFrame, config_index: int) -> float:
    """Seconds of one fit at the last period (all history): the old path's unit of work."""
    grid = build_grid(events)
    features = build_features(grid)
    started = time.perf_counter()
    fit_model(features, grid.counts, grid.n_periods - 1, CANDIDATES[config_index])
    return time.perf_counter() - started


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--events", required=True, type=Path, help="a real event file")
    p.add_argument("--years", type=int, default=10)
    p.add_argument("--sample", type=int, default=6000)
    p.add_argument("--origins", type=int, default=52)
    p.add_argument("--validation", type=int, default=26)
    args = p.parse_args()
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")
    events = ten_years(read_event_file(args.events, progress=False), args.years, args.sample)
    print(
        f"{len(events):,} events {events['time'].min():%Y-%m-%d} … {events['time'].max():%Y-%m-%d}"
    )

    hgb_threads = timed_fit(events, 0)  # before one_thread_per_fit: threads as they come
    one_thread_per_fit()
    hgb_one = timed_fit(events, 0)
    fits = [timed_fit(events, i) for i in range(len(CANDIDATES))]
    old = args.validation * sum(fits) * hgb_threads / hgb_one + args.origins * hgb_threads
    print(
        f"one fit at the last origin (all history): hgb {hgb_threads:.1f} s with default "
        f"threads, {hgb_one:.1f} s on one thread; candidates "
        + ", ".join(f"{s:.1f}" for s in fits)
        + " s"
    )
    one = args.validation * sum(fits) + args.origins * hgb_one
    print(
        f"old path, estimated: {args.validation} × {len(CANDIDATES)} + {args.origins} fits "
        f"(default threads, all history) ≈ {old:.0f} s (models only, baselines not counted); "
        f"the same fits on one thread ≈ {one:.0f} s"
    )

    started = time.perf_counter()
    result = run_backtest(
        events, n_origins=args.origins, n_validation=args.validation, progress=True
    )
    total = time.perf_counter() - started
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    print(
        f"backtest now: {total:.1f} s ({phases}); {result.n_periods} periods, "
        f"{result.n_cells} cells, refit every {result.refit_every}; "
        f"{old / total:.1f}× faster than the old path's estimate; "
        f"{'under' if total < TARGET_S else 'OVER'} the {TARGET_S:.0f} s target"
    )
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"published: {result.published}; best model candidate: {result.chosen.label()}")
    print(format_table(result.validation))
    print()
    print(format_table(result.table, mark=result.published))
    return 0


if __name__ == "__main__":
    sys.exit(main())
