"""The grid worker's page (/grid) in headless Chromium at tablet size (1280×800), signed in as
the demo grid worker, against the real app and PostGIS.

Facts checked against independent SQL: the task cards are the open incidents of the worker's
grid; accepting a task in the browser changes its status and writes an ``event_log`` row with
the worker's account and note; the care list shows the residents (names) of the grid with a
care tag and each showing writes one ``audit_log`` row; the devices are the grid's devices; the
map draws the grid's incidents from the viewport API; a report from the device's location
becomes an incident of the grid; an analyst gets the forbidden message. No request leaves the
app's origin. Screenshot: ``.onemap/artifacts/grid_tablet.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.vocab import OPEN_STATUSES
from tests.conftest import sql_rows
from tests.ui.conftest import watched
from twin import workflow
from twin.taxonomy import ensure_taxonomy

pytestmark = pytest.mark.slow

TABLET = {"width": 1280, "height": 800}
TIMEOUT = 30_000
OPEN = list(OPEN_STATUSES)
CARE = "ARRAY['elderly_alone','disabled','needs_care','left_behind_child','low_income']"


@pytest.fixture(scope="module")
def my_incidents(demo_url, my_grid) -> Iterator[list[int]]:
    """Two reported incidents of our own in the grid; deleted (with anything reported from the
    page) afterwards, so tests counting the city's incidents see it as built."""
    made: list[int] = []
    with get_engine(demo_url).begin() as conn:
        ensure_taxonomy(conn)
        with Session(bind=conn) as session:
            for title in ("grid ui test A", "grid ui test B"):
                made.append(
                    workflow.create_incident(
                        session, category="environment.litter", lon=my_grid["x"],
                        lat=my_grid["y"], now=datetime.now(UTC), title=title,
                        source="test_grid_ui",
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
def tablet(browser, sign_in, app_server, my_incidents) -> Iterator[Page]:
    """The grid worker's page at 1280×800; afterwards no script errors, no other origins."""
    with watched(sign_in(browser, "grid", TABLET), app_server) as page:
        page.goto(app_server + "grid", wait_until="domcontentloaded")
        page.wait_for_selector(".grid-task", timeout=TIMEOUT)
        yield page


def _audits(url: str, account: int) -> int:
    sql = (
        "SELECT count(*) FROM audit_log WHERE account_id = :a AND object_type = 'resident_identity'"
    )
    return sql_rows(url, sql, a=account)[0][0]


def test_tasks_residents_devices_are_the_grids(tablet, demo_url, my_grid, my_incidents, artifacts):
    expected = [
        r.id
        for r in sql_rows(
            demo_url,
            "SELECT id FROM event WHERE area_id = :g AND status = ANY(:s) "
            "ORDER BY severity DESC, due_at NULLS LAST, id",
            g=my_grid["grid"],
            s=OPEN,
        )
    ]
    cards = tablet.eval_on_selector_all(".grid-task", "els => els.map(e => +e.dataset.event)")
    assert cards == expected[:200] and set(my_incidents) <= set(cards)
    count = tablet.inner_text(".grid-count")
    assert str(len(expected)) in count

    # the map draws the grid's incidents, fetched from the viewport API
    tablet.wait_for_function(
        "() => document.querySelectorAll('.grid-map .leaflet-interactive').length > 0",
        timeout=TIMEOUT,
    )
    asked = [r for r in tablet.requests if "/api/layers/incidents?" in r]
    answer = tablet.evaluate("u => fetch(u).then(r => r.json())", asked[-1])
    drawn = {f.get("id", f["properties"].get("id")) for f in answer["features"]}
    assert set(my_incidents) <= drawn

    before = _audits(demo_url, my_grid["account"])
    tablet.click("text=关爱对象")
    tablet.wait_for_selector(".grid-resident", timeout=TIMEOUT)
    names = dict(
        sql_rows(
            demo_url,
            "SELECT r.id, i.name FROM resident r JOIN resident_identity i ON i.resident_id = r.id "
            f"WHERE r.area_id = :g AND r.status = 'active' AND r.care_tags && {CARE}::varchar[]",
            g=my_grid["grid"],
        )
    )
    shown = tablet.eval_on_selector_all(
        ".grid-resident",
        "els => els.map(e => [+e.dataset.resident, "
        "e.querySelector('.grid-resident-name').innerText])",
    )
    assert len(shown) == min(len(names), 200) and len(shown) > 0
    assert all(names[rid] == name for rid, name in shown)
    assert _audits(demo_url, my_grid["account"]) == before + 1
    detail = sql_rows(
        demo_url,
        "SELECT detail FROM audit_log WHERE account_id = :a ORDER BY id DESC LIMIT 1",
        a=my_grid["account"],
    )[0][0]
    assert sorted(detail["resident_ids"]) == sorted(rid for rid, _ in shown)

    tablet.click("text=我的设备")
    tablet.wait_for_selector(".grid-device", timeout=TIMEOUT)
    devices = {r.id for r in sql_rows(demo_url, "SELECT id FROM device WHERE area_id = :g",
                                      g=my_grid["grid"])}  # fmt: skip
    listed = tablet.eval_on_selector_all(".grid-device", "els => els.map(e => +e.dataset.device)")
    assert set(listed) == devices or (len(listed) == 200 and set(listed) <= devices)

    tablet.click("text=我的任务")
    tablet.wait_for_selector(".grid-task", timeout=TIMEOUT)
    tablet.screenshot(path=str(artifacts / "grid_tablet.png"))


def test_accepting_a_task_writes_the_log_and_changes_the_status(
    tablet, demo_url, my_grid, my_incidents
):
    event_id = my_incidents[0]
    tablet.click(f".grid-task[data-event='{event_id}']")
    tablet.wait_for_selector(".grid-note", timeout=TIMEOUT)
    tablet.fill(".grid-note", "已到现场")
    tablet.click(".grid-act-accept")
    tablet.wait_for_selector(".grid-ok", timeout=TIMEOUT)
    assert f"事件 {event_id}" in tablet.inner_text(".grid-message")
    status = sql_rows(demo_url, "SELECT status FROM event WHERE id = :i", i=event_id)[0][0]
    assert status == "accepted"
    logs = sql_rows(
        demo_url,
        "SELECT action, actor_id, note FROM event_log WHERE event_id = :i ORDER BY id",
        i=event_id,
    )
    assert [r.action for r in logs] == ["create", "dispatch", "accept"]
    assert logs[-1].actor_id == my_grid["account"] and logs[-1].note == "已到现场"
    tablet.wait_for_selector(
        f".grid-task[data-event='{event_id}'][data-status='accepted']", timeout=TIMEOUT
    )


def test_report_from_the_device_location(tablet, demo_url, my_grid):
    tablet.context.grant_permissions(["geolocation"])
    tablet.context.set_geolocation({"latitude": my_grid["y"], "longitude": my_grid["x"]})
    tablet.click("text=上报事件")
    tablet.click(".grid-locate")
    tablet.wait_for_function(
        "() => document.querySelector('.grid-picked-text').innerText.length > 0", timeout=TIMEOUT
    )
    tablet.click(".grid-category")
    tablet.get_by_text("路灯故障", exact=True).click()
    tablet.fill(".grid-description", "路灯不亮")
    tablet.click(".grid-submit")
    tablet.wait_for_selector(".grid-ok", timeout=TIMEOUT)
    event_id = int("".join(c for c in tablet.inner_text(".grid-message") if c.isdigit()))
    row = sql_rows(
        demo_url,
        "SELECT status, area_id, category, description FROM event WHERE id = :i",
        i=event_id,
    )[0]
    assert tuple(row) == ("reported", my_grid["grid"], "facility.streetlight", "路灯不亮")


FREE_SPOT = """() => {
  const map = document.querySelector('.grid-map').getBoundingClientRect();
  for (let fy = 0.7; fy > 0.2; fy -= 0.05) {
    for (let fx = 0.3; fx < 0.8; fx += 0.05) {
      const x = map.left + map.width * fx, y = map.top + map.height * fy;
      const marker = document.elementsFromPoint(x, y).some(
        e => e.matches('path.leaflet-interactive') && e.getAttribute('stroke-opacity') === '0');
      if (!marker) { return [x, y]; }
    }
  }
  return [map.left + map.width * 0.3, map.top + map.height * 0.7];
}"""
"""A point of the map away from the markers (whose 48 px tap targets open their popup)."""


def test_tapping_the_map_picks_the_location(tablet, my_grid):
    tablet.click("text=上报事件")
    tablet.wait_for_function(
        "() => document.querySelectorAll('.grid-map path.leaflet-interactive').length > 0",
        timeout=TIMEOUT,
    )
    x, y = tablet.evaluate(FREE_SPOT)
    tablet.mouse.click(x, y)
    tablet.wait_for_function(
        "() => document.querySelector('.grid-picked-text').innerText.length > 0", timeout=TIMEOUT
    )
    lon, lat = (float(v) for v in tablet.inner_text(".grid-picked-text").split(","))
    assert abs(lon - my_grid["x"]) < 0.02 and abs(lat - my_grid["y"]) < 0.02
    assert tablet.locator(".grid-map path.leaflet-interactive[stroke='#f97316']").count() == 1


def test_an_analyst_gets_the_forbidden_message(browser, sign_in, app_server):
    page = sign_in(browser, "analyst", TABLET)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(app_server + "grid", wait_until="domcontentloaded")
    assert response.status == 403
    assert "您的角色无权访问此页面" in page.inner_text("body")
    assert page.locator(".grid-task, .grid-resident").count() == 0
    assert [r for r in requests if not r.startswith(app_server)] == []
    page.context.close()


def test_switching_to_english_relabels_the_page(tablet, demo_url, my_grid):
    total = sql_rows(
        demo_url,
        "SELECT count(*) FROM event WHERE area_id = :g AND status = ANY(:s)",
        g=my_grid["grid"],
        s=OPEN,
    )[0][0]
    tablet.click(".lang-switch-label:has-text('EN')")
    tablet.wait_for_selector("text=My tasks", timeout=TIMEOUT)
    tablet.wait_for_function(
        "t => document.querySelector('#grid-task-count').innerText === t",
        arg=f"{total} open incidents",
        timeout=TIMEOUT,
    )
    assert tablet.locator(".grid-tab", has_text="Residents in care").count() == 1
