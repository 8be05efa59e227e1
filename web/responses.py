"""JSON answers written the same way by every blueprint that does not use ``jsonify``."""

from __future__ import annotations

import json

from flask import Response

JSON = "application/json"
GEOJSON = "application/geo+json"


def json_response(body: object, status: int = 200, mimetype: str = JSON) -> Response:
    """``body`` as JSON text (non-ASCII characters kept as they are) with ``status``."""
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype=mimetype)
