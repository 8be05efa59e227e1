"""Where a sign-in may send the browser next: a path on this site, nothing else."""

from __future__ import annotations

import urllib.parse

MAX_LENGTH = 2048


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so ``/\\t/evil.com``
    and ``/\\evil.com`` would lead to another host: any control character or backslash is
    refused, as is anything with a scheme or a host after parsing (``//evil.com``,
    ``https:evil.com``) or not starting with ``/``. The same holds for the percent-decoded
    text (``/%09/evil.com``, ``/%2F/evil.com``), in case anything on the way decodes it again.
    """
    if not target or len(target) > MAX_LENGTH:
        return None
    if _on_this_site(target) and _on_this_site(urllib.parse.unquote(target)):
        return target
    return None


def _on_this_site(target: str) -> bool:
    """Whether ``target`` is a path on this site, read as a browser reads a URL."""
    if "\\" in target:
        return False
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urllib.parse.urlsplit(target)
    return not (parts.scheme or parts.netloc)
