"""My account (``/account``) in headless Chromium against the real app, and GDAL with the token
the page gave.

Facts checked: the page is linked from the header; a planner creates a token, sees its value
once (gone after a reload), copies it with the button (the clipboard holds it); GDAL's
``ogrinfo`` with that token lists the same collections as ``/ogc/collections`` says for the
planner; after the planner revokes it on the page, ``ogrinfo`` is refused with 401; a grid
worker has no link and gets 403.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from pages import account_ids as ids
from tests.conftest import until
from tests.ui.conftest import csp_safe, watched

pytestmark = pytest.mark.slow


def _ogrinfo(base: str, token: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"}
    return subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{base}ogc"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _collections(base: str, token: str) -> list[str]:
    request = urllib.request.Request(
        base + "ogc/collections", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return [c["id"] for c in json.load(response)["collections"]]


def test_planner_creates_copies_uses_and_revokes_a_token(browser, sign_in, app_server):
    page = csp_safe(sign_in(browser, "planner", {"width": 1400, "height": 900}))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    with watched(page, app_server):
        page.goto(app_server + "export", wait_until="networkidle")
        page.click("a.app-nav-link[href='/account']")
        page.wait_for_selector(f"#{ids.CREATE}")
        name = f"ui {time.time_ns()}"
        page.fill(f"#{ids.NAME}", name)
        page.click(f"#{ids.CREATE}")
        page.wait_for_selector(f"#{ids.VALUE}")
        token = page.input_value(f"#{ids.VALUE}")
        assert re.fullmatch(r"om_[A-Za-z0-9_-]{43}", token)
        page.click(f"#{ids.COPY}")
        page.wait_for_function(f"document.querySelector('#{ids.COPY}').innerText === '已复制'")
        assert page.evaluate("navigator.clipboard.readText()") == token
        row = page.locator("tr.account-token", has_text=name)
        row.wait_for()
        assert row.get_attribute("data-state") == "active"

        listed = _ogrinfo(app_server, token)
        assert listed.returncode == 0, listed.stderr
        names = re.findall(r"^\d+: (\S+)", listed.stdout, flags=re.M)
        assert names == _collections(app_server, token) and names

        row.locator("button.account-revoke").click()
        page.wait_for_function(
            f"document.querySelector('#{ids.STATUS}').innerText.includes('已撤销')"
        )
        page.locator("tr.account-token[data-state=revoked]", has_text=name).wait_for()
        assert until(lambda: _ogrinfo(app_server, token).returncode != 0, 5.0)
        refused = _ogrinfo(app_server, token)
        assert "401" in refused.stderr

        page.reload(wait_until="networkidle")
        page.wait_for_selector("tr.account-token")
        assert page.locator(f"#{ids.VALUE}").count() == 0 and token not in page.content()


def test_a_grid_worker_has_no_account_page(browser, sign_in, app_server):
    page = sign_in(browser, "grid", {"width": 1280, "height": 800})
    try:
        page.goto(app_server + "grid", wait_until="networkidle")
        assert page.locator("a.app-nav-link[href='/account']").count() == 0
        assert page.goto(app_server + "account").status == 403
    finally:
        page.context.close()
