"""Isolation of heavy work: analyst questions, exports and assessment downloads.

Each runs in a slot of the app's :class:`HeavyLimiter` (created by ``app.py`` from the
``analytics`` settings and kept in the server's config under :data:`HEAVY_KEY`): at most
``heavy_global_limit`` at once in the process and ``heavy_per_user_limit`` per account (an
anonymous caller is counted by its address). Beyond either limit the caller gets
:class:`HeavyBusy` (429 with ``Retry-After``) at once instead of waiting, and the slot is freed
however the work ends. The work reads through its own bounded pool (:func:`engine`,
:func:`geodata.engine.heavy_engine`), so map requests and intake keep their connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from flask import current_app, request
from sqlalchemy import Engine

from geodata.engine import heavy_engine
from geodata.errors import OneMapError
from geodata.settings import Settings
from web import context

HEAVY_KEY = "ONEMAP_HEAVY"
RETRY_AFTER_S = 5
"""Seconds a refused caller is told to wait (most questions answer well within this)."""


class HeavyBusy(OneMapError):
    """Too much heavy work is running (the caller's own, or everyone's): try again later."""

    status = 429
    code = "TooManyRequests"
    TITLE: ClassVar[dict[str, str]] = {"zh": "分析任务繁忙", "en": "Too many heavy requests"}

    def __init__(self, message: str, scope: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.scope = scope
        self.retry_after = retry_after

    def details(self) -> dict[str, object]:
        """The code, the zh/en title, which limit was reached and when to try again."""
        return {
            "code": self.code,
            "title": dict(self.TITLE),
            "limit": self.scope,
            "retry_after": self.retry_after,
        }


class HeavyLimiter:
    """A global and a per-caller limit on concurrent heavy work (thread-safe, non-blocking)."""

    def __init__(self, global_limit: int, per_user_limit: int) -> None:
        if global_limit < 1 or per_user_limit < 1:
            raise ValueError("heavy work limits must be at least 1")
        self.global_limit = global_limit
        self.per_user_limit = per_user_limit
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> HeavyLimiter:
        """The limiter of ``settings.analytics``."""
        return cls(settings.analytics.heavy_global_limit, settings.analytics.heavy_per_user_limit)

    def running(self, who: str | None = None) -> int:
        """Heavy work running now: ``who``'s, or everyone's."""
        with self._lock:
            if who is None:
                return sum(self._running.values())
            return self._running.get(who, 0)

    def _acquire(self, who: str) -> None:
        with self._lock:
            if self._running.get(who, 0) >= self.per_user_limit:
                raise HeavyBusy(
                    f"you already run {self.per_user_limit} heavy request(s) (analysis or "
                    "export); wait for it to finish, then try again",
                    "user",
                )
            if sum(self._running.values()) >= self.global_limit:
                raise HeavyBusy(
                    f"the server already runs {self.global_limit} heavy requests (analysis or "
                    "export); try again in a few seconds",
                    "global",
                )
            self._running[who] = self._running.get(who, 0) + 1

    def _release(self, who: str) -> None:
        with self._lock:
            left = self._running.get(who, 0) - 1
            if left > 0:
                self._running[who] = left
            else:
                self._running.pop(who, None)

    @contextmanager
    def slot(self, who: str) -> Iterator[None]:
        """Run the body in one of ``who``'s slots; :class:`HeavyBusy` when none is free."""
        self._acquire(who)
        try:
            yield
        finally:
            self._release(who)


def limiter() -> HeavyLimiter:
    """The app's limiter."""
    return current_app.config[HEAVY_KEY]


def caller() -> str:
    """Who the current request counts against: its account, else its address."""
    viewer = context.viewer()
    if viewer.account_id is not None:
        return f"account:{viewer.account_id}"
    return f"addr:{request.remote_addr or '?'}"


@contextmanager
def slot() -> Iterator[None]:
    """A heavy-work slot for the current request's caller (:meth:`HeavyLimiter.slot`)."""
    with limiter().slot(caller()):
        yield


def engine() -> Engine:
    """The engine of heavy work (its own pool, sized by the global limit) on a hot standby
    when one is healthy, else on the primary (:func:`web.context.read_url`)."""
    return heavy_engine(context.read_url(), context.settings().analytics.heavy_global_limit)
