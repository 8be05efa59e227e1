"""One clock on the screens: the times /wall and /audit show are the stored instants in
Asia/Shanghai, converted by PostgreSQL (``AT TIME ZONE``), not by the app; /audit names its zone.
(/grid's deadlines: ``test_grid_trust.py``.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from sqlalchemy import text

from geodata.engine import get_engine
from tests.conftest import sql_scalar
from tests.ui.conftest import watched

pytestmark = pytest.mark.slow

TIMEOUT = 30_000
LOCAL = "to_char({col} AT TIME ZONE 'Asia/Shanghai', '{fmt}')"
UTC = "to_char({col} AT TIME ZONE 'UTC', '{fmt}')"


@pytest.fixture
def wall(browser, sign_in, app_server) -> Iterator[Page]:
    with watched(sign_in(browser, "leader", {"width": 1920, "height": 1080}), app_server) as page:
        page.goto(app_server + "wall", wait_until="domcontentloaded")
        page.wait_for_selector("#wall-ticker li[data-id]", timeout=TIMEOUT)
        yield page


def test_wall_ticker_times_are_china_time(wall, demo_url):
    rows = wall.locator("#wall-ticker li[data-id]").all()[:5]
    assert rows
    for row in rows:
        event_id = int(row.get_attribute("data-id") or 0)
        sql = "SELECT {} FROM event WHERE id = :i"
        local = sql_scalar(
            demo_url, sql.format(LOCAL.format(col="reported_at", fmt="MM-DD HH24:MI")), i=event_id
        )
        assert row.locator(".wall-ticker-time").inner_text() == local


@pytest.fixture
def audit_row(demo_url) -> Iterator[str]:
    """One audit row of our own, at an instant whose UTC and China dates differ."""
    who = f"clock_{uuid.uuid4().hex[:8]}"
    with get_engine(demo_url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (at, username, action, object_type) VALUES "
                "(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
                "- interval '1 day' + interval '20 hours 5 minutes 7 seconds', :u, 'view', 'x')"
            ),
            {"u": who},
        )
    yield who
    with get_engine(demo_url).begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE username = :u"), {"u": who})


def test_audit_times_are_china_time_and_labelled(browser, sign_in, app_server, demo_url, audit_row):
    with watched(sign_in(browser, "admin", {"width": 1600, "height": 900}), app_server) as page:
        page.goto(app_server + "audit", wait_until="domcontentloaded")
        page.wait_for_selector("#audit-table tr", timeout=TIMEOUT)
        heading = page.locator(".audit-table th").first.inner_text()
        assert "Asia/Shanghai" in heading and "UTC+08:00" in heading
        page.fill("#audit-user", audit_row)
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.querySelector('#audit-count').innerText === '1'", timeout=TIMEOUT
        )
        shown = page.locator("#audit-table tr td").first.inner_text()
    sql = "SELECT {} FROM audit_log WHERE username = :u"
    fmt = "YYYY-MM-DD HH24:MI:SS"
    local = sql_scalar(demo_url, sql.format(LOCAL.format(col="at", fmt=fmt)), u=audit_row)
    utc = sql_scalar(demo_url, sql.format(UTC.format(col="at", fmt=fmt)), u=audit_row)
    assert shown == local and local != utc and local[:10] != utc[:10]
