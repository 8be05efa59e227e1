"""MQTT end to end: a real Mosquitto (EmbeddedBroker on a free port), paho publishers, the store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.models import Device
from geodata.settings import Settings
from tests.conftest import _fresh_database
from tests.integration.factories import point
from tests.integration.mqtt_support import publish_as
from twin.broker import EmbeddedBroker
from twin.gateways import add_gateway
from twin.mqtt import Subscriber, gateway_of, parse_url
from twin.service import start_background

NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = Settings(mqtt_batch_wait_s=0.02, twin_sweep_interval_s=0.2)


@pytest.fixture(scope="module")
def mqtt_url_db(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "mqtt") as url:
        yield url


@pytest.fixture(scope="module")
def world(mqtt_url_db, broker) -> dict:
    with Session(get_engine(mqtt_url_db)) as s, s.begin():
        gw, key, _ = add_gateway(s, "gw-m")
        devs = [
            Device(kind="gas", serial=f"MG-{i}", geom=point(117.25, 31.82), gateway_id=gw)
            for i in range(20)
        ]
        s.add_all(devs)
        s.flush()
        ids = [d.id for d in devs]
    broker.sync()  # the broker learns gw-m's account
    return {"key": key, "ids": ids}


@pytest.fixture(scope="module")
def broker(tmp_path_factory, mqtt_url_db) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(tmp_path_factory.mktemp("mqtt"), port=0, store_url=mqtt_url_db) as b:
        yield b


@pytest.fixture
def subscriber(broker, mqtt_url_db) -> Iterator[Subscriber]:
    sub = Subscriber(broker.intake_url, mqtt_url_db, SETTINGS, broker_acl=True).start()
    yield sub
    sub.stop()


def publish(broker: EmbeddedBroker, key: str, payloads: list[bytes | str]) -> None:
    """Publish as gateway gw-m to its own topic."""
    publish_as(broker, "gw-m", key, payloads)


def count(url: str, sql: str, **params) -> int:
    with get_engine(url).connect() as c:
        return c.execute(text(sql), params).scalar()


def test_topic_and_url_helpers():
    assert gateway_of("onemap/gw-1/readings", "onemap/+/readings") == "gw-1"
    assert gateway_of("onemap/readings", "onemap/+/readings") is None
    assert parse_url("mqtt://u:p@h:1884") == ("h", 1884, "u", "p")
    assert parse_url("mqtt://127.0.0.1")[1] == 1883


def test_broker_stops_cleanly(tmp_path):
    b = EmbeddedBroker(tmp_path, port=0).start()
    pid = b.process.pid
    assert b.running() and (tmp_path / "port").read_text() == str(b.port)
    b.stop()
    assert not b.running() and not (tmp_path / "port").exists()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


def test_mqtt_readings_stored_malformed_counted(broker, subscriber, world, mqtt_url_db):
    key, ids = world["key"], world["ids"]
    single: list[bytes | str] = [
        json.dumps({"key": key, "device": f"MG-{i}", "ts": NOW.isoformat(), "value": 1.0})
        for i in range(10)
    ]
    batch = {
        "key": key,
        "readings": [
            {"device": f"MG-{i}", "ts": (NOW - timedelta(seconds=s)).isoformat(), "value": 2.0}
            for i in range(10, 20)
            for s in range(1, 11)
        ],
    }
    bad: list[bytes | str] = [
        b"\xff\xfe not json",
        json.dumps([1, 2, 3]),
        json.dumps({"key": "gk_wrong", "device": "MG-1", "ts": NOW.isoformat(), "value": 1}),
        json.dumps({"key": key, "device": "MG-1", "ts": "soon", "value": 1}),
    ]
    dup = single[:3]  # repeated: counted once
    messages = [*single, json.dumps(batch), *bad, *dup]
    publish(broker, key, messages)
    assert subscriber.wait_for(len(messages), timeout=20), subscriber.counts
    stored = count(mqtt_url_db, "SELECT count(*) FROM reading WHERE device_id = ANY(:i)", i=ids)
    assert stored == 10 + 100
    assert subscriber.counts["stored"] == 110
    assert subscriber.counts["duplicates"] == 3
    assert subscriber.counts["rejected"] == 4
    assert subscriber.counts["malformed"] == 3
    assert count(mqtt_url_db, "SELECT count(*) FROM reading_reject WHERE channel = 'mqtt'") >= 4
    # the key never lands in the reject log
    assert (
        count(
            mqtt_url_db, "SELECT count(*) FROM reading_reject WHERE payload LIKE :k", k=f"%{key}%"
        )
        == 0
    )
    # device state from the newest reading
    assert (
        count(
            mqtt_url_db,
            "SELECT count(*) FROM device WHERE id = ANY(:i) AND last_seen = :t",
            i=ids[10:],
            t=NOW - timedelta(seconds=1),
        )
        == 10
    )


def test_messages_published_while_the_subscriber_is_down_are_delivered(broker, world, mqtt_url_db):
    """Persistent session + QoS 1: nothing is lost across a subscriber restart."""
    sub = Subscriber(broker.intake_url, mqtt_url_db, SETTINGS, client_id="onemap-test-persist")
    sub.start().stop()
    t0 = NOW - timedelta(minutes=5)
    msgs: list[bytes | str] = [
        json.dumps({"device": "MG-0", "ts": (t0 + timedelta(seconds=i)).isoformat(), "value": 0.5})
        for i in range(50)
    ]
    publish(broker, world["key"], msgs)
    sub = Subscriber(
        broker.intake_url, mqtt_url_db, SETTINGS, client_id="onemap-test-persist", broker_acl=True
    ).start()
    try:
        assert sub.wait_for(50, timeout=20), sub.counts
        assert sub.counts["stored"] == 50
    finally:
        sub.stop()


def test_background_service_uses_external_broker_and_sweeps(broker, mqtt_url_db, world):
    settings = SETTINGS.model_copy(
        update={"mqtt": SETTINGS.mqtt.model_copy(update={"url": broker.intake_url})}
    )
    bg = start_background(settings, mqtt_url_db, client_id="onemap-test-bg")
    try:
        assert bg.broker is None and bg.mqtt_url == broker.intake_url
        assert not bg.subscriber.broker_acl  # an external broker: the key is still required
        ts = (NOW - timedelta(minutes=9)).isoformat()
        without_key = {"device": "MG-5", "ts": ts, "value": 0.2}
        publish(broker, world["key"], [json.dumps(without_key)])
        assert bg.subscriber.wait_for(1, timeout=10)
        assert bg.subscriber.counts["rejected"] == 1 and bg.subscriber.counts["stored"] == 0
        with_key = {"key": world["key"], "device": "MG-5", "ts": ts, "value": 0.1}
        publish(broker, world["key"], [json.dumps(with_key)])
        assert bg.subscriber.wait_for(2, timeout=10)
        assert bg.subscriber.counts["stored"] == 1
        deadline = time.monotonic() + 5
        while bg.sweeps < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bg.sweeps >= 2
    finally:
        bg.stop()
    assert not bg.sweeper.is_alive()


def test_background_service_starts_and_stops_its_own_broker(tmp_path, mqtt_url_db):
    settings = SETTINGS.model_copy(
        update={
            "store": SETTINGS.store.model_copy(update={"data_dir": tmp_path}),
            "mqtt": SETTINGS.mqtt.model_copy(update={"port": 0}),
        }
    )
    bg = start_background(settings, mqtt_url_db, sweep=False, client_id="onemap-test-own")
    try:
        assert bg.broker.running()
        conf = (tmp_path / "mqtt" / "mosquitto.conf").read_text()
        assert "allow_anonymous false" in conf and "allow_anonymous true" not in conf
    finally:
        bg.stop()
    assert not bg.broker.running()


def test_without_mosquitto_the_app_keeps_http_intake_and_the_sweeper(tmp_path, mqtt_url_db):
    settings = SETTINGS.model_copy(
        update={
            "store": SETTINGS.store.model_copy(update={"data_dir": tmp_path}),
            "mqtt": SETTINGS.mqtt.model_copy(update={"bin": tmp_path / "no-mosquitto"}),
        }
    )
    bg = start_background(settings, mqtt_url_db)
    try:
        assert bg.broker is None and bg.subscriber is None and bg.mqtt_url is None
        assert bg.sweeper.is_alive()
    finally:
        bg.stop()
