"""The per-reading poison checks (twin/poison.py) and the ±14:00 offset rule, without a store.

Hypothesis is not installed here, so the property tests draw their cases from a seeded
``random.Random``: the same 600 hostile values on every run, checked against an oracle written
independently of the code under test.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime

import pytest

from geodata.settings import Settings
from twin import poison
from twin.intake import Rejected, parse_ts

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
S = Settings()


def test_loads_keeps_refused_tokens_in_place():
    doc = poison.loads(b"[NaN, Infinity, -Infinity, 1e400, 1e16, 12345678901234567, 1.5, 3]")
    assert isinstance(doc, list)
    assert [isinstance(x, poison.Invalid) for x in doc] == [True] * 6 + [False] * 2
    assert doc[6:] == [1.5, 3]
    assert doc[3].text == "1e400" and "out of range" in doc[3].reason
    assert doc[0].reason == "NaN is not a JSON number"


@pytest.mark.parametrize("raw", [b"\xff", b"{", b"[" * 100_000, b'{"a": 1} x', b""])
def test_loads_raises_value_error_only_for_a_document_that_is_not_json(raw):
    with pytest.raises(ValueError):
        poison.loads(raw)


@pytest.mark.parametrize(
    ("reading", "fragment"),
    [
        ({"device": "A\x00"}, "device: NUL"),
        ({"device": "A\ud800"}, "device: invalid UTF-8"),
        ({"device": poison.loads(b'"\xed\xa0\x80"')}, "device: invalid UTF-8"),
        ({"value": float("nan")}, "value: number nan"),
        ({"value": -float("inf")}, "value: number -inf"),
        ({"value": 10**16}, "value: number 10000000000000000"),
        ({"payload": {"a": [1, {"b": poison.Invalid("NaN", "NaN is not")}]}}, "payload.a.1.b"),
        ({"payload": {"k\x00": 1}}, "payload: key"),
        ({"payload": json.loads("[" * 17 + "]" * 17)}, "nested deeper than 16"),
    ],
)
def test_problem_names_the_field_and_the_fault(reading, fragment):
    found = poison.problem(reading)
    assert found is not None and fragment in found, found
    found.encode("utf-8")  # the reason itself is storable text
    assert "\x00" not in found


def test_good_readings_have_no_problem():
    for ok in [
        {"device": "网关-1", "ts": "2026-11-27T10:00:00+08:00", "value": 1e15, "payload": None},
        {"device": 12, "value": -1e15, "payload": {"event": "open", "n": [True, None, 2]}},
        {"payload": json.loads("[" * 15 + "]" * 15)},
    ]:
        assert poison.problem(ok) is None


@pytest.mark.parametrize(
    ("raw", "ok"),
    [
        ("2026-11-28T00:00:00+14:00", True),
        ("2026-11-26T20:00:00-14:00", True),
        ("2026-11-28T00:01:00+14:01", False),
        ("2026-11-28T09:59:00+23:59", False),
        ("2026-11-26T10:01:00-23:59", False),
    ],
)
def test_ts_offset_at_most_14_hours(raw, ok):
    if ok:
        assert parse_ts(raw, NOW, S) == NOW
    else:
        with pytest.raises(Rejected, match="beyond ±14:00"):
            parse_ts(raw, NOW, S)


def test_reject_text_removes_the_key_escapes_and_bounds():
    text = poison.reject_text({"key": "gk_secret", "device": "A\x00\ud800", "v": "x" * 5000})
    assert "gk_secret" not in text and "\\ud800" in text and "\x00" not in text
    assert len(text) == poison.KEEP_CHARS
    raw = b'{"key": "sec\\"ret", "device": "\xff\x00", "k2": "gk_abcdef"}' + b"y" * 9000
    text = poison.raw_text(raw)
    assert "sec" not in text and "gk_abcdef" not in text and "\\xff" in text
    assert "\x00" not in text and len(text) == poison.KEEP_CHARS


# --- properties over seeded hostile values -----------------------------------------------

CHARS = ["a", "Z", "0", " ", '"', "\\", "é", "网", "\x00", "\x1f", "\ud800", "\udcff", "\U0001f525"]
NUMBERS: list[object] = [0, -1, 7, 1e15, -1e15, 1e15 + 2, 1e16, 2**53, 10**20, 1e-300, 0.1]
NUMBERS += [float("nan"), float("inf"), -float("inf"), True, False, None]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 6)))


def _value(rng: random.Random, depth: int) -> object:
    roll = rng.random()
    if depth < 20 and roll < 0.3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 20 and roll < 0.6:
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return _text(rng) if roll < 0.8 else rng.choice(NUMBERS)


def _oracle(x: object, depth: int = 0) -> bool:
    """Storable: text without NUL or U+D800–U+DFFF, |numbers| ≤ 1e15 and finite, < 16 deep."""
    if isinstance(x, str):
        return "\x00" not in x and not any(0xD800 <= ord(c) <= 0xDFFF for c in x)
    if isinstance(x, bool) or x is None:
        return True
    if isinstance(x, int | float):
        return math.isfinite(x) and abs(x) <= 1e15
    if depth >= 16:
        return False
    assert isinstance(x, list | dict)
    if isinstance(x, dict):
        return all(_oracle(k) and _oracle(v, depth + 1) for k, v in x.items())
    return all(_oracle(v, depth + 1) for v in x)


def test_property_problem_agrees_with_the_oracle_and_good_values_round_trip():
    rng = random.Random(20261207)
    seen = {True: 0, False: 0}
    for _ in range(600):
        x = _value(rng, 0)
        ok = _oracle(x)
        seen[ok] += 1
        assert (poison.problem(x) is None) == ok, (x, poison.problem(x))
        text = poison.reject_text(x)
        text.encode("utf-8")  # always storable
        assert "\x00" not in text and len(text) <= poison.KEEP_CHARS
        if ok:
            dumped = json.dumps(x, ensure_ascii=False).encode("utf-8")
            assert poison.loads(dumped) == x
    assert seen[True] > 50 and seen[False] > 50  # both sides were exercised


def test_property_any_bytes_give_json_or_value_error_and_storable_raw_text():
    rng = random.Random(7)
    pieces = [b'{"key": "gk_topsecret1", ', b'"device": "', b"\xff", b"\xed\xa0\x80", b"\x00"]
    pieces += [b"NaN", b"1e400", b'"', b"}", b"[", b"]", b",", b"1", b"\\u0000", b"\\ud800"]
    for _ in range(600):
        raw = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        try:
            doc = poison.loads(raw)
        except ValueError:
            doc = None
        if doc is not None:
            poison.reject_text(doc).encode("utf-8")
        text = poison.raw_text(raw)
        text.encode("utf-8")
        assert "\x00" not in text and "topsecret" not in text
