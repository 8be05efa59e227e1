"""``GET /api/export/<layer>?format=…&area=…&bbox=…&polygon=…&level=…&crs=…``: a layer as a file.

``crs`` is the file's coordinate system (:func:`geodata.output_crs.export_crs`): an EPSG code
PROJ knows (``EPSG:4490``, ``4548``, an OGC URI) or ``gcj02``; WGS 84 when absent.

``polygon`` is a GeoJSON Polygon/MultiPolygon in lon/lat (URL-encoded; at most
:data:`~geodata.exports.query.MAX_POLYGON_BYTES` bytes and
:data:`~geodata.exports.query.MAX_POLYGON_VERTICES` vertices): the features intersecting it.

The same code path as ``python -m geodata export`` (:func:`geodata.exports.export_layer_to`),
for the request's viewer and its field allow-list. The file is written to a temporary folder,
then streamed from disk with ``Content-Disposition: attachment`` and removed when sent.
The viewer is the one the gate identified (:mod:`web.gate`: a session or an API token); a bad
parameter answers 400, an unknown layer 404, one the role may not take 403
(:func:`web.errors.json_error`). The file is written in a heavy-work slot of the caller, on
heavy work's own pool (:mod:`web.heavy`): beyond the limits, 429 with ``Retry-After``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, request, send_file
from flask.typing import ResponseReturnValue

from geodata.exports import Filters, export_format, export_layer_to, file_name
from geodata.exports.query import parse_area, parse_level, parse_polygon
from geodata.exports.sources import export_layer
from geodata.output_crs import export_crs
from geodata.query import BBox, FeatureQueryError
from web import context, heavy

blueprint = Blueprint("export_api", __name__, url_prefix="/api/export")

PARAMETERS = ("format", "area", "bbox", "polygon", "level", "crs")


def _filters() -> Filters:
    unknown = sorted(set(request.args) - set(PARAMETERS))
    if unknown:
        raise FeatureQueryError(
            unknown[0], f"unknown parameter; expected some of {', '.join(PARAMETERS)}"
        )
    bbox = request.args.get("bbox")
    return Filters(
        bbox=BBox.parse(bbox) if bbox else None,
        area=parse_area(request.args.get("area")),
        polygon=parse_polygon(request.args.get("polygon")),
        level=parse_level(request.args.get("level")),
    )


@blueprint.get("/<layer_id>")
def export(layer_id: str) -> ResponseReturnValue:
    """The layer's features the viewer may take, as GeoJSON, GeoPackage, CSV or zipped SHP."""
    export_layer(layer_id)
    fmt = export_format(request.args.get("format"))
    filters = _filters()
    crs = export_crs(request.args.get("crs"))
    folder = Path(tempfile.mkdtemp(prefix="onemap-export-"))
    try:
        name = file_name(layer_id, fmt, filters, crs)
        path = folder / name
        with heavy.slot():
            result = export_layer_to(
                context.store_url(),
                layer_id,
                fmt,
                path,
                filters,
                context.viewer(),
                heavy.engine(),
                context.timezone(),
                crs,
            )
        response = send_file(
            path, mimetype=fmt.media_type, as_attachment=True, download_name=name, max_age=0
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    response.headers["X-Feature-Count"] = str(result.count)
    response.headers["X-Export-Crs"] = crs.key
    response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return response
