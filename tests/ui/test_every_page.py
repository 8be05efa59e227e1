"""Every page of the header, opened by an admin in headless Chromium: no script or callback
error in the console (a page's callbacks must not fire on other pages), nothing requested
from another origin, the page's own content is there, and the Content-Security-Policy the app
sends is obeyed with zero violations (``securitypolicyviolation`` events, collected from the
first script on; the sign-in page too)."""

from __future__ import annotations

import pytest

from pages.shell import NAV

pytestmark = pytest.mark.slow

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
));
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


@pytest.mark.parametrize(("path", "_key"), NAV)
def test_each_page_opens_cleanly_for_an_admin(browser, sign_in, app_server, path, _key):
    page = sign_in(browser, "admin", {"width": 1600, "height": 900})
    page.add_init_script(COLLECT_VIOLATIONS)
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        response = page.goto(app_server + path.lstrip("/"), wait_until="networkidle")
        assert response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_selector(".app-main > *")
        page.wait_for_timeout(500)  # late callbacks
        assert page.locator(".page-forbidden").count() == 0
        assert _violations(page) == []
        assert not errors, "\n".join(errors)
        assert all(r.startswith(app_server) or r.startswith("data:") for r in requests)
    finally:
        page.context.close()


def test_the_sign_in_page_obeys_the_policy(browser, app_server):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(COLLECT_VIOLATIONS)
    try:
        response = page.goto(app_server + "login", wait_until="networkidle")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert page.locator("input[name=username]").count() == 1
        assert _violations(page) == []
    finally:
        context.close()
