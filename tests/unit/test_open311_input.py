"""Open311's input checks: plain text, ids, dates and media URLs (no store needed)."""

import pytest

from twin.open311_input import (
    Open311Error,
    bad_character,
    check_parameters,
    media_url_allowed,
    parse_w3,
    request_id,
)
from twin.open311_public import round_to

ORIGINS = ("https://onemap.example.gov.cn", "http://10.0.0.5:8050")


def test_bad_characters_are_named():
    assert bad_character("楼道\t堆物\r\n") is None
    assert bad_character("a\x00") == "a control character (U+0000)"
    assert bad_character("a\ud800") == "a lone surrogate (U+D800)"
    assert bad_character("\x7f") == "a control character (U+007F)"
    assert bad_character("\uffff") == "a non-character (U+FFFF)"


def test_parameters_are_refused_with_every_reason():
    with pytest.raises(Open311Error) as caught:
        check_parameters([("a\nb", "1"), ("x", "\x00"), ("y", "z" * 5000)])
    assert caught.value.status == 400
    assert caught.value.descriptions == (
        "a parameter name holds a tab or newline",
        "x holds a control character (U+0000); send plain text",
        "y is longer than 4096 characters",
    )


@pytest.mark.parametrize(
    ("value", "number"),
    [("1", 1), ("9223372036854775807", 2**63 - 1), ("9223372036854775808", None), ("0", None),
     ("²", None), ("١٢", None), ("-1", None), (" 1", None), ("", None)],
)  # fmt: skip
def test_request_ids_are_ascii_digits_within_bigint(value, number):
    assert request_id(value) == number


def test_dates_keep_to_a_range_date_arithmetic_survives():
    assert parse_w3("start_date", "2026-01-01T00:00:00Z").year == 2026
    for value in ("9999-12-31T00:00:00Z", "0001-01-01T00:00:00+14:00", "1969-12-31T00:00:00Z"):
        with pytest.raises(Open311Error, match="between 1970 and 8999"):
            parse_w3("start_date", value)
    with pytest.raises(Open311Error, match="with a zone"):
        parse_w3("end_date", "2026-01-01T00:00:00")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://onemap.example.gov.cn/media/1.jpg", True),
        ("HTTPS://OneMap.Example.gov.cn:443/m.png?x=1", True),
        ("http://10.0.0.5:8050/m.png", True),
        ("http://10.0.0.5/m.png", False),
        ("javascript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("https://onemap.example.gov.cn@evil.test/", False),
        ("https://onemap.example.gov.cn.evil.test/", False),
        ("//onemap.example.gov.cn/m.png", False),
        ("/media/1.jpg", False),
        ("https://onemap.example.gov.cn:99999/", False),
        ("https://onemap.example.gov.cn/\x00", False),
    ],
)
def test_media_urls_only_on_our_origins(url, allowed):
    assert media_url_allowed(url, ORIGINS) is allowed
    assert media_url_allowed(url, ()) is False


def test_published_locations_are_multiples_of_the_precision():
    assert round_to(117.2312345, 0.0005) == 117.231
    assert round_to(31.8213, 0.0005) == 31.8215
    assert round_to(31.82, 0.001) == 31.82
    assert round_to(-0.00026, 0.0005) == -0.0005
