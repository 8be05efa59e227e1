"""Is the store down right now? A cheap answer for what pages show (the banner of
:mod:`web.card_page` and :mod:`pages.shell`), without a database round trip per request.

When this process watches its embedded PostgreSQL (:mod:`twin.store_watch`), the watcher's
state answers. Otherwise (an external ``DATABASE_URL``, or an app without background parts) a
``SELECT 1`` is remembered for :data:`CACHE_S`: one request a second pays for the probe, the
others — and every request while a probe is under way — take the last answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from geodata.availability import ping
from geodata.errors import StoreUnavailable
from web import context

CACHE_S = 1.0
PROBE_TIMEOUT_S = 1.0


@dataclass
class _Probe:
    down: bool = False
    at: float = float("-inf")
    """``time.monotonic()`` of the last answer."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, url: str) -> bool:
        if time.monotonic() - self.at < CACHE_S or not self.lock.acquire(blocking=False):
            return self.down
        try:
            try:
                ping(url, PROBE_TIMEOUT_S)
                self.down = False
            except StoreUnavailable:
                self.down = True
            self.at = time.monotonic()
        finally:
            self.lock.release()
        return self.down


_PROBES: dict[str, _Probe] = {}
_PROBES_LOCK = threading.Lock()


def _probe(url: str) -> _Probe:
    with _PROBES_LOCK:
        return _PROBES.setdefault(url, _Probe())


def store_down() -> bool:
    """Whether the store the app serves is down now (the watcher's state, else a recent
    probe). Call inside a request."""
    bg = context.background()
    watch = bg.store_watch if bg is not None else None
    if watch is not None:
        return not watch.up
    return _probe(context.store_url()).answer(context.store_url())
