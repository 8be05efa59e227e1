"""The grid worker's page (/grid) people can trust, in headless Chromium at 1280×800 against the
real app and PostGIS (issue 14).

Facts checked: a task's deadline on the card is the stored instant in Asia/Shanghai (converted
by PostgreSQL, not by the app); a double tap and a replayed submit make exactly one incident and
the form is cleared with a confirmation; a closed task leaves the queue with its confirmation;
the map asks for and draws open incidents only until closed history is switched on; every touch
target measures at least 48 px, sign-out sits apart from the language switch, and a tap 22 px
from a marker's centre still hits it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.vocab import OPEN_STATUSES
from tests.conftest import sql_rows, sql_scalar
from tests.ui.conftest import watched
from twin import workflow
from twin.taxonomy import ensure_taxonomy

pytestmark = pytest.mark.slow

TABLET = {"width": 1280, "height": 800}
TIMEOUT = 30_000
SOURCE = "test_grid_trust"


@pytest.fixture(scope="module")
def tasks(demo_url, my_grid) -> Iterator[list[int]]:
    """Two severe reported incidents of our own in the grid (top of the queue); deleted with
    anything reported from the page afterwards."""
    made: list[int] = []
    with get_engine(demo_url).begin() as conn:
        ensure_taxonomy(conn)
        with Session(bind=conn) as session:
            for title in ("trust test A", "trust test B"):
                made.append(
                    workflow.create_incident(
                        session, category="environment.litter", lon=my_grid["x"],
                        lat=my_grid["y"], now=datetime.now(UTC), title=title, severity=4,
                        source=SOURCE,
                    ).event.id
                )  # fmt: skip
            session.flush()
    yield made
    with get_engine(demo_url).begin() as conn:
        conn.execute(
            text("DELETE FROM event WHERE id = ANY(:ids) OR (source = 'grid' AND area_id = :g)"),
            {"ids": made, "g": my_grid["grid"]},
        )


@pytest.fixture
def tablet(browser, sign_in, app_server, tasks) -> Iterator[Page]:
    """The grid worker's page at 1280×800; afterwards no script errors, no other origins."""
    with watched(sign_in(browser, "grid", TABLET), app_server) as page:
        page.goto(app_server + "grid", wait_until="domcontentloaded")
        page.wait_for_selector(".grid-task", timeout=TIMEOUT)
        yield page


def test_deadlines_are_the_stored_instant_in_china_time(tablet, demo_url, tasks):
    local = sql_scalar(
        demo_url,
        "SELECT to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') FROM event "
        "WHERE id = :i",
        i=tasks[0],
    )
    utc = sql_scalar(
        demo_url,
        "SELECT to_char(due_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI') FROM event WHERE id = :i",
        i=tasks[0],
    )
    meta = tablet.inner_text(f".grid-task[data-event='{tasks[0]}'] .grid-task-meta")
    assert meta.endswith(local) and local != utc


def _fill_report(page: Page, my_grid: dict, words: str) -> None:
    page.context.grant_permissions(["geolocation"])
    page.context.set_geolocation({"latitude": my_grid["y"], "longitude": my_grid["x"]})
    page.click("text=上报事件")
    page.click(".grid-locate")
    page.wait_for_function(
        "() => document.querySelector('.grid-picked-text').innerText.length > 0", timeout=TIMEOUT
    )
    page.click(".grid-category")
    page.keyboard.type("路灯")
    page.get_by_text("路灯故障", exact=True).click()
    page.fill(".grid-description", words)


def _made(url: str, words: str) -> list[int]:
    return [r.id for r in sql_rows(url, "SELECT id FROM event WHERE description = :d", d=words)]


def test_double_tap_and_replayed_submit_make_one_incident(tablet, demo_url, my_grid):
    words = f"double tap {uuid.uuid4().hex[:8]}"
    _fill_report(tablet, my_grid, words)
    submits: list = []
    tablet.on(
        "request",
        lambda r: (
            submits.append(r)
            if "_dash-update-component" in r.url and "grid-submit" in (r.post_data or "")
            else None
        ),
    )
    tablet.eval_on_selector(".grid-submit", "b => { b.click(); b.click(); }")
    tablet.wait_for_selector(".grid-ok[data-event]", timeout=TIMEOUT)
    made = _made(demo_url, words)
    assert len(made) == 1
    assert tablet.get_attribute(".grid-ok", "data-event") == str(made[0])
    assert "表单已清空" in tablet.inner_text(".grid-message")

    # the form is cleared: no description, no category, no location
    assert tablet.input_value(".grid-description") == ""
    assert tablet.inner_text(".grid-picked-text") == ""
    assert "路灯故障" not in tablet.inner_text(".grid-category")

    # the same submit sent again (a retry after a lost answer) returns the same incident
    request = submits[0]
    body = json.loads(request.post_data)
    headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("content", "x-"))}
    for _ in range(2):
        answer = tablet.evaluate(
            "([u, h, b]) => fetch(u, {method: 'POST', headers: h, body: b}).then(r => r.json())",
            [request.url, headers, json.dumps(body)],
        )
        assert str(made[0]) in json.dumps(answer, ensure_ascii=False)
    assert _made(demo_url, words) == made


