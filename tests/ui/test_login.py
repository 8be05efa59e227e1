"""Signing in and out in headless Chromium against the real app.

Facts checked: an unsigned visit to a page lands on the login form and, after signing in, on
the page asked for; a wrong password shows the error in the chosen language and no session;
the header names the signed-in user and role; the sign-in form and the Dash pages show the
product's icon; signing out ends the session (the map's data
API answers 401 with the old cookie); nothing is requested from another origin.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

import pytest

from geodata.settings import PROJECT_ROOT
from tests.ui.conftest import as_browser

FAVICON = PROJECT_ROOT / "assets" / "favicon.ico"

pytestmark = pytest.mark.slow


def _status_with_cookies(base: str, path: str, cookies: list[dict]) -> int:
    try:
        with urllib.request.urlopen(as_browser(base + path, cookies), timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _icon(page, base: str) -> bytes:
    """The bytes of the page's ``<link rel=icon>`` (fetched without cookies: it is open)."""
    href = page.get_attribute("link[rel=icon]", "href")
    assert href
    with urllib.request.urlopen(urllib.parse.urljoin(base, href), timeout=20) as response:
        assert response.headers["Content-Type"].startswith("image/")
        return response.read()


def test_sign_in_returns_to_the_page_asked_for_and_sign_out_ends_it(
    browser, app_server, demo_accounts, artifacts
):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(app_server + "twin?zoom=15", wait_until="domcontentloaded")
        assert "/login?next=" in page.url
        assert _icon(page, app_server) == FAVICON.read_bytes()  # the product's, not a 404
        page.screenshot(path=str(artifacts / "login.png"))
        page.fill("input[name=username]", "planner")
        page.fill("input[name=password]", demo_accounts["planner"])
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == app_server + "twin?zoom=15"
        page.wait_for_selector(".account-box")
        assert page.inner_text(".account-name") == "planner"
        assert page.inner_text(".account-role") == "规划人员"
        assert _icon(page, app_server) == FAVICON.read_bytes()  # Dash pages too, not Plotly's
        signed = context.cookies()
        assert _status_with_cookies(app_server, "api/layers", signed) == 200
        with page.expect_navigation(url="**/login"):
            page.click("#logout-button")
        assert _status_with_cookies(app_server, "api/layers", signed) == 401
        assert all(r.startswith(app_server) for r in requests), requests
    finally:
        context.close()


def test_a_wrong_password_shows_the_error_in_english(browser, app_server):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(app_server + "login?lang=en")
        assert page.inner_text("button[type=submit]") == "Sign in"
        page.fill("input[name=username]", "analyst")
        page.fill("input[name=password]", "certainly-not-it")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert "Wrong user name or password." in page.inner_text(".login-error")
        assert not [c for c in context.cookies() if c["name"] == "onemap_session"]
    finally:
        context.close()
