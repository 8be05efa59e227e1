"""OGC API – Features (Part 1: Core, GeoJSON, OpenAPI 3.0) at ``/ogc``, over our providers.

A small blueprint rather than pygeoapi: the collections (:mod:`layers.collections`) are our
layer registry and the catalogue's feature tables, served by
:class:`geodata.exports.provider.TableProvider` with the same viewer scope and field allow-list
as the exports, so nothing here can publish a column an export may not.

- ``/ogc`` landing page, ``/ogc/conformance``, ``/ogc/api`` (OpenAPI 3.0 document)
- ``/ogc/collections``, ``/ogc/collections/{id}``
- ``/ogc/collections/{id}/items?bbox=&datetime=&limit=&offset=`` (GeoJSON; ``limit`` default
  100, larger values are capped at 10 000; ``prev`` links page by ``offset``, ``next`` links
  also carry ``after=<last id>`` so deep pages cost an index seek, not an OFFSET scan)
- ``/ogc/collections/{id}/items/{featureId}``
- ``/ogc/collections/{id}/queryables`` and ``filter``/``filter-lang`` on items (Part 3: CQL2
  text and JSON, :mod:`layers.cql_filter`; queryables: :mod:`layers.queryables`)
- Part 2 (:mod:`api.ogc_crs`): ``crs`` on items and item (coordinates in another CRS than
  CRS84), ``bbox-crs`` on items, ``Content-Crs`` on their answers, ``crs``/``storageCrs`` in
  each collection

JSON only (``f=json``; HTML is not offered). Coordinates are CRS84 lon/lat. Every request needs
a session or an API token (``Authorization: Bearer …``; the gate, :mod:`web.gate`, answers 401
without one), and reads as that viewer: a role sees only its collections, a grid worker only the
features of its grids. Errors answer in the OGC API's shape, ``{"code", "description",
"status"}`` (:func:`web.errors.ogc_error`): 400 ``InvalidParameterValue``, 403 ``Forbidden``,
404 ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, request, url_for
from flask.typing import ResponseReturnValue

from api import ogc_crs
from geodata.conditions import Clause
from geodata.errors import LayerForbiddenError, OneMapError
from geodata.exports.provider import TableProvider
from geodata.exports.query import Filters, parse_interval
from geodata.exports.sources import Source, UnknownSourceError
from geodata.query import MAX_ID, WHOLE_NUMBER, BBox, FeatureQueryError, whole_number
from layers import cql_filter
from layers.collections import COLLECTIONS, collection, extents
from layers.queryables import queryables as queryables_schema
from web import context
from web.responses import GEOJSON, JSON, json_response

blueprint = Blueprint("ogc_api", __name__, url_prefix="/ogc")

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    *cql_filter.CONFORMANCE,
    ogc_crs.CONFORMANCE,
)
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
MAX_OFFSET = 100_000_000
"""Deepest page by ``offset`` (deeper pages follow the ``next`` links, which page by id)."""
ITEMS_PARAMETERS = frozenset(
    {"f", "bbox", "datetime", "limit", "offset", "after", "filter", "filter-lang", "filter-crs"}
)
ITEMS_PARAMETERS |= ogc_crs.PARAMETERS
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
OTHER_PARAMETERS = frozenset({"f"})
ITEM_PARAMETERS = OTHER_PARAMETERS | {"crs"}


class NotFound(OneMapError, LookupError):
    """A feature that is not there (or not the viewer's)."""

    status = 404
    code = "NotFound"


def _check_params(allowed: frozenset[str]) -> None:
    """400 for parameters the API does not define, or an ``f`` other than JSON."""
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise FeatureQueryError(
            unknown[0], f"unknown parameter; this operation takes {', '.join(sorted(allowed))}"
        )
    f = request.args.get("f")
    if f is not None and f.lower() not in ("json", "geojson"):
        raise FeatureQueryError("f", f"{f!r} is not offered; only f=json")


def _link(href: str, rel: str, mimetype: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": mimetype}
    if title:
        link["title"] = title
    return link


def _url(endpoint: str, **values: Any) -> str:
    return url_for(endpoint, _external=True, **values)


def _provider() -> TableProvider:
    return TableProvider(context.read_url())


@blueprint.get("", strict_slashes=False)
def landing() -> ResponseReturnValue:
    """The landing page: what this API is and where its parts are."""
    _check_params(OTHER_PARAMETERS)
    settings = context.settings()
    return json_response(
        {
            "title": f"OneMap {settings.city.name} 社区一张图",
            "description": "Governance areas, buildings, homes, roads, facilities, devices and "
            "incidents of the community digital twin (OGC API – Features).",
            "links": [
                _link(_url(".landing"), "self", JSON, "This document"),
                _link(_url(".openapi"), "service-desc", OPENAPI, "The API definition"),
                _link(_url(".conformance"), "conformance", JSON, "Conformance classes"),
                _link(_url(".collections"), "data", JSON, "Feature collections"),
            ],
        }
    )


@blueprint.get("/conformance")
def conformance() -> ResponseReturnValue:
    _check_params(OTHER_PARAMETERS)
    return json_response({"conformsTo": list(CONFORMANCE)})


def _describe(source: Source, extent: list[float] | None) -> dict[str, object]:
    lang = context.settings().web.language
    other = "en" if lang == "zh" else "zh"
    body: dict[str, object] = {
        "id": source.id,
        "title": source.title.get(lang) or source.title["en"],
        "description": source.title[other],
        "links": [
            _link(_url(".collection_doc", collection_id=source.id), "self", JSON),
            _link(_url(".items", collection_id=source.id), "items", GEOJSON, "Features"),
            _link(_url(".queryables", collection_id=source.id), QUERYABLES_REL, SCHEMA_JSON),
            # The draft's short rel, which GDAL before 3.7 looks for.
            _link(_url(".queryables", collection_id=source.id), "queryables", SCHEMA_JSON),
        ],
        "itemType": "feature",
        **ogc_crs.collection_crs(),
    }
    if extent is not None:
        body["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return body


def _visible() -> list[Source]:
    role = context.viewer().role
    return [s for s in COLLECTIONS.values() if role in s.roles]


@blueprint.get("/collections")
def collections() -> ResponseReturnValue:
    """Every collection the viewer may see, with its extent."""
    _check_params(OTHER_PARAMETERS)
    visible = _visible()
    found = extents(_provider(), visible, context.viewer())
    described = [_describe(s, found[s.id]) for s in visible if s.id in found]
    return json_response(
        {
            "links": [_link(_url(".collections"), "self", JSON)],
            "collections": described,
        }
    )


def _source(collection_id: str) -> Source:
    source = collection(collection_id)
    if context.viewer().role not in source.roles:
        raise UnknownSourceError(f"unknown collection {collection_id!r}")
    return source


@blueprint.get("/collections/<collection_id>")
def collection_doc(collection_id: str) -> ResponseReturnValue:
    _check_params(OTHER_PARAMETERS)
    source = _source(collection_id)
    found = extents(_provider(), [source], context.viewer())
    if source.id not in found:
        raise LayerForbiddenError(f"role {context.viewer().role!r} may not see {source.id!r}")
    return json_response(_describe(source, found[source.id]))


def _bbox(value: str | None) -> BBox | None:
    """``minx,miny,maxx,maxy`` (or 6 numbers with heights) in CRS84, clamped to the globe."""
    if not value:
        return None
    minx, miny, maxx, maxy = ogc_crs.bbox_numbers(value, "minx,miny,maxx,maxy (CRS84)")
    if minx > maxx or miny > maxy:
        raise FeatureQueryError("bbox", f"{value!r}: need minx <= maxx and miny <= maxy")

    def clamp(v: float, limit: float) -> float:
        return max(-limit, min(limit, v))

    return BBox(clamp(minx, 180), clamp(miny, 90), clamp(maxx, 180), clamp(maxy, 90))


def _integer(name: str, default: int, minimum: int, maximum: int = MAX_ID) -> int:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    return whole_number(name, value, minimum, maximum)


def _page_url(collection_id: str, offset: int, limit: int, after: int | None = None) -> str:
    args: dict[str, str | int] = {
        k: v for k, v in request.args.items() if k not in ("offset", "limit", "after")
    }
    if after is not None:
        args["after"] = after
    return _url(".items", collection_id=collection_id, offset=offset, limit=limit, **args)


@blueprint.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str) -> ResponseReturnValue:
    """What the viewer may filter the collection on (a JSON Schema)."""
    _check_params(OTHER_PARAMETERS)
    source = _source(collection_id)
    fields = _provider().fields(source, context.viewer())
    url = _url(".queryables", collection_id=collection_id)
    lang = context.settings().web.language
    # A client that asks for plain JSON only (GDAL before 3.7) gets it as JSON, with the
    # draft's list of names as well.
    best = request.accept_mimetypes.best_match([SCHEMA_JSON, JSON], default=SCHEMA_JSON)
    body = queryables_schema(source, fields, context.viewer(), lang, url, draft=best == JSON)
    return json_response(body, mimetype=best)


def _clause(source: Source) -> Clause | None:
    """The ``filter`` of an items request as a condition over the viewer's fields, or None."""
    text = request.args.get("filter")
    cql_filter.check_crs(request.args.get("filter-crs"))
    if text is None:
        return None
    fields = _provider().fields(source, context.viewer())
    return cql_filter.clause(text, request.args.get("filter-lang"), fields)


@blueprint.get("/collections/<collection_id>/items")
def items(collection_id: str) -> ResponseReturnValue:
    """A page of features, by id, with numberMatched/numberReturned and next/prev links."""
    _check_params(ITEMS_PARAMETERS)
    source = _source(collection_id)
    limit = min(_integer("limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    offset = _integer("offset", 0, 0, MAX_OFFSET)
    after = _integer("after", -1, 0) if "after" in request.args else None
    crs = ogc_crs.answer_crs(request.args.get("crs"))
    bbox, polygon = _bbox_in_crs(request.args.get("bbox"), request.args.get("bbox-crs"))
    filters = Filters(
        bbox=bbox,
        interval=parse_interval(request.args.get("datetime")),
        after=after,
        clause=_clause(source),
        polygon=polygon,
    )
    # ``after`` (set by our next links) pages by id instead of skipping ``offset`` rows.
    page = _provider().page(
        source, filters, context.viewer(), limit, 0 if after is not None else offset, crs
    )
    matched, returned = page.matched, page.returned
    links = [
        _link(_page_url(collection_id, offset, limit, after), "self", GEOJSON, "This page"),
        _link(_url(".collection_doc", collection_id=collection_id), "collection", JSON),
    ]
    if offset + returned < matched and page.last_id is not None:
        next_url = _page_url(collection_id, offset + returned, limit, page.last_id)
        links.append(_link(next_url, "next", GEOJSON))
    if offset > 0:
        links.append(
            _link(_page_url(collection_id, max(offset - limit, 0), limit), "prev", GEOJSON)
        )
    head = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }
    # The features arrive as JSON text built in SQL: splice them in instead of re-parsing.
    body = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": ' + page.features + "}"
    return ogc_crs.content_crs(Response(body, mimetype=GEOJSON), crs)


def _bbox_in_crs(value: str | None, crs_uri: str | None) -> tuple[BBox | None, str | None]:
    """``bbox`` as a CRS84 box, or (``bbox-crs`` projected) a lon/lat polygon."""
    crs = ogc_crs.bbox_crs(crs_uri)
    if not value or crs.key == "CRS84":
        return _bbox(value), None
    return ogc_crs.bbox_filter(value, crs)


@blueprint.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str) -> ResponseReturnValue:
    _check_params(ITEM_PARAMETERS)
    source = _source(collection_id)
    crs = ogc_crs.answer_crs(request.args.get("crs"))
    text = (
        _provider().get(source, int(feature_id), context.viewer(), crs)
        if WHOLE_NUMBER.fullmatch(feature_id) and int(feature_id) <= MAX_ID
        else None
    )
    if text is None:
        raise NotFound(f"collection {collection_id!r} has no feature {feature_id!r}")
    feature = json.loads(text)
    feature["links"] = [
        _link(_url(".item", collection_id=collection_id, feature_id=feature_id), "self", GEOJSON),
        _link(_url(".collection_doc", collection_id=collection_id), "collection", JSON),
    ]
    return ogc_crs.content_crs(json_response(feature, mimetype=GEOJSON), crs)


def _parameter(name: str, schema: dict, description: str, where: str = "query") -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": description,
        "style": "form",
        "explode": False,
    }


