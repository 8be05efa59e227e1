"""The deck.gl bundle that ships inside the pydeck wheel, served by the app itself (no CDN).

``GET /vendor/deck.gl/<digest>/deck.js`` answers the installed pydeck's
``nbextension/static/index.js`` (a UMD build exposing ``createDeck``/``updateDeck``). The URL
carries the file's content digest, so browsers may cache it for a year; a stale digest is
redirected to the current one. The body is gzip-compressed once (4.3 MB → ~1.2 MB) when the
client accepts it.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pydeck
from flask import Blueprint, Response, redirect, request, url_for
from flask.typing import ResponseReturnValue

BUNDLE_FILE = Path(pydeck.__file__).parent / "nbextension" / "static" / "index.js"
CACHE_CONTROL = "public, max-age=31536000, immutable"
JAVASCRIPT = "text/javascript; charset=utf-8"

blueprint = Blueprint("deck_vendor", __name__, url_prefix="/vendor/deck.gl")


@dataclass(frozen=True)
class Bundle:
    """The bundle's bytes, their gzip form and a short content digest."""

    raw: bytes
    gzipped: bytes
    digest: str


@lru_cache(maxsize=1)
def bundle() -> Bundle:
    """The installed deck.gl bundle (read and compressed once per process)."""
    if not BUNDLE_FILE.is_file():
        raise FileNotFoundError(f"pydeck's deck.gl bundle is missing: {BUNDLE_FILE}")
    raw = BUNDLE_FILE.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return Bundle(raw, gzip.compress(raw, compresslevel=6, mtime=0), digest)


def bundle_path() -> str:
    """Path of the current bundle (to prefix with the app's base path)."""
    return f"/vendor/deck.gl/{bundle().digest}/deck.js"


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


@blueprint.get("/<digest>/deck.js")
def deck_js(digest: str) -> ResponseReturnValue:
    """The bundle, cacheable forever under its digest (304 on a matching ``If-None-Match``)."""
    current = bundle()
    if digest != current.digest:
        return redirect(url_for("deck_vendor.deck_js", digest=current.digest), code=302)
    etag = f'"{current.digest}"'
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    if _accepts_gzip():
        headers["Content-Encoding"] = "gzip"
        return Response(current.gzipped, content_type=JAVASCRIPT, headers=headers)
    return Response(current.raw, content_type=JAVASCRIPT, headers=headers)
