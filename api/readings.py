"""``POST /api/readings``: a gateway's batch of readings (header ``X-Gateway-Key``).

Body: ``{"readings": [{"device": "SN-…", "ts": "2026-11-27T10:00:00+08:00", "value": 1.5,
"payload": {…}}, …]}``. Answers 401 (missing/bad key), 413 (body or batch too large), 400
(not a JSON object with a ``readings`` list; the reason is in ``error``), else 200 with
``{"stored", "duplicates", "rejected", "reasons": [{"index", "reason"}], "incidents"}`` —
malformed single readings are counted in ``rejected``, they do not fail the batch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
from flask import Blueprint, Response, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from twin.gateways import authenticate
from twin.intake import ingest
from web import context
from web.responses import json_response

blueprint = Blueprint("readings", __name__)
RETRIES = 3


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
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
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
            with engine.begin() as conn:
                result = ingest(conn, gateway.name, readings, "http", datetime.now(UTC), settings)
            return json_response(result.as_dict(), 200)
        except OperationalError as exc:  # deadlock / serialization with a concurrent batch
            if attempt == RETRIES - 1 or not isinstance(
                exc.orig, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
            ):
                raise
    raise AssertionError("unreachable")
