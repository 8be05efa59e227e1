"""The command wall (/wall) in headless Chromium: figures and the 30-day trend's bars against
independent SQL, drill-down, live refresh without re-render, 1080p and 4K screenshots, access,
no other origins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import pytest
from playwright.sync_api import Page
from sqlalchemy import text

from geodata.engine import get_engine
from tests.conftest import sql_rows, sql_scalar
from tests.ui.conftest import watched

FULL_HD = {"width": 1920, "height": 1080}
UHD = {"width": 3840, "height": 2160}
OPEN = "('reported', 'dispatched', 'accepted', 'in_progress')"
TIMEOUT = 30_000
# Independent definitions: an area's rows are those whose point lies in its polygon (the wall
# uses the area hierarchy); "30 days" starts at local midnight 29 days ago (Asia/Shanghai).
IN_AREA = "(CAST(:area AS bigint) IS NULL OR ST_Intersects(t.loc, "
IN_AREA += "(SELECT geom FROM area WHERE id = :area)))"
SINCE = "(date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') - interval '29 days') "
SINCE += "AT TIME ZONE 'Asia/Shanghai'"
SQL = {
    "open": f"SELECT count(*) FROM event t WHERE status IN {OPEN} AND {IN_AREA}",
    "overdue": f"SELECT count(*) FROM event t JOIN event_category c ON c.code = t.category "
    f"WHERE status IN {OPEN} AND t.reported_at + (c.sla_hours ->> t.severity::text)::float8 "
    "* interval '1 hour' < now() "
    f"AND {IN_AREA}",
    "welfare": f"SELECT count(*) FROM event t WHERE status IN {OPEN} "
    f"AND category = 'care.welfare_check' AND {IN_AREA}",
    "alarms": "SELECT count(*) FROM device t WHERE status = 'alarm' AND kind <> 'camera' "
    f"AND {IN_AREA}",
    "received_30d": f"SELECT count(*) FROM event t WHERE reported_at >= {SINCE} AND {IN_AREA}",
    "closed_30d": f"SELECT count(*) FROM event t WHERE reported_at >= {SINCE} "
    f"AND status = 'closed' AND closed_at IS NOT NULL AND {IN_AREA}",
    "latest": f"SELECT id FROM event t WHERE {IN_AREA} ORDER BY reported_at DESC, id DESC LIMIT 1",
}
TREND_SQL = """
    WITH days AS (
        SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date - 29 + i AS day
        FROM generate_series(0, 29) i)
    SELECT to_char(day, 'YYYY-MM-DD'),
        (SELECT count(*) FROM event WHERE reported_at <= now()
            AND (reported_at AT TIME ZONE 'Asia/Shanghai')::date = day),
        (SELECT count(*) FROM event WHERE status = 'closed' AND closed_at <= now()
            AND (closed_at AT TIME ZONE 'Asia/Shanghai')::date = day)
    FROM days ORDER BY day"""
"""The whole city's incidents received and closed per local day of the last 30 (Asia/Shanghai)."""


def expected(url: str, area: int | None = None) -> dict[str, int]:
    """The wall's figures computed here, for the whole city or one area."""
    with get_engine(url).connect() as conn:
        return {k: conn.execute(text(sql), {"area": area}).scalar() or 0 for k, sql in SQL.items()}


def tile(page: Page, key: str) -> str:
    return page.inner_text(f"#wall-kpi-{key}").strip()


def number(value: str) -> int:
    return int(value.replace(",", ""))


def rate(closed: int, received: int) -> str:
    return "—" if not received else f"{closed / received * 100:.1f}%"


def on_page(page: Page) -> dict[str, object]:
    """What the tiles and the ticker show now."""
    first = page.locator("#wall-ticker li").first
    return {
        "open": tile(page, "open"),
        "overdue": tile(page, "overdue"),
        "welfare": tile(page, "welfare"),
        "alarms": tile(page, "alarms"),
        "closure_30d": tile(page, "closure_30d"),
        "latest": first.get_attribute("data-id"),
    }


