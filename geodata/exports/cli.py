"""``python -m geodata export``: one layer to GeoJSON, GeoPackage, CSV or Shapefile."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from geodata.accounts.viewer import Viewer
from geodata.exports.query import Filters, parse_area, parse_level
from geodata.exports.service import export_format, export_layer_to
from geodata.exports.sources import EXPORT_LAYERS
from geodata.exports.writers import FORMATS
from geodata.output_crs import export_crs
from geodata.query import BBox
from geodata.settings import Settings
from geodata.store import open_store
from geodata.vocab import Role


def operator() -> Viewer:
    """The command line's viewer: whoever holds the store's credentials administers it (the
    whole city, no identifiers — the allow-list has none); audited under ``cli:<login>``."""
    return Viewer(role=Role.admin, username=f"cli:{getpass.getuser()}")


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Export one layer as the operator."""
    filters = Filters(
        bbox=BBox.parse(args.bbox) if args.bbox else None,
        area=parse_area(args.area),
        level=parse_level(args.level),
    )
    crs = export_crs(args.crs)
    store = open_store(settings)
    result = export_layer_to(
        store.url,
        args.layer,
        export_format(args.format),
        args.output,
        filters,
        operator(),
        zone=settings.city.timezone,
        crs=crs,
    )
    print(
        f"{result.count:,} {result.layer} written to {result.path} ({result.format}, "
        f"{crs.name}) in {result.seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


def register(subparsers: argparse._SubParsersAction, settings: Settings) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a layer to GeoJSON, GeoPackage, CSV or Shapefile (no personal identifiers)",
        description="Export one layer, in WGS84 (EPSG:4326) unless --crs names another. "
        "Shapefile: -o NAME.zip writes a zip, "
        "any other path a folder. Personal identifiers are never exported.",
    )
    p.add_argument("--layer", required=True, choices=list(EXPORT_LAYERS))
    p.add_argument("--format", required=True, choices=list(FORMATS))
    p.add_argument("-o", "--output", required=True, type=Path, help="file (or folder for shp)")
    p.add_argument("--area", help="area code: keep features of this area and its descendants")
    p.add_argument("--bbox", help="minx,miny,maxx,maxy in lon/lat: keep features intersecting it")
    p.add_argument("--level", help="areas layer only: city, district, street, community, grid")
    p.add_argument(
        "--crs",
        help="coordinate system: an EPSG code (EPSG:4490 CGCS2000, EPSG:4548 CGCS2000 GK "
        "CM 117E, EPSG:4527 with zone prefix 39, any code PROJ knows) or gcj02 (AMap/Tencent "
        "offset, for their map developers only); default EPSG:4326",
    )
    p.set_defaults(fn=cmd_export)
