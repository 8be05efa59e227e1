"""``GET /api/photos/<id>``: an incident photo (``?size=thumb``: its thumbnail), for viewers
who may see the incident (:mod:`twin.photos`); any other id answers 404, so ids do not say
which photos exist. ``GET /api/photos?incident=<id>``: the photos of one incident the viewer
may see (``{"incident", "photos": [{"id", "kind", "taken_at"}]}``; an incident out of scope or
unknown has none, alike). Like every signed-in answer, ``Cache-Control: no-store``
(:mod:`web.headers`)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geodata.engine import get_engine
from geodata.query import WHOLE_NUMBER
from twin import photos
from web import context
from web.responses import json_response

blueprint = Blueprint("photos", __name__)
SIZES = ("full", "thumb")


@blueprint.get("/api/photos")
def incident_photos() -> Response:
    """The photos of ``?incident=<id>`` the viewer may see (the map's incident popup)."""
    raw = request.args.get("incident", "")
    if not WHOLE_NUMBER.fullmatch(raw) or not 0 < int(raw) < 2**63:
        error = "incident must be a positive whole number"
        return json_response({"error": error, "status": 400}, 400)
    event_id = int(raw)
    with get_engine(context.store_url()).connect() as conn:
        rows = photos.of_incident(conn, context.viewer(), event_id)
    listed = [
        {"id": r["id"], "kind": r["kind"], "taken_at": r["taken_at"].isoformat()} for r in rows
    ]
    return json_response({"incident": event_id, "photos": listed})


@blueprint.get("/api/photos/<int:photo_id>")
def photo(photo_id: int) -> Response:
    """The stored (EXIF-free) JPEG of photo ``photo_id`` or its thumbnail."""
    size = request.args.get("size", "full")
    if size not in SIZES:
        return json_response({"error": f"size must be one of {list(SIZES)}", "status": 400}, 400)
    with get_engine(context.store_url()).connect() as conn:
        row = photos.one(conn, context.viewer(), photo_id)
    if row is None:
        return json_response({"error": f"no photo {photo_id}", "status": 404}, 404)
    try:
        data = photos.file_bytes(
            context.settings().store.data_dir, row["thumb_path" if size == "thumb" else "path"]
        )
    except (OSError, photos.PhotoRejected):
        return json_response({"error": f"photo {photo_id} is missing its file", "status": 410}, 410)
    response = Response(data, mimetype="image/jpeg")
    response.headers["ETag"] = f'"{row["sha256"][:32]}-{size}"'
    return response
