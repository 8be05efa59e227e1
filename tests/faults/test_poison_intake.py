"""Poison readings over MQTT (real Mosquitto) and HTTP, against a real PostGIS: each bad reading is
quarantined in ``reading_reject`` with its reason, the good ones are stored, the stream goes on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from api.readings import blueprint
from geodata.engine import get_engine
from geodata.models import Device
from geodata.settings import Settings
from tests.conftest import _fresh_database, free_port, sql_rows, sql_scalar, until
from tests.integration.factories import point
from tests.integration.mqtt_support import publish_as
from twin.broker import EmbeddedBroker
from twin.gateways import add_gateway
from twin.mqtt import Subscriber
from web.context import SETTINGS_KEY, STORE_URL_KEY

NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = Settings(mqtt_batch_wait_s=0.05, twin_max_body_bytes=50_000)
TOPIC = "onemap/gw-p/readings"
REFUSED = 42.4242  # a value the store's test constraint refuses (see ``store_refuses``)


@pytest.fixture(scope="module")
def url(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "poison") as u:
        yield u


@pytest.fixture(scope="module")
def key(url) -> str:
    with Session(get_engine(url)) as s, s.begin():
        gw, key, _ = add_gateway(s, "gw-p")
        s.add_all(
            Device(kind="gas", serial=f"PG-{i}", geom=point(117.25, 31.82), gateway_id=gw)
            for i in range(12)
        )
    return key


@pytest.fixture(scope="module")
def broker(tmp_path_factory, url, key) -> Iterator[EmbeddedBroker]:
    """The broker, started after gateway gw-p was added (so it has gw-p's account)."""
    with EmbeddedBroker(tmp_path_factory.mktemp("mqtt-poison"), port=0, store_url=url) as b:
        yield b


@contextmanager
def running(broker: EmbeddedBroker, url: str, client_id: str | None = None):
    sub = Subscriber(broker.intake_url, url, SETTINGS, client_id=client_id, broker_acl=True)
    sub.start()
    try:
        yield sub
    finally:
        sub.stop()


@contextmanager
def store_refuses(url: str):
    """A real CHECK constraint on ``reading``: the store itself refuses value 42.4242."""
    with get_engine(url).begin() as c:
        c.execute(
            text(f"ALTER TABLE reading ADD CONSTRAINT poison_test CHECK (value <> {REFUSED})")
        )
    try:
        yield
    finally:
        with get_engine(url).begin() as c:
            c.execute(text("ALTER TABLE reading DROP CONSTRAINT poison_test"))


def publish(broker: EmbeddedBroker, key: str, messages: list[bytes]) -> None:
    """Publish as gateway gw-p to its own topic."""
    publish_as(broker, "gw-p", key, list(messages), TOPIC)


def ts(minutes: float, zone: str = "+00:00") -> str:
    return (NOW - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S") + zone


def good(serial: str, minutes: float, value: float = 1.0) -> dict:
    return {"device": serial, "ts": ts(minutes), "value": value}


def stored(url: str, serial: str) -> int:
    return sql_scalar(
        url,
        "SELECT count(*) FROM reading r JOIN device d ON d.id = r.device_id WHERE d.serial = :s",
        s=serial,
    )


def rejects_since(url: str, last_id: int) -> list[tuple[str, str | None, str | None]]:
    return [
        tuple(r)
        for r in sql_rows(
            url,
            "SELECT reason, payload, gateway FROM reading_reject WHERE id > :i ORDER BY id",
            i=last_id,
        )
    ]


def last_reject(url: str) -> int:
    return sql_scalar(url, "SELECT coalesce(max(id), 0) FROM reading_reject")


# the poison: (raw reading text, a fragment of its reason)
T = ts(3)
POISON: list[tuple[bytes, str]] = [
    (b'{"device": "PG-1", "ts": "%s", "value": NaN}' % T.encode(), "NaN"),
    (b'{"device": "PG-1", "ts": "%s", "value": Infinity}' % T.encode(), "Infinity"),
    (b'{"device": "PG-1", "ts": "%s", "value": 1e400}' % T.encode(), "out of range"),
    (b'{"device": "PG-1", "ts": "%s", "value": 1e300}' % T.encode(), "out of range"),
    (
        b'{"device": "PG-1", "ts": "%s", "value": 1, "payload": {"x": -Infinity}}' % T.encode(),
        "payload.x",
    ),
    (b'{"device": "PG-\\ud800", "ts": "%s", "value": 1}' % T.encode(), "lone surrogate"),
    (b'{"device": "PG-\xed\xa0\x80", "ts": "%s", "value": 1}' % T.encode(), "invalid UTF-8"),
    (b'{"device": "PG-\xff", "ts": "%s", "value": 1}' % T.encode(), "invalid UTF-8"),
    (b'{"device": "PG-1\\u0000", "ts": "%s", "value": 1}' % T.encode(), "NUL"),
    (
        b'{"device": "PG-1", "ts": "%s", "value": 1, "payload": {"n\\u0000": 1}}' % T.encode(),
        "NUL",
    ),
    (b'{"device": "PG-1", "ts": "%s", "value": 1}' % ts(3, "+23:59").encode(), "+23:59"),
    (b'{"device": "PG-1", "ts": "%s", "value": 1}' % ts(3, "-14:30").encode(), "-14:30"),
]


def single(key: str, reading: bytes) -> bytes:
    """One reading as its own MQTT message, the key in front."""
    return b'{"key": "%s", ' % key.encode() + reading[1:]


def test_mqtt_poison_is_quarantined_and_the_stream_goes_on(broker, url, key):
    start = last_reject(url)
    before = [json.dumps({"key": key, **good("PG-2", m)}).encode() for m in range(10, 13)]
    poison = [single(key, r) for r, _ in POISON]
    first, last = (json.dumps(good("PG-3", m)).encode() for m in (20, 21))
    batch_body = b",".join([first, *(r for r, _ in POISON), last])
    batch = b'{"key": "%s", "readings": [%s]}' % (key.encode(), batch_body)
    whole = [
        b'{"key": "%s", "device": "PG-1", "ts": "%s", "value": 1} trailing'
        % (key.encode(), T.encode()),
        b"\xff\xfe\x00 not json",
        b"NaN",
        b'{"key": "%s", "readings": [], "pad": "%s"}' % (key.encode(), b"x" * 60_000),
        b"[" * 5000 + b"]" * 5000,
    ]
    after = [json.dumps({"key": key, **good("PG-4", m)}).encode() for m in range(30, 35)]
    messages = [*before, *poison, batch, *whole, *after]
    # the gateway without a key (the broker authenticated it): a lone surrogate and NUL; a
    # message with a wrong key
    no_key = b'{"device": "\\ud800\\u0000", "value": NaN}'
    wrong_key = b'{"key": "gk_wrong", "device": "PG-1", "value": 1}'
    with running(broker, url) as sub:
        publish(broker, key, messages)
        publish(broker, key, [no_key, wrong_key])
        assert sub.wait_for(len(messages) + 2, timeout=30), sub.counts
        counts = dict(sub.counts)
    assert (stored(url, "PG-2"), stored(url, "PG-3"), stored(url, "PG-4")) == (3, 2, 5)
    assert stored(url, "PG-1") == 0
    assert counts.get("store_errors", 0) == 0 and counts.get("intake_errors", 0) == 0
    assert counts["stored"] == 10
    rejects = rejects_since(url, start)
    # every poison reading twice (alone, then inside the batch); the whole-message ones; the
    # keyless poison and the wrong key
    assert counts["rejected"] == len(rejects) == 2 * len(POISON) + len(whole) + 2
    reasons = [r for r, _, _ in rejects]
    for _, fragment in POISON:
        assert sum(fragment in r for r in reasons) >= 2, (fragment, reasons)
    assert sum("not JSON" in r for r in reasons) == 3  # trailing text, bytes, nesting
    assert any("must be a JSON object" in r for r in reasons)  # a bare NaN
    assert any("larger than 50000 bytes" in r for r in reasons)
    assert any("unknown gateway or bad key" in r for r in reasons)
    for _, payload, _ in rejects:
        assert payload is not None and len(payload) <= 2000
        assert key not in payload  # the gateway key never lands in the reject log
    assert any("PG-\\udced\\udca0\\udc80" in p for _, p, _ in rejects)  # raw bytes, escaped
    assert any("<NaN>" in p for _, p, _ in rejects)


def test_mqtt_batch_the_store_refuses_is_split_and_the_bad_reading_quarantined(broker, url, key):
    start = last_reject(url)
    readings = [good("PG-5", m) for m in range(1, 8)]
    readings.insert(3, good("PG-5", 50, REFUSED))
    batch = json.dumps({"key": key, "readings": readings}).encode()
    alone = json.dumps({"key": key, **good("PG-6", 1, REFUSED)}).encode()
    later = [json.dumps({"key": key, **good("PG-6", m)}).encode() for m in range(2, 6)]
    with store_refuses(url), running(broker, url) as sub:
        publish(broker, key, [batch, alone, *later])
        assert sub.wait_for(2 + len(later), timeout=30), sub.counts
        counts = dict(sub.counts)
    assert stored(url, "PG-5") == 7 and stored(url, "PG-6") == 4
    assert counts["isolated_batches"] >= 1 and counts.get("store_errors", 0) == 0
    rejects = rejects_since(url, start)
    assert len(rejects) == 2 == counts["rejected"]
    for reason, payload, gateway in rejects:
        assert "store refused the reading: CheckViolation" in reason
        assert str(REFUSED) in payload and gateway == "gw-p"


def test_mqtt_store_down_is_retried_not_quarantined(broker, url, key):
    start = last_reject(url)
    down = make_url(url).set(port=free_port()).render_as_string(hide_password=False)
    msg = json.dumps({"key": key, **good("PG-7", 1)}).encode()
    with running(broker, down, client_id="onemap-poison-down") as sub:
        publish(broker, key, [msg])
        assert until(lambda: sub.counts["store_errors"] >= 2, 10), sub.counts
        assert sub.counts["messages"] == 0
    assert last_reject(url) == start and stored(url, "PG-7") == 0
    # the unacknowledged message comes back once the store is there
    with running(broker, url, client_id="onemap-poison-down") as sub:
        assert sub.wait_for(1, timeout=20), sub.counts
    assert stored(url, "PG-7") == 1 and last_reject(url) == start


# --- HTTP ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(url, key):
    app = Flask(__name__)
    app.config[SETTINGS_KEY] = Settings(twin_max_batch=100, twin_max_body_bytes=200_000)
    app.config[STORE_URL_KEY] = url
    app.register_blueprint(blueprint)
    return app.test_client()


def post(http, key: str, body: bytes):
    return http.post(
        "/api/readings",
        data=body,
        headers={"X-Gateway-Key": key},
        content_type="application/json",
    )


def test_http_poison_readings_are_listed_and_the_good_ones_stored(http, url, key):
    start = last_reject(url)
    goods = [json.dumps(good("PG-8", m)).encode() for m in (1, 2)]
    body = b'{"readings": [%s]}' % b",".join([goods[0], *(r for r, _ in POISON), goods[1]])
    r = post(http, key, body)
    assert r.status_code == 200, r.data
    out = r.get_json()
    assert (out["stored"], out["rejected"]) == (2, len(POISON))
    listed = {x["index"]: x["reason"] for x in out["reasons"]}
    assert sorted(listed) == list(range(1, len(POISON) + 1))
    for i, (_, fragment) in enumerate(POISON, start=1):
        assert fragment in listed[i], (fragment, listed[i])
    assert stored(url, "PG-8") == 2
    rejects = rejects_since(url, start)
    assert [reason for reason, _, _ in rejects] == [listed[i] for i in sorted(listed)]
    assert all(gw == "gw-p" and payload for _, payload, gw in rejects)


def test_http_reading_the_store_refuses_is_listed_and_the_rest_stored(http, url, key):
    readings = [good("PG-9", m) for m in range(1, 6)]
    readings.insert(2, good("PG-9", 30, REFUSED))
    with store_refuses(url):
        r = post(http, key, json.dumps({"readings": readings}).encode())
    assert r.status_code == 200, r.data
    out = r.get_json()
    assert (out["stored"], out["rejected"]) == (5, 1)
    assert out["reasons"][0]["index"] == 2
    assert "CheckViolation" in out["reasons"][0]["reason"]
    assert stored(url, "PG-9") == 5


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"NaN", 400),
        (b'{"readings": NaN}', 400),
        (b"\xff\xfe{}", 400),
        (b"[" * 50_000 + b"]" * 50_000, 400),
        (b'{"readings": [1, "x", null, {"device": {"a": NaN}}]}', 200),
    ],
)
def test_http_whole_body_problems_stay_4xx_never_500(http, key, body, status):
    r = post(http, key, body)
    assert r.status_code == status, r.data
    if status == 200:
        assert r.get_json()["rejected"] == 4
