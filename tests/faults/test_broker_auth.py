"""Broker security with a real Mosquitto and a real PostGIS: no anonymous clients, per-gateway
accounts and ACL written from the store, `gateway add|disable` live within a second, a gateway
added by another process usable within seconds, keys out of the messages."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.models import Device
from geodata.settings import Settings
from tests.conftest import _fresh_database, sql_rows, sql_scalar, until
from tests.integration.factories import point
from tests.integration.mqtt_support import close, gateway_client, login, publish_as, refused
from twin import broker_accounts as accounts
from twin.broker import EmbeddedBroker
from twin.gateways import add_gateway, broker_hash, name_problem
from twin.mqtt import Subscriber
from twin.service import start_background

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)
SETTINGS = Settings(mqtt_batch_wait_s=0.02)


@pytest.fixture(scope="module")
def url(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "brokerauth") as u:
        yield u


def new_gateway(url: str, name: str, devices: int = 3) -> str:
    """Gateway ``name`` with gas detectors ``<name>-0`` …; returns its key."""
    with Session(get_engine(url)) as s, s.begin():
        gid, key, _ = add_gateway(s, name)
        s.add_all(
            Device(kind="gas", serial=f"{name}-{i}", geom=point(117.25, 31.82), gateway_id=gid)
            for i in range(devices)
        )
    return key


@pytest.fixture(scope="module")
def keys(url) -> dict[str, str]:
    return {name: new_gateway(url, name) for name in ("gw-a", "gw-b", "gw-c")}


@pytest.fixture(scope="module")
def broker(tmp_path_factory, url, keys) -> Iterator[EmbeddedBroker]:
    """Started after the gateways were added: their accounts are read at start."""
    with EmbeddedBroker(tmp_path_factory.mktemp("mqtt-auth"), port=0, store_url=url) as b:
        yield b


@pytest.fixture
def subscriber(broker, url) -> Iterator[Subscriber]:
    sub = Subscriber(broker.intake_url, url, SETTINGS, broker_acl=True).start()
    assert sub.subscribed
    yield sub
    sub.stop()


def reading(serial: str, seconds: float, value: float = 1.0, **extra) -> str:
    ts = (NOW - timedelta(seconds=seconds)).isoformat()
    return json.dumps({"device": serial, "ts": ts, "value": value, **extra})


def stored(url: str, serial: str) -> int:
    return sql_scalar(
        url,
        "SELECT count(*) FROM reading r JOIN device d ON d.id = r.device_id WHERE d.serial = :s",
        s=serial,
    )


def test_hashes_are_mosquitto_passwd_hashes(tmp_path):
    """The hash mosquitto_passwd writes is the one broker_hash computes from the same salt."""
    passwd = Path("/usr/bin/mosquitto_passwd")  # in the mosquitto package the set-up installs
    file = tmp_path / "pw"
    file.touch()
    subprocess.run([str(passwd), "-b", str(file), "u", "the key"], check=True, timeout=10)
    written = file.read_text().strip().split(":", 1)[1]
    _, seven, iterations, salt, _digest = written.split("$")
    assert seven == "7"
    assert broker_hash("the key", base64.b64decode(salt), int(iterations)) == written
    assert broker_hash("the key").startswith("$7$101$") and broker_hash("x") != broker_hash("x")


def test_gateway_names_that_break_topics_or_accounts_are_refused(conn):
    for bad in ("a/b", "a+", "#", "a b", "a\tb", "a\x00b", "a:b", "$SYS", "", "x" * 65):
        assert name_problem(bad) is not None, bad
    assert name_problem(accounts.INTAKE_USER) is not None
    assert name_problem("building-7") is None and name_problem("网关_1.东") is None
    with (
        Session(bind=conn, join_transaction_mode="create_savepoint") as s,
        pytest.raises(ValueError, match="may not contain '/'"),
    ):
        add_gateway(s, "evil/#")
    assert conn.execute(text("SELECT count(*) FROM gateway WHERE name LIKE 'evil%'")).scalar() == 0


def test_account_files_are_private_and_grant_only_own_topics(broker, keys):
    for name in (accounts.PASSWORD_FILE, accounts.ACL_FILE, accounts.INTAKE_PASSWORD_FILE):
        assert stat.S_IMODE((broker.folder / name).stat().st_mode) == 0o600, name
    users = [line.split(":")[0] for line in (broker.folder / "passwords").read_text().split()]
    assert users == [accounts.INTAKE_USER, "gw-a", "gw-b", "gw-c"]
    acl = (broker.folder / "acl").read_text()
    assert "topic read onemap/+/readings" in acl and acl.count("topic read") == 1
    assert "user gw-a\ntopic write onemap/gw-a/readings" in acl and "#" not in acl
    conf = broker.conf.read_text()
    assert "allow_anonymous false" in conf and "use_username_as_clientid true" in conf
    for key in keys.values():
        assert key not in (broker.folder / "passwords").read_text()


def test_anonymous_and_wrong_passwords_are_refused(broker, keys):
    assert refused(broker, None, None) == "Not authorized"
    assert refused(broker, "gw-a", "gk_wrong") == "Not authorized"
    assert refused(broker, "gw-a", keys["gw-b"]) == "Not authorized"
    assert refused(broker, accounts.INTAKE_USER, "guess") == "Not authorized"
    assert refused(broker, "gw-a", keys["gw-a"]) is None


def test_a_gateway_cannot_publish_to_another_gateways_topic(broker, subscriber, keys, url):
    before = subscriber.counts["messages"]
    publish_as(broker, "gw-a", keys["gw-a"], [reading("gw-b-0", 30)], "onemap/gw-b/readings")
    publish_as(broker, "gw-b", keys["gw-b"], [reading("gw-b-1", 30)])  # goes through
    assert subscriber.wait_for(before + 1, timeout=10), subscriber.counts
    time.sleep(0.3)  # anything else delivered would have arrived by now
    assert subscriber.counts["messages"] == before + 1
    assert stored(url, "gw-b-0") == 0 and stored(url, "gw-b-1") == 1


def test_nobody_else_receives_the_readings(broker, subscriber, keys, url):
    """A gateway subscribing to '#' or to every gateway's topic receives nothing, nor takes over
    the intake's session with its client id; anonymous and wrong-password clients get no
    connection at all, so no subscription."""
    spy, reason = login(broker, "gw-a", keys["gw-a"], client_id=accounts.INTAKE_USER)
    got: list[str] = []
    spy.on_message = lambda _c, _u, m: got.append(m.topic)
    try:
        assert reason is None
        for topic in ("#", "onemap/+/readings", "onemap/gw-b/readings", "$SYS/#"):
            spy.subscribe(topic, qos=1)
        for user, password in ((None, None), ("gw-a", "wrong")):
            other, why = login(broker, user, password)
            other.subscribe("#")
            close(other)
            assert why == "Not authorized"
        before = subscriber.counts["messages"]
        time.sleep(0.2)
        publish_as(broker, "gw-b", keys["gw-b"], [reading("gw-b-2", s) for s in range(1, 21)])
        assert subscriber.wait_for(before + 20, timeout=10), subscriber.counts
        time.sleep(0.3)
        assert subscriber.subscribed  # not kicked off by the spy's client id
    finally:
        close(spy)
    assert got == [] and stored(url, "gw-b-2") == 20


def test_readings_without_a_key_are_stored_and_keys_never_reach_the_reject_log(
    broker, subscriber, keys, url
):
    before = subscriber.counts["messages"]
    key = keys["gw-c"]
    messages = [
        reading("gw-c-0", 5),  # the new form: no key
        reading("gw-c-1", 5, key=key),  # the old form, still accepted for one release
        reading("gw-c-2", 5, value=float("inf")).replace("Infinity", "1e999"),  # refused
        json.dumps({"key": key, "device": "gw-c-2", "ts": "soon", "value": 1}),  # refused
        json.dumps({"key": keys["gw-a"], "device": "gw-c-2", "value": 1}),  # another's key
    ]
    publish_as(broker, "gw-c", key, messages)
    assert subscriber.wait_for(before + len(messages), timeout=10), subscriber.counts
    assert (stored(url, "gw-c-0"), stored(url, "gw-c-1"), stored(url, "gw-c-2")) == (1, 1, 0)
    rejects = sql_rows(url, "SELECT reason, payload FROM reading_reject WHERE gateway = 'gw-c'")
    assert len(rejects) == 3
    assert any(r.reason == "unknown gateway or bad key" for r in rejects)
    everything = sql_rows(url, "SELECT payload FROM reading_reject")
    for secret in keys.values():
        assert not any(secret in (r.payload or "") for r in everything)


def test_readings_of_a_gateway_disabled_after_publishing_are_quarantined(broker, url, keys):
    """Queued for the intake while it was away, delivered after the gateway was disabled: the
    subscriber checks the gateway is still active and refuses them with the reason."""
    name = "gw-late"
    key = new_gateway(url, name)
    broker.sync()
    Subscriber(broker.intake_url, url, SETTINGS, broker_acl=True).start().stop()  # session
    publish_as(broker, name, key, [reading(f"{name}-0", 3), reading(f"{name}-1", 3)])
    with get_engine(url).begin() as c:
        c.execute(text("UPDATE gateway SET active = false WHERE name = :n"), {"n": name})
    sub = Subscriber(broker.intake_url, url, SETTINGS, broker_acl=True).start()
    try:
        assert sub.wait_for(2, timeout=10), sub.counts
    finally:
        sub.stop()
    assert stored(url, f"{name}-0") == 0 and stored(url, f"{name}-1") == 0
    reasons = sql_rows(url, "SELECT reason FROM reading_reject WHERE gateway = :n", n=name)
    assert [r.reason for r in reasons] == ["gateway unknown or not active"] * 2


# --- the app and the command line, as separate processes ------------------------------------


@pytest.fixture
def app(tmp_path, url) -> Iterator[tuple[object, dict[str, str]]]:
    """The app's background services on a data folder of its own, and the environment of a
    command run against the same store and folder."""
    settings = Settings(database_url=url, data_dir=tmp_path, mqtt_port=0, mqtt_batch_wait_s=0.02)
    bg = start_background(settings, url, sweep=False, client_id="onemap-intake")
    env = {**os.environ, "DATABASE_URL": url, "ONEMAP_DATA_DIR": str(tmp_path)}
    env.pop("ONEMAP_MQTT_URL", None)
    try:
        assert bg.broker is not None and bg.subscriber is not None and bg.subscriber.subscribed
        yield bg, env
    finally:
        bg.stop()


def twin_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "twin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def first_refusal(broker: EmbeddedBroker, name: str, key: str, since: float) -> float:
    """Seconds from ``since`` to the start of the first login attempt the broker refused (up to
    5 s of attempts; inf if none was refused)."""
    while time.monotonic() - since < 5.0:
        started = time.monotonic()
        if refused(broker, name, key) is not None:
            return started - since
        time.sleep(0.02)
    return float("inf")


def test_gateway_add_and_disable_on_the_command_line_are_live_at_once(app, url):
    bg, env = app
    added = twin_cli(env, "gateway", "add", "gw-cli")
    key = added.stdout.strip()
    assert "reloaded them" in added.stderr
    assert until(lambda: refused(bg.broker, "gw-cli", key) is None, 1.0)
    with Session(get_engine(url)) as s, s.begin():
        gid = s.execute(text("SELECT id FROM gateway WHERE name = 'gw-cli'")).scalar_one()
        s.add(Device(kind="gas", serial="gw-cli-0", geom=point(117.25, 31.82), gateway_id=gid))
    publish_as(bg.broker, "gw-cli", key, [reading("gw-cli-0", 2)])
    assert until(lambda: stored(url, "gw-cli-0") == 1, 5.0)

    connected, reason = login(bg.broker, "gw-cli", key)
    lost = threading.Event()
    connected.on_disconnect = lambda *_a: lost.set()
    try:
        assert reason is None
        twin_cli(env, "gateway", "disable", "gw-cli")
        assert first_refusal(bg.broker, "gw-cli", key, since=time.monotonic()) < 1.0
        # Mosquitto 2.0.11 drops a connected client whose account is gone on SIGHUP
        assert lost.wait(1.0)
    finally:
        close(connected)
    assert bg.broker.running()  # reloaded, not restarted


def test_a_gateway_added_by_another_process_can_publish_within_seconds(app, url):
    """What the simulator does: add_gateway in its own process, no signal to the broker. The
    app's periodic accounts check picks it up without a restart."""
    bg, _env = app
    pid = bg.broker.process.pid
    code = (
        "import sys; from sqlalchemy.orm import Session; from geodata.engine import get_engine;"
        "from twin.gateways import add_gateway;"
        "s = Session(get_engine(sys.argv[1])); print(add_gateway(s, 'gw-other')[1]); s.commit()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = out.stdout.strip()
    added = time.monotonic()
    assert until(lambda: refused(bg.broker, "gw-other", key) is None, 8.0)
    assert time.monotonic() - added < 6.5
    with Session(get_engine(url)) as s, s.begin():
        gid = s.execute(text("SELECT id FROM gateway WHERE name = 'gw-other'")).scalar_one()
        s.add(Device(kind="gas", serial="gw-other-0", geom=point(117.25, 31.82), gateway_id=gid))
    with gateway_client(bg.broker, "gw-other", key) as c:
        c.publish("onemap/gw-other/readings", reading("gw-other-0", 1), qos=1).wait_for_publish(5)
    assert until(lambda: stored(url, "gw-other-0") == 1, 5.0)
    assert bg.broker.process.pid == pid and bg.restarts == 0
