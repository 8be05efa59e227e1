"""``GET /api/photos/<id>``: an incident photo (``?size=thumb``: its thumbnail), for viewers
who may see the incident (:mod:`twin.photos`); any other id answers 404, so ids do not say
which photos exist. Like every signed-in answer, ``Cache-Control: no-store``
(:mod:`web.headers`)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geodata.engine import get_engine
from twin import photos
from web import context
from web.responses import json_response

blueprint = Blueprint("photos", __name__)
SIZES = ("full", "thumb")


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
