"""Personal data: the small-cell rule, keyed hashing of ID numbers and masking for display."""

from __future__ import annotations

import hashlib
import hmac

MIN_COUNT = 5
"""Smallest group of people shown as a count (map cells, buildings, answers): fewer are withheld
so that no one can be singled out."""

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character of an 18-character resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def valid_id_number(id_number: str) -> bool:
    """True for a well-formed 18-character ID number with a correct check character."""
    s = id_number.strip().upper()
    return len(s) == 18 and s[:17].isdigit() and id_check_digit(s[:17]) == s[17]


def hash_id_number(id_number: str, key: str) -> str:
    """HMAC-SHA256 (hex) of a normalised ID number: matchable across sources, not reversible
    without the key (a plain hash of an 18-digit ID is brute-forceable)."""
    normalized = id_number.strip().upper().encode()
    return hmac.new(key.encode(), normalized, hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """138****1234 style masking."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_name(name: str) -> str:
    """张** style masking: keep the surname only."""
    return name[:1] + "*" * max(len(name) - 1, 1)
