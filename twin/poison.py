"""Poison readings: strict parsing of intake bytes and the per-reading text and number checks.

A gateway's bytes are parsed so that one bad token spoils only the reading that holds it:

- :func:`loads` decodes UTF-8 with ``surrogateescape`` (an invalid byte becomes a lone surrogate
  inside its string, found later by :func:`problem`) and parses JSON keeping ``NaN``,
  ``Infinity``, non-finite (``1e400``) and absurd numbers as :class:`Invalid` markers in place;
  only a document that is not JSON at all raises ``ValueError``;
- :func:`problem` names what makes one reading unstorable: a marker, a non-finite or absurd
  number, text with NUL or a lone surrogate (PostgreSQL text and UTF-8 refuse both), nesting
  deeper than :data:`MAX_DEPTH`;
- :func:`reject_text` and :func:`raw_text` turn a refused reading or message into bounded text
  that PostgreSQL accepts (invalid bytes and surrogates escaped, NUL spelled out, the gateway
  key removed), for ``reading_reject.payload``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

MAX_MAGNITUDE = 1e15
"""Largest absolute number accepted anywhere in a reading (value or payload)."""
MAX_DEPTH = 16
"""Deepest nesting of objects and lists inside one reading."""
KEEP_CHARS = 2000
"""Characters of a refused message kept in ``reading_reject.payload``."""

_KEY_FIELD = re.compile(r'("key"\s*:\s*")(?:[^"\\]|\\.)*("?)')
_KEY_TOKEN = re.compile(r"gk_[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Invalid:
    """A JSON token refused while parsing (``NaN``, ``Infinity``, ``1e400``, a huge integer)."""

    text: str
    reason: str


def _constant(name: str) -> Invalid:
    return Invalid(name, f"{name} is not a JSON number")


def _float(text: str) -> float | Invalid:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        return Invalid(text[:40], f"number {text[:40]} out of range")
    return value


def _int(text: str) -> int | Invalid:
    if len(text.lstrip("-")) > 16 or abs(int(text)) > MAX_MAGNITUDE:
        return Invalid(text[:40], f"number {text[:40]} out of range")
    return int(text)


def loads(raw: bytes | bytearray | str) -> object:
    """The JSON document in ``raw`` with refused tokens as :class:`Invalid`; ``ValueError`` if
    the whole document is not JSON (or nested too deeply to parse)."""
    text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8", "surrogateescape")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored (NUL, a lone surrogate / invalid UTF-8), else None."""
    if "\x00" in text:
        return "NUL character in text"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "invalid UTF-8 text (lone surrogate or undecodable bytes)"
    return None


def safe(text: str, limit: int = 256) -> str:
    """``text`` escaped so PostgreSQL and UTF-8 accept it, cut to ``limit`` characters."""
    out = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")
    return out[:limit]


def _number_problem(value: float) -> str | None:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        return f"number {value!r} out of range"
    return None


def problem(reading: object) -> str | None:
    """What makes ``reading`` unstorable whatever its device (see the module docstring)."""
    stack: list[tuple[object, str, int]] = [(reading, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        where = f"{path}: " if path else ""
        if isinstance(node, Invalid):
            return where + node.reason
        if isinstance(node, str):
            found = text_problem(node)
        elif isinstance(node, float):
            found = _number_problem(node)
        elif isinstance(node, int) and not isinstance(node, bool):
            found = None if abs(node) <= MAX_MAGNITUDE else f"number {str(node)[:40]} out of range"
        elif isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                return f"{where}nested deeper than {MAX_DEPTH} levels"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                name = safe(str(k), 40)
                if isinstance(k, str) and (bad := text_problem(k)):
                    return f"{where}key {name!r}: {bad}"
                stack.append((v, f"{path}.{name}" if path else name, depth + 1))
            continue
        else:
            found = None
        if found:
            return where + found
    return None


def scrub(text: str) -> str:
    """``text`` without gateway keys (a ``"key": "…"`` field or a ``gk_…`` token)."""
    return _KEY_TOKEN.sub("gk_***", _KEY_FIELD.sub(r"\1***\2", text))


def _marker(obj: object) -> str:
    return f"<{obj.text}>" if isinstance(obj, Invalid) else repr(obj)


def reject_text(message: object) -> str:
    """A refused (parsed) message as bounded, storable JSON-like text without its key."""
    if isinstance(message, dict) and "key" in message:
        message = {k: v for k, v in message.items() if k != "key"}
    try:
        text = json.dumps(message, ensure_ascii=False, default=_marker)
    except (TypeError, ValueError, RecursionError):
        text = repr(message)
    return scrub(safe(text, KEEP_CHARS * 2))[:KEEP_CHARS]


def raw_text(raw: bytes | bytearray) -> str:
    """Unparsed message bytes as bounded, storable text (invalid bytes as ``\\xNN``), no key."""
    text = bytes(raw[: KEEP_CHARS * 2]).decode("utf-8", "backslashreplace")
    return scrub(safe(text, KEEP_CHARS * 2))[:KEEP_CHARS]
