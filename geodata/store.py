"""Opening the store in use: an external ``DATABASE_URL`` or the embedded cluster."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from geodata.embedded import EmbeddedStore
from geodata.engine import get_engine, normalize_url
from geodata.leader import app_pids
from geodata.models import Base
from geodata.settings import PROJECT_ROOT, Settings

log = logging.getLogger("onemap.store")


@dataclass
class Store:
    """The store in use: its URL, and the embedded cluster when OneMap owns it."""

    url: str
    embedded: EmbeddedStore | None = None

    def close(self) -> None:
        """Dispose connections and stop the embedded server if this process started it and no
        other app process still uses it (then it is left running for them)."""
        get_engine(self.url).dispose()
        if self.embedded is None or not self.embedded.started_here:
            return
        try:
            others = app_pids(self.url)
        except (psycopg.Error, OSError):
            others = []
        if others:
            log.info("embedded PostgreSQL left running for app process(es) %s", others)
            return
        self.embedded.stop_if_started_here()


def embedded_store(settings: Settings) -> EmbeddedStore:
    """The embedded cluster described by ``settings`` (not started)."""
    return EmbeddedStore(
        root=settings.store.data_dir,
        port=settings.store.embedded_port,
        database=settings.store.embedded_db,
        pg_bin=settings.store.pg_bin,
    )


def open_store(settings: Settings) -> Store:
    """Return the store to use, starting the embedded cluster when no DATABASE_URL is set."""
    if settings.store.database_url:
        return Store(url=normalize_url(settings.store.database_url))
    embedded = embedded_store(settings)
    embedded.start()
    return Store(url=embedded.url(), embedded=embedded)


def _admin(server_url: str, *statements: str) -> None:
    """Run statements on the ``postgres`` database of the server of ``server_url``."""
    import psycopg

    admin = make_url(normalize_url(server_url)).set(database="postgres", drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``server_url``; return its URL."""
    drop_database(server_url, name)
    _admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(normalize_url(server_url)).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` on the server of ``server_url`` (if it exists)."""
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(server_url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh, migrated database ``name`` on the server of ``server_url`` for a test or a
    benchmark; dropped afterwards unless ``keep``."""
    url = recreate_database(server_url, name)
    try:
        migrate(url)
        yield url
    finally:
        get_engine(url).dispose()
        if not keep:
            drop_database(server_url, name)


def alembic_config() -> Config:
    """The Alembic configuration of the project's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` to ``revision`` with Alembic (creates PostGIS if missing)."""
    cfg = alembic_config()
    cfg.attributes["url"] = url
    command.upgrade(cfg, revision)


RESIDENT_VIEWS = ("resident_stats", "resident_place")
"""Materialized views over residents (counts per building and H3 cell; distinct places)."""
RESIDENT_CELL = "resident_cell"
"""Shown resident counts per placed cell pair (migration 0029): derived from ``resident_stats``
and ``building``, refreshed with the views above while building writers are held off."""


def refresh_resident_stats(url: str, *, concurrently: bool = True) -> None:
    """Recount ``resident_stats`` (resident counts per building and H3 cell),
    ``resident_place`` (their distinct places) and ``resident_cell`` (shown counts per cell)
    after writes of residents or homes, in one transaction: readers see all three change
    together. ``resident_cell`` is recounted under a share lock on ``building`` (its one other
    input) and ``resident_cell_stale`` emptied, so the rollup is exact again.
    ``concurrently`` keeps the map and the analysts' questions answering during the refresh."""
    how = "CONCURRENTLY " if concurrently else ""
    with get_engine(url).begin() as conn:
        for view in RESIDENT_VIEWS:
            conn.execute(text(f"REFRESH MATERIALIZED VIEW {how}{view}"))
        conn.execute(text("LOCK TABLE building IN SHARE MODE"))
        conn.execute(text(f"REFRESH MATERIALIZED VIEW {how}{RESIDENT_CELL}"))
        conn.execute(text("DELETE FROM resident_cell_stale"))


def feature_counts(url: str) -> dict[str, int]:
    """Row counts of the main tables (exact)."""
    names = [t for t in Base.metadata.tables if t not in ("alembic_version",)]
    with get_engine(url).connect() as conn:
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def is_empty(url: str) -> bool:
    """True when the store holds no governance areas (nothing has been loaded)."""
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM area)")).scalar_one()
