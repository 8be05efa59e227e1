"""Benchmark: the assessment tables (监督考核) on the demo city.

Builds the demo city into a fresh database (or uses ``--url``), tops its incidents up to
``--incidents`` by copying them (and their logs) in SQL, then times :func:`analytics.assessment.
assess` per grid, street office, district and department over the last year, best of
``--repeat`` runs, with a bare ``SELECT count(*) FROM event`` timed in the same run as baseline.

    .venv/bin/python bench/assessment.py --scale 0.25 --incidents 1000000
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from analytics.assessment import assess
from bench.common import add_incident_args, best, incident_demo
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
    add_incident_args(parser, scale=0.25)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with incident_demo(args, "assessment", with_logs=True) as url:
        run(url, args.repeat)


if __name__ == "__main__":
    main()
