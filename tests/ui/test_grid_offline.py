"""The grid worker's page (/grid) on a weak network, in headless Chromium at 1280×800 with the
browser set offline (Playwright's ``context.set_offline``), against the real app and PostGIS.

Facts checked: the page registers its service worker and manifest; offline, closing a task with
a note and a photo waits in the queue (the incident is unchanged in SQL) and the banner says
offline and "1 action waiting"; the page reloads offline and still shows the task and the
count; back online, the incident is closed exactly once (one ``close`` step with the note, one
``after`` photo linked to it). An action queued against a task the street office closed
meanwhile comes back as a conflict on screen naming who closed it, and nothing more is logged.
A report submitted offline is made once when back online. Signing out leaves no cache, no queue
database and no service worker behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PIL import Image
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from tests.conftest import sql_rows, sql_scalar
from tests.ui.conftest import csp_safe, log_in, watched
from twin import workflow
from twin.taxonomy import ensure_taxonomy
from twin.workflow import Actor

pytestmark = pytest.mark.slow

TABLET = {"width": 1280, "height": 800}
TIMEOUT = 30_000
STREET = Actor("街道办 李主任", "admin")
BANNER = "#grid-offline-banner"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 120, 60)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def in_progress(demo_url, my_grid) -> Iterator[int]:
    """An incident of the worker's grid being handled (the close button is on); deleted after."""
    with get_engine(demo_url).begin() as conn:
        ensure_taxonomy(conn)
        with Session(bind=conn) as session:
            now = datetime.now(UTC)
            event_id = workflow.create_incident(
                session, category="environment.litter", lon=my_grid["x"], lat=my_grid["y"],
                now=now, title="offline queue test", source="test_grid_offline",
            ).event.id  # fmt: skip
            for step in ("dispatch", "accept", "start"):
                workflow.transition(session, event_id, step, STREET, None, now=now)
            session.flush()
    yield event_id
    with get_engine(demo_url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = :i"), {"i": event_id})


@pytest.fixture
def tablet(browser, app_server, demo_accounts, in_progress) -> Iterator[Page]:
    """The grid worker's page, its service worker ready and in control (second load), signed
    in through the form in a context of its own: the sign-out test ends its session, which must
    not be the one the other UI tests share (``sign_in``)."""
    page = csp_safe(browser.new_context(viewport=TABLET).new_page())
    log_in(page, app_server, "grid", demo_accounts["grid"])
    with watched(page, app_server) as page:
        page.goto(app_server + "grid", wait_until="domcontentloaded")
        page.wait_for_function("document.documentElement.dataset.offlineReady === '1'")
        assert page.evaluate("!!document.querySelector('link[rel=manifest]')")
        page.reload(wait_until="domcontentloaded")
        page.wait_for_function("!!navigator.serviceWorker.controller", timeout=TIMEOUT)
        page.wait_for_selector(".grid-task", timeout=TIMEOUT)
        yield page


def _open_task(page: Page, event_id: int) -> None:
    page.click(f".grid-task[data-event='{event_id}']")
    page.wait_for_selector(".grid-act-close:not([disabled])", timeout=TIMEOUT)
    page.wait_for_timeout(500)  # the service worker stores the panel's answer


def _banner(page: Page, waiting: int) -> str:
    page.wait_for_selector(f"{BANNER}[data-waiting='{waiting}']", timeout=TIMEOUT)
    return page.inner_text(BANNER)


def _closes(url: str, event_id: int) -> list:
    sql = "SELECT id, actor, note FROM event_log WHERE event_id = :e AND action = 'close'"
    return sql_rows(url, sql, e=event_id)


def test_closing_offline_waits_and_is_applied_once(tablet, demo_url, in_progress):
    page, event_id = tablet, in_progress
    _open_task(page, event_id)
    page.context.set_offline(True)
    page.wait_for_selector(f"{BANNER}[data-offline='1']", timeout=TIMEOUT)
    page.fill(".grid-note", "楼道杂物已清理")
    page.set_input_files(
        ".grid-photo input[type=file]",
        files=[{"name": "after.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}],
    )
    page.wait_for_function("!!window.onemapGridOffline.state.photo")
    page.click(".grid-act-close")
    words = _banner(page, 1)
    assert "当前离线" in words and "待提交操作 1 项" in words
    assert sql_scalar(demo_url, "SELECT status FROM event WHERE id = :e", e=event_id) == (
        "in_progress"
    )
    page.reload(wait_until="domcontentloaded")  # offline: the service worker answers
    page.wait_for_selector(f".grid-task[data-event='{event_id}']", timeout=TIMEOUT)
    assert "待提交操作 1 项" in _banner(page, 1)
    page.context.set_offline(False)
    page.wait_for_selector(f".grid-offline-sent[data-event='{event_id}']", timeout=TIMEOUT)
    assert _banner(page, 0)
    assert sql_scalar(demo_url, "SELECT status FROM event WHERE id = :e", e=event_id) == "closed"
    closes = _closes(demo_url, event_id)
    assert len(closes) == 1 and closes[0].note == "楼道杂物已清理"
    photos = sql_rows(demo_url, "SELECT log_id, kind FROM photo WHERE event_id = :e", e=event_id)
    assert [(p.log_id, p.kind) for p in photos] == [(closes[0].id, "after")]


def test_a_task_closed_meanwhile_comes_back_as_a_conflict(tablet, demo_url, in_progress):
    page, event_id = tablet, in_progress
    _open_task(page, event_id)
    page.context.set_offline(True)
    page.wait_for_selector(f"{BANNER}[data-offline='1']", timeout=TIMEOUT)
    page.click(".grid-act-close")
    _banner(page, 1)
    with get_engine(demo_url).begin() as conn, Session(bind=conn) as session:
        for step in ("resolve", "close"):
            workflow.transition(session, event_id, step, STREET, "街道处理", now=datetime.now(UTC))
        session.flush()
    page.context.set_offline(False)
    conflict = page.wait_for_selector(
        f".grid-offline-conflict[data-event='{event_id}']", timeout=TIMEOUT
    )
    words = conflict.inner_text()
    assert "街道办 李主任" in words and "已办结" in words and f"#{event_id}" in words
    assert _banner(page, 0)
    assert [c.actor for c in _closes(demo_url, event_id)] == ["街道办 李主任"]


def test_a_report_sent_offline_is_made_once_online(tablet, demo_url, my_grid):
    page = tablet
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": my_grid["y"], "longitude": my_grid["x"]})
    page.click("text=上报事件")
    page.click(".grid-locate")
    page.wait_for_function("document.querySelector('.grid-picked-text').innerText.length > 0")
    page.click(".grid-category")
    page.get_by_text("路灯故障", exact=True).click()
    page.fill(".grid-description", "离线上报：路灯不亮")
    page.context.set_offline(True)
    page.wait_for_selector(f"{BANNER}[data-offline='1']", timeout=TIMEOUT)
    page.click(".grid-submit")
    assert "待提交操作 1 项" in _banner(page, 1)
    sql = "SELECT id, area_id, status FROM event WHERE description = '离线上报：路灯不亮'"
    assert sql_rows(demo_url, sql) == []
    try:
        page.context.set_offline(False)
        sent = page.wait_for_selector(".grid-offline-sent", timeout=TIMEOUT)
        rows = sql_rows(demo_url, sql)
        assert [(r.area_id, r.status) for r in rows] == [(my_grid["grid"], "reported")]
        assert f"#{rows[0].id}" in sent.inner_text()
    finally:
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("DELETE FROM event WHERE description = '离线上报：路灯不亮'"))


def test_signing_out_drops_the_caches_and_the_queue(tablet, in_progress):
    page = tablet
    _open_task(page, in_progress)
    page.context.set_offline(True)
    page.click(".grid-act-close")
    _banner(page, 1)
    assert page.evaluate("caches.keys().then(k => k.length)") >= 1
    page.context.set_offline(False)
    page.wait_for_selector(f"{BANNER}[data-waiting='0']", timeout=TIMEOUT)
    page.click(".logout-button")
    page.wait_for_url("**/login**", timeout=TIMEOUT)
    assert page.evaluate("caches.keys()") == []
    names = page.evaluate("indexedDB.databases().then(d => d.map(x => x.name))")
    assert "onemap-grid-queue" not in names
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
