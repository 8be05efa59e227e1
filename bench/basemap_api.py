"""Own base map benchmark: p50/p95 of ``/api/basemap/shapes`` and ``/labels`` per zoom against
their bare SQL, and the gzip size of each answer.

    python bench/basemap_api.py --url postgresql://…/db [--runs 20]

The view is a 1600×900 screen around the buildings' centre (as in ``bench/viewport_api.py``);
requests go through the Flask app (parse, gate, SQL, gzip), the bare SQL runs the statement the
module builds on the same pooled engine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, freeze_startup_objects
from bench.common import bench_token
from bench.viewport_api import data_centre, p50, p95, time_request, view_bbox
from geodata.accounts.viewer import PUBLIC
from geodata.engine import normalize_url, read_connection
from geodata.query import BBox
from geodata.settings import Settings
from layers import cartography
from tests.conftest import signed_in

ZOOMS = (11, 13, 14, 15, 16, 17, 18)
PARTS = {"shapes": cartography.shapes_sql, "labels": cartography.labels_sql}


def bare_sql(url: str, sql: str, params: dict) -> float:
    started = time.perf_counter()
    with read_connection(url) as conn:
        conn.execute(text(sql), params).all()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="store URL (psql form is fine)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    url = normalize_url(args.url)
    client = signed_in(
        create_app(Settings(database_url=url), url).server.test_client(), bench_token(url)
    )
    freeze_startup_objects()
    lon, lat = data_centre(url)
    print(f"{'part':7} {'zoom':>4} {'features':>8} {'gz KB':>6} {'api p50':>8} {'api p95':>8} "
          f"{'sql p50':>8} {'sql p95':>8}")  # fmt: skip
    worst = 0.0
    for part, build in PARTS.items():
        for zoom in ZOOMS:
            bbox = view_bbox(lon, lat, zoom)
            query = cartography.BaseQuery(BBox.parse(bbox), zoom)
            sql, params = build(query, PUBLIC)
            path = f"/api/basemap/{part}?bbox={bbox}&zoom={zoom}"
            time_request(client, path)  # warm
            api, bare, size = [], [], 0
            for _ in range(args.runs):
                elapsed, size = time_request(client, path)
                api.append(elapsed)
                bare.append(bare_sql(url, sql, params))
            with read_connection(url) as conn:
                body = conn.execute(text(sql), params).scalar_one()
            count = str(body).count('"Feature"')
            worst = max(worst, p95(api))
            print(
                f"{part:7} {zoom:>4} {count:>8} {size / 1024:>6.1f} {p50(api) * 1000:>6.1f}ms "
                f"{p95(api) * 1000:>6.1f}ms {p50(bare) * 1000:>6.1f}ms {p95(bare) * 1000:>6.1f}ms"
            )
    print(f"worst api p95: {worst * 1000:.1f} ms")


if __name__ == "__main__":
    main()
