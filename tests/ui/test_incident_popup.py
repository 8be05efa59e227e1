"""A rule incident's popup title is in the page's language: Chinese on a Chinese page, English
(rendered from the rule's facts) after switching to English."""

from __future__ import annotations

import re

import pytest

from tests.ui.incident_popup import click_marker, open_popup, popup_title, rule_incident

pytestmark = pytest.mark.slow

CJK = re.compile(r"[\u3400-\u9fff]")


def test_a_rule_incidents_popup_title_follows_the_page_language(page, app_server, demo_url):
    with rule_incident(demo_url) as (lat, lon, titles):
        assert CJK.search(titles["zh"]) and not CJK.search(titles["en"])
        open_popup(page, app_server, lat, lon)
        assert popup_title(page) == titles["zh"]
        page.keyboard.press("Escape")
        page.locator("#lang-switch").get_by_text("EN", exact=True).click()
        page.wait_for_function("document.documentElement.lang === 'en'")
        page.wait_for_timeout(800)  # the relabelled layer is drawn again
        click_marker(page)
        assert popup_title(page) == titles["en"]
