"""Benchmark: the hotspot layer (Gi* per H3 r8 cell) for a one-year window on the demo city.

Builds the demo city into a fresh database (or uses ``--url``), tops its incidents up to
``--incidents`` by copying them in SQL, then times the ``hotspots`` layer's whole answer
(count SQL, study region, H3 weights, esda Gi*, hexagon features) for the city bbox and the
last 365 days, best of ``--repeat``, against the bare counting SQL it runs, timed in the same
run as baseline.

    .venv/bin/python bench/hotspots.py --scale 0.25 --incidents 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from analytics import hotspots as hs
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.features import BBox, FeatureProvider, LayerQuery, TimeWindow
from geodata.settings import Settings
from geodata.store import drop_database, embedded_store, migrate, recreate_database
from geodata.viewer import PUBLIC
from layers.registry import get_layer

SKIP = {"id", "source", "source_id", "created_at", "updated_at"}


def top_up(url: str, target: int) -> int:
    """Copy the demo's incidents until there are at least ``target``; return the count."""
    with get_engine(url).begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
        if have >= target:
            return have
        cols = [
            c
            for c in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = "
                    "'event' AND table_schema = current_schema() ORDER BY ordinal_position"
                )
            ).scalars()
            if c not in SKIP
        ]
        listed = ", ".join(f'"{c}"' for c in cols)
        conn.execute(text("SET LOCAL onemap.area_assigned = 'on'"))
        conn.execute(
            text(
                f"INSERT INTO event (source, source_id, {listed}) "
                f"SELECT 'bench', k || ':' || id, {listed} FROM event, generate_series(1, :n) k"
            ),
            {"n": -(-(target - have) // have)},
        )
        total = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE event"))
    return total


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run(url: str, repeat: int, resolution: int) -> None:
    with get_engine(url).connect() as conn:
        n, last, box = conn.execute(
            text(
                "SELECT count(*), max(reported_at), ST_Extent(loc)::geometry::box2d::text "
                "FROM event"
            )
        ).one()
    nums = [float(v) for v in box[4:-1].replace(" ", ",").split(",")]
    window = TimeWindow(last - timedelta(days=365), last + timedelta(seconds=1))
    layer = get_layer("hotspots")
    query = LayerQuery(BBox(*nums), 12.0, 5000, window, {"res": (str(resolution),)})
    provider = FeatureProvider(url)
    answer = provider.answer(layer, query, PUBLIC)  # warm: esda import, hexagon cache
    (sql, params) = answer.statements[0]

    def baseline() -> None:
        with get_engine(url).connect() as conn:
            conn.execute(text(sql), params).all()

    base = best(baseline, repeat)
    whole = best(lambda: provider.answer(layer, query, PUBLIC), repeat)
    agg = answer.meta["aggregate"]
    counted = {c: k for c, k in zip(*_counts(url, sql, params), strict=True)}
    region = best(lambda: hs.study_region(counted), repeat)
    cells = hs.study_region(counted)
    weights = best(lambda: hs.adjacency(cells), repeat)
    y = [counted.get(int(c), 0) for c in cells]
    gi = best(lambda: hs.gi_star(cells, y), repeat)
    print(f"{n:,} incidents; window {window.start:%Y-%m-%d} … {window.end:%Y-%m-%d}: "
          f"{agg['incidents']:,} in {len(counted):,} r{resolution} cells, "
          f"study region {agg['study_cells']:,} cells, {answer.meta['count']} sent")  # fmt: skip
    print(f"baseline (bare counting SQL): {base * 1000:7.0f} ms")
    print(f"  study region {region * 1000:.0f} ms, H3 weights {weights * 1000:.0f} ms, "
          f"Gi* {gi * 1000:.0f} ms")  # fmt: skip
    verdict = "under" if whole < 2 else "OVER"
    print(f"hotspot layer, whole answer:  {whole * 1000:7.0f} ms  ({whole / base:.2f}× baseline; "
          f"{verdict} the 2 s target)  classes {agg['classes']}")  # fmt: skip


def _counts(url: str, sql: str, params: dict) -> tuple[list[int], list[int]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(sql), params).all()
    return [int(r[0]) for r in rows], [int(r[1]) for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--res", type=int, default=8, choices=hs.RESOLUTIONS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="use this demo database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the built database")
    args = parser.parse_args()
    if args.url:
        top_up(args.url, args.incidents)
        run(args.url, args.repeat, args.res)
        return
    store = embedded_store(Settings(database_url=None))
    store.start()
    name = f"onemap_bench_hotspots_{os.getpid()}"
    url = recreate_database(store.url(), name)
    try:
        migrate(url)
        started = time.perf_counter()
        build_demo(url, scale=args.scale, seed=args.seed)
        built = time.perf_counter() - started
        started = time.perf_counter()
        n = top_up(url, args.incidents)
        print(f"demo scale {args.scale:g} built in {built:.0f} s; topped up to {n:,} incidents "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        run(url, args.repeat, args.res)
    finally:
        get_engine(url).dispose()
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(store.url(), name)


if __name__ == "__main__":
    main()
