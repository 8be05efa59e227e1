"""The admins' data sources page and the wall's freshness line in headless Chromium against the
real app and the demo city (four departmental sources, one of them overdue).

Facts checked: each source's status is what SQL computes on its own (last successful import
older than cadence + 24 h grace → overdue), so the overdue one is shown 逾期/Overdue and the
current ones 正常/Current; the last-import times are the stored instants converted to
Asia/Shanghai by PostgreSQL; row counts are those of the last run; the wall's line counts the
current sources and its hover names the overdue one; an analyst is refused the page.
"""

from __future__ import annotations

import pytest

from tests.conftest import sql_rows
from tests.ui.conftest import csp_safe, watched

pytestmark = pytest.mark.slow

TRUTH = """
SELECT s.name, s.title_zh, s.title_en,
       to_char(last.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') AS shown,
       last.rows_written,
       now() - coalesce(last.at, s.created_at) > s.cadence + interval '24 hours' AS overdue
FROM data_source s
LEFT JOIN LATERAL (SELECT at, rows_written FROM import_run r
                   WHERE r.source = s.name AND r.outcome = 'ok'
                   ORDER BY at DESC LIMIT 1) last ON true
WHERE s.active ORDER BY s.name
"""


def _truth(url: str) -> dict[str, dict]:
    return {r.name: dict(r._mapping) for r in sql_rows(url, TRUTH)}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_admin_sees_each_source_current_or_overdue(browser, sign_in, app_server, demo_url, lang):
    truth = _truth(demo_url)
    assert [n for n, r in truth.items() if r["overdue"]] == ["fire_facilities"]
    assert len(truth) == 4
    page = csp_safe(sign_in(browser, "admin", {"width": 1600, "height": 900}))
    with watched(page, app_server):
        page.goto(app_server + "sources", wait_until="networkidle")
        if lang == "en":
            page.locator("#lang-switch").get_by_text("EN", exact=True).click()
            page.wait_for_function("document.documentElement.lang === 'en'")
            page.wait_for_function(
                "document.querySelector('#sources-table td') && "
                "document.querySelector('#sources-table td').innerText === 'Fire facility register'"
            )
        page.wait_for_selector("#sources-table tr[data-source]")
        shown = {}
        for row in page.locator("#sources-table tr[data-source]").all():
            shown[row.get_attribute("data-source")] = row.locator("td").all_inner_texts()
        assert "Asia/Shanghai" in page.locator(".sources-table th").nth(3).inner_text()
        count = page.inner_text("#sources-count")
    assert sorted(shown) == sorted(truth)
    words = {"zh": ("逾期", "正常"), "en": ("Overdue", "Current")}[lang]
    for name, cells in shown.items():
        t = truth[name]
        assert cells[0] == t[f"title_{lang}"]
        assert cells[3] == t["shown"]
        assert cells[4] == f"{t['rows_written']:,}"
        assert cells[6] == (words[0] if t["overdue"] else words[1]), name
        assert cells[7] == name
    assert count == "3 / 4"
    assert next(iter(shown)) == "fire_facilities"  # overdue first


def test_the_wall_counts_current_sources_and_names_the_overdue(browser, sign_in, app_server):
    page = csp_safe(sign_in(browser, "leader", {"width": 1920, "height": 1080}))
    with watched(page, app_server):
        page.goto(app_server + "wall", wait_until="networkidle")
        line = page.locator("#wall-freshness")
        line.wait_for()
        assert line.inner_text() == "数据更新 3/4 正常 · 逾期 1"
        assert line.get_attribute("title") == "逾期数据源：消防设施台账"


def test_an_analyst_is_refused_the_sources_page(browser, sign_in, app_server):
    page = sign_in(browser, "analyst", {"width": 1600, "height": 900})
    try:
        assert page.goto(app_server + "sources").status == 403
    finally:
        page.context.close()
