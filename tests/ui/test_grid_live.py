"""The grid worker's field kit in headless Chromium at 1280×800 (issue 17): live tasks and photos,
against the real app and PostGIS.

Facts checked: an incident a rule opens in the demo worker's grid appears on their ``/grid`` within
2 s of the commit, marked and named in the cue line, the count line grows by one, and (the page
having been touched) the tone plays once; closed elsewhere it leaves the list without a cue, and
reopened it is back within 2 s with a cue and a second tone; a worker of another grid, signed in on
another tablet, receives no live message at all meanwhile (the browser's own counter of stream
messages stays put) and shows no such card. A GPS-tagged photo sent with "start handling" appears as
a thumbnail in the task's history (loaded under the page's CSP), its stored bytes carry no EXIF, and
the other grid's worker gets 404 for it; the city's leader opening the incident on the home map sees
its thumbnail in the popup. No request leaves the app's origin. Screenshot:
``.onemap/artifacts/grid_live.png``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PIL import Image
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata import accounts
from geodata.engine import get_engine
from tests.conftest import sql_rows
from tests.photo_samples import has_gps, jpeg_with_gps
from tests.ui.conftest import csp_safe, log_in, watched
from tests.ui.incident_popup import open_popup
from twin import workflow
from twin.taxonomy import ensure_taxonomy

pytestmark = pytest.mark.slow

TABLET = {"width": 1280, "height": 800}
TIMEOUT = 30_000
OTHER = "test_field_other_grid"
PASSWORD = "field-kit-other-grid-pw-2026"


@pytest.fixture(scope="module")
def other_grid(demo_url, my_grid) -> dict[str, object]:
    """Another grid than the demo worker's, with a worker account of its own."""
    with get_engine(demo_url).begin() as conn:
        row = conn.execute(
            text(
                "SELECT id, code, ST_X(ST_PointOnSurface(geom)) AS x, "
                "ST_Y(ST_PointOnSurface(geom)) AS y FROM area "
                "WHERE level = 'grid' AND id <> :g ORDER BY id LIMIT 1"
            ),
            {"g": my_grid["grid"]},
        ).one()
        accounts.ensure_account(conn, OTHER, "grid_worker", [row.code])
        accounts.set_password(conn, OTHER, PASSWORD)
    return dict(row._mapping)


@pytest.fixture(scope="module")
def made(demo_url, my_grid) -> Iterator[list[int]]:
    """Incidents this module opens (deleted afterwards)."""
    ids: list[int] = []
    yield ids
    with get_engine(demo_url).begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": ids})


def _live(page: Page) -> None:
    page.wait_for_function("() => window.onemap && window.onemap.live.state === 'live-on'",
                           timeout=TIMEOUT)  # fmt: skip


@pytest.fixture
def tablets(browser, sign_in, app_server, other_grid) -> Iterator[tuple[Page, Page]]:
    """Mine (the demo grid worker) and the other grid's worker, both on /grid and live."""
    with watched(sign_in(browser, "grid", TABLET), app_server) as mine:
        context = browser.new_context(viewport=TABLET)
        other = csp_safe(context.new_page())
        log_in(other, app_server, OTHER, PASSWORD)
        with watched(other, app_server):
            for page in (mine, other):
                page.goto(app_server + "grid", wait_until="domcontentloaded")
                page.wait_for_selector(".grid-count", timeout=TIMEOUT)
                _live(page)
            yield mine, other


def _open_by_rule(url: str, x: float, y: float, subject: str) -> int:
    """What a rule does: open an incident about ``subject`` (one open per rule and subject)."""
    with get_engine(url).begin() as conn:
        ensure_taxonomy(conn)
        with Session(bind=conn) as session:
            return workflow.create_incident(
                session, category="environment.litter", lon=x, lat=y, now=datetime.now(UTC),
                title="现场测试：垃圾满溢", rule="test_field_live", subject=subject,
            ).event.id  # fmt: skip


def _count(page: Page) -> int:
    return int("".join(c for c in page.inner_text(".grid-count") if c.isdigit()))


