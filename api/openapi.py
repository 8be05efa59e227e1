"""``GET /api/openapi.json``: an OpenAPI 3.0 description of ``/api`` and ``/open311``.

It documents the routes for users (what each takes, what it answers) and drives the fuzz tests
(Schemathesis, ``tests/fuzz``). The OGC API describes itself at ``/ogc/api``. Layer and export
ids are listed from the registries, so the document cannot drift from what is served.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.typing import ResponseReturnValue

from geodata import vocab
from geodata.exports.sources import EXPORT_LAYERS
from geodata.exports.writers import FORMATS
from layers.registry import LAYERS
from web.responses import json_response

blueprint = Blueprint("openapi_doc", __name__)

FILTERS = ("status", "category", "kind", "severity", "care", "of", "metric")
ERRORS = {
    "400": {"description": "A parameter or the body is wrong; `error` says which and why"},
    "401": {"description": "Sign in (session) or send `Authorization: Bearer <token>`"},
    "403": {"description": "The role may not read this"},
    "404": {"description": "No such layer, export or feature"},
    "413": {"description": "The body is larger than the route takes"},
    "429": {"description": "Too much heavy work at once; see `Retry-After`"},
}


def _query(name: str, schema: dict[str, Any], text: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": text}  # fmt: skip


def _path(name: str, schema: dict[str, Any], text: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": text}


def _answer(text: str, media: str = "application/json", **extra: dict) -> dict:
    return {"200": {"description": text, "content": {media: {"schema": {}}}}, **ERRORS, **extra}


def _get(summary: str, parameters: list[dict], answers: dict) -> dict:
    return {"get": {"summary": summary, "parameters": parameters, "responses": answers}}


TEXT = {"type": "string", "maxLength": 200}
LAYER_ID = _path("layer_id", {"type": "string", "enum": [layer.id for layer in LAYERS]}, "Layer")
EXPORT_ID = _path("layer_id", {"type": "string", "enum": sorted(EXPORT_LAYERS)}, "Export layer")
FMT = _path("fmt", {"type": "string", "enum": ["json", "xml"]}, "Answer format")


def _layer_paths() -> dict[str, dict]:
    filters = [_query(f, TEXT, "Layer filter, comma-separated codes") for f in FILTERS]
    viewport = [
        _query("bbox", TEXT, "minx,miny,maxx,maxy (lon/lat)", required=True),
        _query("zoom", {"type": "number", "minimum": 0, "maximum": 22}, "Map zoom", True),
        _query("limit", {"type": "integer", "minimum": 1}, "Most features"),
        _query("time", TEXT, "start/end as ISO dates or date-times"),
        _query("area", {"type": "integer", "minimum": 1}, "Selected governance area id"),
    ]
    return {
        "/api/layers": _get("The viewer's layers with titles and legends", [], _answer("Layers")),
        "/api/layers/{layer_id}": _get(
            "One layer for a viewport: features zoomed in, counts zoomed out",
            [LAYER_ID, *viewport, *filters],
            _answer("A GeoJSON FeatureCollection", "application/geo+json"),
        ),
        "/api/basemap/shapes": _get(
            "The own base map's blocks, open space and roads for a viewport",
            viewport[:2],
            _answer("A GeoJSON FeatureCollection", "application/geo+json"),
        ),
        "/api/basemap/labels": _get(
            "Names for a viewport: areas by zoom, road names at street zooms",
            [*viewport[:2], _query("lang", {"type": "string", "enum": ["zh", "en"]}, "Language")],
            _answer("A GeoJSON FeatureCollection", "application/geo+json"),
        ),
        "/api/export/{layer_id}": _get(
            "A layer as a file (never with personal identifiers)",
            [
                EXPORT_ID,
                _query("format", {"type": "string", "enum": list(FORMATS)}, "File format", True),
                _query("area", TEXT, "Area code: features of it and its descendants"),
                _query("bbox", TEXT, "minx,miny,maxx,maxy (lon/lat)"),
                _query("polygon", {"type": "string", "maxLength": 2000}, "GeoJSON Polygon"),
                _query("level", {"type": "string", "enum": list(vocab.AREA_LEVELS)}, "Level"),
                _query(
                    "crs",
                    {"type": "string", "maxLength": 100},
                    "Coordinate system: an EPSG code (EPSG:4490, EPSG:4548, …) or gcj02",
                ),
            ],
            _answer("The file", "application/octet-stream"),
        ),
        "/api/live": _get(
            "Changes since an id (without `poll`: a server-sent event stream)",
            [_query("poll", TEXT, "The last id seen (empty: start)", required=True)],
            _answer("`{id, messages, layers}`, `reset` when the id is unknown"),
        ),
        "/api/photos": _get(
            "The photos of one incident the viewer may see (none when out of scope)",
            [_query("incident", {"type": "integer", "minimum": 1}, "Incident id", True)],
            _answer("`{incident, photos: [{id, kind, taken_at}]}`"),
        ),
        "/api/photos/{photo_id}": _get(
            "An incident photo (EXIF-free JPEG) for viewers of the incident; else 404",
            [
                _path("photo_id", {"type": "integer", "minimum": 1}, "Photo id"),
                _query("size", {"type": "string", "enum": ["full", "thumb"]}, "full or thumb"),
            ],
            _answer("The photo", "image/jpeg", **{"410": {"description": "File missing"}}),
        ),
    }


QUESTION = {
    "type": "object",
    "required": ["layer"],
    "properties": {
        "layer": {"type": "string", "description": "Subject layer (e.g. incidents)"},
        "where": {"type": "array", "items": {"type": "object"}},
        "time": {"type": "object"},
        "within": {"type": "object"},
        "near": {"type": "array", "items": {"type": "object"}},
        "nearest": {"type": "object"},
        "limit": {"type": "integer"},
    },
}


GRID_ACTION = {
    "type": "object",
    "required": ["key", "incident", "action"],
    "properties": {
        "key": {"type": "string", "minLength": 8, "maxLength": 64},
        "incident": {"type": "integer", "minimum": 1},
        "action": {"type": "string", "enum": ["accept", "handle", "close", "escalate"]},
        "note": {"type": "string", "maxLength": 2000},
        "photo": {"type": "string", "description": "data:image/jpeg;base64,… (optional)"},
        "lang": {"type": "string", "enum": ["zh", "en"]},
    },
}


GRID_REPORT = {
    "type": "object",
    "required": ["key", "category", "lon", "lat"],
    "properties": {
        "key": {"type": "string", "minLength": 8, "maxLength": 64},
        "category": {"type": "string", "maxLength": 64},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "description": {"type": "string", "maxLength": 2000},
        "lang": {"type": "string", "enum": ["zh", "en"]},
    },
}


def _post(summary: str, schema: dict, media: str, answers: dict, **extra: Any) -> dict:
    body = {"required": True, "content": {media: {"schema": schema}}}
    return {"post": {"summary": summary, "requestBody": body, "responses": answers, **extra}}


def _analyst_paths() -> dict[str, dict]:
    return {
        "/api/analyze": _post(
            "Answer an analyst question (JSON, at most 512 KiB)",
            QUESTION,
            "application/json",
            _answer("GeoJSON FeatureCollection with a `table`"),
        ),
        "/api/analyze.csv": _post(
            "The answer's table as CSV", QUESTION, "application/json", _answer("CSV", "text/csv")
        ),
        "/api/grid/actions": _post(
            "A grid worker's queued task action, applied once per key (offline queue)",
            GRID_ACTION,
            "application/json",
            {
                **_answer("`{incident, action, status, status_text, replay}`"),
                "409": {"description": "The incident moved on meanwhile: who and when"},
                "422": {"description": "The photo is not an acceptable image"},
            },
        ),
        "/api/grid/reports": _post(
            "A grid worker's queued report, made once per key (offline queue)",
            GRID_REPORT,
            "application/json",
            _answer("`{incident, status}`"),
        ),
        "/api/readings": _post(
            "A gateway's batch of readings (header X-Gateway-Key)",
            {
                "type": "object",
                "required": ["readings"],
                "properties": {"readings": {"type": "array", "items": {"type": "object"}}},
            },
            "application/json",
            _answer("Stored, duplicates and rejected counts"),
            parameters=[
                {"name": "X-Gateway-Key", "in": "header", "required": True, "schema": TEXT}
            ],
        ),
    }


def _open311_paths() -> dict[str, dict]:
    report = {
        "type": "object",
        "properties": {
            name: TEXT
            for name in (
                "api_key",
                "service_code",
                "lat",
                "long",
                "address_string",
                "description",
                "media_url",
                "first_name",
                "last_name",
                "email",
                "phone",
                "device_id",
                "account_id",
                "jurisdiction_id",
                "locale",
            )
        },
    }
    searches = [
        _query(name, TEXT, text)
        for name, text in (
            ("service_request_id", "Comma-separated request ids"),
            ("service_code", "Comma-separated service codes"),
            ("start_date", "W3C date-time"),
            ("end_date", "W3C date-time"),
            ("status", "open or closed, comma-separated"),
            ("jurisdiction_id", "Our jurisdiction"),
            ("locale", "zh or en"),
        )
    ]
    media = "application/x-www-form-urlencoded"
    return {
        "/open311/v2/services.{fmt}": _get("Services offered", [FMT], _answer("Services")),
        "/open311/v2/services/{code}.{fmt}": _get(
            "One service's attributes",
            [_path("code", TEXT, "Service code"), FMT],
            _answer("Service definition"),
        ),
        "/open311/v2/requests.{fmt}": {
            **_get("Service requests", [FMT, *searches], _answer("Requests")),
            **_post(
                "Report an issue (needs an api_key)",
                report,
                media,
                _answer("Receipt"),
                parameters=[FMT],
            ),
        },
        "/open311/v2/requests/{request_id}.{fmt}": _get(
            "One request", [_path("request_id", TEXT, "Request id"), FMT], _answer("Request")
        ),
        "/open311/v2/tokens/{token}.{fmt}": _get(
            "The request id of a token", [_path("token", TEXT, "Token"), FMT], _answer("Id")
        ),
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "OneMap API (社区一张图)",
            "version": "1.0.0",
            "description": "Map layers, exports, live changes, analyst questions, device "
            "readings and Open311 GeoReport v2. Sign in, or send `Authorization: Bearer "
            "<token>`; Open311 and readings use their own keys. Errors answer JSON "
            '`{"error": message, "status": code}` (Open311: its error list).',
        },
        "paths": {
            **_layer_paths(),
            **_analyst_paths(),
            **_open311_paths(),
            "/api/openapi.json": _get("This document", [], _answer("OpenAPI 3.0")),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


@blueprint.get("/api/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI 3.0 description of ``/api`` and ``/open311``."""
    return json_response(document())
