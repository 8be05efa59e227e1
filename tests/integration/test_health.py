"""``/healthz``, ``/readyz`` and 503 answers while the store is unreachable, against the real
store, a real Mosquitto and a store URL where nothing answers (a closed port, a database that
does not exist). Nothing here stops or kills the shared PostgreSQL cluster."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.orm import Session

from app import create_app
from geodata.availability import ping, unavailable
from geodata.engine import get_engine
from geodata.errors import StoreUnavailable
from geodata.settings import Settings
from tests.conftest import _fresh_database, free_port, until
from twin.gateways import add_gateway
from twin.live import stop_hub
from twin.service import start_background
from web.gate import SESSION_COOKIE

SECRET = "pw-never-shown-9f3"
PARTS = {"store", "leader", "broker", "subscriber", "sweeper", "replicas"}
REQUIRED = {"store", "broker", "subscriber", "sweeper"}
"""Parts whose failure makes the process not ready (the leader's role and the standbys never
do: a follower serves, and the primary serves what a standby cannot)."""


@pytest.fixture(scope="module")
def health_url(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "health") as url:
        yield url


@pytest.fixture(scope="module")
def gateway_key(health_url) -> str:
    with Session(get_engine(health_url)) as s, s.begin():
        _id, key, _ = add_gateway(s, "gw-health")
    return key


@pytest.fixture(scope="module")
def dead(store_url) -> Iterator[dict[str, str]]:
    """Store URLs nothing answers at: a closed port, and a database that does not exist on the
    running cluster (as after it was dropped). Both carry a password that must not leak."""
    server, _, _db = store_url.rpartition("/")
    urls = {
        "closed port": f"postgresql+psycopg://onemap:{quote(SECRET)}@127.0.0.1:{free_port()}"
        "/onemap?connect_timeout=2",
        "missing database": f"{server}/onemap_health_gone?connect_timeout=2",
    }
    yield urls
    for url in urls.values():
        stop_hub(url)  # the gate's identity cache listens for changes on the store it asked


def client_of(url: str, background=None):
    return create_app(Settings(database_url=url), url, background).server.test_client()


def test_healthz_answers_without_sign_in_and_without_the_store(dead):
    client = client_of(dead["closed port"])
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 1.0  # no connection attempt to the dead store
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert client.head("/healthz").status_code == 200


def test_readyz_on_a_healthy_store_without_background_parts(store_url):
    response = client_of(store_url).get("/readyz")  # no token, no cookie
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ready"
    assert set(body["parts"]) == PARTS
    assert body["parts"]["store"]["state"] == "ok" and body["parts"]["store"]["required"]
    assert 0 <= body["parts"]["store"]["ms"] < 2000
    for name in ("leader", "broker", "subscriber", "sweeper", "replicas"):
        assert body["parts"][name] == {"state": "off", "required": False}
    assert "Retry-After" not in response.headers


def test_readyz_follows_the_embedded_broker_subscriber_and_sweeper(tmp_path, health_url):
    settings = Settings(
        database_url=health_url,
        data_dir=tmp_path,
        mqtt_port=0,
        twin_sweep_interval_s=0.2,
        forecast_refresh_hours=0,
    )
    bg = start_background(settings, health_url, client_id="onemap-test-health")
    try:
        client = create_app(settings, health_url, bg).server.test_client()
        assert until(lambda: bg.sweeps >= 1, 20)
        response = client.get("/readyz")
        body = response.get_json()
        assert response.status_code == 200, body
        assert {name: part["state"] for name, part in body["parts"].items()} == dict.fromkeys(
            PARTS - {"replicas"}, "ok"
        ) | {"replicas": "off"}
        assert body["parts"]["leader"] == {
            "state": "ok",
            "required": False,
            "role": "leader",
            "terms": 1,
        }
        assert all(part["required"] for n, part in body["parts"].items() if n in REQUIRED)
        assert body["parts"]["broker"]["embedded"] is True
        assert body["parts"]["subscriber"]["backlog"] == 0
        assert body["parts"]["sweeper"]["passes"] >= 1
        assert body["parts"]["sweeper"]["last_pass_age_s"] is not None

        assert bg.broker is not None
        port = bg.broker.port
        bg.broker.stop()  # this test's own Mosquitto, started above
        assert until(lambda: not bg.subscriber.subscribed, 10)
        response = client.get("/readyz")
        body = response.get_json()
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert body["status"] == "not ready"
        assert body["parts"]["broker"] == {
            "state": "down",
            "required": True,
            "embedded": True,
            "reason": "broker process exited",
        }
        assert body["parts"]["subscriber"]["state"] == "down"
        assert body["parts"]["store"]["state"] == "ok"
        assert body["parts"]["sweeper"]["state"] == "ok"
        assert str(port) not in response.get_data(as_text=True)
    finally:
        bg.stop()
    assert not bg.sweeper.is_alive()
    body = client.get("/readyz").get_json()
    # stopped, the process gave up the leader lock: its duties are another process's now
    assert body["parts"]["leader"]["role"] == "follower"
    assert body["parts"]["sweeper"] == {"state": "off", "required": False}


def test_readyz_says_the_broker_is_down_when_mosquitto_cannot_start(tmp_path, health_url):
    settings = Settings(
        database_url=health_url,
        data_dir=tmp_path,
        mqtt_bin=tmp_path / "no-mosquitto",
        twin_sweep_interval_s=0.2,
        forecast_refresh_hours=0,
    )
    bg = start_background(settings, health_url)
    try:
        response = create_app(settings, health_url, bg).server.test_client().get("/readyz")
        parts = response.get_json()["parts"]
        assert response.status_code == 503
        assert parts["broker"]["state"] == "down"
        assert parts["broker"]["reason"] == "the embedded broker did not start (FileNotFoundError)"
        assert parts["subscriber"] == {
            "state": "down",
            "required": True,
            "reason": "no broker to subscribe to",
        }
        assert parts["store"]["state"] == "ok"
    finally:
        bg.stop()


@pytest.mark.parametrize("case", ["closed port", "missing database"])
def test_readyz_is_503_while_the_store_is_unreachable(dead, case):
    started = time.monotonic()
    response = client_of(dead[case]).get("/readyz")
    assert time.monotonic() - started < 6.0
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["parts"]["store"] == {
        "state": "down",
        "required": True,
        "reason": "store not reachable",
    }
    raw = response.get_data(as_text=True)
    assert SECRET not in raw and "postgresql" not in raw and "127.0.0.1" not in raw


@pytest.mark.parametrize("case", ["closed port", "missing database"])
def test_intake_answers_503_with_retry_after_while_the_store_is_unreachable(
    dead, gateway_key, case
):
    client = client_of(dead[case])
    reading = {"device": "SN-1", "ts": "2026-11-27T10:00:00+08:00", "value": 1.0}
    started = time.monotonic()
    response = client.post(
        "/api/readings",
        data=json.dumps({"readings": [reading]}),
        headers={"X-Gateway-Key": gateway_key},
        content_type="application/json",
    )
    assert time.monotonic() - started < 6.0
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "error": "the store is unavailable; retry in 5 s",
        "status": 503,
        "retry_after": 5,
    }
    assert SECRET not in response.get_data(as_text=True)


def test_api_pages_and_sign_in_answer_503_while_the_store_is_unreachable(dead):
    client = client_of(dead["closed port"])
    # The gate's token lookup meets the dead store first: every API answers 503, not 500.
    api = client.get("/api/layers", headers={"Authorization": "Bearer some-token"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert api.get_json()["status"] == 503
    ogc = client.get("/ogc/collections", headers={"Authorization": "Bearer some-token"})
    assert ogc.status_code == 503 and ogc.headers["Retry-After"] == "5"
    assert ogc.get_json()["status"] == 503

    client.set_cookie(SESSION_COOKIE, "some-session")
    page = client.get("/?lang=en", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert page.mimetype == "text/html"
    assert "The database cannot be reached right now" in page.get_data(as_text=True)

    form = client.get("/login").get_data(as_text=True)  # the page itself needs no store
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    login = client.post(
        "/login",
        data={"csrf_token": token, "username": "someone", "password": "x"},
        headers={"Accept": "text/html"},
    )
    assert login.status_code == 503 and login.headers["Retry-After"] == "5"
    assert "数据库暂时无法访问" in login.get_data(as_text=True)  # the app's language: zh


def test_only_connection_failures_count_as_unavailable(health_url, dead):
    """Real driver errors: a refused connection and a terminated session are the store being
    unavailable; a bad query is not (it stays a 500, a fault to fix)."""
    with pytest.raises(DBAPIError) as refused:
        get_engine(dead["closed port"]).connect()
    assert isinstance(unavailable(refused.value), StoreUnavailable)

    with get_engine(health_url).connect() as conn, pytest.raises(ProgrammingError) as bad_query:
        conn.execute(text("SELECT no_such_column FROM gateway"))
    assert unavailable(bad_query.value) is None

    engine = get_engine(health_url)
    with engine.connect() as victim, engine.connect() as other:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as terminated:
            victim.execute(text("SELECT 1"))
    assert isinstance(terminated.value.orig, psycopg.OperationalError)
    assert isinstance(unavailable(terminated.value), StoreUnavailable)
    assert unavailable(psycopg.errors.DeadlockDetected("deadlock")) is None

    assert 0 <= ping(health_url) < 2000
    with pytest.raises(StoreUnavailable):
        ping(dead["missing database"])