def wanted(figures: dict[str, int]) -> dict[str, object]:
    """The page's texts for ``figures``."""
    return {
        "open": f"{figures['open']:,}",
        "overdue": f"{figures['overdue']:,}",
        "welfare": f"{figures['welfare']:,}",
        "alarms": f"{figures['alarms']:,}",
        "closure_30d": rate(figures["closed_30d"], figures["received_30d"]),
        "latest": str(figures["latest"]),
    }


def shows(page: Page, url: str, area: int | None = None) -> dict[str, int]:
    """Wait until every tile and the ticker show the SQL figures of ``area``; return them.

    The app's SLA sweep escalates overdue incidents while the tests run (new due times), and the
    wall follows through /api/live: both sides are read again until they agree."""
    page.wait_for_selector("#wall-kpi-open", timeout=TIMEOUT)
    for _ in range(60):
        figures = expected(url, area)
        if on_page(page) == wanted(figures):
            return figures
        page.wait_for_timeout(500)
    assert on_page(page) == wanted(expected(url, area))
    return figures


@pytest.fixture
def wall(browser, sign_in, app_server) -> Iterator[Page]:
    """The leader's wall at 1920×1080, recording requests and script errors."""
    with watched(sign_in(browser, "leader", FULL_HD), app_server) as page:
        page.goto(app_server + "wall", wait_until="domcontentloaded")
        page.wait_for_selector("#wall-kpi-open", timeout=TIMEOUT)
        yield page


def _layers_loaded(page: Page) -> dict:
    page.wait_for_function(
        "() => { const s = (window.onemap.wall || {}).summary;"
        " return s && s.hex && s.areas && s.alarms; }",
        timeout=TIMEOUT,
    )
    return page.evaluate("window.onemap.wall.summary")


def test_wall_shows_the_city_figures(wall, demo_url, artifacts):
    figures = shows(wall, demo_url)
    assert figures["open"] > 0 and figures["latest"]
    hint = wall.locator(".wall-tile-overdue").get_attribute("title") or ""
    assert "首次处置时限" in hint and "升级" in hint  # the overdue tile states its definition
    summary = _layers_loaded(wall)
    # the H3 layer draws the open incidents: its cells add up to the open-incidents tile
    assert summary["hex"]["sum"] == figures["open"]
    # sensors in alarm (points, or H3 counts over wide views) add up to the active-alarms tile
    alarms = summary["alarms"]
    assert (alarms["sum"] if alarms["aggregate"] else alarms["count"]) == figures["alarms"]
    with get_engine(demo_url).connect() as conn:
        districts = conn.execute(text("SELECT count(*) FROM area WHERE level = 'district'"))
        assert summary["areas"]["count"] == districts.scalar()
    assert wall.locator(".wall-area").count() >= 1
    check_trend(wall, demo_url, "zh")
    assert wall.locator(".wall-twin-deck canvas").count() == 1
    # the 3D panel compiled its shaders on the canvas's measured drawing buffer (at the
    # canvas's default 300×150, the resize after it blocked the page until they compiled)
    wall.wait_for_function(TWIN_DRAWN, timeout=TIMEOUT)
    warmed, canvas = wall.evaluate(WARMED_ON)
    assert warmed == canvas and canvas != [300, 150], (warmed, canvas)
    wall.wait_for_timeout(1500)
    wall.screenshot(path=str(artifacts / "wall_1920x1080.png"))


SAME_VIEW_ONCE = """async () => {
  const f = window.dash_clientside.onemap_wall.layers, wall = window.onemap.wall;
  const meta = {layers: {hex: {layer: "hexagons", params: {of: "incidents"}}},
                api: "/api/layers", map: "wall-map", token: "test-" + Math.random()};
  const ids = [{type: "wall-layer", layer: "hex"}];
  const ask = async (bounds, zoom) => {
    const before = wall.fetches, out = await f(bounds, zoom, null, 0, ids, meta, {});
    return {fetched: wall.fetches - before, drawn: out[0][0] !== window.dash_clientside.no_update,
            url: wall.urls.hex};
  };
  const first = await ask([[31.80, 117.20], [31.90, 117.35]], 12);
  const again = await ask([[31.80, 117.20], [31.90, 117.35]], 12);
  const nudged = await ask([[31.80001, 117.20001], [31.90002, 117.35001]], 12);
  const moved = await ask([[31.60, 117.00], [31.70, 117.15]], 12);
  return {first, again, nudged, moved};
}"""


