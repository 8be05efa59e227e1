"""One cached engine per database URL, and sessions scoped to a unit of work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

CONNECT_TIMEOUT_S = 5
"""libpq's connect timeout when the URL sets none: a store that does not answer fails a request
in seconds (answered 503, :mod:`geodata.availability`) instead of holding it for minutes."""

SESSION_OPTIONS = "-c jit=off -c plan_cache_mode=force_custom_plan"
"""Server settings of every session (libpq ``options``, unless the URL sets its own).

* JIT compilation is off: this product's statements are short, and the planner's costs at full
  city size asked for compiling that cost more than it saved (the wall's 30-day trend: 862 ms
  with JIT, 85 ms without; elderly residents near gas alarms: 14 s against 6 s).
* Prepared statements are planned for their values every time: psycopg prepares a statement
  after five runs, and PostgreSQL's generic plan for a map view cannot know the bbox's size (a
  whole-history zoom-14 view went from 14 ms to over 400 ms when it switched)."""

Execute = Callable[[str, dict[str, object]], list]
"""Runs one SQL statement with its bound parameters and returns its rows."""


def planned_rows(execute: Execute, select: str, params: dict[str, object]) -> float:
    """How many rows the planner expects ``select`` to return (it is planned, not run)."""
    plan = execute(f"EXPLAIN (FORMAT JSON) {select}", params)[0][0]
    return float(plan[0]["Plan"]["Plan Rows"])


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://``/``postgres://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def connect_args(url: str) -> dict[str, object]:
    """libpq options for ``url`` that it does not set itself: a PostgreSQL URL gives up
    connecting after :data:`CONNECT_TIMEOUT_S` and runs with :data:`SESSION_OPTIONS`."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "postgresql":
        return {}
    defaults = {"connect_timeout": CONNECT_TIMEOUT_S, "options": SESSION_OPTIONS}
    return {k: v for k, v in defaults.items() if k not in parsed.query}


def _create(url: str, **pool: object) -> Engine:
    """An engine for ``url`` with ``pool`` options and :func:`connect_args`."""
    return create_engine(
        make_url(normalize_url(url)), pool_pre_ping=True, connect_args=connect_args(url), **pool
    )


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created on first use)."""
    return _create(url, pool_size=5, max_overflow=10)


def read_connection(url: str) -> Connection:
    """A pooled connection of the store at ``url`` in autocommit, for read-only statements."""
    return get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT")


HEAVY_WAIT_S = 30
"""How long heavy work waits for a connection of its own pool (its callers' limits keep the
pool from running dry; this bounds a caller without one, such as a script)."""


@lru_cache(maxsize=8)
def heavy_engine(url: str, size: int) -> Engine:
    """The engine of heavy work (analyst questions, exports) on ``url``: its own pool of at most
    ``size`` connections, so map requests and intake keep theirs in :func:`get_engine`'s pool.

    Disposing :func:`get_engine`'s engine for ``url`` disposes this one too (a database about to
    be dropped or copied as a template must have no open connections)."""
    engine = _create(url, pool_size=max(1, size), max_overflow=0, pool_timeout=HEAVY_WAIT_S)
    event.listen(get_engine(url), "engine_disposed", lambda _main: engine.dispose())
    return engine


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
