"""Absolute links are never built from an arbitrary ``Host`` header.

Flask builds absolute URLs (the OGC API's ``self``/``next`` links) from the request's ``Host``,
which any client may forge. :class:`CanonicalHost` (WSGI middleware installed by ``app.py``)
decides the host links are built from before Flask sees the request:

- ``ONEMAP_PUBLIC_URL`` set (``https://onemap.example.gov.cn``): every request is seen as
  addressed to that origin (scheme and host); what the client sent does not matter.
- unset: the ``Host`` sent is kept when its name is ``localhost``, ``127.0.0.1``, ``::1``, the
  listen address (``ONEMAP_HOST``) or one of ``ONEMAP_ALLOWED_HOSTS``; any other is replaced by
  the first allowed host name and the listen port (the request is still served).

The host the client sent stays in ``environ[SENT_HOST]`` for the sign-in's origin check, which
compares the browser's ``Origin`` with the host the browser itself addressed.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

from geodata.settings import Settings

SENT_HOST = "onemap.sent_host"
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")


def host_name(host: str) -> str | None:
    """The name of a ``Host`` value without its port (None when it does not parse)."""
    try:
        name = urllib.parse.urlsplit("//" + host).hostname
    except ValueError:
        return None
    return name.lower() if name else None


def _netloc(name: str, port: int) -> str:
    return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"


class CanonicalHost:
    """WSGI middleware: the ``Host`` Flask sees is the public URL's or an allowed one."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        web = settings.web
        self.public: tuple[str, str] | None = None
        if web.public_url:
            parts = urllib.parse.urlsplit(web.public_url)
            self.public = (parts.scheme or "https", parts.netloc)
        listen = [] if web.host in WILDCARDS else [web.host.lower()]
        names: Iterable[str] = (*web.allowed_hosts, *listen, *LOCAL_NAMES)
        self.allowed = frozenset(n.lower() for n in names)
        first = web.allowed_hosts[0] if web.allowed_hosts else (listen or ["127.0.0.1"])[0]
        self.fallback = _netloc(first, web.port)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        sent = environ.get("HTTP_HOST", "")
        environ[SENT_HOST] = sent
        if self.public is not None:
            environ["wsgi.url_scheme"], environ["HTTP_HOST"] = self.public
        elif host_name(sent) not in self.allowed:
            environ["HTTP_HOST"] = self.fallback
        return self.app(environ, start_response)
