"""Supervision of the embedded PostgreSQL with real processes and real signals: a postmaster
killed with SIGKILL (alone, or under a backend busy with a long query) is noticed and the
cluster restarted within seconds; while it is down the app answers 503 with ``Retry-After``
(never 500) and shows a banner; a watcher stopped on purpose restarts nothing; a store stopped
from the command line while the app runs is started again.

Each test uses this module's own cluster (a temporary folder, a free port), stopped at the end
even on failure; nothing here touches the shared test cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from dash import html
from sqlalchemy import text
from sqlalchemy.orm import Session

from app import create_app
from geodata import accounts
from geodata.embedded import FALLBACK_ROOT, EmbeddedStore
from geodata.engine import get_engine, heavy_engine
from geodata.models import Device
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import migrate
from pages.ids import STORE_BANNER
from tests.conftest import free_port, until
from tests.integration.factories import point
from twin.gateways import add_gateway
from twin.live import hub_for, stop_hub
from twin.service import Background
from twin.store_watch import RESTARTING, StoreWatch, watch_store
from web.gate import SESSION_COOKIE

PASSWORD = "correct horse battery staple"
NOTICE_WITHIN_S = 2.0
SERVE_WITHIN_S = 10.0
BANNER_ZH = "数据库暂时不可用"
BANNER_EN = "The database is unavailable"


@pytest.fixture(scope="module")
def store() -> Iterator[EmbeddedStore]:
    """This module's own cluster, migrated; stopped and removed at the end."""
    root = Path(tempfile.mkdtemp(prefix="onemap-store-watch-"))
    root.chmod(0o755)  # the postgres user (when run as root) reaches the cluster inside
    cluster = EmbeddedStore(root=root, port=free_port(), database="onemap")
    try:
        cluster.start()
        migrate(cluster.url())
        yield cluster
    finally:
        get_engine(cluster.url()).dispose()
        stop_hub(cluster.url())
        cluster.stop()
        for pid in cluster.leftovers():
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
        if cluster.cluster_dir.is_relative_to(FALLBACK_ROOT):
            shutil.rmtree(cluster.cluster_dir.parent, ignore_errors=True)


@pytest.fixture
def running(store) -> EmbeddedStore:
    """The cluster, started again if a test before left it down."""
    if not store.alive():
        store.revive()
    assert store.alive()
    return store


@pytest.fixture
def watcher(running) -> Iterator[StoreWatch]:
    watch = watch_store(running, running.url())
    try:
        yield watch
    finally:
        watch.stop()


def query_ok(url: str) -> bool:
    """A query through the app's pooled engine succeeds."""
    try:
        with get_engine(url).connect() as conn:
            return conn.execute(text("SELECT 1")).scalar_one() == 1
    except Exception:
        return False


def kill_postmaster(store: EmbeddedStore) -> int:
    pid = store.postmaster_pid()
    assert pid is not None and store.alive()
    os.kill(pid, signal.SIGKILL)
    return pid


def timed(fact: Callable[[], bool], limit: float) -> float:
    """Seconds until ``fact()`` holds (fails beyond ``limit``)."""
    started = time.monotonic()
    assert until(fact, limit), f"not within {limit} s"
    return time.monotonic() - started


def test_a_killed_postmaster_is_noticed_and_restarted_within_seconds(watcher, capsys):
    url = watcher.url
    assert query_ok(url) and query_ok(url)  # the pools hold connections to the old server
    with heavy_engine(url, 2).connect() as conn:
        conn.execute(text("SELECT 1"))
    old = kill_postmaster(watcher.store)
    killed = time.monotonic()
    noticed = timed(lambda: watcher.state != "up", NOTICE_WITHIN_S)
    serving = timed(lambda: watcher.up and query_ok(url), SERVE_WITHIN_S) + noticed
    with heavy_engine(url, 2).connect() as conn:  # the heavy pool was dropped too
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert watcher.store.postmaster_pid() != old and watcher.store.alive()
    assert watcher.restarts == 1 and watcher.last_outage_s is not None
    with capsys.disabled():
        print(
            f"\nstore watch: noticed {noticed:.2f} s after kill -9, a pooled query answered "
            f"{serving:.2f} s after it (watcher outage {watcher.last_outage_s:.2f} s)"
        )
    assert time.monotonic() - killed < SERVE_WITHIN_S


