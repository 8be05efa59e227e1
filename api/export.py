"""``GET /api/export/<layer>?format=…&area=…&bbox=…&polygon=…&level=…``: a layer as a file.

``polygon`` is a GeoJSON Polygon/MultiPolygon in lon/lat (URL-encoded; at most
:data:`~geodata.exports.query.MAX_POLYGON_BYTES` bytes and
:data:`~geodata.exports.query.MAX_POLYGON_VERTICES` vertices): the features intersecting it.

The same code path as ``python -m geodata export`` (:func:`geodata.exports.export_layer_to`),
for the request's viewer and its field allow-list. The file is written to a temporary folder,
then streamed from disk with ``Content-Disposition: attachment`` and removed when sent.
Authentication arrives later: until then every request exports as the public viewer (which
never gets personal identifiers, like every role).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from api import context
from geodata.errors import LayerForbiddenError
from geodata.exports import Filters, export_format, export_layer_to, file_name
from geodata.exports.query import parse_area, parse_level, parse_polygon
from geodata.exports.sources import UnknownSourceError, export_layer
from geodata.query import BBox, FeatureQueryError

blueprint = Blueprint("export_api", __name__, url_prefix="/api/export")

PARAMETERS = ("format", "area", "bbox", "polygon", "level")


def _error(status: int, message: str, **extra: object) -> ResponseReturnValue:
    return jsonify({"error": message, "status": status, **extra}), status


@blueprint.errorhandler(FeatureQueryError)
def _bad_request(exc: FeatureQueryError) -> ResponseReturnValue:
    return _error(400, str(exc), field=exc.field)


@blueprint.errorhandler(UnknownSourceError)
def _not_found(exc: UnknownSourceError) -> ResponseReturnValue:
    return _error(404, str(exc))


@blueprint.errorhandler(LayerForbiddenError)
def _forbidden(exc: LayerForbiddenError) -> ResponseReturnValue:
    return _error(403, str(exc))


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
    folder = Path(tempfile.mkdtemp(prefix="onemap-export-"))
    try:
        name = file_name(layer_id, fmt, filters)
        path = folder / name
        result = export_layer_to(
            context.store_url(), layer_id, fmt, path, filters, context.viewer()
        )
        response = send_file(
            path, mimetype=fmt.media_type, as_attachment=True, download_name=name, max_age=0
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    response.headers["X-Feature-Count"] = str(result.count)
    response.call_on_close(lambda: shutil.rmtree(folder, ignore_errors=True))
    return response
