"""The analyst's value pickers in headless Chromium: an incident category found by typing part
of its name (Chinese on the Chinese page, English on the English one, and Chinese on the
English one too), asked, shown by its name in the table with the count SQL gives, while the
question keeps the code; several picked for ``in``; a forged value refused on the page."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from analytics.question_catalog import LAYERS
from geodata.code_labels import labels
from pages import analyze_ids as ids
from pages.analyze_form import TABLE_ROWS
from tests.conftest import sql_rows
from tests.ui.conftest import DEFAULT_VIEWPORT, watched
from web import i18n

INCIDENTS = LAYERS["incidents"]
CATEGORY = labels("event", "category")


@pytest.fixture
def analyst(browser, sign_in, app_server) -> Page:
    """/analyze as the analyst (the shared session); no script error, no other origin."""
    with watched(sign_in(browser, "analyst", DEFAULT_VIEWPORT), app_server) as page:
        page.goto(app_server + "analyze", wait_until="networkidle")
        expect(page.locator(f"#{ids.RUN}")).to_be_visible()
        yield page


def _row(kind: str, index: int = 0, side: str = "subject") -> str:
    return f'[id=\'{{"row":{index},"side":"{side}","type":"{kind}"}}\']'


def _categories(url: str) -> list[tuple[str, int]]:
    """The incident categories in the store with 1 … TABLE_ROWS incidents, most first."""
    rows = sql_rows(
        url,
        "SELECT category, count(*) FROM event GROUP BY 1 HAVING count(*) <= :n ORDER BY 2 DESC",
        n=TABLE_ROWS,
    )
    return [(code, n) for code, n in rows if code in CATEGORY]


def _choose(page: Page, dropdown: str, typed: str, name: str) -> None:
    """Open ``dropdown``, type ``typed`` into its search box and click the option ``name``
    (again when a re-render took the focus); the option list must have narrowed to names
    that match what was typed."""
    box = page.locator(dropdown)
    exact = re.compile(rf"^\s*{re.escape(name)}\s*$")
    for _ in range(3):
        box.click()
        search = page.locator(".dash-dropdown-content input.dash-dropdown-search")
        search.fill(typed)
        option = page.get_by_role("option", name=exact)
        try:
            expect(option).to_have_count(1)
        except AssertionError:
            page.keyboard.press("Escape")
            continue
        option.click()
        break
    expect(box).to_contain_text(name)


def _ask(page: Page) -> int:
    summary = page.locator(f"#{ids.SUMMARY}")
    before = summary.inner_text()
    page.locator(f"#{ids.RUN}").click()
    expect(summary).not_to_have_text(before)
    cell = summary.locator("[data-total]")
    expect(cell).to_be_visible()
    return int(cell.get_attribute("data-total"))


def _column(page: Page, heading: str) -> list[str]:
    headings = page.locator(f"#{ids.TABLE} th").all_inner_texts()
    at = [h.strip() for h in headings].index(heading)
    return page.locator(f"#{ids.TABLE} tbody tr td:nth-child({at + 1})").all_inner_texts()


def _incidents_by_category(page: Page, lang: str) -> None:
    """Subject: incidents; first filter row: the category field (the picker appears)."""
    _choose(page, f"#{ids.SUBJECT}", INCIDENTS.title[lang][:2], INCIDENTS.title[lang])
    label = INCIDENTS.fields["category"].label[lang]
    page.locator(_row(ids.WHERE_FIELD)).click()
    page.get_by_role("option", name=re.compile(rf"^\s*{re.escape(label)}\s*$")).click()
    expect(page.locator(_row(ids.WHERE_PICK))).to_be_visible()
    expect(page.locator(_row(ids.WHERE_VALUE))).to_be_hidden()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_category_picked_by_part_of_its_name_is_asked_by_its_code(
    analyst: Page, demo_url, artifacts, lang
):
    code, count = _categories(demo_url)[0]
    name = CATEGORY[code][lang]
    if lang == "en":
        analyst.locator("#lang-switch").get_by_text("EN", exact=True).click()
        expect(analyst.locator(f"#{ids.RUN}")).to_have_text("Ask")
    _incidents_by_category(analyst, lang)
    typed = name[1:3] if lang == "zh" else name.split()[0][1:]
    assert typed and typed in name and typed != name
    _choose(analyst, _row(ids.WHERE_PICK), typed, name)
    assert code not in analyst.locator(_row(ids.WHERE_PICK)).inner_text()
    total = _ask(analyst)
    expected = sql_rows(demo_url, "SELECT count(*) FROM event WHERE category = :c", c=code)[0][0]
    assert total == expected == count
    spec = json.loads(analyst.locator(f"#{ids.STATUS}").inner_text())
    assert spec["where"] == [{"field": "category", "op": "=", "value": code}]
    heading = INCIDENTS.fields["category"].label[lang]
    cells = _column(analyst, heading)
    assert len(cells) == count and set(cells) == {name}
    assert code not in analyst.locator(f"#{ids.TABLE}").inner_text()
    analyst.screenshot(path=str(artifacts / f"analyze-pick-category-{lang}.png"))


def test_chinese_finds_the_english_name_and_several_make_in(analyst: Page, demo_url):
    """On the English page the picker finds a category by typing its Chinese name; with ``in``
    two categories are picked and the count is theirs together."""
    (first, n1), (second, n2) = _categories(demo_url)[:2]
    analyst.locator("#lang-switch").get_by_text("EN", exact=True).click()
    expect(analyst.locator(f"#{ids.RUN}")).to_have_text("Ask")
    _incidents_by_category(analyst, "en")
    analyst.locator(_row(ids.WHERE_OP)).click()
    in_word = i18n.text("analyze.op.in", "en")
    analyst.get_by_role("option", name=re.compile(rf"^\s*{in_word}\s*$")).click()
    for code in (first, second):
        _choose(analyst, _row(ids.WHERE_PICK), CATEGORY[code]["zh"], CATEGORY[code]["en"])
        analyst.keyboard.press("Escape")
    total = _ask(analyst)
    spec = json.loads(analyst.locator(f"#{ids.STATUS}").inner_text())
    assert spec["where"] == [{"field": "category", "op": "in", "value": [first, second]}]
    assert total == n1 + n2
    cells = _column(analyst, INCIDENTS.fields["category"].label["en"])
    assert sorted(set(cells)) == sorted({CATEGORY[first]["en"], CATEGORY[second]["en"]})


@pytest.mark.parametrize("forged", ["alarm.nope", "燃气泄漏报警", {"code": "alarm.gas"}])
def test_a_forged_value_is_refused_and_changes_nothing(analyst: Page, demo_url, forged):
    """A value no picker offers, sent as the picker's value (as a crafted request would): the
    page says why in its status line, the last answer stays, nothing is asked."""
    code, count = _categories(demo_url)[0]
    _incidents_by_category(analyst, "zh")
    _choose(analyst, _row(ids.WHERE_PICK), CATEGORY[code]["zh"], CATEGORY[code]["zh"])
    assert _ask(analyst) == count
    table = analyst.locator(f"#{ids.TABLE}").inner_text()
    summary = analyst.locator(f"#{ids.SUMMARY}").inner_text()
    pick = {"row": 0, "side": "subject", "type": ids.WHERE_PICK}
    analyst.evaluate(
        "([id, value]) => window.dash_clientside.set_props(id, {value})", [pick, forged]
    )
    analyst.locator(f"#{ids.RUN}").click()
    status = analyst.locator(f"#{ids.STATUS}")
    expect(status).to_contain_text("不是“类别”的可选值")
    expect(status).to_contain_text("未查询")
    assert analyst.locator(f"#{ids.TABLE}").inner_text() == table
    assert analyst.locator(f"#{ids.SUMMARY}").inner_text() == summary