def test_a_backend_busy_under_a_dead_postmaster_does_not_block_the_restart(watcher, capsys):
    url = watcher.url
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    ended: list[str] = []

    def busy() -> None:  # a CPU-bound query never looks whether its postmaster still lives
        try:
            with psycopg.connect(conninfo) as conn:
                conn.execute("SELECT count(*) FROM generate_series(1, 4000000000)")
        except psycopg.Error as exc:
            ended.append(type(exc).__name__)

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    assert until(lambda: len(_active(watcher.store)) >= 1, 5)
    kill_postmaster(watcher.store)
    noticed = timed(lambda: watcher.state != "up", NOTICE_WITHIN_S)
    seconds = timed(lambda: watcher.up and query_ok(url), SERVE_WITHIN_S) + noticed
    thread.join(5)
    assert ended == ["OperationalError"]  # the leftover backend was made to quit
    assert watcher.restarts == 1
    with capsys.disabled():
        print(f"\nstore watch with a busy backend: serving again {seconds:.2f} s after kill -9")


def _active(store: EmbeddedStore) -> list:
    with get_engine(store.url()).connect() as conn:
        sql = "SELECT pid FROM pg_stat_activity WHERE query LIKE '%generate_series%' AND pid <> "
        return conn.execute(text(sql + "pg_backend_pid()")).all()


def test_a_watcher_stopped_on_purpose_restarts_nothing(running):
    watch = watch_store(running, running.url())
    watch.stop()
    assert not watch.watching
    kill_postmaster(running)
    time.sleep(2.5)  # five watch intervals
    assert not running.alive() and watch.restarts == 0 and watch.up


