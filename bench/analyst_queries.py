"""Benchmark: the three analyst examples of issue 6 (and the third within one street).

Builds the demo city into a fresh database (scale 31 ≈ 2.07 M residents; or uses ``--url``) and
times each example's whole answer (:func:`analytics.questions.ask`: checking, scope and size
look-ups, the query, GeoJSON/table assembly), best of ``--repeat``, against a baseline measured
in the same run: a plain ``count(*)`` of the example's subject table. Target: under 1 s each.

    .venv/bin/python bench/analyst_queries.py --scale 31
    .venv/bin/python bench/analyst_queries.py --url postgresql://…/onemap_bench_analyst_dev

"Last 24 h" ends just after the demo's last gas alarm (the demo's history stops at a fixed
reference time, so a window ending now would be empty).
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

from analytics import coverage
from analytics.questions import ask
from bench.common import best, scratch_demo
from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.settings import Settings
from geodata.vocab import Role

TARGET_S = 1.0
ANALYST = Viewer(role=Role.analyst)


FIRE_LANES_NO_CAMERA = {
    "layer": "facilities",
    "where": [{"field": "kind", "op": "=", "value": "fire_lane"}],
    "near": [{"layer": "cameras", "distance_m": 0, "mode": "beyond"}],
}
BUSIEST_STREET = (
    "SELECT a.code FROM area AS a WHERE a.level = 'street' ORDER BY (SELECT count(*) "
    "FROM facility AS f WHERE f.kind = 'fire_lane' AND ST_Intersects(f.geom, a.geom)) DESC, "
    "a.code LIMIT 1"
)
"""The street with the most fire lanes (an area-limited question)."""


def examples(until: str, street: str) -> dict[str, tuple[str, dict]]:
    """Label → (subject table, question) of the three examples, and the third within one
    street (its subjects are few: the search should start from them)."""
    return {
        "elderly living alone within 300 m of a gas alarm in the last 24 h": (
            "resident",
            {
                "layer": "residents",
                "where": [{"field": "care_tags", "op": "has", "value": "elderly_alone"}],
                "near": [
                    {
                        "layer": "incidents",
                        "where": [{"field": "category", "op": "=", "value": "alarm.gas"}],
                        "time": {"field": "reported_at", "last_hours": 24, "until": until},
                        "distance_m": 300,
                    }
                ],
            },
        ),
        "buildings over 18 floors more than 150 m from a hydrant": (
            "building",
            {
                "layer": "buildings",
                "where": [{"field": "floors", "op": ">", "value": 18}],
                "near": [
                    {
                        "layer": "facilities",
                        "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
                        "distance_m": 150,
                        "mode": "beyond",
                    }
                ],
            },
        ),
        "fire lanes not covered by any camera": ("facility", FIRE_LANES_NO_CAMERA),
        f"the same within street {street}": (
            "facility",
            {**FIRE_LANES_NO_CAMERA, "within": {"area": street}},
        ),
    }


def _scalar(url: str, sql: str):
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def run(url: str, repeat: int) -> None:
    settings = Settings(database_url=url)
    residents = _scalar(url, "SELECT count(*) FROM resident")
    last = _scalar(url, "SELECT max(reported_at) FROM event WHERE category = 'alarm.gas'")
    until = (last + timedelta(seconds=1)).isoformat()
    print(f"{residents:,} residents; gas-alarm window ends {until}")
    over = []
    street = _scalar(url, BUSIEST_STREET)
    for label, (table, question) in examples(until, street).items():
        answer = ask(url, question, ANALYST, settings)  # warm caches
        base = best(lambda t=table: _scalar(url, f'SELECT count(*) FROM "{t}"'), repeat)
        took = best(lambda q=question: ask(url, q, ANALYST, settings), repeat)
        size = f"{answer.meta['total']:,} {'buildings' if table == 'resident' else 'rows'}"
        if table == "resident":
            size += (
                f" ({answer.meta['people']:,} people; {answer.meta['withheld_groups']} withheld)"
            )
        verdict = "under" if took < TARGET_S else "OVER"
        print(f"- {label}: {size}")
        print(f"    answer {took * 1000:6.0f} ms  vs  count(*) of {table} {base * 1000:5.0f} ms "
              f"({took / base:.2f}×)  {verdict} the {TARGET_S:g} s target")  # fmt: skip
        if took >= TARGET_S:
            over.append(label)
    print("all under target" if not over else f"over target: {over}")


def run_coverage(url: str) -> None:
    """Time the city-wide coverage analyses once each (no target; for the record)."""
    settings = Settings(database_url=url)
    jobs = {
        "fire lanes seen by cameras": lambda: coverage.camera_coverage(
            url, ANALYST, settings, "fire_lanes"
        ),
        "roads seen by cameras": lambda: coverage.camera_coverage(url, ANALYST, settings, "roads"),
        "buildings beyond 150 m of a hydrant": lambda: coverage.hydrant_gaps(
            url, ANALYST, settings
        ),
        "care homes beyond a 1 km walk to a service centre": lambda: coverage.service_gaps(
            url, ANALYST, settings
        ),
    }
    for label, job in jobs.items():
        started = time.perf_counter()
        result = job()
        took = time.perf_counter() - started
        print(f"- coverage, {label}: {took:5.1f} s  {_summary(result)}")


def _summary(result: object) -> str:
    if isinstance(result, coverage.LineCoverage):
        return f"{result.lines:,} lines, {result.share:.1%} of length covered"
    if isinstance(result, coverage.BuildingGaps):
        return f"{result.beyond:,} of {result.buildings:,} buildings"
    assert isinstance(result, coverage.ServiceGaps)
    return f"{result.homes_beyond:,} of {result.homes:,} homes ({result.method})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=31.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="use this demo database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the built database")
    parser.add_argument("--coverage", action="store_true", help="also time the coverage jobs")
    args = parser.parse_args()
    if args.url:
        run(args.url, args.repeat)
        if args.coverage:
            run_coverage(args.url)
        return
    with scratch_demo(f"analyst_{os.getpid()}", args.scale, args.seed, keep=args.keep) as url:
        run(url, args.repeat)
        if args.coverage:
            run_coverage(url)


if __name__ == "__main__":
    main()
