"""Where a sign-in may send the browser next: a path on this site, nothing else."""

from __future__ import annotations

import urllib.parse

MAX_LENGTH = 2048


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so ``/\\t/evil.com``
    and ``/\\evil.com`` would lead to another host: any control character or backslash is
    refused, as is anything with a scheme or a host after parsing (``//evil.com``,
    ``https:evil.com``) or not starting with ``/``.
    """
    if not target or len(target) > MAX_LENGTH or "\\" in target:
        return None
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
