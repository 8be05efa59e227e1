"""Every page, in each language, as each role lands on it and as the admin opens it: nothing on
screen is a raw code (``alarm.gas``, ``fire_lane``, ``facility.damaged``) and nothing is in the
other language — no Chinese on English pages except proper names from the data (areas,
buildings, roads, organisations, facilities, people's own reports) and the language switch's
own label, and no English words on Chinese pages beyond a small list of units and acronyms.

What is read: the visible text of the page and the ``placeholder``, ``title`` and
``aria-label`` attributes of its rendered elements, after the page has settled. Each visit is
made at its user's screen size and leaves a screenshot in the artifacts folder
(``view-<page>-<account>-<language>-<width>x<height>.png``)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from sqlalchemy import create_engine, text

from analytics.question_catalog import LAYERS as QUESTION_LAYERS
from geodata.demo.accounts import DEMO_ACCOUNTS
from geodata.settings import Settings
from geodata.taxonomy import DEFAULT_TAXONOMY
from geodata.vocab import (
    AREA_LEVELS,
    BUILDING_USES,
    CARE_TAGS,
    DEVICE_KINDS,
    EVENT_STATUS,
    FACILITY_KINDS,
    FACILITY_STATUS,
    HANDLING_LEVELS,
    OCCUPANCY,
    ORGANIZATION_KINDS,
    RESIDENT_STATUS,
    ROAD_KINDS,
    DeviceStatus,
    Role,
)
from layers.registry import LAYERS
from pages.analyze_form import PRESETS
from pages.routes import HOME_PAGE
from pages.shell import NAV
from tests.ui.incident_popup import click_marker, open_popup, rule_incident
from web.i18n import LANGUAGES

pytestmark = pytest.mark.slow

VISITS: tuple[tuple[str, str], ...] = (
    *(("admin", path) for path, _key in NAV),
    *(
        (user, HOME_PAGE[role])
        for user, (role, _name) in DEMO_ACCOUNTS.items()
        if role != Role.admin
    ),
)
"""``(demo account, path)``: the every-page test's pages as the admin, and each other demo
account's landing page."""

SCREENS: dict[str, dict[str, int]] = {
    "leader": {"width": 1920, "height": 1080},
    "grid": {"width": 1280, "height": 800},
}
"""Each account's screen (the command wall, the grid worker's tablet); others use a desktop."""
DESKTOP = {"width": 1600, "height": 900}

ENGLISH_ON_CHINESE: frozenset[str] = frozenset(
    {"m", "km", "H3", "P90", "UTC", "Ctrl", "N", "EN", "OneMap"}
    | {"CSV", "GeoJSON", "GeoPackage", "Shapefile", "zip", "PNG", "PDF"}
    | {"OGC", "API", "WFS", "HTTP", "QGIS", "GDAL", "ogr2ogr"}
    | {"Features", "Authorization", "Bearer"}
    | {"WGS84", "CGCS2000", "EPSG", "GCJ", "crs"}
)
"""English a Chinese page may show: units, acronyms, file formats and tools, standard and
protocol names (``OGC API – Features``, the ``Authorization: Bearer`` header), coordinate
system names and codes (``WGS84``, ``CGCS2000``, ``EPSG:4548``, ``GCJ-02``, ``crs=``), the switch's
``EN`` and the product's own name. Commands in ``<code>``/``<pre>`` are not read."""

SCAN = """() => {
  const shown = (el) => el && el.getClientRects().length > 0
      && getComputedStyle(el).visibility !== 'hidden';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const s = n.nodeValue.trim();
    const el = n.parentElement;
    if (s && shown(el) && !el.closest('script, style, code, pre')) out.push([s, 'text']);
  }
  for (const el of document.body.querySelectorAll('[placeholder],[title],[aria-label]')) {
    if (!shown(el)) continue;
    for (const a of ['placeholder', 'title', 'aria-label']) {
      const v = el.getAttribute(a);
      if (v && v.trim()) out.push([v.trim(), a]);
    }
  }
  return out;
}"""

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
WORD = re.compile(
    r"(?<![A-Za-z0-9_.])[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9]|(?<![A-Za-z0-9_.])[A-Za-z](?![A-Za-z0-9_.])"
)


def _codes() -> frozenset[str]:
    """Every stored code a page could show raw: categories, vocabulary codes, layer ids and
    legend values."""
    sets: Iterable[Iterable[str]] = (
        (c.code for c in DEFAULT_TAXONOMY),
        AREA_LEVELS,
        BUILDING_USES,
        CARE_TAGS,
        DEVICE_KINDS,
        EVENT_STATUS,
        FACILITY_KINDS,
        FACILITY_STATUS,
        HANDLING_LEVELS,
        OCCUPANCY,
        ORGANIZATION_KINDS,
        RESIDENT_STATUS,
        ROAD_KINDS,
        DeviceStatus,
        Role,
        (layer.id for layer in LAYERS),
        (i.value for layer in LAYERS for i in layer.legend if i.value),
    )
    return frozenset(str(code) for codes in sets for code in codes)


