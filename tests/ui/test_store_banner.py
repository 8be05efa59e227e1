"""The store-down banner of an open page in headless Chromium: shown when the page's Dash
callbacks are answered 503 with Retry-After (as while the store restarts; the answers are
stubbed here, the real outage is in tests/faults/test_store_supervision.py), hidden on a
page whose callbacks succeed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

CALLBACKS = "**/_dash-update-component*"


def _unavailable(route) -> None:
    route.fulfill(
        status=503,
        headers={"Retry-After": "5", "Content-Type": "application/json"},
        body='{"error": "store unavailable", "status": 503}',
    )


def test_a_503_callback_shows_the_banner_and_a_working_page_does_not(browser, sign_in, app_server):
    page = sign_in(browser, "analyst")
    try:
        page.route(CALLBACKS, _unavailable)
        page.goto(app_server, wait_until="domcontentloaded")
        banner = page.locator("#store-banner")
        banner.wait_for(state="visible", timeout=15_000)
        assert "数据库暂时不可用" in banner.inner_text()
        page.unroute(CALLBACKS)
        page.goto(app_server, wait_until="networkidle")
        page.wait_for_selector(".app-main > *")
        assert page.locator("#store-banner").count() == 1
        assert not page.locator("#store-banner").is_visible()
    finally:
        page.context.close()
