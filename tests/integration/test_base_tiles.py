"""``/tiles/base/{z}/{x}/{y}.png``: the offline base-map package served by the real app over real
HTTP (a PMTiles and an MBTiles package the tests write), behind the gate."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from app import create_app
from geodata.settings import PROJECT_ROOT, Settings
from tests.conftest import api_token
from tests.tile_packages import block, tile_png, write_mbtiles, write_pmtiles

TILES = [(0, 0, 0), *block(117.283, 31.861, 12, 1)]
Z, X, Y = TILES[5]


@pytest.fixture(scope="module", params=["pmtiles", "mbtiles"])
def server(request, store_url, tmp_path_factory) -> Iterator[str]:
    """The real app serving a package of each kind on a free port."""
    kind = request.param
    folder = tmp_path_factory.mktemp(kind)
    path = (write_pmtiles if kind == "pmtiles" else write_mbtiles)(folder / f"t.{kind}", TILES)
    settings = Settings(database_url=store_url, basemap=f"{kind}:{path}")
    srv = make_server("127.0.0.1", 0, create_app(settings, store_url).server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def token(store_url) -> str:
    return api_token(store_url, "analyst")


def fetch(url: str, token: str | None, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (errors included)."""
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_serves_each_tiles_own_bytes(server, token):
    for z, x, y in TILES:
        status, headers, body = fetch(f"{server}/tiles/base/{z}/{x}/{y}.png", token)
        assert status == 200 and body == tile_png(z, x, y), (z, x, y)
        assert headers["Content-Type"] == "image/png"
        assert headers["Cache-Control"] == "public, max-age=86400"
        assert headers["ETag"].startswith('"') and len(headers["ETag"]) == 26


def test_etag_answers_304_and_differs_per_tile(server, token):
    url = f"{server}/tiles/base/{Z}/{X}/{Y}.png"
    etag = fetch(url, token)[1]["ETag"]
    status, headers, body = fetch(url, token, **{"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag)
    assert fetch(f"{server}/tiles/base/{Z}/{X + 1}/{Y}.png", token)[1]["ETag"] != etag


@pytest.mark.parametrize(
    "path",
    [
        f"{Z}/{X + 9}/{Y}.png",  # inside the grid, not in the package
        "5/0/0.png",  # a zoom the package lacks
        f"{Z}/{X}/{Y}.jpg",  # not the package's format
        f"{Z}/{X}/{Y}",  # no extension
    ],
)
def test_missing_tiles_are_404(server, token, path):
    status, headers, body = fetch(f"{server}/tiles/base/{path}", token)
    assert status == 404 and headers["Content-Type"].startswith("text/plain") and body


@pytest.mark.parametrize(
    "path",
    [
        "31/0/0.png",
        "2/4/0.png",
        "2/0/4.png",
        "-1/0/0.png",
        "1/-1/0.png",
        "99999999999999999999999/0/0.png",
        "20/99999999999999999999999999/0.png",
        "20/0/1e9.png",
        "z/x/y.png",
    ],
)
def test_bad_addresses_are_400(server, token, path):
    status, _, body = fetch(f"{server}/tiles/base/{path}", token)
    assert status == 400, body
    assert b"must be" in body


def test_behind_the_gate(server):
    status, headers, _ = fetch(f"{server}/tiles/base/{Z}/{X}/{Y}.png", None, Accept="image/*")
    assert status == 401 and "Bearer" in headers["WWW-Authenticate"]


def test_no_package_configured_is_404(store_url, token):
    client = create_app(Settings(database_url=store_url), store_url).server.test_client()
    answer = client.get("/tiles/base/0/0/0.png", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404 and b"no offline base map" in answer.data


def test_a_missing_package_stops_the_app_with_the_reason(store_url, tmp_path):
    """``python app.py`` refuses to start, before touching the store, and says why."""
    missing = tmp_path / "nowhere.mbtiles"
    env = {**os.environ, "DATABASE_URL": store_url, "ONEMAP_BASEMAP": f"mbtiles:{missing}"}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"ONEMAP_BASEMAP=mbtiles:{missing}: no such file" in done.stderr
