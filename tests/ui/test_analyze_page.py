"""The analyst's page in headless Chromium: the three preset questions answered on map, table
and CSV, equal to independent brute-force SQL; the form edited by hand; roles refused."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from analytics.question_catalog import LAYERS
from analytics.question_spec import parse_question
from analytics.questions import ask
from geodata import city_time
from geodata.accounts.viewer import Viewer
from geodata.privacy import MIN_COUNT
from geodata.settings import Settings
from geodata.spatial_sql import WEDGE_SQL
from pages import analyze_ids as ids
from pages.analyze_form import (
    PRESETS,
    RESULT_COLOR,
    TABLE_ROWS,
    Filter,
    Form,
    FormError,
    build_spec,
)
from pages.analyze_values import is_coded, label_of
from tests.conftest import sql_rows
from tests.ui.conftest import DEFAULT_VIEWPORT, watched
from tests.ui.test_export_page import _pick_area

RESULT_PATHS = f"path[stroke='{RESULT_COLOR}']"


def _tall(url: str, floors: int, distance: float) -> set[int]:
    """Buildings over ``floors`` farther than ``distance`` m from every hydrant (geodesic)."""
    sql = """SELECT b.id FROM building b WHERE b.floors > :f AND coalesce((
        SELECT min(ST_Distance(b.geom::geography, h.geom::geography))
        FROM facility h WHERE h.kind = 'hydrant'), 1e9) > :d"""
    return {r[0] for r in sql_rows(url, sql, f=floors, d=distance)}


def _lanes(url: str) -> set[int]:
    """Fire lanes no camera's field-of-view wedge touches."""
    sql = f"""SELECT l.id FROM facility l WHERE l.kind = 'fire_lane' AND NOT EXISTS (
        SELECT 1 FROM (SELECT {WEDGE_SQL} AS w FROM device t WHERE t.kind = 'camera') c
        WHERE ST_Intersects(l.geom, c.w))"""
    return {r[0] for r in sql_rows(url, sql)}


def _elderly(url: str, until: str, hours: float) -> dict[int, int]:
    """Elderly people living alone per whole building (the analyst's unit: docs/privacy.md)
    that has an active resident within 300 m of a gas alarm in the window."""
    sql = """WITH picked AS (
            SELECT DISTINCT h.building_id AS b FROM resident r JOIN house h ON h.id = r.house_id
            WHERE r.status = 'active' AND EXISTS (
                SELECT 1 FROM event e WHERE e.category = 'alarm.gas'
                AND e.reported_at >= CAST(:until AS timestamptz) - make_interval(hours => :h)
                AND e.reported_at < CAST(:until AS timestamptz)
                AND ST_Distance(r.geom::geography, e.geom::geography) <= 300))
        SELECT h.building_id, count(*) FROM picked p JOIN house h ON h.building_id = p.b
        JOIN resident r ON r.house_id = h.id
        WHERE r.status = 'active' AND 'elderly_alone' = ANY(r.care_tags) GROUP BY 1"""
    return dict(sql_rows(url, sql, until=until, h=hours))


@pytest.fixture
def analyst(browser, sign_in, app_server) -> Page:
    """The page as the analyst; afterwards no script error and no request to another origin."""
    with watched(sign_in(browser, "analyst", DEFAULT_VIEWPORT), app_server) as page:
        page.goto(app_server + "analyze", wait_until="networkidle")
        expect(page.locator(f"#{ids.RUN}")).to_be_visible()
        yield page


def _preset(page: Page, name: str, lang: str = "zh") -> None:
    """Click a preset and wait until the form holds it (its first filter value: a coded one
    picked and shown by its name, another typed)."""
    page.locator(f'button[id*=\'"name":"{name}"\']').click()
    first, subject = PRESETS[name].where[0], PRESETS[name].subject
    if is_coded(subject, first.field):
        name_shown = label_of(subject, first.field, str(first.value), lang)
        pick = page.locator(_row_input(ids.WHERE_PICK, "subject", 0))
        expect(pick).to_have_text(re.compile(rf"^\s*{re.escape(name_shown)}\s*$"))
        expect(page.locator(_row_input(ids.WHERE_VALUE, "subject", 0))).to_be_hidden()
    else:
        text = page.locator(_row_input(ids.WHERE_VALUE, "subject", 0))
        expect(text).to_have_value(str(first.value))
    title = LAYERS[PRESETS[name].near_layer].title
    either = "|".join(re.escape(title[lang]) for lang in ("zh", "en"))
    expect(page.locator(f"#{ids.NEAR_LAYER}")).to_contain_text(re.compile(either))


