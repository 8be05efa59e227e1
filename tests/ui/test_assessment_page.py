"""The assessment page (/assessment) in headless Chromium against the real app.

Facts checked: for the 90-day preset and the street grouping the table's rows are the assess()
rows of that period (rank, name, every figure as formatted); sorting by a column reorders them;
the CSV download is those rows and the PNG / PDF downloads are real files of the charts; a
category filter and the English switch keep them; no console error and nothing requested from
another origin; a leader scoped to one street sees only its grids; a grid
worker and a planner get the forbidden message.
"""

from __future__ import annotations

import struct
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from analytics import assessment_report as ar
from analytics.assessment import assess, to_csv
from geodata import accounts
from geodata.engine import get_engine
from tests.conftest import sql_scalar
from tests.ui.conftest import log_in

pytestmark = pytest.mark.slow

VIEWPORT = {"width": 1600, "height": 900}
SHOWN = ("rank", "name", "received", "closed", "closure_rate", "on_time_rate", "median_hours",
         "p90_hours", "escalation_rate", "reopen_rate")  # fmt: skip


def last_days(url: str, days: int) -> tuple[date, date]:
    """The page's preset: ``days`` days ending on the newest incident's day (or today)."""
    latest = ar.latest_day(url)
    return latest - timedelta(days=days - 1), latest


def shown(row: dict) -> list[str]:
    """A row as the table formats it (rates as 1-decimal percentages, hours to 0.1)."""
    out = []
    for column in SHOWN:
        value = row[column]
        if value is None:
            out.append("")
        elif column.endswith("_rate"):
            out.append(f"{value * 100:.1f}%")
        elif column.endswith("_hours"):
            out.append(f"{value:.1f}")
        else:
            out.append(str(value))
    return out


def table(page: Page) -> list[list[str]]:
    rows = page.locator("#assessment-table tr:has(td)")
    return [
        [rows.nth(i).locator(f'td[data-dash-column="{c}"]').inner_text().strip() for c in SHOWN]
        for i in range(rows.count())
    ]


def wait_for_rows(page: Page, expected: list[dict], tries: int = 80) -> None:
    """Wait until the table shows exactly ``expected`` (callbacks may pass through an
    intermediate state, e.g. the new grouping of the old period), then assert it."""
    cells = page.locator('#assessment-table td[data-dash-column="name"]')
    expect(cells).to_have_count(len(expected), timeout=20_000)
    want = [shown(r) for r in expected]
    for _ in range(tries):
        if table(page) == want:
            break
        page.wait_for_timeout(250)
    assert table(page) == want


def test_leader_ranks_streets_sorts_and_downloads(
    browser, sign_in, app_server, demo_url, artifacts
):
    page = sign_in(browser, "leader", VIEWPORT)
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        page.goto(app_server + "assessment", wait_until="networkidle")
        page.wait_for_selector('#assessment-table td[data-dash-column="name"]')
        page.get_by_text("90 天", exact=True).click()
        first, last = last_days(demo_url, 90)
        expect(page.locator("#assessment-dates")).to_have_value(str(first))
        page.locator("#assessment-by").get_by_text("街道", exact=True).click()
        expected = assess(demo_url, "street", *ar.day_range(first, last))
        assert len(expected) >= 2
        wait_for_rows(page, expected)
        assert table(page) == [shown(r) for r in expected]
        start, end = page.locator("#assessment-dates"), page.locator("#assessment-dates-end-date")
        assert (start.input_value(), end.input_value()) == (str(first), str(last))
        received = sum(r["received"] for r in expected)
        assert received > 100
        summary = page.inner_text("#assessment-summary")
        assert f"{len(expected)} 个单位，受理 {received:,} 件" in summary
        # the dates are the city's days, and say so
        expect(page.locator(".assessment-zone")).to_have_text("(Asia/Shanghai, UTC+08:00)")

        # sortable: a click on the header's arrows sorts by received, ascending
        header = page.locator('#assessment-table th[data-dash-column="received"]')
        header.locator(".column-header--sort").click()
        by_received = sorted(r["received"] for r in expected)
        counts = page.locator('#assessment-table td[data-dash-column="received"]')
        expect(counts.first).to_have_text(str(by_received[0]))
        assert [int(v) for v in counts.all_inner_texts()] == by_received

        with page.expect_download() as csv_download:
            page.click("#assessment-csv")
        assert csv_download.value.suggested_filename == f"assessment-street-{first}-{last}.csv"
        content = csv_download.value.path().read_bytes()
        start, end = (t.isoformat() for t in ar.day_range(first, last))
        times = {"period_start": start, "period_end": end}
        assert start == f"{first}T00:00:00+08:00"  # the city's midnight, with its offset
        assert content.decode("utf-8-sig") == to_csv([times | r for r in expected])
        assert content[:3] == b"\xef\xbb\xbf"
        with page.expect_download() as png_download:
            page.click("#assessment-png")
        png = png_download.value.path().read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", png[16:24]) == (1500, 700) and len(png) > 30_000
        with page.expect_download() as pdf_download:
            page.click("#assessment-pdf")
        assert pdf_download.value.path().read_bytes()[:5] == b"%PDF-"
        assert pdf_download.value.suggested_filename.endswith(".pdf")

        graph = page.locator("#assessment-trend .main-svg").first
        expect(graph).to_be_visible()
        bars = page.locator("#assessment-trend g.trace.bars g.point")
        weekly = ar.build_report(demo_url, "street", *ar.day_range(first, last)).trend
        assert bars.count() == len(weekly) > 10
        page.screenshot(path=str(artifacts / "assessment-leader.png"))

        # one category group (the sort is cleared: rank order again), then English
        page.locator("#assessment-category").click()
        page.get_by_role("option", name="消防安全", exact=True).click()
        expect(page.locator("#assessment-category")).to_contain_text("消防安全")
        fire = assess(demo_url, "street", *ar.day_range(first, last), category="fire_safety")
        assert 0 < sum(r["received"] for r in fire) < received
        wait_for_rows(page, fire)
        assert table(page) == [shown(r) for r in fire]
        page.locator(".lang-switch").get_by_text("EN", exact=True).click()
        expect(header).to_contain_text("Received")
        expect(page.locator("#assessment-summary")).to_contain_text(
            f"{len(fire)} units, {sum(r['received'] for r in fire):,} incidents received"
        )
        assert table(page) == [shown(r) for r in fire]
        assert not errors, errors
        assert [u for u in requests if not u.startswith(app_server)] == []
    finally:
        page.context.close()


