"""One leader among the app processes of a store: a PostgreSQL advisory lock.

Several app processes may serve one store (behind a reverse proxy). Work that must run once —
the sweeper, the forecast refresh, the demo heartbeat, the MQTT subscriber and the embedded
broker — runs only in the process holding the session-level advisory lock :data:`LEADER_KEY`,
on a dedicated autocommit connection kept for as long as it leads. When that process dies
(even ``kill -9``) its connection closes, PostgreSQL releases the lock, and the next
:meth:`LeaderLock.poll` of another process takes it.

A leader whose connection is lost while the store is down keeps leading (nobody else can take
the lock meanwhile) and takes the lock again as soon as the store answers; a follower waits
:data:`REJOIN_GRACE_S` after such an outage before it tries, so the old leader normally wins
that race and duties do not move on a store restart. When another process holds the lock by
then, the old leader steps down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import make_url

log = logging.getLogger("onemap.leader")

LEADER_KEY = 0x6F6E656D6170
"""The advisory lock's key (``'onemap'`` in ASCII); per database."""
APP_NAME_PREFIX = "onemap-leader pid="
"""``application_name`` of the lock's connection, followed by the app's process id."""
REJOIN_GRACE_S = 3.0
"""After the store was unreachable, how long a follower waits before trying to lead."""
CONNECT_TIMEOUT_S = 2


def libpq_url(url: str) -> str:
    """A libpq URL for ``url`` (which may name a SQLAlchemy driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def leader_pids(url: str) -> list[int]:
    """Process ids of the app processes holding the lock in the store at ``url`` (one, or
    none between leaders): read from ``pg_locks`` and the holders' ``application_name``."""
    sql = (
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"
    )
    key = (LEADER_KEY >> 32, LEADER_KEY & 0xFFFFFFFF)
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as c:
        names = [row[0] for row in c.execute(sql, key).fetchall()]
    return [int(n.removeprefix(APP_NAME_PREFIX)) for n in names if n.startswith(APP_NAME_PREFIX)]


def app_pids(url: str) -> list[int]:
    """Process ids of the app processes taking part in the leader lock of the store at ``url``
    (each keeps a connection for it while it runs), this one excluded."""
    sql = "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s"
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as c:
        names = [row[0] for row in c.execute(sql, (APP_NAME_PREFIX + "%",)).fetchall()]
    pids = {int(n.removeprefix(APP_NAME_PREFIX)) for n in names}
    return sorted(pids - {os.getpid()})


FOLLOWS = "this process follows"
"""Logged when a process starts while another one leads (it serves, and takes the duties
over when the leader goes)."""


class LeaderLock:
    """This process's hold on the leader lock of the store at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection | None = None
        self.held = False
        self._outage = False
        """The store was unreachable at the last try."""
        self._rejoin_at = 0.0
        """``time.monotonic()`` before which a follower does not try (after an outage)."""

    def poll(self) -> bool:
        """Take or keep the lock; whether this process leads now. Never raises."""
        try:
            if self._conn is None:
                self._connect()
            assert self._conn is not None
            if self.held:
                self._conn.execute("SELECT 1")
                return True
            if time.monotonic() < self._rejoin_at:
                return False
            self.held = self._try()
            return self.held
        except (psycopg.Error, OSError) as exc:
            if not self._outage:
                log.warning("leader lock: store unreachable (%s)", exc)
            self._drop()
            self._outage = True
            return self.held  # nobody can take the lock while the store is unreachable

    def _try(self) -> bool:
        assert self._conn is not None
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_KEY,)).fetchone()
        return bool(row and row[0])

    def _connect(self) -> None:
        self._conn = psycopg.connect(
            libpq_url(self.url),
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=f"{APP_NAME_PREFIX}{os.getpid()}",
        )
        if self._outage:
            self._outage = False
            self._rejoin_at = time.monotonic() + REJOIN_GRACE_S
            if self.held:  # the old leader takes the lock back at once if it is free
                self.held = self._try()
                if not self.held:
                    log.warning("leader lock: another process leads now")

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error, OSError):
                conn.close()

    def release(self) -> None:
        """Give the lock up (closing its connection releases it)."""
        self.held = False
        self._drop()


class Leadership:
    """A thread polling :class:`LeaderLock` every ``poll_s``: ``on_gain()`` when this process
    becomes leader, ``on_loss()`` when it steps down (or stops while leading)."""

    def __init__(
        self,
        url: str,
        poll_s: float,
        on_gain: Callable[[], None],
        on_loss: Callable[[], None],
    ) -> None:
        self.lock = LeaderLock(url)
        self.poll_s = poll_s
        self._on_gain, self._on_loss = on_gain, on_loss
        self.leading = False
        self.terms = 0
        """How often this process became leader."""
        self.became_leader_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> bool:
        """One poll: gain or lose leadership as the lock says; whether this process leads."""
        leads = self.lock.poll()
        if leads and not self.leading:
            self.leading, self.terms = True, self.terms + 1
            self.became_leader_at = time.monotonic()
            log.info("this process (pid %s) leads: starting the once-only duties", os.getpid())
            self._call(self._on_gain)
        elif not leads and self.leading:
            self.leading = False
            log.warning("this process (pid %s) no longer leads: stopping its duties", os.getpid())
            self._call(self._on_loss)
        return leads

    def _call(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("leader duty change failed")

    def start(self) -> Leadership:
        """One poll now (so a lone process leads at once), then poll in a daemon thread."""
        if not self.step():
            log.info(FOLLOWS + " (pid %s): another process runs the once-only duties", os.getpid())
        self._thread = threading.Thread(target=self._run, name="onemap-leader", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            self.step()

    def stop(self) -> None:
        """Stop polling; stop the duties if leading, then release the lock."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.leading:
            self.leading = False
            self._call(self._on_loss)
        self.lock.release()