def _ask(page: Page) -> int:
    """Ask, wait for a new answer, return its total."""
    summary = page.locator(f"#{ids.SUMMARY}")
    before = summary.inner_text()
    page.locator(f"#{ids.RUN}").click()
    expect(summary).not_to_have_text(before)
    cell = summary.locator("[data-total]")
    expect(cell).to_be_visible()
    return int(cell.get_attribute("data-total"))


def _table(page: Page) -> list[list[str]]:
    rows = page.locator(f"#{ids.TABLE} tbody tr")
    return [r.locator("td").all_inner_texts() for r in rows.all()]


def _fill(page: Page, element_id: str, value: str) -> None:
    page.locator(f"[id='{element_id}']").fill(value)


def _row_input(kind: str, side: str, index: int) -> str:
    return f'[id=\'{{"row":{index},"side":"{side}","type":"{kind}"}}\']'


def test_tall_buildings_far_from_hydrants(analyst: Page, demo_url, tmp_path, artifacts):
    _preset(analyst, "tall")
    expect(analyst.locator(f"#{ids.NEAR_DISTANCE}")).to_have_value("150")
    expected = _tall(demo_url, 18, 150)
    assert _ask(analyst) == len(expected)
    assert {int(r[0]) for r in _table(analyst)} == expected
    # the same question edited by hand: over 6 floors, beyond 60 m (a non-empty answer)
    analyst.locator(_row_input(ids.WHERE_VALUE, "subject", 0)).fill("6")
    _fill(analyst, ids.NEAR_DISTANCE, "60")
    expected = _tall(demo_url, 6, 60)
    assert 0 < len(expected) <= TABLE_ROWS
    assert _ask(analyst) == len(expected)
    assert {int(r[0]) for r in _table(analyst)} == expected
    expect(analyst.locator(f"#{ids.MAP} {RESULT_PATHS}")).to_have_count(len(expected))
    analyst.screenshot(path=str(artifacts / "analyze-tall-buildings.png"))
    with analyst.expect_download() as info:
        analyst.locator(f"#{ids.CSV}").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    table = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert {int(r["id"]) for r in table} == expected
    assert all(int(r["floors"]) > 6 for r in table)


def test_fire_lanes_no_camera_covers(analyst: Page, demo_url, artifacts):
    expected = _lanes(demo_url)
    lanes = sql_rows(demo_url, "SELECT count(*) FROM facility WHERE kind = 'fire_lane'")[0][0]
    assert 0 < len(expected) < lanes
    _preset(analyst, "lanes")
    assert _ask(analyst) == len(expected)
    assert {int(r[0]) for r in _table(analyst)} == expected
    expect(analyst.locator(f"#{ids.MAP} {RESULT_PATHS}")).to_have_count(len(expected))
    analyst.screenshot(path=str(artifacts / "analyze-fire-lanes.png"))


@pytest.mark.parametrize("hours", [24, 24 * 30])
def test_elderly_alone_near_gas_alarms_as_counts(analyst: Page, demo_url, artifacts, hours):
    """The preset's 24 h window ending just after the city's last gas alarm (the demo city's
    clock is in the past), and a month: shown groups and the number withheld equal SQL."""
    last = sql_rows(demo_url, "SELECT max(reported_at) FROM event WHERE category = 'alarm.gas'")
    until = (last[0][0] + timedelta(seconds=1)).isoformat()
    expected = _elderly(demo_url, until, hours)
    assert expected, "the window holds residents near the last gas alarm"
    shown = {b: n for b, n in expected.items() if n >= MIN_COUNT}
    _preset(analyst, "elderly")
    expect(analyst.locator(f"#{ids.NEAR_TIME_HOURS}")).to_have_value("24")
    _fill(analyst, ids.NEAR_TIME_HOURS, str(hours))
    _fill(analyst, ids.NEAR_TIME_UNTIL, until)
    assert _ask(analyst) == len(shown)
    assert {int(r[0]): int(r[2]) for r in _table(analyst)} == shown
    summary = analyst.locator(f"#{ids.SUMMARY} [data-total]").inner_text()
    buildings, people, withheld, least = (int(n) for n in re.findall(r"\d+", summary))
    # the window asked, in the city's clock: `hours` before the end typed, to the end
    end = last[0][0] + timedelta(seconds=1)
    start = end - timedelta(hours=hours)
    bounds = (city_time.fmt(t, "Asia/Shanghai", city_time.SECOND) for t in (start, end))
    expect(analyst.locator(".analyze-window")).to_have_text(
        "上报时间：{} 至 {}（Asia/Shanghai, UTC+08:00）".format(*bounds)
    )
    assert (buildings, people) == (len(shown), sum(shown.values()))
    assert (withheld, least) == (len(expected) - len(shown), MIN_COUNT)
    analyst.screenshot(path=str(artifacts / f"analyze-elderly-{hours}h.png"))


