"""Read-only work on a real hot standby (``pg_basebackup -R`` of the tests' cluster): reads go
to the standby, see a write once it is replayed, move to the primary while replay lags beyond
``read_max_lag_s``, and fall back to the primary within a bound when the standby is killed —
``/readyz`` says so and no request fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text

from app import create_app
from geodata.engine import get_engine
from geodata.leader import libpq_url
from geodata.replicas import CHECK_S, LAG_SQL, read_replicas
from geodata.settings import Settings
from tests.conftest import api_token, signed_in, until
from tests.integration.replica_support import Standby

FALLBACK_BOUND_S = CHECK_S + 1.0


@pytest.fixture(scope="module")
def standby(cluster) -> Iterator[Standby]:
    if cluster is None:
        pytest.skip(
            "a standby is made from the embedded test cluster (no ONEMAP_TEST_DATABASE_URL)"
        )
    made = Standby(cluster).create()
    try:
        yield made
    finally:
        made.remove()


def _on_standby(url: str, sql: str) -> list:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def _copy_building(url: str) -> int:
    """A new building on the primary (a copy of one of the demo city's): its id."""
    with get_engine(url).begin() as conn:
        cols = conn.execute(
            text(
                "SELECT string_agg(column_name, ', ') FROM information_schema.columns "
                "WHERE table_name = 'building' AND is_generated = 'NEVER' "
                "AND column_name NOT IN ('id', 'source', 'source_id') "
                "AND coalesce(column_default, '') NOT LIKE 'nextval%'"
            )
        ).scalar_one()
        return conn.execute(
            text(
                f"INSERT INTO building ({cols}, source, source_id) "
                f"SELECT {cols}, 'replica-test', md5(random()::text) FROM building "
                "ORDER BY id LIMIT 1 RETURNING id"
            )
        ).scalar_one()


def _drop_building(url: str, building_id: int) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text("DELETE FROM building WHERE id = :i"), {"i": building_id})


def _client(demo_url: str, standby_url: str, max_lag_s: float):
    settings = Settings(
        database_url=demo_url, read_database_url=standby_url, read_max_lag_s=max_lag_s
    )
    client = create_app(settings, demo_url).server.test_client()
    return signed_in(client, api_token(demo_url, "planner"))


def test_reads_go_to_the_standby_and_see_a_write_once_it_is_replayed(standby, demo_url):
    standby_url = standby.url(demo_url)
    assert _on_standby(standby_url, "SELECT pg_is_in_recovery()") == [(True,)]
    assert read_replicas(demo_url, standby_url, 30.0).url() == standby_url
    client = _client(demo_url, standby_url, 3600.0)
    _on_standby(standby_url, "SELECT pg_wal_replay_pause()")
    new = _copy_building(demo_url)
    with get_engine(demo_url).connect() as conn:
        written = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
    received = f"SELECT pg_last_wal_receive_lsn() >= '{written}'::pg_lsn"
    try:
        assert until(lambda: _on_standby(standby_url, received) == [(True,)], 10)
        path = f"/ogc/collections/buildings/items/{new}"
        # replay paused: the standby has not seen the building, and reads are on the standby
        assert client.get(path).status_code == 404
        lagging = _client(demo_url, standby_url, 0.5)  # tolerates 0.5 s of lag: the primary
        assert until(lambda: lagging.get(path).status_code == 200, 10), (
            lagging.get("/readyz").get_json()["parts"]["replicas"],
            _on_standby(standby_url, LAG_SQL),
            _on_standby(standby_url, "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()"),
        )
        ready = lagging.get("/readyz").get_json()["parts"]["replicas"]
        assert ready["state"] == "down" and ready["reads_on"] == "primary"
        assert ready["standbys"][0]["lag_s"] > 0.5
        _on_standby(standby_url, "SELECT pg_wal_replay_resume()")
        assert until(lambda: client.get(path).status_code == 200, 10)
        ready = client.get("/readyz").get_json()["parts"]["replicas"]
        assert ready["state"] == "ok" and ready["reads_on"] == "standby"
        assert "127.0.0.1" not in str(ready) and str(standby.port) not in str(ready)
    finally:
        _on_standby(standby_url, "SELECT pg_wal_replay_resume()")
        _drop_building(demo_url, new)


def test_a_killed_standby_sends_reads_to_the_primary_without_failing_a_request(standby, demo_url):
    standby_url = standby.url(demo_url)
    client = _client(demo_url, standby_url, 30.0)
    assert until(lambda: client.get("/readyz").get_json()["parts"]["replicas"]["state"] == "ok")
    statuses: list[int] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            statuses.append(client.get("/ogc/collections/buildings/items?limit=5").status_code)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    time.sleep(0.5)
    killed = time.monotonic()
    standby.kill9()
    fell_back = until(
        lambda: client.get("/readyz").get_json()["parts"]["replicas"]["reads_on"] == "primary",
        FALLBACK_BOUND_S,
    )
    took = time.monotonic() - killed
    time.sleep(0.5)
    stop.set()
    asker.join(10)
    assert fell_back and took <= FALLBACK_BOUND_S
    assert set(statuses) <= {200, 503}  # 503 with Retry-After until the next check, no 500
    assert statuses[-1] == 200
    print(f"fallback to the primary {took:.2f} s after kill -9; {statuses.count(503)} answered 503")
    part = client.get("/readyz").get_json()["parts"]["replicas"]
    assert part["state"] == "down" and part["reason"] == "reads fall back to the primary"
    assert client.get("/readyz").status_code == 200  # the primary serves: still ready
    standby.start()
    assert until(lambda: read_replicas(demo_url, standby_url, 30.0).url() == standby_url, 10)
