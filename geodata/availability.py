"""Is the store there? The driver's connection errors as :class:`StoreUnavailable`, and a probe.

:func:`unavailable` tells a store that cannot be reached (connection refused or timed out, a
database that does not exist, a server shutting down, a connection terminated under a query)
from any other database error (a deadlock, a constraint, a bad query), which stay what they
are. The web maps the former to 503 with ``Retry-After`` (:mod:`web.errors`); :func:`ping` is
the readiness probe's ``SELECT 1`` (:mod:`api.health`).
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.pool import NullPool

from geodata.engine import normalize_url
from geodata.errors import StoreUnavailable

DRIVER_ERRORS: tuple[type[Exception], ...] = (DBAPIError, psycopg.Error)
"""The exception types :func:`unavailable` looks into (SQLAlchemy's wrapper, raw psycopg)."""

RETRY_AFTER_S = 5
"""What a 503 tells the client to wait before trying again."""

UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
"""Admin shutdown, crash shutdown, cannot connect now, too many connections (and class 08)."""


def _connection_level(error: BaseException | None) -> bool:
    """A psycopg error about the connection itself, not about a statement."""
    if not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    state = error.sqlstate
    # No SQLSTATE: the client failed to connect, or lost the connection under a query
    # ("connection refused", "database … does not exist", "server closed the connection").
    return state is None or state.startswith("08") or state in UNAVAILABLE_SQLSTATES


RETRY_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "55", "57"})
"""SQLSTATE classes a retry may get past: connection, transaction rollback (deadlock,
serialization), insufficient resources, object in use / lock not available, operator intervention
(cancel, shutdown). Any other refusal (data, integrity, program limits such as an oversized index
row) lies in what was sent."""
CONFLICT_SQLSTATE_CLASS = "40"


def _sqlstate(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(orig, "sqlstate", None)


def transient(exc: BaseException) -> bool:
    """Whether retrying may succeed: the store is unreachable or busy, a pool or socket timeout,
    or the statement lost a race with another transaction — never a refusal of the data."""
    if unavailable(exc) is not None or isinstance(exc, SATimeoutError | OSError):
        return True
    state = _sqlstate(exc)
    return state is not None and state[:2] in RETRY_SQLSTATE_CLASSES


def conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure with a concurrent transaction (retry at once)."""
    state = _sqlstate(exc)
    return state is not None and state.startswith(CONFLICT_SQLSTATE_CLASS)


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """``exc`` as :class:`StoreUnavailable` when it says the store cannot be reached, else
    None. The message names no host, port, user or password."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if isinstance(exc, DBAPIError):
        found = exc.connection_invalidated or _connection_level(exc.orig)
    else:
        found = _connection_level(exc)
    if not found:
        return None
    unavailable_error = StoreUnavailable(retry_after=RETRY_AFTER_S)
    unavailable_error.__cause__ = exc
    return unavailable_error


@lru_cache(maxsize=8)
def _probe_engine(url: str, timeout_s: float) -> Engine:
    """An engine without a pool (each probe connects, as a new client would), whose connect
    and statements give up after ``timeout_s`` (libpq's connect timeout is at least 2 s)."""
    return create_engine(
        normalize_url(url),
        poolclass=NullPool,
        connect_args={
            "connect_timeout": max(2, math.ceil(timeout_s)),
            "options": f"-c statement_timeout={int(timeout_s * 1000)}",
        },
    )


def ping(url: str, timeout_s: float = 2.0) -> float:
    """Milliseconds a ``SELECT 1`` on a new connection to ``url`` took; raises
    :class:`StoreUnavailable` when the store cannot answer within about ``timeout_s``."""
    started = time.monotonic()
    try:
        with _probe_engine(url, timeout_s).connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except DRIVER_ERRORS as exc:
        raise StoreUnavailable(retry_after=RETRY_AFTER_S) from exc
    return (time.monotonic() - started) * 1000
