"""Benchmark: build the demo city into a fresh database on the embedded cluster.

Prints wall time per stage and in total, rows per table and rows/s, and — as a baseline
measured in the same run — the time to COPY the same number of bare point rows into a scratch
table, with the ratio between the two.

    .venv/bin/python bench/demo_build.py --scale 1
    .venv/bin/python bench/demo_build.py --scale 142 --reading-devices 200000   # 9.4M residents
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import shapely

from geodata.bulk import copy_rows, ewkb_hex, raw_connection
from geodata.demo import build_demo
from geodata.settings import Settings
from geodata.store import embedded_store, scratch_database


def baseline_copy(url: str, n: int) -> float:
    """Seconds to COPY ``n`` bare (id, point) rows into an unindexed scratch table."""
    rng = np.random.default_rng(0)
    with raw_connection(url) as conn:
        conn.execute("CREATE TEMP TABLE bench_points (id bigint, geom geometry(Point, 4326))")
        started = time.perf_counter()
        done = 0
        while done < n:
            k = min(200_000, n - done)
            xy = rng.uniform([117.2, 31.8], [117.4, 31.9], size=(k, 2))
            hexes = ewkb_hex(shapely.points(xy))
            copy_rows(
                conn, "bench_points", ("id", "geom"), zip(range(done, done + k), hexes, strict=True)
            )
            done += k
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reading-devices", type=int, default=0, metavar="N",
        help="also a day of readings of N devices (full size: 200000)",
    )  # fmt: skip
    args = parser.parse_args()

    store = embedded_store(Settings(database_url=None))
    store.start()
    name = f"onemap_bench_demo_{os.getpid()}"
    with scratch_database(store.url(), name, keep=args.keep) as url:
        stages: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(msg: str) -> None:
            now = time.perf_counter()
            print(f"  {msg}", file=sys.stderr, flush=True)
            stage = msg.split(":")[0]
            if "residents" in msg:
                stage = "streets (generate + COPY)"
            elif not msg.endswith("done") and stage not in ("areas", "readings"):
                return  # the closing row counts
            stages[stage] = stages.get(stage, 0.0) + now - last[0]
            last[0] = now

        started = time.perf_counter()
        counts = build_demo(
            url, scale=args.scale, seed=args.seed, progress=progress,
            reading_devices=args.reading_devices,
        )  # fmt: skip
        total = time.perf_counter() - started
        rows = sum(counts.values())
        print(f"demo city, scale {args.scale:g}, seed {args.seed}")
        for stage, secs in stages.items():
            if secs >= 0.005:
                print(f"  {stage:<28} {secs:8.2f} s")
        print(f"  {'total':<28} {total:8.2f} s")
        for table, n in counts.items():
            print(f"  {table:<20} {n:>12,} rows")
        print(f"  {'all tables':<20} {rows:>12,} rows  {rows / total:>10,.0f} rows/s")
        with raw_connection(url) as conn:
            city_km2, core_km2, grids = conn.execute(
                "SELECT sum(ST_Area(geom::geography)) FILTER (WHERE level = 'city') / 1e6, "
                "sum(ST_Area(geom::geography)) FILTER (WHERE level = 'grid') / 1e6, "
                "count(*) FILTER (WHERE level = 'grid') FROM area"
            ).fetchone()
        density = counts["resident"] / core_km2
        print(f"  city {city_km2:,.1f} km²; detailed core {core_km2:,.1f} km² in {grids:,} grids "
              f"of {core_km2 / grids:.3f} km², {density:,.0f} residents/km²")  # fmt: skip
        base = baseline_copy(url, rows)
        print(f"baseline: COPY {rows:,} bare point rows into an unindexed table: {base:.2f} s "
              f"({rows / base:,.0f} rows/s)")  # fmt: skip
        print(f"ratio demo / baseline wall time: {total / base:.1f}x")


if __name__ == "__main__":
    main()
