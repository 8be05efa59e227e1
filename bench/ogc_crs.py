"""OGC items in other CRSs (Part 2) against the CRS84 answer, on a demo city.

    .venv/bin/python bench/ogc_crs.py --scale 2 [--requests 30] [--limit 1000] [--url URL]

For pages of ``limit`` houses (points) and buildings (polygons), and for one feature, prints
p50/p95 of the request with no ``crs`` (CRS84, the baseline measured in the same run) and with
``crs`` = EPSG:4490 (axes flipped), 4548 (CGCS2000 Gauss–Krüger, transformed and flipped) and
3857, with each one's p50 ratio to the baseline (Flask test client, planner token). The variants are
requested in turn, so load from elsewhere on the machine falls on all of them alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from bench.common import get_ok, given_or_scratch_demo, p50_p95
from geodata.settings import Settings
from tests.conftest import api_token, signed_in

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRSS = ("", f"{EPSG}4490", f"{EPSG}4548", f"{EPSG}3857")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--url", help="use this demo database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the built database")
    args = parser.parse_args()
    with given_or_scratch_demo(args, "ogc_crs") as url:
        client = create_app(Settings(database_url=url), url).server.test_client()
        signed_in(client, api_token(url, "planner"))
        first = client.get("/ogc/collections/houses/items?limit=1").get_json()["features"][0]
        paths = {
            f"houses page of {args.limit}": f"/ogc/collections/houses/items?limit={args.limit}",
            f"buildings page of {args.limit}": (
                f"/ogc/collections/buildings/items?limit={args.limit}"
            ),
            "one house": f"/ogc/collections/houses/items/{first['id']}?",
        }
        print(f"{args.requests} requests each; p50/p95 in ms; ratio = p50 / CRS84 p50")
        for label, path in paths.items():
            sep = "" if path.endswith("?") else "&"
            runs = [get_ok(client, path + (f"{sep}crs={crs}" if crs else "")) for crs in CRSS]
            timed = p50_p95(runs, args.requests)
            base = timed[0][0]
            for crs, (p50, p95) in zip(CRSS, timed, strict=True):
                name = crs.rsplit("/", 1)[-1] if crs else "CRS84"
                print(f"{label:<24} {name:>6}: p50 {p50:7.1f}  p95 {p95:7.1f}  {p50 / base:.2f}x")


if __name__ == "__main__":
    main()