def test_a_rule_incident_appears_within_2s_with_a_cue_and_not_on_another_grid(
    tablets, demo_url, my_grid, made, artifacts
):
    mine, other = tablets
    mine.click(".grid-count")  # a gesture: the page may now play sound
    mine.wait_for_function("() => window.onemapGrid.cue.unlocked === true", timeout=TIMEOUT)
    before_count = _count(mine)
    other_received = other.evaluate("window.onemap.live.received")
    event_id = _open_by_rule(demo_url, my_grid["x"], my_grid["y"], f"live-{time.time()}")
    committed = time.monotonic()
    made.append(event_id)
    mine.wait_for_selector(f".grid-task.grid-task-new[data-event='{event_id}']", timeout=5_000)
    latency = time.monotonic() - committed
    assert latency < 2.0, latency
    cue = mine.locator(f".grid-cue-new[data-event='{event_id}']")
    assert "现场测试：垃圾满溢" in cue.inner_text()
    assert _count(mine) == before_count + 1
    assert mine.evaluate("window.onemapGrid.cue.played") == 1
    mine.screenshot(path=str(artifacts / "grid_live.png"))
    time.sleep(1.0)  # give a leak time to show
    assert other.evaluate("window.onemap.live.received") == other_received
    assert other.locator(f".grid-task[data-event='{event_id}']").count() == 0
    assert other.locator(".grid-cue-new").count() == 0
    # closed elsewhere: it leaves the list without a cue; reopened: it is back, with a cue
    _move(demo_url, event_id, ("dispatch", "accept", "start", "resolve", "close"))
    mine.wait_for_selector(f".grid-task[data-event='{event_id}']", state="detached", timeout=5_000)
    assert mine.evaluate("window.onemapGrid.cue.played") == 1
    _move(demo_url, event_id, ("reopen",))
    reopened = time.monotonic()
    mine.wait_for_selector(f".grid-task.grid-task-new[data-event='{event_id}']", timeout=5_000)
    assert time.monotonic() - reopened < 2.0
    assert mine.evaluate("window.onemapGrid.cue.played") == 2
    assert other.evaluate("window.onemap.live.received") == other_received


def _move(url: str, event_id: int, actions: tuple[str, ...]) -> None:
    """Apply ``actions`` to the incident as an admin of the city, in one transaction."""
    admin = workflow.Actor("管理员", "admin")
    with get_engine(url).begin() as conn, Session(bind=conn) as session:
        for action in actions:
            workflow.transition(session, event_id, action, admin, "测试", now=datetime.now(UTC))


def test_a_gps_photo_is_stored_without_it_and_shown_in_the_history(
    tablets, demo_url, my_grid, made, tmp_path
):
    mine, other = tablets
    event_id = _open_by_rule(demo_url, my_grid["x"], my_grid["y"], f"photo-{time.time()}")
    made.append(event_id)
    mine.wait_for_selector(f".grid-task[data-event='{event_id}']", timeout=TIMEOUT)
    mine.click(f".grid-task[data-event='{event_id}']")
    mine.wait_for_selector(".grid-act-accept:not([disabled])", timeout=TIMEOUT)
    mine.click(".grid-act-accept")
    mine.wait_for_selector(".grid-act-handle:not([disabled])", timeout=TIMEOUT)
    upload = tmp_path / "IMG_0001.jpg"
    upload.write_bytes(jpeg_with_gps())
    assert has_gps(upload.read_bytes())
    mine.set_input_files("#grid-photo input[type=file]", str(upload))
    mine.wait_for_selector(".grid-photo-name:has-text('IMG_0001.jpg')", timeout=TIMEOUT)
    mine.fill(".grid-note", "清理前拍照")
    mine.click(".grid-act-handle")
    thumb = mine.wait_for_selector(".grid-thumb-before img", timeout=TIMEOUT)
    mine.wait_for_function(
        "() => { const i = document.querySelector('.grid-thumb-before img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=TIMEOUT,
    )
    assert thumb.evaluate("i => i.naturalWidth") == 320
    (row,) = sql_rows(demo_url, "SELECT id FROM photo WHERE event_id = :e", e=event_id)
    assert f"/api/photos/{row.id}?size=thumb" in thumb.get_attribute("src")
    served = mine.request.get(f"{_base(mine)}api/photos/{row.id}")
    assert served.status == 200 and served.headers["content-type"] == "image/jpeg"
    stored = served.body()
    assert not has_gps(stored) and "exif" not in Image.open(io.BytesIO(stored)).info
    assert other.request.get(f"{_base(other)}api/photos/{row.id}").status == 404


def _base(page: Page) -> str:
    return page.url.split("grid")[0]


def test_the_city_leader_sees_the_photo_in_the_incidents_popup(
    browser, sign_in, app_server, demo_url, my_grid, made
):
    (photo_event,) = [
        r.event_id
        for r in sql_rows(demo_url, "SELECT event_id FROM photo WHERE event_id = ANY(:e)", e=made)
    ]
    with get_engine(demo_url).begin() as conn:  # only the photo's incident at that point
        others = [e for e in made if e != photo_event]
        conn.execute(text("DELETE FROM event WHERE id = ANY(:ids)"), {"ids": others})
    with watched(sign_in(browser, "leader", TABLET), app_server) as page:
        words = open_popup(page, app_server, my_grid["y"], my_grid["x"])
        assert "现场测试：垃圾满溢" in words
        page.wait_for_selector(".onemap-popup-photo img", timeout=TIMEOUT)
        page.wait_for_function(
            "() => { const i = document.querySelector('.onemap-popup-photo img');"
            " return i && i.complete && i.naturalWidth === 320; }",
            timeout=TIMEOUT,
        )
        assert page.locator(".onemap-popup-photo").inner_text() == "处置前"
