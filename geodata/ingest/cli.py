"""``python -m geodata import PATH --layer LAYER …``: the command line of :mod:`geodata.ingest`."""

from __future__ import annotations

import argparse

from geodata.ingest.importer import DEFAULT_TZ, import_file
from geodata.ingest.mapping import parse_pairs
from geodata.ingest.schema import LAYERS
from geodata.settings import Settings
from geodata.store import migrate, open_store
from geodata.vocab import AREA_LEVELS


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """Import one file; print the report."""
    store = open_store(settings)
    migrate(store.url)
    report = import_file(
        store.url,
        args.path,
        args.layer,
        settings,
        source=args.source,
        crs=args.crs,
        mapping=parse_pairs(args.map, "--map"),
        constants=parse_pairs(args.set, "--set"),
        skip_bad=args.skip_bad,
        progress=not args.quiet,
        encoding=args.encoding,
        level=args.level,
        timezone=args.timezone,
    )
    print(report.summary())
    return 0


def register(subparsers, settings: Settings) -> None:
    """Add the ``import`` subcommand."""
    p = subparsers.add_parser(
        "import",
        help="import a GIS file (GeoJSON, GeoPackage, zipped Shapefile, CSV, GeoParquet, OSM PBF)",
        description="Import one file into one layer, in one transaction: by default one bad "
        "row refuses the whole file and nothing changes; re-importing the same source updates.",
    )
    p.add_argument("path", help="the file to import")
    p.add_argument("--layer", required=True, choices=list(LAYERS))
    p.add_argument("--source", help="provenance name (default: the file's stem)")
    p.add_argument(
        "--crs",
        help="CRS of the coordinates: EPSG:xxxx, wgs84, gcj02 or bd09 (overrides the file's)",
    )
    p.add_argument(
        "--map",
        action="append",
        metavar="TARGET=COLUMN",
        help="take TARGET (a field, id, or CSV lon/lat/wkt) from COLUMN",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="TARGET=VALUE",
        help="give TARGET the same VALUE in every row",
    )
    p.add_argument(
        "--skip-bad",
        metavar="REJECTS_PATH",
        help="load the good rows; list the refused ones in this CSV",
    )
    p.add_argument("--level", choices=list(AREA_LEVELS), help="areas: the level of every row")
    p.add_argument("--encoding", help="text encoding of CSV/Shapefile attributes, e.g. gbk")
    p.add_argument(
        "--timezone",
        default=DEFAULT_TZ,
        help=f"time zone of times without one (default {DEFAULT_TZ})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=cmd_import, needs_secrets=True)
