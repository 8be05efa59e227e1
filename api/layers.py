"""``GET /api/layers`` (the layer list) and ``GET /api/layers/<id>`` (features by viewport)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from api import context
from geodata.features import (
    BBox,
    FeatureProvider,
    FeatureQueryError,
    LayerForbiddenError,
    parse_limit,
    parse_zoom,
)
from layers.registry import UnknownLayerError, get_layer, layers_for

blueprint = Blueprint("layers_api", __name__, url_prefix="/api/layers")


def _error(status: int, message: str, **extra: object) -> ResponseReturnValue:
    return jsonify({"error": message, "status": status, **extra}), status


@blueprint.errorhandler(FeatureQueryError)
def _bad_request(exc: FeatureQueryError) -> ResponseReturnValue:
    return _error(400, str(exc), field=exc.field)


@blueprint.errorhandler(UnknownLayerError)
def _not_found(exc: UnknownLayerError) -> ResponseReturnValue:
    return _error(404, exc.args[0])


@blueprint.errorhandler(LayerForbiddenError)
def _forbidden(exc: LayerForbiddenError) -> ResponseReturnValue:
    return _error(403, str(exc))


@blueprint.get("")
def list_layers() -> ResponseReturnValue:
    """The layers the viewer may see, in drawing order, with titles and legends."""
    layers = layers_for(context.viewer().role)
    return jsonify({"layers": [layer.describe() for layer in layers]})


@blueprint.get("/<layer_id>")
def layer_features(layer_id: str) -> ResponseReturnValue:
    """GeoJSON of one layer inside ``bbox`` at ``zoom`` (optional ``limit``)."""
    layer = get_layer(layer_id)
    bbox = BBox.parse(request.args.get("bbox"))
    zoom = parse_zoom(request.args.get("zoom"))
    limit = parse_limit(request.args.get("limit"), context.settings().max_features)
    provider = FeatureProvider(context.store_url())
    collection = provider.query(layer, bbox, zoom, context.viewer(), limit)
    response = jsonify(collection)
    response.headers["Content-Type"] = "application/geo+json"
    return response
