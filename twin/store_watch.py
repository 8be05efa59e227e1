"""Supervision of the embedded PostgreSQL: a thread that notices a dead postmaster within a
second and starts the cluster again.

Every :data:`WATCH_INTERVAL_S` the watcher asks :meth:`EmbeddedStore.alive` (a few reads of
/proc: the pid in ``postmaster.pid`` still runs as the cluster's owner in its data folder; no
``pg_ctl``). When it does not, the state turns ``restarting``, the pooled connections of the
main and heavy engines are dropped (they point at the dead server) and
:meth:`EmbeddedStore.revive` starts the cluster again (leftover backends asked to quit, a stale
``postmaster.pid`` removed, tries with back-off). Once it serves, the pools are dropped once
more, so the next requests connect afresh, and the state is ``up`` again. When every try
failed, the state is ``down`` and the watcher tries again after :data:`FAILED_BACKOFF_S`.

A server stopped from outside (``python -m geodata stop``) is restarted too, after
:data:`CLEAN_STOP_GRACE_S` so that the stopping command ends normally: the app owns its
embedded store and serves nothing without it; stop the app to keep the store stopped. A watcher
stopped on purpose (:meth:`StoreWatch.stop`, at the app's shutdown, before the store is
stopped) restarts nothing.

The state is what pages and ``/readyz`` read (:mod:`web.store_status`, :mod:`twin.readiness`):
plain attributes, read without a lock (each is one assignment).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from geodata.embedded import EmbeddedStore
from geodata.engine import get_engine

log = logging.getLogger("onemap.twin.store")

WATCH_INTERVAL_S = 0.5
"""How often the watcher checks that the postmaster runs."""
FAILED_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits after consecutive failed revivals (the last one repeats)."""

CLEAN_STOP_GRACE_S = 2.0
"""How long the watcher waits before starting a cluster that was stopped cleanly (its
``postmaster.pid`` removed): ``pg_ctl stop -w`` (``python -m geodata stop``) waits for the old
server to be gone and would take a new one for the old one that does not stop."""

UP, RESTARTING, DOWN = "up", "restarting", "down"


@dataclass
class StoreWatch:
    """The watcher of one embedded cluster, serving the store at ``url``."""

    store: EmbeddedStore
    url: str
    interval_s: float = WATCH_INTERVAL_S
    state: str = UP
    """:data:`UP`, :data:`RESTARTING` (noticed dead, being started) or :data:`DOWN` (a
    revival failed; tried again after a back-off)."""
    restarts: int = 0
    """How often the watcher started the cluster again."""
    down_since: float | None = None
    """``time.monotonic()`` when the watcher noticed the postmaster gone (None while up)."""
    last_outage_s: float | None = None
    """Seconds from noticing the last death to serving again."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def up(self) -> bool:
        return self.state == UP

    def start(self) -> StoreWatch:
        """Start watching in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="onemap-store-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Stop watching (a revival under way gives up before its next try)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def watching(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        failures = 0
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
                failures = 0
            except Exception as exc:  # a revival failed, or /proc could not be read
                wait = FAILED_BACKOFF_S[min(failures, len(FAILED_BACKOFF_S) - 1)]
                failures += 1
                self.state = DOWN
                log.error("embedded PostgreSQL still down (%s); next try in %.0f s", exc, wait)
                if self._stop.wait(wait):
                    return

    def check(self) -> None:
        """One look: nothing when the postmaster runs, else revive the cluster (raises
        :class:`StoreError` when it cannot)."""
        if self.store.alive():
            if not self.up:  # revived by someone else (or a revival raced with this look)
                self._serving(revived=False)
            return
        if self._stop.is_set():
            return
        if self.down_since is None:
            self.down_since = time.monotonic()
            pid = self.store.postmaster_pid()
            how = f"postmaster pid {pid} died" if pid is not None else "stopped: no postmaster.pid"
            log.error("embedded PostgreSQL is gone (%s); restarting it", how)
            self.state = RESTARTING
            if pid is None and self._stop.wait(CLEAN_STOP_GRACE_S):
                return  # stopped cleanly: let the stopping command finish first
        self.state = RESTARTING
        self._drop_pools()
        revived = self.store.revive(self._stop)  # raises StoreError when every try failed
        if self._stop.is_set() and not revived:
            return
        self._serving(revived)

    def _serving(self, revived: bool) -> None:
        """The cluster serves again: fresh pools, state up, the outage measured and logged."""
        self._drop_pools()
        outage = time.monotonic() - self.down_since if self.down_since is not None else 0.0
        if revived:
            self.restarts += 1
        self.last_outage_s, self.down_since = round(outage, 2), None
        self.state = UP
        log.info(
            "embedded PostgreSQL serving again on port %s (pid %s), %.1f s after it was noticed "
            "gone%s",
            self.store.port,
            self.store.postmaster_pid(),
            outage,
            "" if revived else " (started by another process)",
        )

    def _drop_pools(self) -> None:
        """Close the pooled connections of the main engine and, through it, the heavy one."""
        get_engine(self.url).dispose()


def watch_store(store: EmbeddedStore, url: str) -> StoreWatch:
    """A started watcher of the embedded cluster ``store`` serving ``url``."""
    return StoreWatch(store, url).start()
