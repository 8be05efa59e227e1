"""``GET /api/basemap/shapes`` and ``GET /api/basemap/labels``: the "own" base map by viewport.

Both take ``bbox=minx,miny,maxx,maxy`` and ``zoom``; labels also ``lang`` (``zh``, the default,
or ``en``). Answers are GeoJSON FeatureCollections built in SQL for the viewer's scope
(:mod:`layers.cartography`); a bad parameter answers 400 naming it.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from geodata.query import BBox, FeatureQueryError
from layers import cartography
from layers.query import parse_zoom
from web import context
from web.responses import GEOJSON

blueprint = Blueprint("basemap_api", __name__, url_prefix="/api/basemap")


def _query() -> cartography.BaseQuery:
    """The request's viewport; :class:`FeatureQueryError` names a bad parameter."""
    lang = request.args.get("lang") or "zh"
    if lang not in cartography.LANGUAGES:
        raise FeatureQueryError("lang", f"{lang!r}; expected one of {cartography.LANGUAGES}")
    return cartography.BaseQuery(
        BBox.parse(request.args.get("bbox")), parse_zoom(request.args.get("zoom")), lang
    )


@blueprint.get("/shapes")
def shapes() -> ResponseReturnValue:
    """Blocks, open space and roads of the view."""
    body = cartography.shapes(context.store_url(), _query(), context.viewer())
    return Response(body, content_type=GEOJSON)


@blueprint.get("/labels")
def labels() -> ResponseReturnValue:
    """Names of the view: areas of the zoom's level, road names at street zooms."""
    body = cartography.labels(context.store_url(), _query(), context.viewer())
    return Response(body, content_type=GEOJSON)
