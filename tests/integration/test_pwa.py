"""The installable grid page's service worker and manifest (:mod:`web.pwa`) over HTTP.

Facts checked: ``/sw.js`` and ``/manifest.webmanifest`` answer without a session and carry no
data; the worker's cache version is the assets' fingerprint (16 hex characters, no placeholder
left) and changes when an asset does; the worker is served ``no-cache`` from the root under the
app's CSP with ``worker-src 'self'``; the manifest starts at ``/grid``, is named in zh and en,
and its icons are local PNGs of the sizes it declares; Dash does not load the worker's source
as a page script.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from app import create_app
from geodata.settings import Settings
from tests.conftest import api_token
from web import pwa


@pytest.fixture(scope="module")
def client(demo_url):
    return create_app(Settings(database_url=demo_url), demo_url).server.test_client()


def test_the_service_worker_is_open_versioned_and_not_cached(client):
    answer = client.get("/sw.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    source = answer.get_data(as_text=True)
    version = re.search(r'var VERSION = "([^"]*)";', source)
    assert version and re.fullmatch(r"[0-9a-f]{16}", version.group(1))
    assert version.group(1) == pwa.fingerprint() and "__VERSION__" not in source
    assert answer.headers["Cache-Control"] == "no-cache"
    assert "worker-src 'self'" in answer.headers["Content-Security-Policy"]


def test_the_fingerprint_follows_the_assets(tmp_path):
    (tmp_path / "a.js").write_text("one")
    before = pwa.fingerprint(tmp_path)
    (tmp_path / "a.js").write_text("two")
    assert pwa.fingerprint.__wrapped__(tmp_path) != before


@pytest.mark.parametrize(
    ("lang", "name"), [("zh", "社区一张图 · 我的网格"), ("en", "OneMap · My grid")]
)
def test_the_manifest_starts_at_the_grid_with_local_icons(client, lang, name):
    answer = client.get(f"/manifest.webmanifest?lang={lang}")
    assert answer.status_code == 200 and answer.mimetype == "application/manifest+json"
    manifest = answer.get_json()
    assert manifest["name"] == name and manifest["start_url"] == "/grid"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert icon["src"].startswith("/assets/pwa/")
        image = client.get(icon["src"])
        assert image.status_code == 200
        width, height = Image.open(io.BytesIO(image.get_data())).size
        assert f"{width}x{height}" == icon["sizes"]


def test_dash_does_not_load_the_worker_as_a_page_script(client, demo_url):
    token = api_token(demo_url, "admin")
    page = client.get("/grid", headers={"Authorization": f"Bearer {token}", "Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "assets/grid_offline.js" in html
    assert "service-worker.js" not in html