def _operation(summary: str, parameters: list[dict], mimetype: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": summary, "content": {mimetype: {"schema": {}}}},
                "400": {"description": "Bad request"},
                "404": {"description": "Not found"},
            },
        }
    }


@blueprint.get("/api")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.0 definition of this API."""
    _check_params(OTHER_PARAMETERS)
    collection_id = _parameter(
        "collectionId",
        {"type": "string", "enum": [s.id for s in _visible()]},
        "Collection",
        "path",
    )
    f = _parameter("f", {"type": "string", "enum": ["json"], "default": "json"}, "Format")
    crs = ogc_crs.openapi_parameters(_parameter)
    paths = {
        "/": _operation("Landing page", [f], JSON),
        "/conformance": _operation("Conformance classes", [f], JSON),
        "/collections": _operation("Feature collections", [f], JSON),
        "/collections/{collectionId}": _operation("A collection", [collection_id, f], JSON),
        "/collections/{collectionId}/items": _operation(
            "Features of a collection",
            [
                collection_id,
                _parameter(
                    "bbox",
                    {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                    "minx,miny,maxx,maxy (CRS84; with bbox-crs, in that CRS's axis order)",
                ),
                _parameter("datetime", {"type": "string"}, "RFC 3339 instant or interval"),
                _parameter(
                    "limit",
                    {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT,
                    },
                    "Features per page",
                ),
                _parameter(
                    "offset",
                    {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
                    "Features to skip",
                ),
                *cql_filter.openapi_parameters(_parameter),
                _parameter(
                    "after",
                    {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    "Continuation set by next links: features with a larger id",
                ),
                crs["crs"],
                crs["bbox-crs"],
                f,
            ],
            GEOJSON,
        ),
        "/collections/{collectionId}/queryables": _operation(
            "Queryables of a collection", [collection_id, f], SCHEMA_JSON
        ),
        "/collections/{collectionId}/items/{featureId}": _operation(
            "One feature",
            [
                collection_id,
                _parameter("featureId", {"type": "integer"}, "Feature id", "path"),
                crs["crs"],
                f,
            ],
            GEOJSON,
        ),
    }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "OneMap OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": _url(".landing").rstrip("/")}],
        "paths": paths,
    }
    return json_response(doc, mimetype=OPENAPI)
