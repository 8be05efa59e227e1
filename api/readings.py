"""``POST /api/readings``: a gateway's batch of readings (header ``X-Gateway-Key``).

Body: ``{"readings": [{"device": "SN-…", "ts": "2026-11-27T10:00:00+08:00", "value": 1.5,
"payload": {…}}, …]}``. Answers 401 (missing/bad key), 413 (body or batch too large), 400
(not a JSON object with a ``readings`` list; the reason is in ``error``), else 200 with
``{"stored", "duplicates", "rejected", "reasons": [{"index", "reason"}], "incidents"}`` —
a bad single reading (``NaN``, ``1e400``, NUL or invalid UTF-8 in a string, a ``ts`` offset
beyond ±14:00, one the store refuses …) is counted in ``rejected``, listed in ``reasons`` (the
first 1000) and written to ``reading_reject``; the good readings of the batch are stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from geodata.availability import conflict
from geodata.engine import get_engine
from twin import poison
from twin.gateways import authenticate
from twin.quarantine import store_batch
from web import context
from web.responses import json_response

blueprint = Blueprint("readings", __name__)
RETRIES = 3
MAX_REASONS = 1000


@blueprint.post("/api/readings")
def post_readings() -> Response:
    """Store a batch of readings from an authenticated gateway."""
    settings = context.settings()
    key = request.headers.get("X-Gateway-Key")
    if not key:
        return json_response({"error": "missing X-Gateway-Key header"}, 401)
    length = request.content_length
    if length is not None and length > settings.twin.max_body_bytes:
        return json_response(
            {"error": f"body larger than {settings.twin.max_body_bytes} bytes"}, 413
        )
    engine = get_engine(context.store_url())
    with Session(engine) as session:
        gateway = authenticate(session, key)
    if gateway is None:
        return json_response({"error": "unknown or inactive gateway key"}, 401)
    raw = request.get_data(cache=False)
    if len(raw) > settings.twin.max_body_bytes:
        return json_response(
            {"error": f"body larger than {settings.twin.max_body_bytes} bytes"}, 413
        )
    try:
        body = poison.loads(raw)
    except ValueError as exc:
        return json_response({"error": f"body is not JSON: {exc}"}, 400)
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        return json_response({"error": 'body must be an object {"readings": [...]}'}, 400)
    readings = body["readings"]
    if len(readings) > settings.twin.max_batch:
        return json_response(
            {"error": f"more than {settings.twin.max_batch} readings in one batch"}, 413
        )
    for attempt in range(RETRIES):
        try:
            result = store_batch(
                engine, gateway.name, readings, "http", datetime.now(UTC), settings
            )
            return json_response(result.as_dict(max_reasons=MAX_REASONS), 200)
        except Exception as exc:  # deadlock / serialization with a concurrent batch: again
            if attempt == RETRIES - 1 or not conflict(exc):
                raise
    raise AssertionError("unreachable")
