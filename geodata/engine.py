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

Execute = Callable[[str, dict[str, object]], list]
"""Runs one SQL statement with its bound parameters and returns its rows."""


def normalize_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://``/``postgres://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _create(url: str, **pool: object) -> Engine:
    """An engine for ``url`` with ``pool`` options; a PostgreSQL URL without its own
    ``connect_timeout`` gives up connecting after :data:`CONNECT_TIMEOUT_S`."""
    parsed = make_url(normalize_url(url))
    wait = parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query
    return create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S} if wait else {},
        **pool,
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
