"""Benchmark: the assessment tables (监督考核) on the demo city.

Builds the demo city into a fresh database (or uses ``--url``), tops its incidents up to
``--incidents`` by copying them (and their logs) in SQL, then times :func:`analytics.assessment.
assess` per grid, street office, district and department over the last year, best of
``--repeat`` runs, with a bare ``SELECT count(*) FROM event`` timed in the same run as baseline.

    .venv/bin/python bench/assessment.py --scale 0.25 --incidents 1000000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from analytics.assessment import assess
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.store import drop_database, embedded_store, migrate, recreate_database

GROUPINGS = ("grid", "street", "district", "department")
SKIP = {"id", "source", "source_id", "created_at", "updated_at"}


def top_up(url: str, target: int) -> int:
    """Copy the demo's incidents and their logs until there are at least ``target``; return
    the count."""
    with get_engine(url).begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
        if have >= target:
            return have
        cols = [
            c
            for c in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'event' AND table_schema = current_schema() "
                    "ORDER BY ordinal_position"
                )
            ).scalars()
            if c not in SKIP
        ]
        listed = ", ".join(f'"{c}"' for c in cols)
        conn.execute(text("SET LOCAL onemap.area_assigned = 'on'"))
        copies = -(-(target - have) // have)
        conn.execute(
            text(
                f"INSERT INTO event (source, source_id, {listed}) "
                f"SELECT 'bench', k || ':' || id, {listed} FROM event, generate_series(1, :n) k "
                "WHERE rule IS NULL OR status IN ('resolved', 'closed', 'rejected')"
            ),
            {"n": copies},
        )
        conn.execute(
            text(
                "INSERT INTO event_log (event_id, at, actor, action, from_status, to_status, "
                "from_level, to_level, note) "
                "SELECT n.id, l.at, l.actor, l.action, l.from_status, l.to_status, "
                "l.from_level, l.to_level, l.note FROM event n "
                "JOIN event_log l ON l.event_id = split_part(n.source_id, ':', 2)::bigint "
                "WHERE n.source = 'bench'"
            )
        )
        total = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE event, event_log"))
    return total


def best(fn, repeat: int) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def run(url: str, repeat: int) -> None:
    with get_engine(url).connect() as conn:
        n, logs, last = conn.execute(
            text("SELECT (SELECT count(*) FROM event), (SELECT count(*) FROM event_log), "
                 "(SELECT max(reported_at) FROM event)")
        ).one()  # fmt: skip
    start, end = last - timedelta(days=365), last + timedelta(seconds=1)

    def baseline() -> None:
        with get_engine(url).connect() as conn:
            conn.execute(text("SELECT count(*) FROM event")).scalar_one()

    base = best(baseline, repeat)
    print(f"{n:,} incidents, {logs:,} log rows; window {start:%Y-%m-%d} … {end:%Y-%m-%d}")
    print(f"baseline SELECT count(*) FROM event: {base * 1000:.0f} ms")
    total = 0.0
    for by in GROUPINGS:
        units = len(assess(url, by, start, end))
        t = best(lambda by=by: assess(url, by, start, end), repeat)
        total += t
        print(f"  by {by:<10} {units:>6} units  {t * 1000:7.0f} ms  ({t / base:.1f}× baseline)")
    verdict = "under" if total / len(GROUPINGS) < 1 else "OVER"
    print(f"mean per table {total / len(GROUPINGS) * 1000:.0f} ms ({verdict} the 1 s target)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="use this demo database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the built database")
    args = parser.parse_args()
    if args.url:
        top_up(args.url, args.incidents)
        run(args.url, args.repeat)
        return
    store = embedded_store(Settings(database_url=None))
    store.start()
    name = f"onemap_bench_assessment_{os.getpid()}"
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
        run(url, args.repeat)
    finally:
        get_engine(url).dispose()
        if args.keep:
            print(f"kept {url}")
        else:
            drop_database(store.url(), name)


if __name__ == "__main__":
    main()
