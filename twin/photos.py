"""Photos of incidents as records (table ``photo``, migration 0022).

An upload is checked before anything is written: at most :data:`MAX_BYTES`, a JPEG or PNG by
its magic bytes (and by its declared content type when one is given), at most
:data:`MAX_SIDE` pixels a side and :data:`MAX_PIXELS` in all (decompression bombs are refused
before their pixels are decoded). The pixels are then decoded, turned upright by their EXIF
orientation and re-encoded as a JPEG *without* any metadata, so EXIF location and device data
never reach the disk; a thumbnail of at most :data:`THUMB_SIDE` pixels is made alongside. Both
files lie under ``<data_dir>/event_photos/<incident id>/`` named by their content hash; the
row keeps the stored size, sha256, pixel size and the kind (``before`` 处置前 / ``after`` 处置后).

Reads take the viewer: a photo is served only to a role that handles incidents
(:data:`VIEWER_ROLES`) and only when its incident lies in the viewer's areas; anything else
reads as "no such photo" (the API answers 404, so ids do not leak which photos exist).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geodata.accounts.viewer import Viewer
from geodata.errors import OneMapError
from geodata.models import Photo
from geodata.spatial_sql import scope_clause
from geodata.vocab import PHOTO_KINDS, Role

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 8000
MAX_PIXELS = 40_000_000
"""Largest accepted image: 40 megapixels (a 2026 phone camera makes ≤ 50 MP at most, usually
12 MP binned); more is refused before decoding."""
THUMB_SIDE = 320
JPEG_QUALITY = 85
PHOTO_DIR = "event_photos"
TYPES: dict[bytes, str] = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
"""Accepted signatures (magic bytes) → content type."""
VIEWER_ROLES = frozenset({Role.grid_worker, Role.leader, Role.admin})
"""Roles that may see incident photos (those who handle incidents); planners and analysts
read incidents as map features and statistics, not the evidence photos."""


class PhotoRejected(OneMapError):
    """An upload that is not an acceptable photo (the reason says which rule it broke)."""

    status = 422
    code = "Unprocessable"


class PhotoTooLarge(PhotoRejected):
    status = 413
    code = "PayloadTooLarge"


class PhotoWrongType(PhotoRejected):
    status = 415
    code = "UnsupportedMediaType"


@dataclass(frozen=True)
class Processed:
    """A checked upload re-encoded without metadata, with its thumbnail."""

    data: bytes
    thumb: bytes
    sha256: str
    width: int
    height: int


def content_type(data: bytes) -> str:
    """The content type named by ``data``'s magic bytes; :class:`PhotoWrongType` otherwise."""
    for magic, kind in TYPES.items():
        if data.startswith(magic):
            return kind
    raise PhotoWrongType("the photo must be a JPEG or PNG image")


def _encode(image: Image.Image, side: int | None = None) -> bytes:
    """``image`` as a metadata-free JPEG (scaled to at most ``side`` pixels a side)."""
    if side is not None:
        image = image.copy()
        image.thumbnail((side, side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _opened(data: bytes) -> Image.Image:
    """The image in ``data`` with its pixel count checked before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise PhotoTooLarge(
                    f"the photo is {width}×{height} pixels; at most {MAX_SIDE} a side and "
                    f"{MAX_PIXELS // 1_000_000} megapixels are accepted"
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoTooLarge("the photo has too many pixels (a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PhotoRejected(f"the photo could not be read as an image: {exc}") from None
    return image


def process(data: bytes, declared_type: str | None = None) -> Processed:
    """Check an upload and re-encode it without EXIF (see the module doc); raise
    :class:`PhotoRejected` (or a subclass) saying why not."""
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge(f"the photo is {len(data)} bytes; at most {MAX_BYTES} are accepted")
    kind = content_type(data)
    if declared_type is not None and declared_type.split(";")[0].strip().lower() != kind:
        raise PhotoWrongType(f"the photo is declared {declared_type!r} but its bytes are {kind}")
    image = _opened(data)
    upright = ImageOps.exif_transpose(image).convert("RGB")
    stored = _encode(upright)
    return Processed(
        data=stored,
        thumb=_encode(upright, THUMB_SIDE),
        sha256=hashlib.sha256(stored).hexdigest(),
        width=upright.width,
        height=upright.height,
    )


def kind_for(action: str) -> str:
    """The photo kind an action implies: taken when closing is 处置后, otherwise 处置前."""
    return "after" if action == "close" else "before"


def store(
    session: Session,
    data_dir: Path,
    processed: Processed,
    *,
    event_id: int,
    log_id: int | None,
    account_id: int | None,
    kind: str,
    taken_at: datetime,
) -> Photo:
    """Write the files and the row (in the caller's transaction); return the row."""
    if kind not in PHOTO_KINDS:
        raise PhotoRejected(f"photo kind must be one of {sorted(PHOTO_KINDS)}")
    folder = Path(PHOTO_DIR) / str(int(event_id))
    name = processed.sha256[:32]
    relative, thumb = (folder / f"{name}.jpg").as_posix(), (folder / f"{name}_t.jpg").as_posix()
    target = Path(data_dir) / folder
    target.mkdir(parents=True, exist_ok=True)
    (Path(data_dir) / relative).write_bytes(processed.data)
    (Path(data_dir) / thumb).write_bytes(processed.thumb)
    photo = Photo(
        event_id=event_id,
        log_id=log_id,
        account_id=account_id,
        taken_at=taken_at,
        kind=kind,
        size=len(processed.data),
        sha256=processed.sha256,
        width=processed.width,
        height=processed.height,
        path=relative,
        thumb_path=thumb,
    )
    session.add(photo)
    session.flush()
    return photo


# --- reads (viewer-scoped) ---------------------------------------------------------------------


def _visible(viewer: Viewer) -> tuple[str, dict[str, object]]:
    """The SQL condition (on ``e``, the incident) and parameters of what ``viewer`` may see."""
    if viewer.role not in VIEWER_ROLES:
        return "false", {}
    if not viewer.scoped:
        return "true", {}
    return scope_clause("e.loc"), {"scope": list(viewer.area_ids or ())}


def one(conn: Connection, viewer: Viewer, photo_id: int) -> dict | None:
    """Photo ``photo_id`` (its row) when ``viewer`` may see its incident, else None."""
    where, params = _visible(viewer)
    row = conn.execute(
        text(
            "SELECT p.id, p.event_id, p.path, p.thumb_path, p.sha256, p.size FROM photo p "
            f"JOIN event e ON e.id = p.event_id WHERE p.id = :p AND {where}"
        ),
        {"p": photo_id, **params},
    ).first()
    return dict(row._mapping) if row else None


def of_incident(conn: Connection, viewer: Viewer, event_id: int) -> list[dict]:
    """The photos of incident ``event_id`` that ``viewer`` may see, oldest first."""
    where, params = _visible(viewer)
    rows = conn.execute(
        text(
            "SELECT p.id, p.log_id, p.kind, p.taken_at, p.width, p.height FROM photo p "
            f"JOIN event e ON e.id = p.event_id WHERE p.event_id = :e AND {where} "
            "ORDER BY p.taken_at, p.id"
        ),
        {"e": event_id, **params},
    )
    return [dict(r._mapping) for r in rows]


def file_bytes(data_dir: Path, relative: str) -> bytes:
    """The stored file ``relative`` under ``data_dir`` (it must stay inside the photo folder)."""
    base = (Path(data_dir) / PHOTO_DIR).resolve()
    target = (Path(data_dir) / relative).resolve()
    if base not in target.parents:
        raise PhotoRejected("photo path outside the photo folder")
    return target.read_bytes()