def test_a_leader_of_one_street_sees_only_its_grids(browser, app_server, demo_url, artifacts):
    with get_engine(demo_url).begin() as conn:
        street_id, code = conn.execute(
            text(
                "SELECT s.id, s.code FROM area s WHERE s.level = 'street' AND EXISTS "
                "(SELECT 1 FROM area c WHERE c.parent_id = s.id) ORDER BY s.code DESC LIMIT 1"
            )
        ).one()
        password = accounts.new_password()
        username = f"test_leader_{code}"
        try:
            accounts.add_account(conn, username, "leader", password, [code])
        except accounts.AccountError:
            accounts.set_password(conn, username, password)
    first, last = last_days(demo_url, 30)
    everything = assess(demo_url, "grid", *ar.day_range(first, last))
    expected = assess(demo_url, "grid", *ar.day_range(first, last), areas=(street_id,))
    assert 0 < len(expected) < len(everything)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        log_in(page, app_server, username, password)
        page.goto(app_server + "assessment", wait_until="networkidle")
        wait_for_rows(page, expected)
        assert table(page) == [shown(r) for r in expected]
        assert "仅含您辖区内的单位" in page.inner_text("#assessment-summary")
        page.locator("#assessment-by").get_by_text("区", exact=True).click()
        expect(page.locator("#assessment-summary")).to_have_text("本时段您辖区内无此级单位的事件。")
        expect(page.locator("#assessment-trend g.trace.bars g.point")).to_have_count(0)
        assert page.locator('#assessment-table td[data-dash-column="name"]').count() == 0
        page.screenshot(path=str(artifacts / "assessment-scoped-leader.png"))
    finally:
        context.close()


@pytest.mark.parametrize("username", ["grid", "planner"])
def test_grid_workers_and_planners_are_refused(browser, sign_in, app_server, username):
    page = sign_in(browser, username, VIEWPORT)
    try:
        response = page.goto(app_server + "assessment")
        assert response.status == 403
        page.goto(app_server, wait_until="networkidle")  # in-app navigation shows no figures
        page.evaluate(
            "window.history.pushState({}, '', '/assessment'); "
            "window.dispatchEvent(new PopStateEvent('popstate'))"
        )
        page.wait_for_selector(".page-forbidden")
        assert page.inner_text(".page-forbidden") == "您的角色无权访问此页面。"
        assert page.locator("#assessment-table").count() == 0
    finally:
        page.context.close()


TICKS = """() => Object.fromEntries(['xtick', 'ytick', 'y2tick'].map((axis) => [axis,
    [...document.querySelectorAll(`#assessment-trend .${axis} text`)]
        .map((t) => t.textContent)]))"""
"""The trend chart's tick labels per axis (x, left y, right y)."""


def _choose(page: Page, url: str, days: int | str) -> None:
    """A preset (7, 30 or 90 days), or ``"day"``: the newest day with incidents in grids (the
    units the trend counts; a rule may have opened a newer one elsewhere) alone, typed into the
    dates."""
    if days != "day":
        page.get_by_text(f"{days} 天", exact=True).click()
        return
    latest = str(
        sql_scalar(
            url,
            "SELECT max((e.reported_at AT TIME ZONE 'Asia/Shanghai')::date) FROM event e "
            "JOIN area a ON a.id = e.area_id WHERE a.level = 'grid'",
        )
    )
    for field in ("#assessment-dates", "#assessment-dates-end-date"):
        page.fill(field, latest)
        page.press(field, "Enter")


@pytest.mark.parametrize("days", [7, 30, 90, "day"])
def test_the_trend_charts_axis_labels_do_not_repeat(browser, sign_in, app_server, demo_url, days):
    page = sign_in(browser, "leader", VIEWPORT)
    try:
        page.goto(app_server + "assessment", wait_until="networkidle")
        page.wait_for_selector("#assessment-trend .xtick text")
        _choose(page, demo_url, days)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # the figure is drawn again
        ticks = page.evaluate(TICKS)
        assert len(ticks["xtick"]) >= 1 and len(ticks["ytick"]) >= 2, ticks
        for axis, labels in ticks.items():
            assert len(set(labels)) == len(labels), (axis, labels)
    finally:
        page.context.close()
