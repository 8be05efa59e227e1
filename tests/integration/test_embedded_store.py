"""The embedded store: created on first start, reused, stopped cleanly, data kept."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import psycopg
import pytest

from geodata.embedded import EmbeddedStore, port_in_use
from geodata.errors import StoreError
from geodata.settings import PROJECT_ROOT
from tests.conftest import free_port


@pytest.fixture(scope="module")
def scratch_store():
    """A throwaway cluster inside the project's data folder (the postgres user can reach it)."""
    root = PROJECT_ROOT / ".onemap" / f"test-embedded-{os.getpid()}"
    store = EmbeddedStore(root=root, port=free_port(), database="scratch")
    yield store
    store.stop()
    shutil.rmtree(root, ignore_errors=True)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_first_start_creates_a_cluster_with_postgis(scratch_store):
    assert not scratch_store.initialized()
    scratch_store.start()
    assert scratch_store.initialized() and scratch_store.started_here
    assert oct(scratch_store.password_file.stat().st_mode & 0o777) == "0o600"
    with psycopg.connect(_libpq(scratch_store.url()), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
        assert listen == "127.0.0.1"


def test_restart_keeps_the_data(scratch_store):
    with psycopg.connect(_libpq(scratch_store.url()), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int, g geometry(Point, 4326))")
        conn.execute("INSERT INTO kept VALUES (1, ST_SetSRID(ST_Point(117.28, 31.86), 4326))")
    scratch_store.stop()
    assert not scratch_store.running() and not port_in_use(scratch_store.port)
    scratch_store.start()
    with psycopg.connect(_libpq(scratch_store.url())) as conn:
        row = conn.execute("SELECT id, ST_AsText(g) FROM kept").fetchone()
    assert row == (1, "POINT(117.28 31.86)")


def test_a_second_opener_reuses_the_running_server(scratch_store):
    scratch_store.start()
    other = EmbeddedStore(root=scratch_store.root, port=free_port(), database="scratch")
    other.start()
    assert other.running() and not other.started_here
    assert other.port == scratch_store.port  # learnt from the running server
    other.stop_if_started_here()  # must not stop a server it did not start
    assert scratch_store.running()


def test_cluster_belongs_to_postgres_when_run_as_root(scratch_store):
    if os.geteuid() != 0:
        owner = os.getuid()
    else:
        import pwd

        owner = pwd.getpwnam("postgres").pw_uid
    assert scratch_store.data_dir.stat().st_uid == owner


def test_port_taken_by_another_server_gives_a_clear_error(scratch_store):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        store = EmbeddedStore(root=scratch_store.root, port=port, database="scratch")
        scratch_store.stop()
        with pytest.raises(StoreError, match="ONEMAP_EMBEDDED_PORT"):
            store.start()


def test_cli_db_url_prints_a_working_url(cluster):
    env = {
        **os.environ,
        "ONEMAP_DATA_DIR": str(cluster.root),
        "ONEMAP_EMBEDDED_PORT": str(cluster.port),
    }
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "geodata", "db-url"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out.startswith("postgresql://onemap:") and f":{cluster.port}/" in out
    with psycopg.connect(out) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cli_db_url_honours_database_url():
    url = "postgresql://someone:secret@db.example:5433/city"
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, "-m", "geodata", "db-url"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == url
