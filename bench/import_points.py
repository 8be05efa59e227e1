"""Benchmark: import 1,000,000 points with ``geodata.ingest.import_file`` vs ``ogr2ogr``.

Writes N random device points inside the city extent (fixed seed) to a FlatGeobuf file in a
temp dir, then loads it (a) with our importer as the ``devices`` layer — validation, loc, H3
cells and area assignment against 100 grid polygons included — and (b) with
``ogr2ogr -f PostgreSQL`` into a fresh database each. Prints both times and the ratio.

    .venv/bin/python bench/import_points.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyogrio
import shapely
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geodata.engine import get_engine
from geodata.ingest import import_file
from geodata.settings import Settings
from geodata.store import drop_database, embedded_store, migrate, recreate_database
from geodata.vocab import DEVICE_KINDS

SEED = 20261127


def write_points(path: Path, n: int, extent: tuple[float, float, float, float]) -> None:
    """N random points (id, kind, model) inside ``extent`` as FlatGeobuf."""
    rng = np.random.default_rng(SEED)
    w, s, e, nn = extent
    lon, lat = rng.uniform(w, e, n), rng.uniform(s, nn, n)
    kinds = np.array(list(DEVICE_KINDS))[rng.integers(0, len(DEVICE_KINDS), n)]
    table = pa.table(
        {
            "id": pa.array(np.arange(1, n + 1), pa.int64()),
            "kind": pa.array(kinds),
            "model": pa.array(np.char.add("M-", rng.integers(100, 999, n).astype(str))),
            "geometry": pa.array(shapely.to_wkb(shapely.points(lon, lat))),
        }
    )
    pyogrio.write_arrow(table, path, driver="FlatGeobuf", geometry_name="geometry",
                        geometry_type="Point", crs="EPSG:4326")  # fmt: skip


def write_grid(path: Path, extent: tuple[float, float, float, float], k: int = 10) -> None:
    """A k×k grid of polygons over the middle half of ``extent`` (areas to assign to)."""
    w, s, e, n = extent
    cw, ch = (e - w) / 2, (n - s) / 2
    x0, y0 = w + cw / 2, s + ch / 2
    boxes = [
        shapely.box(x0 + i * cw / k, y0 + j * ch / k, x0 + (i + 1) * cw / k, y0 + (j + 1) * ch / k)
        for i in range(k)
        for j in range(k)
    ]
    table = pa.table(
        {
            "id": pa.array([f"g{i}" for i in range(len(boxes))]),
            "name": pa.array([f"网格 {i}" for i in range(len(boxes))]),
            "geometry": pa.array(shapely.to_wkb(boxes)),
        }
    )
    pyogrio.write_arrow(table, path, driver="GeoJSON", geometry_name="geometry",
                        geometry_type="Polygon", crs="EPSG:4326")  # fmt: skip


def check_sample(conn, n: int = 2000) -> int:
    """How many of ``n`` sampled stored rows have a wrong H3 cell or area (the trigger's rule:
    the deepest covering area, ties by id)."""
    from geodata.cells import h3_cell

    rows = conn.execute(
        text(
            "SELECT ST_X(loc), ST_Y(loc), h3_r7, h3_r9, area_id IS NOT DISTINCT FROM "
            "(SELECT a.id FROM area a WHERE ST_Covers(a.geom, d.loc) "
            "ORDER BY a.depth DESC, a.id LIMIT 1) FROM device d ORDER BY random() LIMIT :n"
        ),
        {"n": n},
    ).all()
    return sum(
        1 for x, y, r7, r9, area_ok in rows
        if r7 != h3_cell(x, y, 7) or r9 != h3_cell(x, y, 9) or not area_ok
    )  # fmt: skip


def libpq(url: str) -> str:
    """``PG:`` connection string for GDAL from a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return (
        f"PG:dbname={u.database} host={u.host} port={u.port} user={u.username} "
        f"password={u.password}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    settings = Settings(database_url=None)
    store = embedded_store(settings)
    store.start()
    server = store.url()
    with tempfile.TemporaryDirectory() as tmp:
        points, grid = Path(tmp) / "points.fgb", Path(tmp) / "grid.geojson"
        t = time.perf_counter()
        write_points(points, args.rows, settings.city_extent)
        write_grid(grid, settings.city_extent)
        size = points.stat().st_size / 1e6
        print(f"wrote {args.rows:,} points ({size:.0f} MB FlatGeobuf) in "
              f"{time.perf_counter() - t:.1f} s")  # fmt: skip

        ours_db, ogr_db = "onemap_bench_import", "onemap_bench_ogr2ogr"
        try:
            url = recreate_database(server, ours_db)
            migrate(url)
            import_file(url, grid, "areas", settings, level="grid")
            t = time.perf_counter()
            report = import_file(url, points, "devices", settings)
            ours = time.perf_counter() - t
            with get_engine(url).connect() as conn:
                stored, assigned = conn.execute(
                    text("SELECT count(*), count(area_id) FROM device")
                ).one()
                wrong = check_sample(conn)
            get_engine(url).dispose()
            if stored != args.rows or wrong:
                raise SystemExit(f"wrong data: {stored:,} rows stored, {wrong} of the sample wrong")
            print(f"import_file: {ours:.1f} s  ({report.counts['inserted']:,} inserted, "
                  f"{stored:,} stored, {assigned:,} assigned to a grid)")  # fmt: skip

            ogr_url = recreate_database(server, ogr_db)
            t = time.perf_counter()
            subprocess.run(
                ["ogr2ogr", "-f", "PostgreSQL", libpq(ogr_url), str(points), "-nln", "ogr_points"],
                check=True,
            )
            ogr = time.perf_counter() - t
            with get_engine(ogr_url).connect() as conn:
                loaded = conn.execute(text("SELECT count(*) FROM ogr_points")).scalar_one()
            get_engine(ogr_url).dispose()
            print(f"ogr2ogr:     {ogr:.1f} s  ({loaded:,} rows, no H3, no area assignment)")
            print(f"ratio ours/ogr2ogr: {ours / ogr:.2f}")
        finally:
            drop_database(server, ours_db)
            drop_database(server, ogr_db)


if __name__ == "__main__":
    main()
