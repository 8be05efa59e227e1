"""Simulator smoke tests: short scenarios on a small demo city through the real intake
(a real Mosquitto + subscriber, and a real HTTP server), ending in incidents."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import h3
import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.serving import make_server

from api.readings import blueprint
from app import create_app
from geodata.demo import build_demo
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import _fresh_database, api_token, free_port, signed_in
from twin import simulate
from twin.broker import EmbeddedBroker
from twin.mqtt import Subscriber
from twin.taxonomy import ensure_taxonomy
from web.context import SETTINGS_KEY, STORE_URL_KEY

SETTINGS = Settings(mqtt_batch_wait_s=0.02)


@pytest.fixture(scope="module")
def sim_url(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "sim") as url:
        build_demo(url, scale=0.15, seed=11)
        with get_engine(url).begin() as conn:
            ensure_taxonomy(conn)
        yield url


@pytest.fixture(scope="module")
def intake(tmp_path_factory, sim_url) -> Iterator[tuple[EmbeddedBroker, Subscriber]]:
    folder = tmp_path_factory.mktemp("mqtt-sim")
    with EmbeddedBroker(folder, port=0, store_url=sim_url) as broker:
        sub = Subscriber(broker.intake_url, sim_url, SETTINGS, broker_acl=True).start()
        try:
            yield broker, sub
        finally:
            sub.stop()


def scalar(url: str, sql: str, **params):
    with get_engine(url).connect() as c:
        return c.execute(text(sql), params).scalar()


def wait_until(fn, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(0.05)
    return False


def test_gas_leak_via_mqtt_stores_everything_and_raises_an_incident(intake, sim_url):
    broker, sub = intake
    before = scalar(sim_url, "SELECT count(*) FROM reading")
    t0 = datetime.now(UTC)
    res = simulate.run(
        SETTINGS,
        sim_url,
        "gas-leak",
        rate=200,
        duration=1.6,
        via="mqtt",
        url=broker.url,
        seed=3,
        broker=broker,
    )
    assert res.sent > 300
    assert wait_until(
        lambda: scalar(sim_url, "SELECT count(*) FROM reading") - before == res.sent
    ), (res.sent, sub.counts)
    assert sub.counts["rejected"] == 0
    dev = res.focus["device_id"]
    assert scalar(sim_url, "SELECT status FROM device WHERE id = :d", d=dev) == "alarm"
    assert wait_until(
        lambda: (
            scalar(
                sim_url,
                "SELECT count(*) FROM event WHERE rule = 'smoke_gas' AND device_id = :d "
                "AND reported_at >= :t0",
                d=dev,
                t0=t0,
            )
            == 1
        )
    )


def test_the_gas_incident_is_on_the_map(intake, sim_url):
    """A gas alarm read in the previous test is visible through the viewport API."""
    dev = scalar(sim_url, "SELECT device_id FROM event WHERE rule = 'smoke_gas' LIMIT 1")
    assert dev is not None
    event_id, lon, lat = _open_incident_at(sim_url, dev)
    client = signed_in(create_app(SETTINGS, sim_url).server.test_client(), api_token(sim_url))
    bbox = f"{lon - 0.002},{lat - 0.002},{lon + 0.002},{lat + 0.002}"
    body = client.get(f"/api/layers/incidents?bbox={bbox}&zoom=17&category=alarm").get_json()
    shown = {f["id"]: f["properties"] for f in body["features"]}
    assert shown[event_id]["category"] == "alarm.gas" and shown[event_id]["severity"] == 4


def _open_incident_at(url: str, device_id: int) -> tuple[int, float, float]:
    with get_engine(url).connect() as c:
        return c.execute(
            text(
                "SELECT id, ST_X(loc), ST_Y(loc) FROM event WHERE rule = 'smoke_gas' "
                "AND device_id = :d AND status = 'reported'"
            ),
            {"d": device_id},
        ).one()


@pytest.fixture(scope="module")
def http_url(sim_url) -> Iterator[str]:
    """The readings endpoint served by a real HTTP server on a free port."""
    app = Flask(__name__)
    app.config[SETTINGS_KEY] = SETTINGS
    app.config[STORE_URL_KEY] = sim_url
    app.register_blueprint(blueprint)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


def test_fire_lane_via_http_raises_a_blocked_lane_incident(sim_url, http_url):
    res = simulate.run(
        SETTINGS, sim_url, "fire-lane", rate=50, duration=0.5, via="http", url=http_url, seed=5
    )
    assert res.rejected == 0 and res.stored == res.sent
    cam = res.focus["device_id"]
    assert (
        scalar(
            sim_url,
            "SELECT count(*) FROM event WHERE rule = 'fire_lane' AND subject = :s "
            "AND status = 'reported'",
            s=f"device:{cam}",
        )
        == 1
    )


def test_elderly_inactive_then_a_sweep_raises_a_welfare_check(intake, sim_url):
    from twin.service import sweep_once

    broker, sub = intake
    res = simulate.run(
        SETTINGS,
        sim_url,
        "elderly-inactive",
        rate=20,
        duration=0.4,
        via="mqtt",
        url=broker.url,
        seed=8,
        broker=broker,
    )
    house = res.focus["house_id"]
    assert wait_until(
        lambda: (
            scalar(
                sim_url,
                "SELECT count(*) FROM reading WHERE device_id = :d",
                d=res.focus["device_id"],
            )
            >= settings_hours() + 2
        )
    ), (sub.counts, res, rejects(sim_url))
    wait_until(lambda: sub._queue.empty())
    out = sweep_once(sim_url, datetime.now(UTC), SETTINGS)
    assert out["twin.rules.sweep"], out
    assert (
        scalar(
            sim_url,
            "SELECT count(*) FROM event WHERE rule = 'welfare' AND subject = :s",
            s=f"house:{house}",
        )
        == 1
    )


def settings_hours() -> int:
    return int(SETTINGS.rules.door_inactive_hours)


def rejects(url: str) -> list:
    with get_engine(url).connect() as c:
        return c.execute(text("SELECT reason, left(payload, 200) FROM reading_reject")).all()


def test_dog_sightings_via_http_raise_a_dog_incident_for_the_cell(sim_url, http_url):
    res = simulate.run(
        SETTINGS, sim_url, "dogs", rate=10, duration=1.0, via="http", url=http_url, seed=2
    )
    assert res.rejected == 0
    cell = h3.int_to_str(res.focus["h3_r9"])
    assert (
        scalar(
            sim_url,
            "SELECT count(*) FROM event WHERE rule = 'dogs' AND subject = :s",
            s=f"h3:{cell}",
        )
        == 1
    )
