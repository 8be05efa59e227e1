"""Benchmark: import 1,000,000 points with ``geodata.ingest.import_file`` vs ``ogr2ogr``.

Writes N random device points inside the city extent (fixed seed) to a FlatGeobuf file in a
temp dir, then loads it (a) with our importer as the ``devices`` layer — validation, loc, H3
cells and area assignment against 100 grid polygons included — and (b) with
``ogr2ogr -f PostgreSQL`` (its defaults: COPY, GiST index) into a fresh database of the same
server. Prints both times, our import's phases and the ratio, for each of ``--repeat`` runs.

    .venv/bin/python -m bench.import_points [--rows 1000000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
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


OGR_DB, OURS_DB = "onemap_bench_ogr2ogr", "onemap_bench_import"
OGR_ARGS = ["-f", "PostgreSQL", "-nln", "ogr_points"]
"""ogr2ogr's defaults for a new PostgreSQL table (GDAL 3.6): a serial ``ogc_fid`` primary key,
the GiST index created *before* the rows arrive, COPY in transactions of 100,000 rows."""
OGR_BULK_ARGS = [*OGR_ARGS, "-lco", "SPATIAL_INDEX=NONE"]
"""The fastest way found to the same result with ogr2ogr: no index during the COPY, the GiST
index built once afterwards (timed too)."""


def run_ours(server: str, points: Path, grid: Path, settings: Settings, rows: int):
    """Time ``import_file`` of the points into a freshly migrated store holding the grid; check
    what was stored. Returns (seconds, report, rows assigned to a grid)."""
    url = recreate_database(server, OURS_DB)
    migrate(url)
    import_file(url, grid, "areas", settings, level="grid")
    t = time.perf_counter()
    report = import_file(url, points, "devices", settings)
    seconds = time.perf_counter() - t
    with get_engine(url).connect() as conn:
        stored, assigned = conn.execute(text("SELECT count(*), count(area_id) FROM device")).one()
        wrong = check_sample(conn)
    get_engine(url).dispose()
    if stored != rows or wrong:
        raise SystemExit(f"wrong data: {stored:,} rows stored, {wrong} of the sample wrong")
    return seconds, report, assigned


def run_ogr2ogr(server: str, points: Path, rows: int, *, bulk: bool = False) -> float:
    """Time ``ogr2ogr`` loading the same file into a fresh PostGIS database of the same server
    (with ``bulk``: :data:`OGR_BULK_ARGS`, then the GiST index); check what it stored."""
    url = recreate_database(server, OGR_DB)
    with get_engine(url).begin() as conn:  # without PostGIS, GDAL stores bytea, no index
        conn.execute(text("CREATE EXTENSION postgis"))
    t = time.perf_counter()
    subprocess.run(["ogr2ogr", *(OGR_BULK_ARGS if bulk else OGR_ARGS), libpq(url), str(points)],
                   check=True)  # fmt: skip
    if bulk:
        with get_engine(url).begin() as conn:
            conn.execute(text("CREATE INDEX ON ogr_points USING gist (wkb_geometry)"))
    seconds = time.perf_counter() - t
    with get_engine(url).connect() as conn:
        loaded = conn.execute(text("SELECT count(*) FROM ogr_points")).scalar_one()
        indexes = conn.execute(
            text("SELECT array_agg(indexdef) FROM pg_indexes WHERE tablename = 'ogr_points'")
        ).scalar_one()
        kind = conn.execute(
            text("SELECT type, srid FROM geometry_columns WHERE f_table_name = 'ogr_points'")
        ).one_or_none()
    get_engine(url).dispose()
    if loaded != rows or kind != ("POINT", 4326) or not any("gist" in i for i in indexes):
        raise SystemExit(f"ogr2ogr loaded {loaded:,} rows as {kind} with indexes {indexes}")
    return seconds


def print_run(run: int, ours: float, report, assigned: int, ogr: float, bulk: float) -> None:
    """One run's figures."""
    phases = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
    print(
        f"run {run}: import_file {ours:5.1f} s  ({report.path} path, "
        f"{report.counts['inserted']:,} inserted, {assigned:,} assigned to a grid; {phases})"
    )
    print(
        f"run {run}: ogr2ogr     {ogr:5.1f} s  (defaults; no H3, no area assignment)  "
        f"ratio {ours / ogr:.2f}"
    )
    print(f"run {run}: ogr2ogr     {bulk:5.1f} s  (SPATIAL_INDEX=NONE, then CREATE INDEX … gist)"
          f"  ratio {ours / bulk:.2f}")  # fmt: skip


def print_summary(times: list[tuple[float, float, float]]) -> None:
    """Median of the per-run ratios, and the ratio of best times (steadier on a busy machine)."""
    ours, ogr, bulk = zip(*times, strict=True)
    med = statistics.median(o / g for o, g in zip(ours, ogr, strict=True))
    med_bulk = statistics.median(o / b for o, b in zip(ours, bulk, strict=True))
    print(f"ratio ours/ogr2ogr: {med:.2f} against its defaults, {med_bulk:.2f} against its bulk "
          f"variant (medians of {len(times)} runs)")  # fmt: skip
    print(f"best of {len(times)}: ours {min(ours):.1f} s, ogr2ogr {min(ogr):.1f} s (defaults), "
          f"{min(bulk):.1f} s (bulk): ratios {min(ours) / min(ogr):.2f} and "
          f"{min(ours) / min(bulk):.2f}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of both (default 2)")
    args = ap.parse_args()
    settings = Settings(database_url=None)
    store = embedded_store(settings)
    store.start()
    server = store.url()
    with tempfile.TemporaryDirectory() as tmp:
        points, grid = Path(tmp) / "points.fgb", Path(tmp) / "grid.geojson"
        t = time.perf_counter()
        write_points(points, args.rows, settings.city.extent)
        write_grid(grid, settings.city.extent)
        size = points.stat().st_size / 1e6
        print(f"wrote {args.rows:,} points ({size:.0f} MB FlatGeobuf) in "
              f"{time.perf_counter() - t:.1f} s")  # fmt: skip
        print(f"ogr2ogr {' '.join(OGR_ARGS)}  |  ogr2ogr {' '.join(OGR_BULK_ARGS)}")
        times: list[tuple[float, float, float]] = []
        try:
            for run in range(1, args.repeat + 1):
                ours, report, assigned = run_ours(server, points, grid, settings, args.rows)
                ogr = run_ogr2ogr(server, points, args.rows)
                bulk = run_ogr2ogr(server, points, args.rows, bulk=True)
                times.append((ours, ogr, bulk))
                print_run(run, ours, report, assigned, ogr, bulk)
        finally:
            drop_database(server, OURS_DB)
            drop_database(server, OGR_DB)
        print_summary(times)


if __name__ == "__main__":
    main()
