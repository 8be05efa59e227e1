"""What Open311 accepts from a client: its error type and the checks of every value it sends.

Every check here answers :class:`Open311Error` (400 or 404) with the reason, so no value can
reach the store or the encoders in a shape they fail on (a NUL byte, a lone surrogate, a date
past year 9999 after adding 90 days, ``²`` taken for a digit).
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Iterable
from datetime import UTC, datetime

from geodata.errors import OneMapError

MAX_VALUE = 4096
"""Longest value of any parameter (the description has its own, shorter limit)."""
MAX_PARAMETERS = 64
"""Most parameters in one request (query and form together)."""
MAX_IDS = 1000
"""Most ids in ``service_request_id``."""
MAX_ID = 2**63 - 1
"""Largest request id (PostgreSQL bigint)."""
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Dates a client may send (start_date, end_date), so date arithmetic never overflows."""

_DIGITS = re.compile(r"[0-9]{1,19}")
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_ALLOWED_CONTROLS = frozenset("\t\n\r")


class Open311Error(OneMapError):
    """One or more errors to answer with, as ``[{"code": …, "description": …}]``; ``status``
    (400, 403, 404 or 405) is the HTTP status and each error's code."""

    code = "Open311Error"

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions

    def body(self) -> list[dict]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


def bad_character(value: str) -> str | None:
    """Why ``value`` is not plain text (a control character, a lone surrogate), or None."""
    for ch in value:
        if ch in _ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            return f"a control character (U+{ord(ch):04X})"
        if category == "Cs":
            return f"a lone surrogate (U+{ord(ch):04X})"
        if ch in "\ufffe\uffff":
            return f"a non-character (U+{ord(ch):04X})"
    return None


def check_parameters(pairs: Iterable[tuple[str, str]]) -> None:
    """Refuse (400) a request whose parameter names or values are not plain text, too long or
    too many. Names must also be printable: no tab or newline."""
    count = 0
    errors: list[str] = []
    for name, value in pairs:
        count += 1
        why = bad_character(name) or (
            "a tab or newline" if any(c in name for c in _ALLOWED_CONTROLS) else None
        )
        if why or len(name) > 64:
            errors.append(f"a parameter name holds {why or 'more than 64 characters'}")
            continue
        why = bad_character(value)
        if why:
            errors.append(f"{name} holds {why}; send plain text")
        elif len(value) > MAX_VALUE:
            errors.append(f"{name} is longer than {MAX_VALUE} characters")
    if count > MAX_PARAMETERS:
        errors.append(f"more than {MAX_PARAMETERS} parameters")
    if errors:
        raise Open311Error(400, *errors[:10])


def service_code_or_404(code: str) -> str:
    """``code`` when it could name a service (letters, digits, ``._-``), else 404."""
    if not _CODE.fullmatch(code):
        raise Open311Error(404, f"service_code {code[:64]!r} not found")
    return code


def request_id(value: str) -> int | None:
    """A request id (ASCII digits within bigint), or None."""
    if not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def request_id_or_404(value: str) -> int:
    """The request id in a URL, or 404."""
    number = request_id(value)
    if number is None:
        raise Open311Error(404, f"service_request_id {value[:64]!r} not found")
    return number


def request_ids(values: list[str]) -> list[int]:
    """The ids of ``service_request_id=1,2,3``, or 400."""
    if len(values) > MAX_IDS:
        raise Open311Error(400, f"service_request_id may list at most {MAX_IDS} ids")
    ids = [request_id(v) for v in values]
    if any(i is None for i in ids):
        raise Open311Error(
            400, "service_request_id must be comma-separated request ids (digits, 1 … 2^63-1)"
        )
    return [i for i in ids if i is not None]


def parse_w3(name: str, value: str) -> datetime:
    """A W3C datetime with its zone (``Z`` or ``±HH:MM``) between 1970 and 9000, or a 400."""
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise Open311Error(
            400,
            f"{name} must be a W3C datetime with a zone, e.g. 2010-01-01T00:00:00Z; got "
            f"{value[:64]!r}",
        )
    if not EARLIEST.year <= t.year < LATEST.year:
        raise Open311Error(400, f"{name} must lie between 1970 and 8999; got {value[:64]!r}")
    return t


def media_url_allowed(url: str, origins: Iterable[str]) -> bool:
    """True when ``url`` is an absolute http(s) URL on one of ``origins`` (scheme, host and
    port compared; no user info, no backslashes, spaces or control characters)."""
    if any(c in url for c in "\\ \t\r\n") or bad_character(url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return False
    if parts.username is not None or parts.password is not None:
        return False
    return _origin(parts.scheme, parts.hostname, port) in {_parse_origin(o) for o in origins}


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    return scheme, host.lower().rstrip("."), port or (443 if scheme == "https" else 80)


def _parse_origin(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urllib.parse.urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return _origin(parts.scheme, parts.hostname, port)