CODES = _codes()
DISTINCT_CODES = frozenset(c for c in CODES if "." in c or "_" in c)
"""Codes no English sentence contains (``fire_lane``, ``alarm.gas``): flagged on English pages,
where plain-word codes (``other``, ``open``) read as English."""

NAMES_SQL = """
SELECT name FROM area UNION SELECT name FROM building WHERE name IS NOT NULL
UNION SELECT name FROM road WHERE name IS NOT NULL UNION SELECT name FROM organization
UNION SELECT name FROM facility WHERE name IS NOT NULL UNION SELECT username FROM account
UNION SELECT display_name FROM account WHERE display_name IS NOT NULL
UNION SELECT title FROM event WHERE NOT coalesce(trigger ? 'title_key', false)
UNION SELECT serial FROM device WHERE serial IS NOT NULL
UNION SELECT department FROM data_source
UNION SELECT username FROM audit_log
"""
"""Proper names (departments owning data sources among them), identifiers (device serials, the
user names the audit log recorded, accounts since removed among them) and people's own words
from the store: shown as
they are in either language (with the city's time-zone name, an identifier such as
``Asia/Shanghai``)."""


@pytest.fixture(scope="module")
def names(demo_url) -> tuple[str, ...]:
    """The store's proper names, longest first (so a name inside a longer one goes last)."""
    engine = create_engine(demo_url)
    try:
        with engine.connect() as conn:
            rows = [r[0] for r in conn.execute(text(NAMES_SQL)) if r[0]]
    finally:
        engine.dispose()
    rows.append(Settings(database_url=demo_url).city.timezone)
    return tuple(sorted(set(rows), key=len, reverse=True))


def _without_names(item: str, names: tuple[str, ...]) -> str:
    for name in names:
        if name in item:
            item = item.replace(name, " ")
    return item


def problems(items: list[list[str]], lang: str, names: tuple[str, ...]) -> list[str]:
    """What on a page in ``lang`` is a raw code or in the other language (``items``: text and
    where it was read: ``text`` or the attribute's name)."""
    found = []
    for item, where in items:
        words = WORD.findall(item)
        codes = [w for w in words if w in DISTINCT_CODES]
        if codes:
            found.append(f"raw code {codes} ({where}): {item!r}")
            continue
        rest = _without_names(item, names)
        if lang == "en":
            chinese = [s for s in CJK.findall(rest) if s != LANGUAGES["zh"]]
            if chinese:
                found.append(f"Chinese {chinese} ({where}): {item!r}")
        else:
            english = [w for w in WORD.findall(rest) if w not in ENGLISH_ON_CHINESE]
            if english:
                found.append(f"English {english} ({where}): {item!r}")
    return found


def _open_in(page, base: str, path: str, lang: str) -> None:
    page.goto(base + path.lstrip("/"), wait_until="networkidle")
    page.wait_for_selector(".app-main > *")
    if lang == "en":
        page.locator("#lang-switch").get_by_text("EN", exact=True).click()
        page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1200)  # late callbacks and relabels


@pytest.mark.parametrize("lang", list(LANGUAGES))
@pytest.mark.parametrize(("account", "path"), VISITS)
def test_no_raw_code_and_no_other_language(
    browser, sign_in, app_server, names, artifacts, account, path, lang
):
    screen = SCREENS.get(account, DESKTOP)
    page = sign_in(browser, account, screen)
    try:
        _open_in(page, app_server, path, lang)
        view = path.strip("/") or "home"
        shot = artifacts / f"view-{view}-{account}-{lang}-{screen['width']}x{screen['height']}.png"
        page.screenshot(path=str(shot))
        items = page.evaluate(SCAN)
        assert len(items) > 5, items  # the page's own content is there
        found = problems(items, lang, names)
        assert not found, f"{account} {path} [{lang}]:\n" + "\n".join(found)
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("item", "lang", "flagged"),
    [
        ("燃气 alarm.gas", "zh", True),
        ("Category: fire_lane", "en", True),
        ("状态：已受理", "en", True),
        ("Search", "zh", True),
        ("瑶海区 12 km²", "en", False),
        ("面积 12 km²，H3 分辨率 9", "zh", False),
    ],
)
def test_the_scan_catches_what_it_must(item, lang, flagged):
    """The checks themselves: a code, Chinese on an English page, English on a Chinese one;
    names from the store and allowed units pass."""
    assert bool(problems([[item, "text"]], lang, ("瑶海区",))) is flagged


POPUP_TEXT = """() => [...document.querySelectorAll('.leaflet-popup-content :is(th, td)')]
    .map((el) => [el.innerText.trim(), 'popup'])"""