def test_the_store_stopped_from_the_command_line_is_started_again(watcher, capsys):
    env = {
        **os.environ,
        "ONEMAP_DATA_DIR": str(watcher.store.root),
        "ONEMAP_EMBEDDED_PORT": str(watcher.store.port),
    }
    env.pop("DATABASE_URL", None)
    stop = [sys.executable, "-m", "geodata", "stop"]
    started = time.monotonic()
    done = subprocess.run(stop, env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr  # the restart waited for the command to end
    assert time.monotonic() - started < 10
    stopped = time.monotonic()
    assert until(lambda: watcher.restarts == 1 and query_ok(watcher.url), SERVE_WITHIN_S)
    with capsys.disabled():
        print(
            f"\nstore watch: stopped by the CLI, serving again {time.monotonic() - stopped:.2f} s"
        )


# --- the app while the store is down ------------------------------------------------------------


@pytest.fixture
def world(running) -> dict[str, str]:
    """A gateway with one gas sensor and an analyst with a password, in this cluster's store."""
    url = running.url()
    with Session(get_engine(url)) as s, s.begin():
        s.execute(text("TRUNCATE gateway, device, account CASCADE"))
        gateway, key, _ = add_gateway(s, "gw-watch")
        s.add(Device(kind="gas", serial="GAS-W", geom=point(117.25, 31.82), gateway_id=gateway))
    with get_engine(url).begin() as conn:
        accounts.add_account(conn, "watch_analyst", "analyst", PASSWORD)
    return {"key": key, "user": "watch_analyst"}


def _csrf(client, lang: str = "") -> tuple[str, str]:
    page = client.get("/login" + lang, headers={"Accept": "text/html"})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', body)[1], body


def _sign_in(client, user: str, accept: str = "text/html"):
    csrf, _ = _csrf(client)
    form = {"username": user, "password": PASSWORD, "csrf_token": csrf}
    return client.post("/login", data=form, headers={"Accept": accept})


def _reading(client, key: str):
    body = {"readings": [{"device": "GAS-W", "ts": datetime.now(UTC).isoformat(), "value": 2.5}]}
    return client.post("/api/readings", json=body, headers={"X-Gateway-Key": key})


def _callback(client):
    """A Dash callback as the renderer posts it (the language switch's translation store)."""
    body = {
        "output": "lang-switch.value",
        "outputs": {"id": "lang-switch", "property": "value"},
        "inputs": [{"id": "lang-switch", "property": "value", "value": "en"}],
        "changedPropIds": ["lang-switch.value"],
    }
    return client.post("/_dash-update-component", json=body)


def _layout_banner(dash_app) -> html.Div:
    return next(c for c in dash_app.layout().children if getattr(c, "id", None) == STORE_BANNER)


def test_the_app_answers_503_and_shows_a_banner_while_the_store_restarts(
    running, world, monkeypatch, tmp_path
):
    url = running.url()
    release = threading.Event()
    launch = running._launch

    def held_launch(wait_s: int) -> None:  # the outage lasts until the test has looked at it
        assert release.wait(30)
        launch(wait_s)

    monkeypatch.setattr(running, "_launch", held_launch)
    watch = watch_store(running, url)
    bg = Background(broker=None, subscriber=None, mqtt_url=None, store_watch=watch)
    settings = Settings(database_url=url, data_dir=tmp_path, mqtt_port=0)
    dash_app = create_app(settings, url, bg)
    app = dash_app.server
    try:
        client = app.test_client()
        assert _sign_in(client, world["user"]).status_code == 303
        session = client.get_cookie(SESSION_COOKIE)
        assert session is not None
        assert _reading(client, world["key"]).status_code == 200
        assert BANNER_ZH not in _csrf(client)[1]

        kill_postmaster(running)
        assert until(lambda: watch.state == RESTARTING, NOTICE_WITHIN_S)
        assert until(lambda: not hub_for(url).listening, 5)  # identities are asked afresh

        _csrf_token, page = _csrf(client)  # /login itself does not need the store
        assert BANNER_ZH in page and 'role="alert"' in page
        assert BANNER_EN in _csrf(app.test_client(), "?lang=en")[1]
        with app.test_request_context("/"):  # the Dash layout, as a page built now gets it
            assert not _layout_banner(dash_app).hidden

        signing_in = _sign_in(app.test_client(), world["user"])
        assert signing_in.status_code == 503, signing_in.get_data(as_text=True)
        assert signing_in.headers["Retry-After"] == "5"
        assert "数据库暂时无法访问" in signing_in.get_data(as_text=True)
        scripted = _sign_in(app.test_client(), world["user"], accept="application/json")
        assert scripted.status_code == 503 and scripted.headers["Retry-After"] == "5"

        intake = _reading(client, world["key"])
        assert intake.status_code == 503, intake.get_data(as_text=True)
        assert intake.headers["Retry-After"] == "5"

        page = client.get("/", headers={"Accept": "text/html"})  # signed in: the gate asks
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        dash = _callback(client)
        assert dash.status_code == 503 and dash.headers["Retry-After"] == "5"

        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
        part = ready.get_json()["parts"]["store"]
        assert part["state"] == "down" and part["reason"] == "restarting"
        assert part["restarts"] == 0 and part["embedded"] is True

        release.set()
        assert until(lambda: watch.up, SERVE_WITHIN_S)
        ready = client.get("/readyz").get_json()["parts"]["store"]
        assert ready["state"] == "ok" and ready["restarts"] == 1
        assert ready["last_outage_s"] < SERVE_WITHIN_S
        assert BANNER_ZH not in _csrf(client)[1]
        with app.test_request_context("/"):
            assert _layout_banner(dash_app).hidden
        assert _sign_in(app.test_client(), world["user"]).status_code == 303
        assert _reading(client, world["key"]).status_code == 200
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    finally:
        release.set()
        bg.stop()
    assert not watch.watching
