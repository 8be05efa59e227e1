"""Test session fixtures: a real PostGIS (the embedded cluster, or ONEMAP_TEST_DATABASE_URL).

Each test session gets fresh databases of its own in the cluster (named with the process id, so
parallel sessions do not collide, and dropped at the end): an empty migrated schema, where each
test runs in a transaction that is rolled back, and a small demo city built once.

Set ONEMAP_TEST_KEEP_CLUSTER=1 to leave the embedded cluster running after the session.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geodata.embedded import EmbeddedStore, port_in_use
from geodata.engine import get_engine
from geodata.secret_keys import SECRETS
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import embedded_store, scratch_database

# Secrets of this test session: random, so nothing depends on a published default; in the
# environment, so the app and command lines the tests start (with DATABASE_URL: not demo
# mode, where defaults are refused) hash and sign like the tests do.
for _secret in SECRETS:
    os.environ.setdefault(_secret.env_name, secrets.token_urlsafe(32))

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
DEMO_TEST_SCALE = 0.25
DEMO_TEST_SEED = 7
DEMO_TEST_ANCHOR = datetime.now(timezone(timedelta(hours=8))).replace(second=0, microsecond=0)
"""The shared test demo city's history ends when the test session starts, as the app anchors its
demo at the moment of the build: its figures are current (today's and the last 30 days' counts
are not zero) and stay the same for the whole session (tests compare what pages show with SQL
on the same store)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def until(fact: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether ``fact()`` holds within ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while not fact():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def sql_rows(url: str, sql: str, **params) -> list:
    """The rows of one query on the store at ``url``."""
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def incident_span(url: str) -> tuple:
    """The incidents' extent and time span: (minx, miny, maxx, maxy, first, last)."""
    return tuple(
        sql_rows(
            url,
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 FROM "
            "(SELECT ST_Extent(geom) AS e, min(reported_at) AS t0, max(reported_at) AS t1 "
            "FROM event) x",
        )[0]
    )


def sql_scalar(url: str, sql: str, **params):
    """The one value of one query (exactly one row) on the store at ``url``."""
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data; skips the test (never in CI) when the folder is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            raise FileNotFoundError(f"{path} is required in CI")
        pytest.skip(f"real test data not present: {path}")
    return path


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedStore | None]:
    """The embedded cluster the tests use (None when ONEMAP_TEST_DATABASE_URL is given)."""
    if os.environ.get("ONEMAP_TEST_DATABASE_URL"):
        yield None
        return
    store = embedded_store(Settings(database_url=None))
    if not store.running() and port_in_use(store.port):
        store.port = free_port()  # another server holds the default port: use a free one
    store.start()
    yield store
    if not os.environ.get("ONEMAP_TEST_KEEP_CLUSTER"):
        store.stop_if_started_here()


def _server_url(cluster: EmbeddedStore | None) -> str:
    """ONEMAP_TEST_DATABASE_URL names an external server where tests may create databases."""
    return os.environ.get("ONEMAP_TEST_DATABASE_URL") or cluster.url()


@contextmanager
def _fresh_database(cluster: EmbeddedStore | None, label: str) -> Iterator[str]:
    from twin.live import stop_hub

    with scratch_database(_server_url(cluster), f"onemap_test_{label}_{os.getpid()}") as url:
        try:
            yield url
        finally:
            stop_hub(url)  # a live listener would keep retrying the dropped database


@pytest.fixture(scope="session")
def store_url(cluster) -> Iterator[str]:
    """URL of a freshly migrated, empty test database."""
    with _fresh_database(cluster, "empty") as url:
        yield url


@pytest.fixture
def conn(store_url) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with get_engine(store_url).connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture
def session(conn) -> Iterator[Session]:
    """An ORM session in the rolled-back transaction (commits become savepoints)."""
    with Session(bind=conn, join_transaction_mode="create_savepoint") as s:
        yield s


def api_token(url: str, role: str = "analyst", areas: tuple[str, ...] = ()) -> str:
    """A new API token of a test account with ``role`` (and area codes) in the store at ``url``;
    the account is created on first use. Requests send it as ``Authorization: Bearer …``."""
    from geodata import accounts

    username = "_".join(("test", role, *areas))[:64]
    with get_engine(url).begin() as conn:
        accounts.ensure_account(conn, username, role, list(areas))
        return accounts.issue_token(conn, username, "tests")


def signed_in(client, token: str):
    """A Flask test client that sends ``token`` with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def api_client(url: str, role: str = "analyst", **settings):
    """A test client of the app on the store at ``url`` (``settings`` over the defaults),
    sending a new API token of a test account with ``role``."""
    from app import create_app

    client = create_app(Settings(database_url=url, **settings), url).server.test_client()
    return signed_in(client, api_token(url, role))


@pytest.fixture(scope="session")
def demo_url(cluster) -> Iterator[str]:
    """URL of a database holding a small demo city (built once per session)."""
    from geodata.demo import build_demo

    with _fresh_database(cluster, "demo") as url:
        build_demo(url, scale=DEMO_TEST_SCALE, seed=DEMO_TEST_SEED, anchor=DEMO_TEST_ANCHOR)
        yield url