def test_the_map_asks_once_per_view(wall):
    """The map settling on its first view asks for the same view several times: the same
    request (also after a sub-pixel move) is sent once, a new view is asked for."""
    calls = wall.evaluate(SAME_VIEW_ONCE)
    assert calls["first"] == {**calls["first"], "fetched": 1, "drawn": True}, calls
    assert calls["again"]["fetched"] == 0 and not calls["again"]["drawn"], calls
    assert calls["nudged"]["fetched"] == 0 and calls["nudged"]["url"] == calls["first"]["url"]
    assert calls["moved"]["fetched"] == 1 and calls["moved"]["drawn"], calls
    assert calls["moved"]["url"] != calls["first"]["url"]


TWIN_DRAWN = "() => ((window.onemap || {}).twin || {}).loaded > 0"
WARMED_ON = "() => { const t = window.onemap.twin, c = t.deck.getCanvas();"
WARMED_ON += " return [t.warmedAt || null, [c.width, c.height]]; }"
BARS = """() => {
  const chart = document.querySelector('#wall-trend .wall-bars');
  const plot = chart.querySelector('.wall-bars-plot');
  const bar = (el) => ({value: Number(el.dataset.value),
                       height: el.getBoundingClientRect().height});
  return {
    max: Number(chart.dataset.max), plot: plot.clientHeight,
    ticks: Array.from(chart.querySelectorAll('.wall-bars-tick')).map(t => t.innerText),
    labels: Array.from(chart.querySelectorAll('.wall-bars-label')).map(t => t.innerText),
    legend: Array.from(chart.querySelectorAll('.wall-bars-key')).map(t => t.innerText.trim()),
    days: Array.from(chart.querySelectorAll('.wall-bar-day')).map(d => ({
      day: d.dataset.day, title: d.title,
      received: bar(d.querySelector('.wall-bar-received')),
      closed: bar(d.querySelector('.wall-bar-closed'))})),
  };
}"""
HOVER = {
    "zh": "{day} 受理 {received:,} · 办结 {closed:,}",
    "en": "{day} received {received:,} · closed {closed:,}",
}
LEGEND = {"zh": ["受理", "办结"], "en": ["Received", "Closed"]}


def trend_expected(url: str) -> list[tuple[str, int, int]]:
    return [tuple(row) for row in sql_rows(url, TREND_SQL)]


def trend_counts(chart: dict) -> list[tuple[str, int, int]]:
    return [(d["day"], d["received"]["value"], d["closed"]["value"]) for d in chart["days"]]


def check_trend(page: Page, url: str, lang: str) -> dict:
    """The trend chart (the whole city) against :data:`TREND_SQL`: 30 days, each bar's
    ``data-value`` the day's count, its height that count's share of the y maximum (the top
    gridline's figure) — so taller bars are larger counts — and the hover texts in ``lang``."""
    page.wait_for_selector("#wall-trend .wall-bar-day", timeout=TIMEOUT)
    for _ in range(60):
        chart = page.evaluate(BARS)
        if trend_counts(chart) == trend_expected(url) and chart["legend"] == LEGEND[lang]:
            break
        page.wait_for_timeout(500)
    assert trend_counts(chart) == trend_expected(url)
    assert chart["legend"] == LEGEND[lang]
    days = chart["days"]
    assert len(days) == 30
    top, plot = chart["max"], chart["plot"]
    bars = [d[kind] for d in days for kind in ("received", "closed")]
    largest = max(b["value"] for b in bars)
    assert 0 < largest <= top < 10 * largest and plot > 100, (largest, top, plot)
    assert chart["ticks"][-1] == f"{top:,}" and chart["ticks"][0] == "0"
    for b in bars:
        assert abs(b["height"] - b["value"] / top * plot) <= 1, (b, top, plot)
    by_value = sorted(bars, key=lambda b: b["value"])
    assert all(x["height"] <= y["height"] + 0.01 for x, y in pairwise(by_value))
    assert by_value[-1]["height"] > by_value[0]["height"]
    for d in days:
        label = d["day"][5:]
        wanted = HOVER[lang].format(
            day=label, received=d["received"]["value"], closed=d["closed"]["value"]
        )
        assert d["title"] == wanted
    assert chart["labels"][-1] == days[-1]["day"][5:]  # the last day is always labelled
    assert page.locator(".js-plotly-plot").count() == 0  # no Plotly on the wall
    return chart


