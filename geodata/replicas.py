"""Where read-only work reads: a PostgreSQL hot standby when one is healthy, else the primary.

``ONEMAP_READ_DATABASE_URL`` names one or more standbys (comma-separated). Read-only work —
analyst questions, exports, OGC API, assessment, backtests — asks :meth:`ReadReplicas.url`
for its URL; writes and everything that must read its own writes keep the primary's URL.

Each standby's state is checked at most every :data:`CHECK_S` by the request that finds it
stale (one ``SELECT`` on a new connection, given up after :data:`CONNECT_TIMEOUT_S`): it is
used while it answers, is in recovery or was promoted, and its replay is at most
``max_lag_s`` behind (lag: 0 when it has replayed everything it received, else the time since
the last transaction it replayed was committed on the primary). A connection error on a
standby's engine marks it down at once (:func:`_on_error`), so the next request already reads
the primary; it is checked again after :data:`CHECK_S`. Errors on raw psycopg connections
(exports, OGC) bypass that hook: those requests are answered 503 with ``Retry-After`` until the
next check (at most :data:`CHECK_S`) sends reads to the primary. Standbys in use take turns.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, event, make_url
from sqlalchemy.engine import ExceptionContext

from geodata.leader import libpq_url

CHECK_S = 0.5
"""How long a standby's state is trusted before it is checked again."""
CONNECT_TIMEOUT_S = 1
LAG_SQL = (
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() IS NULL "
    "OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE extract(epoch FROM clock_timestamp() - "
    "coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time())) END"
)
"""Whether a server is a standby, and how far its replay is behind what it has received: 0 when
it has replayed all it received, else the age of the last replayed transaction — or, when none
has been replayed since it started, the time since it started (WAL waits: it is behind)."""


@dataclass
class Standby:
    """One standby and what its last check found (its URL is never shown)."""

    url: str
    up: bool = False
    lag_s: float | None = None
    reason: str = "not checked yet"
    checked_at: float = float("-inf")
    """``time.monotonic()`` of the last check (or of the error that marked it down)."""

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"up": self.up, "lag_s": self.lag_s}
        if not self.up:
            out["reason"] = self.reason
        return out


def _key(url: str) -> tuple[str | None, int | None, str | None]:
    """Host, port and database: which engine errors belong to a standby."""
    parsed = make_url(url)
    return parsed.host, parsed.port, parsed.database


class ReadReplicas:
    """The standbys of the primary at ``primary`` and the choice between them."""

    def __init__(self, primary: str, urls: tuple[str, ...], max_lag_s: float) -> None:
        self.primary, self.max_lag_s = primary, max_lag_s
        self.standbys = [Standby(u) for u in urls]
        self._turn = itertools.count()
        self._checking = threading.Lock()

    def url(self) -> str:
        """A usable standby's URL (in turn), else the primary's."""
        usable = [s for s in self._fresh() if s.up]
        if not usable:
            return self.primary
        return usable[next(self._turn) % len(usable)].url

    def states(self) -> list[Standby]:
        """Every standby's state, checked when stale."""
        return self._fresh()

    def _fresh(self) -> list[Standby]:
        now = time.monotonic()
        stale = [s for s in self.standbys if now - s.checked_at >= CHECK_S]
        if stale and self._checking.acquire(blocking=False):
            try:
                for standby in stale:
                    self._check(standby)
            finally:
                self._checking.release()
        return self.standbys

    def _check(self, standby: Standby) -> None:
        try:
            with psycopg.connect(
                libpq_url(standby.url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            ) as conn:
                row = conn.execute(LAG_SQL).fetchone()
        except (psycopg.Error, OSError) as exc:
            self.mark_down(standby, f"not reachable ({type(exc).__name__})")
            return
        assert row is not None
        lag = round(float(row[1] or 0.0), 3)
        standby.lag_s, standby.checked_at = lag, time.monotonic()
        standby.up = lag <= self.max_lag_s
        standby.reason = "" if standby.up else f"replay {lag:g} s behind"

    def mark_down(self, standby: Standby, reason: str) -> None:
        standby.up, standby.lag_s, standby.reason = False, None, reason
        standby.checked_at = time.monotonic()

    def owner_of(self, url: str) -> Standby | None:
        key = _key(url)
        return next((s for s in self.standbys if _key(s.url) == key), None)


_ALL: list[ReadReplicas] = []
_ALL_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def read_replicas(primary: str, read_urls: str | None, max_lag_s: float) -> ReadReplicas:
    """This process's standbys of ``primary`` (``read_urls``: comma-separated URLs)."""
    urls = tuple(u.strip() for u in (read_urls or "").split(",") if u.strip())
    replicas = ReadReplicas(primary, urls, max_lag_s)
    with _ALL_LOCK:
        _ALL.append(replicas)
    return replicas


@event.listens_for(Engine, "handle_error")
def _on_error(ctx: ExceptionContext) -> None:
    """A connection error on a standby's engine: mark that standby down now."""
    if not ctx.is_disconnect and not isinstance(ctx.original_exception, psycopg.OperationalError):
        return
    url = ctx.engine.url.render_as_string(hide_password=False) if ctx.engine else None
    if url is None:
        return
    with _ALL_LOCK:
        every = list(_ALL)
    for replicas in every:
        standby = replicas.owner_of(url)
        if standby is not None:
            replicas.mark_down(standby, "connection lost")
