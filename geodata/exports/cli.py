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
    store = open_store(settings)
    result = export_layer_to(
        store.url,
        args.layer,
        export_format(args.format),
        args.output,
        filters,
        operator(),
        zone=settings.city.timezone,
    )
    print(
        f"{result.count:,} {result.layer} written to {result.path} ({result.format}) "
        f"in {result.seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


def register(subparsers: argparse._SubParsersAction, settings: Settings) -> None:
    """Add the ``export`` subcommand."""
    p = subparsers.add_parser(
        "export",
        help="export a layer to GeoJSON, GeoPackage, CSV or Shapefile (no personal identifiers)",
        description="Export one layer in WGS84 (EPSG:4326). Shapefile: -o NAME.zip writes a zip, "
        "any other path a folder. Personal identifiers are never exported.",
    )
    p.add_argument("--layer", required=True, choices=list(EXPORT_LAYERS))
    p.add_argument("--format", required=True, choices=list(FORMATS))
    p.add_argument("-o", "--output", required=True, type=Path, help="file (or folder for shp)")
    p.add_argument("--area", help="area code: keep features of this area and its descendants")
    p.add_argument("--bbox", help="minx,miny,maxx,maxy in lon/lat: keep features intersecting it")
    p.add_argument("--level", help="areas layer only: city, district, street, community, grid")
    p.set_defaults(fn=cmd_export)