TREND_SIZES = """() => {
  const px = (el) => parseFloat(getComputedStyle(el).fontSize);
  const box = (el) => el.getBoundingClientRect();
  const panel = document.querySelector('.wall-trend'), chart = panel.querySelector('.wall-bars');
  const title = panel.querySelector('.wall-panel-title');
  return {label: px(chart.querySelector('.wall-bars-label')),
          tick: px(chart.querySelector('.wall-bars-tick')),
          panel: [box(panel).width, box(panel).height - box(title).height],
          chart: [box(chart).width, box(chart).height]};
}"""


def trend_sizes(page: Page) -> dict[str, object]:
    """The trend chart's label sizes (px) and its and its panel's boxes (the panel below its
    title)."""
    page.wait_for_selector("#wall-trend .wall-bar-day", timeout=TIMEOUT)
    return page.evaluate(TREND_SIZES)


def fills_its_panel(sizes: dict) -> bool:
    (pw, ph), (cw, ch) = sizes["panel"], sizes["chart"]
    return pw - 3 <= cw <= pw and ph - 3 <= ch <= ph


def test_wall_at_4k(browser, sign_in, app_server, demo_url, artifacts):
    page = sign_in(browser, "leader", UHD)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(app_server + "wall", wait_until="domcontentloaded")
    shows(page, demo_url)
    _layers_loaded(page)
    box = page.locator(".wall-map").bounding_box()
    assert box and box["width"] > 1500 and box["height"] > 900  # fills the 4K screen
    check_trend(page, demo_url, "zh")
    # the chart's type is twice the size of 1080p's (sizes in em of the wall), and it fills its
    # panel at both sizes
    uhd = trend_sizes(page)
    assert fills_its_panel(uhd), uhd
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "wall_3840x2160.png"))
    page.set_viewport_size(FULL_HD)
    page.wait_for_function("() => window.innerWidth === 1920", timeout=TIMEOUT)
    full_hd = trend_sizes(page)
    assert fills_its_panel(full_hd), full_hd
    assert uhd["label"] == 2 * full_hd["label"] and uhd["tick"] == 2 * full_hd["tick"], (
        uhd,
        full_hd,
    )
    assert full_hd["label"] >= 0.013 * FULL_HD["height"]
    assert [r for r in requests if not r.startswith(app_server)] == []
    assert not [r for r in requests if "plotly" in r.lower()]  # the wall never loads Plotly
    page.context.close()


def _pick(url: str, level: str, parent: int | None = None) -> tuple[int, str]:
    """The area of ``level`` (under ``parent``) with the most open incidents."""
    sql = (
        f"SELECT a.id, a.name FROM area a LEFT JOIN event t ON t.status IN {OPEN} "
        "AND ST_Intersects(t.loc, a.geom) WHERE a.level = :level "
        "AND (CAST(:parent AS bigint) IS NULL OR ST_Intersects(a.loc, "
        "(SELECT geom FROM area WHERE id = :parent))) "
        "GROUP BY a.id, a.name ORDER BY count(t.id) DESC, a.id LIMIT 1"
    )
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(text(sql), {"level": level, "parent": parent}).one())


def _drill(page: Page, area_id: int, name: str) -> None:
    page.wait_for_selector(f"path.wall-area-{area_id}", state="attached", timeout=TIMEOUT)
    page.locator(f"path.wall-area-{area_id}").dispatch_event("click")
    page.wait_for_function(
        "n => (document.querySelector('.wall-crumb-current') || {}).innerText === n",
        arg=name,
        timeout=TIMEOUT,
    )


