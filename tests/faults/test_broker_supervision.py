"""The embedded Mosquitto's supervision with real processes: an orphan of a crashed run is
stopped, the port is kept with the data folder, a foreign holder is a clear error, and a broker
killed with SIGKILL is restarted on the same port while the subscriber reconnects."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.models import Device
from geodata.settings import Settings
from tests.conftest import _fresh_database
from tests.integration.factories import point
from tests.integration.mqtt_support import publish_as
from twin import broker_procs as procs
from twin.broker import KEPT_PORT, PID_FILE, BrokerPortHeld, EmbeddedBroker
from twin.gateways import add_gateway
from twin.service import start_background

ROOT = Path(__file__).resolve().parents[2]


def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def crashed_run(folder: Path) -> tuple[int, int]:
    """Start a broker of ``folder`` in another Python process that then dies by SIGKILL,
    leaving its Mosquitto behind: (port, pid of the orphan)."""
    code = (
        "import os, signal, sys; from pathlib import Path; from twin.broker import EmbeddedBroker;"
        "b = EmbeddedBroker(Path(sys.argv[1]), 0).start();"
        "print(b.port, b.process.pid, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == -signal.SIGKILL, out.stderr
    port, pid = map(int, out.stdout.split())
    return port, pid


def test_an_orphan_of_a_crashed_run_is_stopped_and_its_port_reused(tmp_path):
    port, orphan = crashed_run(tmp_path)
    assert not procs.gone(orphan) and listening(port)
    assert procs.parent(orphan) != os.getpid()  # really orphaned: its owner is dead
    with EmbeddedBroker(tmp_path, port=0) as b:
        assert procs.gone(orphan)
        assert b.port == port and listening(port)
        assert b.process.pid != orphan
        assert procs.listeners(port) == [b.process.pid]
        assert (tmp_path / PID_FILE).read_text().split() == [str(b.process.pid), str(os.getpid())]
    assert not (tmp_path / PID_FILE).exists()


def test_a_pid_file_naming_another_process_kills_nothing(tmp_path):
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        tmp_path.mkdir(exist_ok=True)
        (tmp_path / PID_FILE).write_text(f"{bystander.pid}\n1\n")
        with EmbeddedBroker(tmp_path, port=0) as b:
            assert b.running()
            assert bystander.poll() is None  # not a mosquitto of this folder: left alone
    finally:
        bystander.kill()
        bystander.wait()


def test_the_port_is_kept_with_the_data_folder(tmp_path):
    with socket.socket() as taken:  # the configured port is taken at the first start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        configured = taken.getsockname()[1]
        with EmbeddedBroker(tmp_path, port=configured) as first:
            port = first.port
        assert port != configured
    assert (tmp_path / KEPT_PORT).read_text().strip() == str(port)
    with EmbeddedBroker(tmp_path, port=0) as second:
        assert second.port == port and listening(port)
    with EmbeddedBroker(tmp_path, port=configured) as third:  # configured now free: still kept
        assert third.port == port
    assert not listening(port)


def test_a_kept_port_held_by_a_foreign_listener_is_a_clear_error(tmp_path):
    with EmbeddedBroker(tmp_path, port=0) as b:
        port = b.port
    with socket.socket() as foreign:
        foreign.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        foreign.bind(("127.0.0.1", port))
        foreign.listen()
        broker = EmbeddedBroker(tmp_path, port=0)
        with pytest.raises(BrokerPortHeld) as err:
            broker.start()
        assert f"MQTT port {port}" in str(err.value)
        assert f"pid {os.getpid()}" in str(err.value)
        assert err.value.pids == [os.getpid()]
        assert broker.process is None
        assert (tmp_path / KEPT_PORT).read_text().strip() == str(port)  # not silently moved


@pytest.fixture(scope="module")
def watch_db(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "brokerwatch") as url:
        yield url


def test_a_killed_broker_is_restarted_on_the_same_port_and_intake_goes_on(tmp_path, watch_db):
    with Session(get_engine(watch_db)) as s, s.begin():
        gw, key, _ = add_gateway(s, "gw-w")
        s.add(Device(kind="gas", serial="W-1", geom=point(117.25, 31.82), gateway_id=gw))
    settings = Settings(
        database_url=watch_db, data_dir=tmp_path, mqtt_port=0, mqtt_batch_wait_s=0.02
    )
    bg = start_background(settings, watch_db, sweep=False, client_id="onemap-test-watch")
    try:
        assert bg.broker is not None and bg.subscriber is not None and bg.subscriber.subscribed
        port, old = bg.broker.port, bg.broker.process.pid
        os.kill(old, signal.SIGKILL)
        assert until(lambda: not bg.subscriber.subscribed, 5)
        started = time.monotonic()
        assert until(lambda: bg.restarts == 1 and listening(port), 5)
        assert bg.broker.port == port and bg.broker.process.pid != old
        assert procs.listeners(port) == [bg.broker.process.pid]
        assert time.monotonic() - started < 5
        assert until(lambda: bg.subscriber.subscribed, 15)  # paho reconnected and resubscribed
        ts = datetime.now(UTC).replace(microsecond=0).isoformat()
        payload = {"device": "W-1", "ts": ts, "value": 3.5}
        publish_as(bg.broker, "gw-w", key, [json.dumps(payload)])  # the restarted broker's
        assert bg.subscriber.wait_for(1, timeout=15), bg.subscriber.counts
        assert bg.subscriber.counts["stored"] == 1
        with get_engine(watch_db).connect() as c:
            stored = c.execute(text("SELECT count(*) FROM reading WHERE value = 3.5")).scalar()
        assert stored == 1
    finally:
        bg.stop()
    assert not bg.watcher.is_alive() and not bg.broker.running()
    assert not listening(port)
