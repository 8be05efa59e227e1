"""Who a session cookie or API token belongs to, remembered per process.

The gate (:mod:`web.gate`) identifies every request; asking the store costs a pool checkout
and a query (~0.25 ms, as much as the whole work of a small map request). So each process
remembers what it found (never what it did not find) and forgets:

- everything, when the store says an account, its scope, a session or a token changed
  (``NOTIFY onemap_live`` ``{"kind": "identity"}`` from the triggers of migration 0014,
  received by the process's live listener, :mod:`twin.live`), and when that listener
  reconnected (it may have missed some) or its queue here overflowed;
- an entry, when its session or token expires, and :data:`TTL_SECONDS` after it was looked up
  at the latest (a backstop).

While the listener is not connected nothing is remembered: every request asks the store. A
sign-out here forgets its session at once (:meth:`IdentityCache.forget`); a change made by
another process counts once its notification arrives (about a millisecond after its commit).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from twin.live import LiveHub, Subscription, hub_for

TTL_SECONDS = 60.0
MAX_ENTRIES = 10_000
"""More distinct sessions and tokens than this in a minute: start again (bounded memory)."""
FORGET_ALL = frozenset({"identity", "reset"})
"""Live message kinds after which nothing remembered can be trusted."""

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry(Generic[T]):
    found: T
    until: float
    """``time.monotonic()`` after which the entry is not used."""


class IdentityCache(Generic[T]):
    """Found identities by key, kept while the live listener vouches for them."""

    def __init__(self, hub: LiveHub, ttl: float = TTL_SECONDS) -> None:
        self.hub, self._ttl = hub, ttl
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry[T]] = {}
        self._generation = 0
        self._sub: Subscription | None = None

    def lookup(self, key: str, load: Callable[[], tuple[T, datetime | None] | None]) -> T | None:
        """The identity of ``key``: remembered, else ``load()``-ed (``(found, expires_at)`` or
        None) and remembered when nothing changed meanwhile."""
        with self._lock:
            generation = self._sync()
            entry = self._entries.get(key) if generation is not None else None
        if entry is not None and entry.until > time.monotonic():
            return entry.found
        loaded = load()
        if loaded is None:
            return None
        found, expires_at = loaded
        if generation is not None:
            self._keep(key, found, expires_at, generation)
        return found

    def forget(self, key: str) -> None:
        """Forget ``key`` now (and any lookup of it still under way)."""
        with self._lock:
            self._entries.pop(key, None)
            self._generation += 1

    def __len__(self) -> int:
        return len(self._entries)

    def _keep(self, key: str, found: T, expires_at: datetime | None, generation: int) -> None:
        now = time.monotonic()
        until = now + self._ttl
        if expires_at is not None:
            until = min(until, now + (expires_at - datetime.now(UTC)).total_seconds())
        with self._lock:
            if self._sync() != generation:  # a change arrived while it was looked up
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(found, until)

    def _sync(self) -> int | None:
        """Apply what the listener received (lock held); the generation now, or None when
        the listener is not connected (nothing may be remembered then)."""
        if self._sub is None:
            self._sub = self.hub.subscribe(wait=0)
        if not self.hub.listening:
            self._forget_all()
            return None
        changed, self._sub.overflowed = self._sub.overflowed, False
        while True:
            try:
                changed |= self._sub.queue.get_nowait().kind in FORGET_ALL
            except queue.Empty:
                break
        if changed:
            self._forget_all()
        return self._generation

    def _forget_all(self) -> None:
        self._entries.clear()
        self._generation += 1


_CACHES: dict[str, IdentityCache] = {}
_CACHES_LOCK = threading.Lock()


def cache_for(url: str) -> IdentityCache:
    """This process's cache for the store at ``url`` (on the store's current live hub)."""
    hub = hub_for(url)
    with _CACHES_LOCK:
        cache = _CACHES.get(url)
        if cache is None or cache.hub is not hub:
            cache = _CACHES[url] = IdentityCache(hub)
        return cache