def test_bad_entries_are_explained_not_asked(analyst: Page):
    _preset(analyst, "tall")
    analyst.locator(_row_input(ids.WHERE_VALUE, "subject", 0)).fill("many")
    analyst.locator(f"#{ids.RUN}").click()
    expect(analyst.locator(f"#{ids.SUMMARY}")).to_contain_text("'many' is not a number")
    _fill(analyst, ids.NEAR_DISTANCE, "999999")
    analyst.locator(_row_input(ids.WHERE_VALUE, "subject", 0)).fill("18")
    analyst.locator(f"#{ids.RUN}").click()
    expect(analyst.locator(f"#{ids.SUMMARY}")).to_contain_text("超出限制")
    assert analyst.locator(f"#{ids.TABLE} tr").count() == 0


def test_leader_may_ask(browser, sign_in, app_server):
    page = sign_in(browser, "leader", DEFAULT_VIEWPORT)
    page.goto(app_server + "analyze", wait_until="networkidle")
    expect(page.locator(f"#{ids.RUN}")).to_be_visible()
    page.context.close()


def test_grid_worker_is_refused(browser, sign_in, app_server, artifacts):
    page = sign_in(browser, "grid", {"width": 1280, "height": 800})
    response = page.goto(app_server + "analyze", wait_until="networkidle")
    assert response.status == 403
    expect(page.locator("body")).to_contain_text("您的角色无权访问此页面")
    page.goto(app_server, wait_until="networkidle")
    page.evaluate(
        "window.history.pushState({}, '', '/analyze');"
        "window.dispatchEvent(new PopStateEvent('popstate'))"
    )
    expect(page.locator(".page-forbidden")).to_contain_text("您的角色无权访问此页面")
    assert page.locator(f"#{ids.RUN}").count() == 0
    page.screenshot(path=str(artifacts / "analyze-grid-refused.png"))
    page.context.close()


def test_nearest_to_a_clicked_point_inside_an_area(analyst: Page, demo_url, artifacts):
    """Nearest 5 buildings to a map click, within a street: the question the page sends (shown
    under the form) names the clicked point and the street; the table is the engine's answer
    to it, and every row lies in the street.

    (The engine orders nearest by planar degrees, ``geom <-> point``: not always the
    geodesic order — reported to its owner, so not asserted here.)"""
    street = sql_rows(
        demo_url,
        """SELECT s.code FROM area s WHERE s.level = 'street' ORDER BY (
               SELECT count(*) FROM building b JOIN area g ON g.id = b.area_id
               JOIN area c ON c.id = g.parent_id WHERE c.parent_id = s.id) DESC LIMIT 1""",
    )[0][0]
    analyst.locator(f"#{ids.AREA_MODE}").get_by_text("行政区划", exact=True).click()
    _pick_area(analyst, ids.AREA, street)
    box = analyst.locator(f"#{ids.MAP}").bounding_box()
    analyst.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    point = analyst.locator(f"#{ids.NEAREST_POINT}")
    expect(point).to_have_value(re.compile(r"^\d+\.\d+,\d+\.\d+$"))
    lon, lat = (float(v) for v in point.input_value().split(","))
    _fill(analyst, ids.NEAREST_N, "5")
    assert _ask(analyst) == 5
    spec = json.loads(analyst.locator(f"#{ids.STATUS}").inner_text())
    assert spec["within"] == {"area": street}
    assert spec["nearest"] == {"point": [lon, lat], "n": 5}
    answer = ask(demo_url, spec, Viewer(role="analyst"), Settings(database_url=demo_url))
    table = _table(analyst)
    assert [int(r[0]) for r in table] == [row[0] for row in answer.rows]
    inside = sql_rows(
        demo_url,
        """WITH RECURSIVE s AS (SELECT id FROM area WHERE code = :c
               UNION SELECT a.id FROM area a JOIN s ON a.parent_id = s.id)
           SELECT count(*) FROM building WHERE id = ANY(:ids) AND area_id IN (SELECT id FROM s)""",
        c=street,
        ids=[int(r[0]) for r in table],
    )[0][0]
    assert inside == 5
    analyst.screenshot(path=str(artifacts / "analyze-nearest.png"))


