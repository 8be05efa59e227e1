"""OGC collections listing and collection documents on a demo city, against bare ST_Extent.

    .venv/bin/python bench/ogc_collections.py --scale 5 [--requests 50] [--url URL]

Prints p50/p95 of ``/ogc/collections`` and ``/ogc/collections/{id}`` (Flask test client,
planner token) and, as the baseline measured in the same run, p50/p95 of one bare
``SELECT ST_Extent(geom)`` per collection table summed (what every listing used to run).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from bench.common import get_ok, given_or_scratch_demo, p50_p95
from geodata.engine import get_engine
from geodata.settings import Settings
from layers.collections import COLLECTIONS
from tests.conftest import api_token, signed_in


def _baseline(url: str) -> Callable[[], None]:
    tables = sorted({s.table for s in COLLECTIONS.values()})

    def run() -> None:
        with get_engine(url).connect() as conn:
            for table in tables:
                conn.execute(text(f'SELECT ST_Extent(geom) FROM "{table}"')).one()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--url", help="use this demo database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the built database")
    args = parser.parse_args()
    with given_or_scratch_demo(args, "ogc_collections") as url:
        with get_engine(url).begin() as conn:
            houses = conn.execute(text("SELECT count(*) FROM house")).scalar_one()
        client = create_app(Settings(database_url=url), url).server.test_client()
        signed_in(client, api_token(url, "planner"))
        base50, base95 = p50_p95([_baseline(url)], args.requests)[0]
        print(f"{houses:,} houses; {args.requests} requests each")
        print(f"baseline ST_Extent over every table: p50 {base50:.1f} ms, p95 {base95:.1f} ms")
        for path in ("/ogc/collections", "/ogc/collections/houses", "/ogc/collections/cameras"):
            p50, p95 = p50_p95([get_ok(client, path)], args.requests)[0]
            print(
                f"{path}: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
                f"({base50 / p50:.1f}x faster than the baseline p50)"
            )


if __name__ == "__main__":
    main()