CAMERA = "() => { const v = (window.onemap.twin || {}).view || {};"
CAMERA += " return [v.longitude, v.latitude, v.zoom]; }"


def _twin_flies_to(page: Page, url: str, area: int, above: float) -> float:
    """Wait until the 3D panel's camera is over the centre of ``area``'s grids (where the
    buildings are; the area's own centre when it has none), zoomed in beyond ``above``."""
    lon, lat = sql_rows(
        url,
        "WITH g AS (SELECT ST_Extent(geom) AS e FROM area WHERE level = 'grid' AND id IN "
        "(SELECT area_id FROM area_unit WHERE unit = :a)), "
        "b AS (SELECT coalesce((SELECT e FROM g)::geometry, geom) AS e FROM area WHERE id = :a) "
        "SELECT (ST_XMin(e) + ST_XMax(e)) / 2, (ST_YMin(e) + ST_YMax(e)) / 2 FROM b",
        a=area,
    )[0]
    page.wait_for_function(
        f"([x, y, z]) => {{ const c = ({CAMERA})(); return Math.abs(c[0] - x) < 1e-4 "
        "&& Math.abs(c[1] - y) < 1e-4 && c[2] > z; }",
        arg=[lon, lat, above],
        timeout=TIMEOUT,
    )
    return wall_zoom(page)


def wall_zoom(page: Page) -> float:
    return page.evaluate(CAMERA)[2]


def test_drill_down_and_back(wall, demo_url):
    shows(wall, demo_url)
    _layers_loaded(wall)
    wall.wait_for_function("() => (window.onemap.twin || {}).view", timeout=TIMEOUT)
    city_zoom = wall_zoom(wall)
    district, district_name = _pick(demo_url, "district")
    _drill(wall, district, district_name)
    shows(wall, demo_url, district)
    # the 3D panel follows, at least as close (the district may hold most of the core's grids)
    district_zoom = _twin_flies_to(wall, demo_url, district, city_zoom - 1e-6)
    street, street_name = _pick(demo_url, "street", district)
    _drill(wall, street, street_name)
    figures = shows(wall, demo_url, street)
    # over the street's centre, at least as close (a demo street may fill its district)
    _twin_flies_to(wall, demo_url, street, district_zoom - 1e-6)
    # the crumbs name the way down; the map now draws the street's communities only
    crumbs = wall.locator(".wall-crumb").all_inner_texts()
    assert crumbs[-2:] == [district_name, street_name]
    wall.wait_for_function(
        "id => (window.onemap.wall.summary || {}).areasOf === id", arg=street, timeout=TIMEOUT
    )
    summary = wall.evaluate("window.onemap.wall.summary")
    assert summary["hex"]["sum"] == figures["open"]
    communities = sql_scalar(
        demo_url,
        "SELECT count(*) FROM area c, area s WHERE s.id = :s AND c.level = 'community' "
        "AND ST_Intersects(c.loc, s.geom)",
        s=street,
    )
    assert summary["areas"]["count"] == communities
    wall.locator(".wall-crumb").first.click()
    shows(wall, demo_url)
    assert wall.locator(".wall-crumb").count() == 1


def test_live_refresh_updates_data_without_rerender(wall, demo_url):
    before = shows(wall, demo_url)
    received = wall.evaluate("window.onemap.live.received")
    wall.evaluate("document.getElementById('wall-map').dataset.probe = 'kept'")
    wall.evaluate("document.getElementById('wall-kpis').dataset.probe = 'kept'")
    insert = text(
        "INSERT INTO event (category, status, level, severity, title, loc, geom, h3_r7, h3_r9, "
        "source, source_id) SELECT 'environment.litter', 'reported', 'grid', 2, 'wall test', "
        "loc, geom, h3_r7, h3_r9, 'test_wall', 'live-1' FROM event "
        f"WHERE status IN {OPEN} ORDER BY id LIMIT 1 RETURNING id"
    )
    with get_engine(demo_url).begin() as conn:
        new_id = conn.execute(insert).scalar_one()
    try:
        after = shows(wall, demo_url)
        assert after["latest"] == new_id and after["open"] >= before["open"]
        assert wall.evaluate("window.onemap.live.received") > received  # came over /api/live
        assert wall.evaluate("document.getElementById('wall-map').dataset.probe") == "kept"
        assert wall.evaluate("document.getElementById('wall-kpis').dataset.probe") == "kept"
    finally:
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": new_id})