def test_english_labels(analyst: Page):
    analyst.locator("#lang-switch").get_by_text("EN", exact=True).click()
    expect(analyst.locator(f"#{ids.RUN}")).to_have_text("Ask")
    expect(analyst.locator(f"#{ids.AREA_MODE}")).to_contain_text("Governance area")
    _preset(analyst, "lanes", "en")
    expect(analyst.locator(_row_input(ids.WHERE_PICK, "subject", 0))).to_have_text("Fire lane")
    assert _ask(analyst) > 0
    expect(analyst.locator(f"#{ids.SUMMARY}")).to_contain_text("found")
    expect(analyst.locator(f"#{ids.TABLE} th").first).to_have_text("ID")
    kinds = analyst.locator(f"#{ids.TABLE} td").all_inner_texts()
    assert "Fire lane" in kinds and "fire_lane" not in kinds  # the kind by its name


def test_within_a_drawn_polygon(analyst: Page, demo_url):
    """Buildings over 6 floors beyond 60 m of a hydrant, inside a triangle drawn on the map."""
    _preset(analyst, "tall")
    analyst.locator(_row_input(ids.WHERE_VALUE, "subject", 0)).fill("6")
    _fill(analyst, ids.NEAR_DISTANCE, "60")
    analyst.locator(f"#{ids.AREA_MODE}").get_by_text("在地图上绘制", exact=True).click()
    analyst.locator(f"#{ids.MAP} a.leaflet-draw-draw-polygon").click()
    box = analyst.locator(f"#{ids.MAP}").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    points = [(cx - 250, cy - 180), (cx + 250, cy - 150), (cx + 40, cy + 200)]
    for x, y in [*points, points[0]]:
        analyst.mouse.move(x - 5, y - 5)
        analyst.mouse.move(x, y, steps=5)
        analyst.mouse.down()
        analyst.mouse.up()
    total = _ask(analyst)
    spec = json.loads(analyst.locator(f"#{ids.STATUS}").inner_text())
    polygon = json.dumps(spec["within"]["polygon"])
    inside = {
        r[0]
        for r in sql_rows(
            demo_url,
            "SELECT id FROM building WHERE ST_Intersects(geom, "
            "ST_SetSRID(ST_GeomFromGeoJSON(:p), 4326))",
            p=polygon,
        )
    }
    expected = _tall(demo_url, 6, 60) & inside
    everywhere = _tall(demo_url, 6, 60)
    assert 0 < len(expected) < len(everywhere)
    assert total == len(expected)
    assert {int(r[0]) for r in _table(analyst)} == expected


# --- the form as a question (no browser) ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_questions_the_engine_accepts(name):
    question = parse_question(build_spec(PRESETS[name]))
    assert question.layer.name == PRESETS[name].subject
    assert len(question.near) == 1 and question.near[0].layer.name == PRESETS[name].near_layer


def test_form_values_take_the_fields_kinds():
    spec = build_spec(
        Form(
            subject="buildings",
            where=[
                Filter("floors", "between", "6, 18"),
                Filter("use", "in", ["residential", "mixed"]),
            ],
            area_mode="bbox",
            bbox="117.2,31.8,117.3,31.9",
            nearest_n=3,
            nearest_point="117.25,31.85",
        )
    )
    assert spec["where"] == [
        {"field": "floors", "op": "between", "value": [6, 18]},
        {"field": "use", "op": "in", "value": ["residential", "mixed"]},
    ]
    assert spec["within"] == {"bbox": [117.2, 31.8, 117.3, 31.9]}
    assert spec["nearest"] == {"point": [117.25, 31.85], "n": 3}
    with pytest.raises(FormError, match="'x' is not a number"):
        build_spec(Form(subject="buildings", where=[Filter("floors", ">", "x")]))
    with pytest.raises(FormError, match="draw a polygon"):
        build_spec(Form(subject="buildings", area_mode="polygon"))
