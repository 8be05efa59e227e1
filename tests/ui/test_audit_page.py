"""The admins' audit trail page in headless Chromium against the real app.

Facts checked: after a grid worker's export of residents, the admin's audit page lists that
export (user, action and object in the page's language, scope) as its newest row and the row
count equals the SQL count of the period; filtering by user name keeps only that user's rows;
an analyst sees the forbidden message and no rows.
"""

from __future__ import annotations

import urllib.request

import pytest

from layers.registry import LAYERS
from tests.conftest import api_token, sql_scalar

pytestmark = pytest.mark.slow


def _export_residents(app_server: str, token: str) -> None:
    request = urllib.request.Request(
        app_server + "api/export/residents?format=csv",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200


def test_admin_reads_the_audit_trail_and_filters_it(browser, sign_in, app_server, demo_url):
    grid = sql_scalar(demo_url, "SELECT code FROM area WHERE level = 'grid' ORDER BY code LIMIT 1")
    _export_residents(app_server, api_token(demo_url, "grid_worker", (grid,)))
    worker = f"test_grid_worker_{grid}"
    page = sign_in(browser, "admin", {"width": 1600, "height": 900})
    try:
        page.goto(app_server + "audit", wait_until="networkidle")
        page.wait_for_selector("#audit-table tr")
        first = page.locator("#audit-table tr").first.locator("td").all_inner_texts()
        residents = next(layer for layer in LAYERS if layer.id == "residents").title["zh"]
        assert first[1:5] == [worker, "导出", residents, first[4]]  # recorded codes, named
        grid_id = sql_scalar(demo_url, "SELECT id FROM area WHERE code = :c", c=grid)
        assert first[4] == str(grid_id) and '"format": "csv"' in first[5]
        total = sql_scalar(
            demo_url, "SELECT count(*) FROM audit_log WHERE at >= now() - interval '30 days'"
        )
        assert page.inner_text("#audit-count") == str(min(total, 500))
        page.fill("#audit-user", "admin")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#audit-count').innerText === '0'")
        assert page.locator("#audit-table tr").count() == 0
        page.fill("#audit-user", worker)
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#audit-count').innerText !== '0'")
        users = {
            row.locator("td").nth(1).inner_text() for row in page.locator("#audit-table tr").all()
        }
        assert users == {worker}
    finally:
        page.context.close()


def test_an_analyst_is_refused_the_audit_trail(browser, sign_in, app_server):
    page = sign_in(browser, "analyst", {"width": 1600, "height": 900})
    try:
        response = page.goto(app_server + "audit")
        assert response.status == 403
        page.goto(app_server, wait_until="networkidle")  # and in-app navigation shows no rows
        page.evaluate(
            "window.history.pushState({}, '', '/audit'); "
            "window.dispatchEvent(new PopStateEvent('popstate'))"
        )
        page.wait_for_selector(".page-forbidden")
        assert page.locator("#audit-table").count() == 0
    finally:
        page.context.close()


CONTRAST = """(selector) => {
  const rgba = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const lum = (c) => {
    const [r, g, b] = c.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const out = [];
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.nodeValue.trim()) continue;
    const a = lum(rgba(getComputedStyle(el).color).slice(0, 3)), b = lum(background(el));
    out.push([n.nodeValue.trim(), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
  }
  return out;
}"""
"""``[text, WCAG contrast ratio of its colour against the nearest opaque background]`` of
every text under the element a selector names."""


def test_the_period_labels_are_legible(browser, sign_in, app_server):
    page = sign_in(browser, "admin", {"width": 1600, "height": 900})
    try:
        page.goto(app_server + "audit", wait_until="networkidle")
        page.wait_for_selector("#audit-days label")
        ratios = page.evaluate(CONTRAST, "#audit-days")
        assert [text for text, _ in ratios] == ["1", "7", "30", "365"]
        assert all(ratio >= 4.5 for _, ratio in ratios), ratios
    finally:
        page.context.close()
