"""Benchmark: export ~100k features per format, against ``ogr2ogr`` from PostGIS in the same run.

Builds the demo city at ``--scale`` (4 ≈ 106k homes) into a fresh database on the embedded
cluster (or reuses ``--database``), then for each format times ``export_layer_to`` (the CLI and
download path) and, as the baseline, the GDAL command line copying the same table and columns
from PostGIS to the same format (GeoJSON with RFC7946=YES, CSV AS_WKT, Shapefile to a folder).
Prints seconds per format and the ratio ours / ogr2ogr.

    .venv/bin/python bench/export_features.py --scale 4 --layer houses
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url

from geodata.accounts.viewer import PUBLIC
from geodata.engine import get_engine
from geodata.exports import Filters, export_layer_to
from geodata.exports.fields import allowed_fields
from geodata.exports.sources import EXPORT_LAYERS
from geodata.exports.writers import FORMATS
from geodata.settings import Settings
from geodata.store import drop_database, embedded_store, migrate, recreate_database

OGR_OPTIONS = {
    "geojson": ["-f", "GeoJSON", "-lco", "RFC7946=YES"],
    "gpkg": ["-f", "GPKG"],
    "csv": ["-f", "CSV", "-lco", "GEOMETRY=AS_WKT"],
    "shp": ["-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8"],
}


def pg_source(url: str) -> str:
    """The ``PG:`` connection string of ``url`` for the GDAL command line."""
    u = make_url(url)
    return (
        f"PG:host={u.host} port={u.port} dbname={u.database} user={u.username} "
        f"password={u.password}"
    )


def ogr2ogr(url: str, table: str, columns: list[str], fmt: str, out: Path) -> float:
    """Seconds for ogr2ogr to copy ``columns`` of ``table`` to ``out`` (``id`` is its FID)."""
    cmd = [
        "ogr2ogr",
        *OGR_OPTIONS[fmt],
        str(out),
        pg_source(url),
        table,
        "-select",
        ",".join(c for c in columns if c != "id"),
    ]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"ogr2ogr failed: {done.stderr.strip()}")
    return time.perf_counter() - started


def feature_count(path: Path) -> int:
    name = f"/vsizip/{path}" if path.suffix == ".zip" else str(path)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", name], check=True, capture_output=True, text=True
    ).stdout
    return sum(int(n) for n in re.findall(r"Feature Count: (\d+)", info))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--layer", default="houses", choices=list(EXPORT_LAYERS))
    parser.add_argument("--database", help="reuse this database of the embedded cluster")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    store = embedded_store(Settings(database_url=None))
    store.start()
    name = args.database or f"onemap_bench_export_{os.getpid()}"
    if args.database:
        url = store.url(name)
    else:
        url = recreate_database(store.url(), name)
        migrate(url)
        from geodata.demo import build_demo

        started = time.perf_counter()
        build_demo(url, scale=args.scale, seed=args.seed)
        print(f"demo city scale {args.scale:g} built in {time.perf_counter() - started:.1f} s")
    source = EXPORT_LAYERS[args.layer]
    with get_engine(url).connect() as conn:
        from sqlalchemy import text

        n = conn.execute(text(f'SELECT count(*) FROM "{source.table}"')).scalar_one()
    columns = [f.name for f in allowed_fields(source.table, PUBLIC)]
    print(f"layer {args.layer}: {n:,} features, {len(columns)} fields")
    print(f"{'format':<8} {'ours s':>8} {'ogr2ogr s':>10} {'ratio':>6}  check")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for fmt_id, fmt in FORMATS.items():
                ours = Path(tmp) / f"ours{fmt.suffix}"
                result = export_layer_to(url, args.layer, fmt, ours, Filters(), PUBLIC)
                suffix = "" if fmt_id == "shp" else fmt.suffix
                base = ogr2ogr(url, source.table, columns, fmt_id, Path(tmp) / f"base{suffix}")
                ok = "ok" if feature_count(ours) == result.count == n else "COUNT MISMATCH"
                print(
                    f"{fmt_id:<8} {result.seconds:>8.2f} {base:>10.2f} "
                    f"{result.seconds / base:>6.2f}  {ok}",
                    flush=True,
                )
    finally:
        get_engine(url).dispose()
        if not (args.keep or args.database):
            drop_database(store.url(), name)
    print(
        "ours: pyogrio/GDAL",
        __import__("pyogrio").__gdal_version_string__,
        "(zipped shp);",
        "ogr2ogr:",
        subprocess.run(["ogr2ogr", "--version"], capture_output=True, text=True).stdout.strip(),
        "(shp to a folder)",
    )


if __name__ == "__main__":
    main()
