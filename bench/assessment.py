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
from bench.common import best, scratch_demo, top_up_incidents
from geodata.engine import get_engine

GROUPINGS = ("grid", "street", "district", "department")


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
    times = []
    for by in GROUPINGS:
        units = len(assess(url, by, start, end))
        t = best(lambda by=by: assess(url, by, start, end), repeat)
        times.append(t)
        print(f"  by {by:<10} {units:>6} units  {t * 1000:7.0f} ms  ({t / base:.1f}× baseline)")
    verdict = "every table under" if max(times) < 1 else "OVER"
    print(f"mean per table {sum(times) / len(times) * 1000:.0f} ms, slowest "
          f"{max(times) * 1000:.0f} ms ({verdict} the 1 s target)")  # fmt: skip


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
        top_up_incidents(args.url, args.incidents, with_logs=True)
        run(args.url, args.repeat)
        return
    with scratch_demo(f"assessment_{os.getpid()}", args.scale, args.seed, keep=args.keep) as url:
        started = time.perf_counter()
        n = top_up_incidents(url, args.incidents, with_logs=True)
        print(f"topped up to {n:,} incidents in {time.perf_counter() - started:.0f} s")
        run(url, args.repeat)


if __name__ == "__main__":
    main()
