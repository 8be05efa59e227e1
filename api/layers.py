"""``GET /api/layers`` (the layer list) and ``GET /api/layers/<id>`` (data by viewport).

``/api/layers/<id>?bbox=minx,miny,maxx,maxy&zoom=z`` plus, where the layer declares them,
``time=start/end`` (ISO dates; a date-only end includes that day), ``area=<area id>`` (the
selected governance area), ``limit`` and the layer's filters (``status``, ``category``,
``kind``, ``severity``, ``care``, ``of``, ``metric``; comma-separated values). The answer is a
GeoJSON FeatureCollection with ``count``, ``capped`` (and ``total`` when capped), ``aggregate``
when it holds counts, and ``note`` when the layer has nothing to draw at that zoom.
A bad parameter answers 400 (naming it in ``field``), an unknown layer 404, a layer the role
may not see 403 (:func:`web.errors.json_error`). Responses are gzip-compressed when accepted
(:mod:`web.compress`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from layers import engine
from layers.query import LayerQuery
from layers.registry import get_layer, layers_for
from web import context
from web.responses import GEOJSON

blueprint = Blueprint("layers_api", __name__, url_prefix="/api/layers")


@blueprint.get("")
def list_layers() -> ResponseReturnValue:
    """The layers the viewer may see, in drawing order, with titles and legends."""
    layers = layers_for(context.viewer().role)
    return jsonify({"layers": [layer.describe() for layer in layers]})


@blueprint.get("/<layer_id>")
def layer_features(layer_id: str) -> ResponseReturnValue:
    """GeoJSON of one layer for the viewport (features zoomed in, aggregates zoomed out)."""
    layer = get_layer(layer_id)
    settings = context.settings()
    query = LayerQuery.from_args(
        layer, request.args, settings.web.max_features, settings.city.timezone
    )
    answer = engine.answer(context.store_url(), layer, query, context.viewer(), context.settings())
    response = Response(answer.to_json(), content_type=GEOJSON)
    response.headers["Server-Timing"] = f"db;dur={answer.sql_seconds * 1000:.1f}"
    return response