def test_a_closed_task_leaves_the_queue(tablet, demo_url, tasks):
    event_id = tasks[1]
    card = f".grid-task[data-event='{event_id}']"
    tablet.click(card)
    for action, status in (("accept", "accepted"), ("handle", "in_progress")):
        tablet.click(f".grid-act-{action}")
        tablet.wait_for_selector(f"{card}[data-status='{status}']", timeout=TIMEOUT)
    tablet.click(".grid-act-close")
    tablet.wait_for_selector("text=已移出待办列表", timeout=TIMEOUT)
    tablet.wait_for_selector(card, state="detached", timeout=TIMEOUT)
    assert sql_scalar(demo_url, "SELECT status FROM event WHERE id = :i", i=event_id) == "closed"
    assert f"事件 {event_id} 已办结" in tablet.inner_text(".grid-message")
    panel = tablet.inner_text("#grid-task-panel")
    assert "点选一个任务" in panel and "不在网格层级" not in panel


def _incident_answers(page: Page) -> list[dict]:
    asked = [r for r in page.requests if "/api/layers/incidents?" in r]
    return [page.evaluate("u => fetch(u).then(r => r.json())", u) for u in asked]


def test_the_map_draws_open_work_until_history_is_asked_for(tablet, demo_url, my_grid):
    closed = sql_scalar(
        demo_url,
        "SELECT count(*) FROM event WHERE area_id = :g AND status = 'closed'",
        g=my_grid["grid"],
    )
    assert closed > 0, "the demo grid should have closed incidents to hide"
    tablet.wait_for_function(
        "() => document.querySelectorAll('.grid-map path.leaflet-interactive').length > 0",
        timeout=TIMEOUT,
    )
    asked = [r for r in tablet.requests if "/api/layers/incidents?" in r]
    assert asked and all("status=" in u for u in asked)
    shown = {f["properties"]["status"] for a in _incident_answers(tablet) for f in a["features"]}
    assert shown and shown <= set(OPEN_STATUSES)

    tablet.click(".grid-history-label")
    tablet.wait_for_function(
        "() => performance.getEntriesByType('resource').some(e => "
        "e.name.includes('/api/layers/incidents?') && !e.name.includes('status='))",
        timeout=TIMEOUT,
    )
    every = [u for u in tablet.requests if "/api/layers/incidents?" in u and "status=" not in u]
    answer = tablet.evaluate("u => fetch(u).then(r => r.json())", every[-1])
    assert "closed" in {f["properties"]["status"] for f in answer["features"]}


def _box(page: Page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box


def test_touch_targets_are_at_least_48_px(tablet, artifacts):
    for selector in (
        ".app-nav-link",
        ".logout-button",
        ".lang-switch .dash-options-list-option",
        ".grid-tab",
        ".grid-history-label",
    ):
        for box in (b.bounding_box() for b in tablet.locator(selector).all()):
            assert box is not None and box["height"] >= 48 and box["width"] >= 48, selector
    logout, switch = _box(tablet, ".logout-button"), _box(tablet, ".lang-switch")
    assert switch["x"] - (logout["x"] + logout["width"]) >= 24

    tablet.click(".grid-task")
    tablet.wait_for_selector(".grid-act", timeout=TIMEOUT)
    for box in (b.bounding_box() for b in tablet.locator(".grid-act").all()):
        assert box is not None and box["height"] >= 48

    # markers: 24 px drawn, and a tap 22 px off the centre still lands on the marker
    tablet.wait_for_function(
        "() => document.querySelectorAll('.grid-map path.leaflet-interactive').length > 0",
        timeout=TIMEOUT,
    )
    hits = tablet.evaluate(
        """() => {
          const map = document.querySelector('.grid-map').getBoundingClientRect();
          const marks = [...document.querySelectorAll('.grid-map path.leaflet-interactive')]
            .filter(p => p.getAttribute('stroke-opacity') === '0');
          return marks.slice(0, 20).map(p => {
            const b = p.getBBox(), r = p.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const inside = x - 22 > map.left && x + 22 < map.right;
            const at = document.elementsFromPoint(x + 22, y);
            return {drawn: b.width, hit: !inside || at.includes(p)};
          });
        }"""
    )
    assert hits and all(h["drawn"] >= 24 and h["hit"] for h in hits), hits
    tablet.screenshot(path=str(artifacts / "grid_touch_targets.png"))
