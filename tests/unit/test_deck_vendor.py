"""web.deck_bundle: the deck.gl bundle of the pydeck wheel, served by the app (no CDN)."""

from __future__ import annotations

import gzip

import pytest
from flask import Flask

from web import deck_bundle as deck


@pytest.fixture(scope="module")
def client():
    app = Flask(__name__)
    app.register_blueprint(deck.blueprint)
    return app.test_client()


def test_bundle_is_pydecks_deck_gl_with_create_deck():
    bundle = deck.bundle()
    assert deck.BUNDLE_FILE.name == "index.js" and "pydeck" in str(deck.BUNDLE_FILE)
    assert len(bundle.raw) > 3_000_000 and b"createDeck" in bundle.raw
    assert gzip.decompress(bundle.gzipped) == bundle.raw
    assert len(bundle.gzipped) < len(bundle.raw) / 3
    assert deck.bundle_path() == f"/vendor/deck.gl/{bundle.digest}/deck.js"


def test_served_gzipped_and_cacheable_forever(client):
    response = client.get(deck.bundle_path(), headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.content_type == "text/javascript; charset=utf-8"
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(response.data) == deck.bundle().raw


def test_plain_for_clients_without_gzip_and_304_on_etag(client):
    plain = client.get(deck.bundle_path(), headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.data == deck.bundle().raw
    again = client.get(deck.bundle_path(), headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_stale_digest_redirects_to_the_current_bundle(client):
    response = client.get("/vendor/deck.gl/0123456789abcdef/deck.js")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(deck.bundle_path())
