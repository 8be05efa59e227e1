"""The QGIS project download on ``/export`` in headless Chromium against the real app.

Facts checked: the planner's click downloads ``onemap.qgs``; it lists one OAPIF layer per
collection ``/ogc/collections`` gives a planner, each pointing at this app's ``/ogc``; it holds
no token; the status line counts the layers.
"""

from __future__ import annotations

import json
import re
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import api_token
from tests.ui.conftest import csp_safe, watched

pytestmark = pytest.mark.slow


def _collections(base: str, token: str) -> list[str]:
    request = urllib.request.Request(
        base + "ogc/collections", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return [c["id"] for c in json.load(response)["collections"]]


def test_planner_downloads_the_qgis_project(browser, sign_in, app_server, demo_url):
    expected = _collections(app_server, api_token(demo_url, "planner"))
    page = csp_safe(sign_in(browser, "planner", {"width": 1600, "height": 900}))
    with watched(page, app_server):
        page.goto(app_server + "export", wait_until="networkidle")
        with page.expect_download() as info:
            page.click("#export-qgis-button")
        download = info.value
        assert download.suggested_filename == "onemap.qgs"
        text = Path(download.path()).read_text(encoding="utf-8")
        page.wait_for_function(
            "document.querySelector('#export-qgis-status').innerText.includes('"
            f"{len(expected)} 个图层')"
        )
    assert "Bearer" not in text and re.search(r"om_[A-Za-z0-9_-]{20,}", text) is None
    root = ET.fromstring(text.split("\n", 1)[1])
    sources = [m.find("datasource").text for m in root.iter("maplayer")]
    names = [re.search(r"typename='([^']+)'", s).group(1) for s in sources]
    assert names == expected
    assert all(f"url='{app_server}ogc'" in s for s in sources)