def test_grid_worker_is_refused(browser, sign_in, app_server):
    page = sign_in(browser, "grid", FULL_HD)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(app_server + "wall", wait_until="networkidle")
    assert response is not None and response.status == 403
    assert "您的角色无权访问此页面" in page.content()
    assert page.locator("#wall-kpi-open").count() == 0
    assert not [r for r in requests if "/api/layers" in r or "_dash-update-component" in r]
    page.context.close()


def test_wall_in_english(wall, demo_url, artifacts):
    from geodata.taxonomy import CATEGORY_LABELS as CATEGORY_NAMES

    figures = shows(wall, demo_url)
    wall.locator(".lang-switch").get_by_text("EN", exact=True).click()
    wall.wait_for_function(
        "() => (document.querySelector('.wall-crumb') || {}).innerText === 'Whole city'",
        timeout=TIMEOUT,
    )
    with get_engine(demo_url).connect() as conn:
        category = conn.execute(
            text("SELECT category FROM event WHERE id = :id"), {"id": figures["latest"]}
        ).scalar_one()
    first = wall.locator("#wall-ticker li .wall-ticker-cat").first
    wall.wait_for_function(
        "n => (document.querySelector('#wall-ticker li .wall-ticker-cat') || {}).innerText === n",
        arg=CATEGORY_NAMES[category]["en"],
        timeout=TIMEOUT,
    )
    assert first.inner_text() == CATEGORY_NAMES[category]["en"]
    assert wall.locator(".wall-tile-open .wall-tile-label").inner_text() == "Open incidents"
    hint = wall.locator(".wall-tile-overdue").get_attribute("title") or ""
    assert "first deadline" in hint and not re.search(r"[\u4e00-\u9fff]", hint)
    assert number(tile(wall, "open")) == figures["open"]
    check_trend(wall, demo_url, "en")
    wall.wait_for_timeout(1000)
    wall.screenshot(path=str(artifacts / "wall_1920x1080_en.png"))
    # the browser remembers the language: after a reload the figures' own texts follow it
    wall.reload(wait_until="domcontentloaded")
    wall.wait_for_function(
        "() => /^of [0-9,]+ received$/.test("
        "(document.getElementById('wall-kpi-closure_30d-note') || {}).innerText || '')",
        timeout=TIMEOUT,
    )
    assert wall.locator(".wall-crumb").first.inner_text() == "Whole city"


FONT_SIZES = """() => {
  const px = (sel) => parseFloat(getComputedStyle(document.querySelector(sel)).fontSize);
  return {value: px('#wall-kpi-open'), label: px('.wall-tile-label'),
          note: px('.wall-tile-note'), title: px('.app-title'),
          nav: px('.app-nav-link'), ticker: px('.wall-ticker-row, .wall-ticker-empty'),
          trend: px('.wall-bars-tick'), days: px('.wall-bars-label')};
}"""


@pytest.mark.parametrize("screen", [FULL_HD, UHD], ids=["1080p", "4k"])
def test_wall_type_scales_with_the_screen(browser, sign_in, app_server, screen):
    """Readable across a room at both sizes: KPI figures ≥ 2.5 % of the screen's height, every
    label ≥ 1.3 % (14 px at 1080p, 28 px at 4K) — the app header included."""
    page = sign_in(browser, "leader", screen)
    try:
        page.goto(app_server + "wall", wait_until="domcontentloaded")
        page.wait_for_selector("#wall-kpi-open", timeout=TIMEOUT)
        page.wait_for_selector(".wall-ticker-row, .wall-ticker-empty", timeout=TIMEOUT)
        sizes = page.evaluate(FONT_SIZES)
        height = screen["height"]
        assert sizes["value"] >= 0.025 * height, sizes
        small = {k: v for k, v in sizes.items() if k != "value" and v < 0.013 * height}
        assert not small, f"too small at {screen}: {small}"
    finally:
        page.context.close()