"""The open popup's labels and values."""


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_an_incident_popup_is_in_one_language(browser, sign_in, app_server, demo_url, names, lang):
    page = sign_in(browser, "admin", {"width": 1600, "height": 900})
    try:
        with rule_incident(demo_url) as (lat, lon, titles):
            open_popup(page, app_server, lat, lon)
            if lang == "en":
                page.keyboard.press("Escape")
                page.locator("#lang-switch").get_by_text("EN", exact=True).click()
                page.wait_for_function("document.documentElement.lang === 'en'")
                page.wait_for_timeout(800)  # the relabelled layer is drawn again
                click_marker(page)
            items = page.evaluate(POPUP_TEXT)
            assert [titles[lang], "popup"] in items and len(items) >= 8, items
            found = problems(items, lang, names)
            assert not found, f"incident popup [{lang}]:\n" + "\n".join(found)
    finally:
        page.context.close()


FILLED = """[...document.querySelectorAll('input[id*="analyze-where-value"]')]
    .some((el) => el.value) || [...document.querySelectorAll(
      'button[id*="analyze-where-pick"] .dash-dropdown-value')]
    .some((el) => !el.classList.contains('dash-dropdown-placeholder') && el.innerText.trim())"""
"""A preset has filled a filter row: a value typed or picked."""


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_analysts_field_and_operator_lists_are_in_one_language(
    browser, sign_in, app_server, names, lang, preset
):
    """The field and operator menus of the first filter row, opened after a preset chose the
    subject layer."""
    page = sign_in(browser, "analyst", {"width": 1600, "height": 900})
    try:
        _open_in(page, app_server, "/analyze", lang)
        page.locator(f'button[id*=\'"name":"{preset}"\']').click()
        page.wait_for_function(FILLED)
        field = next(iter(QUESTION_LAYERS[PRESETS[preset].subject].fields.values()))
        for menu, first in ((".analyze-field", field.label[lang]), (".analyze-op", "=")):
            page.locator(menu).first.click()
            page.wait_for_selector(".dash-options-list-option")
            items = page.evaluate(SCAN)
            assert [first, "text"] in items, (menu, items)
            found = problems(items, lang, names)
            assert not found, f"/analyze {preset} {menu} [{lang}]:\n" + "\n".join(found)
            page.keyboard.press("Escape")
    finally:
        page.context.close()


VALUES = """() => [
    ...[...document.querySelectorAll('.analyze-page input[type=text]')]
      .filter((el) => el.value).map((el) => [el.value, 'value']),
    ...[...document.querySelectorAll('button[id*="analyze-where-pick"] .dash-dropdown-value')]
      .filter((el) => !el.classList.contains('dash-dropdown-placeholder'))
      .map((el) => [el.innerText.trim(), 'picked']),
  ].filter(([text]) => text)"""
"""The text the analyst's value boxes hold and the names its value pickers show."""


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_analysts_question_and_answer_are_in_one_language(
    browser, sign_in, app_server, names, lang, preset
):
    """A preset's value boxes (``fire_lane`` is shown as its name), then the answer: summary,
    time windows and the results table (kinds, uses, categories by their names, times in the
    city's zone). The question as JSON is shown as data (``<code>``) and not read."""
    page = sign_in(browser, "analyst", {"width": 1600, "height": 900})
    try:
        _open_in(page, app_server, "/analyze", lang)
        page.locator(f'button[id*=\'"name":"{preset}"\']').click()
        page.wait_for_function(FILLED)
        values = page.evaluate(VALUES)
        assert values, "the preset filled a value box"
        page.locator("#analyze-run").click()
        page.wait_for_selector("#analyze-summary [data-total]")
        page.wait_for_timeout(500)
        items = page.evaluate(SCAN) + values
        found = problems(items, lang, names)
        assert not found, f"/analyze {preset} answer [{lang}]:\n" + "\n".join(found)
        if preset == "lanes":  # a table of fire lanes: their kind by its name
            kind = FACILITY_KINDS["fire_lane"][lang]
            cells = page.locator("#analyze-table td").all_inner_texts()
            assert kind in cells and "fire_lane" not in cells
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_assessment_in_each_grouping_is_in_one_language(
    browser, sign_in, app_server, names, lang
):
    """/assessment ranked per street, district and department: the table, summary and trend in
    the page's language (departments are the agencies' own names, as organisations')."""
    departments = tuple(c.department for c in DEFAULT_TAXONOMY if c.department)
    agencies = tuple(sorted({*names, *departments}, key=len, reverse=True))
    page = sign_in(browser, "admin", {"width": 1600, "height": 900})
    try:
        _open_in(page, app_server, "/assessment", lang)
        for by in ("street", "district", "department"):
            label = {"street": ("街道", "Street office"), "district": ("区", "District"),
                     "department": ("处置部门", "Department")}[by][lang == "en"]  # fmt: skip
            page.locator("#assessment-by").get_by_text(label, exact=True).click()
            page.wait_for_load_state("networkidle")  # the callback's answer has come
            page.wait_for_timeout(800)
            items = page.evaluate(SCAN)
            assert any(where == "text" for _, where in items)
            found = problems(items, lang, agencies)
            assert not found, f"/assessment {by} [{lang}]:\n" + "\n".join(found)
            if by == "department":  # the ranking is of departments now
                shown = page.locator("#assessment-table td[data-dash-column='name']")
                assert set(shown.all_inner_texts()) & set(departments)
    finally:
        page.context.close()
