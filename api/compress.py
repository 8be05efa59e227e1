"""gzip for the API's JSON answers (GeoJSON compresses about 5–8×; cheap at level 5)."""

from __future__ import annotations

import gzip

from flask import Response, request

MIN_BYTES = 1024
LEVEL = 5


def compressed(response: Response) -> Response:
    """``response`` gzip-compressed when the client accepts it and it is worth it."""
    body = response.get_data()
    if len(body) < MIN_BYTES or "gzip" not in request.headers.get("Accept-Encoding", ""):
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response
