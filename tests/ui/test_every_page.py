"""Every page of the header, opened by an admin in headless Chromium: no script or callback
error in the console (a page's callbacks must not fire on other pages), nothing requested
from another origin, and the page's own content is there."""

from __future__ import annotations

import pytest

from pages.shell import NAV

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("path", "_key"), NAV)
def test_each_page_opens_cleanly_for_an_admin(browser, sign_in, app_server, path, _key):
    page = sign_in(browser, "admin", {"width": 1600, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        response = page.goto(app_server + path.lstrip("/"), wait_until="networkidle")
        assert response.status == 200
        page.wait_for_selector(".app-main > *")
        page.wait_for_timeout(500)  # late callbacks
        assert page.locator(".page-forbidden").count() == 0
        assert not errors, "\n".join(errors)
        assert all(r.startswith(app_server) or r.startswith("data:") for r in requests)
    finally:
        page.context.close()
