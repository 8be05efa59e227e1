"""The offline base map's tiles, served from the app's own origin.

``GET /tiles/base/<z>/<x>/<y>.<ext>`` answers one raster tile of the package
``ONEMAP_BASEMAP=pmtiles:PATH`` or ``mbtiles:PATH`` names (XYZ addressing, y from the north, as
Leaflet asks): its bytes with the package's media type, an ETag of the bytes and a day's
caching (a base map is the same for every viewer and holds no personal data). 400 when
``z/x/y`` is not a tile address; 404 when the package has no such tile, the extension is not
the package's format, or no package is configured. Behind the gate like every data route.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, request

from layers import basemaps
from layers.tile_package import MEDIA_TYPES, TileAddressError, tile_address
from web import context

CACHE_CONTROL = "public, max-age=86400"
EXTENSIONS = {"jpeg": "jpg"}

blueprint = Blueprint("tiles", __name__, url_prefix=basemaps.TILE_ROUTE)


def _plain(message: str, status: int) -> Response:
    return Response(f"{message}\n", status=status, mimetype="text/plain")


@blueprint.get("/<z>/<x>/<name>")
def tile(z: str, x: str, name: str) -> Response:
    """One tile of the offline package (see the module's notes for the answers)."""
    package = basemaps.package(context.settings().web.basemap)
    if package is None:
        return _plain("no offline base map package is configured (ONEMAP_BASEMAP)", 404)
    y, _, ext = name.partition(".")
    try:
        address = tile_address(z, x, y)
    except TileAddressError as exc:
        return _plain(str(exc), 400)
    if EXTENSIONS.get(ext, ext) != package.info.format:
        return _plain(f"this package holds .{package.info.format} tiles", 404)
    data = package.tile(*address)
    if data is None:
        return _plain("no such tile in the package", 404)
    etag = f'"{hashlib.blake2b(data, digest_size=12).hexdigest()}"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(data, content_type=MEDIA_TYPES[package.info.format], headers=headers)
