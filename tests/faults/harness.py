"""Fault injection on a real OneMap: the app run as ``make run`` runs it, loaders that record
exactly which readings were acknowledged, and ``kill -9`` of its processes.

:class:`AppProcess` runs ``python app.py`` on its own data folder (its own embedded PostgreSQL,
its own Mosquitto, its own web port, a small demo city). :class:`MqttLoader` publishes readings
as a gateway with QoS 1 and counts a reading as acknowledged when the broker's PUBACK for its
message arrives; :class:`HttpLoader` posts batches to ``/api/readings`` and counts what a 200
answer accepted. :func:`missing` lists the acknowledged readings the store does not hold.

Used by ``tests/faults`` and ``bench/faults.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from paho.mqtt.client import MQTTMessageInfo
from sqlalchemy import text

from geodata.embedded import EmbeddedStore
from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import embedded_store
from tests.conftest import free_port
from twin.mqtt import client

Reading = tuple[str, datetime]
"""A reading's identity in the store: (device serial, ts)."""

DEMO_SCALE = 0.15
"""The smallest demo city: a fresh data folder is ready in about 10 s."""
FOREIGN_ENV = ("DATABASE_URL", "ONEMAP_DATABASE_URL", "ONEMAP_MQTT_URL")
"""Settings of the surrounding environment that would point the app elsewhere."""


def wait_until(fact: Callable[[], bool], seconds: float, step: float = 0.1) -> float | None:
    """Seconds until ``fact()`` held, or None if it did not within ``seconds``."""
    started = time.monotonic()
    while True:
        try:
            if fact():
                return time.monotonic() - started
        except Exception:  # a probe of a process that is down: not yet
            pass
        if time.monotonic() - started > seconds:
            return None
        time.sleep(step)


def _first_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def kill9(pid: int | None) -> None:
    """``kill -9 pid`` (nothing if it is already gone)."""
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class AppProcess:
    """``python app.py`` on a data folder of its own, restartable after a crash."""

    data_dir: Path
    scale: float = DEMO_SCALE
    pg_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    name: str = "app"
    """Its log files' prefix (several processes may share a data folder)."""
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
        return env | {
            "ONEMAP_DATA_DIR": str(self.data_dir),
            "ONEMAP_EMBEDDED_PORT": str(self.pg_port),
            "ONEMAP_MQTT_PORT": "0",
            "ONEMAP_HOST": "127.0.0.1",
            "ONEMAP_PORT": str(self.web_port),
            "ONEMAP_DEMO_SCALE": str(self.scale),
            **self.extra_env,
        }

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, embedded_port=self.pg_port, database_url=None)

    def cluster(self) -> EmbeddedStore:
        return embedded_store(self.settings())

    @property
    def store_url(self) -> str:
        return self.cluster().url()

    # --- processes ----------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> float:
        """Start the app (as ``make run`` does) and wait until ``/readyz`` says ready;
        returns the seconds it took."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115 (kept open)
        self.starts += 1
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=PROJECT_ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if wait_until(lambda: self.ready() or self.exited(), timeout) is None:
            raise TimeoutError(f"app not ready in {timeout} s; see {self.data_dir}")
        if self.exited():
            raise RuntimeError(f"app exited ({self.proc and self.proc.returncode}): {self.log()}")
        return time.monotonic() - started

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def log(self, tail: int = 3000) -> str:
        logs = sorted(self.data_dir.glob(f"{self.name}-*.log"))
        return logs[-1].read_text(errors="replace")[-tail:] if logs else ""

    def readyz(self) -> dict:
        """``GET /readyz`` (the body of a 200 or a 503)."""
        try:
            with urllib.request.urlopen(self.base_url + "/readyz", timeout=2) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    def ready(self) -> bool:
        try:
            return self.readyz().get("status") == "ready"
        except (OSError, ValueError):
            return False

    def app_pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def postmaster_pid(self) -> int | None:
        return _first_int(self.cluster().data_dir / "postmaster.pid")

    def broker_pid(self) -> int | None:
        return _first_int(self.data_dir / "mqtt" / "mosquitto.pid")

    def mqtt_port(self) -> int:
        port = _first_int(self.data_dir / "mqtt" / "kept-port")
        if port is None:
            raise RuntimeError("the app has not started its broker yet")
        return port

    def kill_app(self) -> None:
        """``kill -9`` the app process (its broker and PostgreSQL are left running)."""
        if self.proc is not None:
            kill9(self.proc.pid)
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop the app (SIGTERM), then whatever of its processes a crash left behind."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        broker = self.broker_pid()
        if broker is not None and _is_mosquitto(broker):
            kill9(broker)
        cluster = self.cluster()
        if cluster.initialized():
            cluster.stop()

    # --- the data -----------------------------------------------------------------------
    def sql(self, sql: str, **params: object) -> list:
        with get_engine(self.store_url).connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def add_gateway(self, name: str) -> tuple[str, list[str]]:
        """``python -m twin gateway add NAME --devices-of-area ROOT``: (key, the serials of its
        gas detectors, whose reading of 0 %LEL is valid and raises nothing)."""
        root = self.sql("SELECT code FROM area WHERE parent_id IS NULL ORDER BY id LIMIT 1")[0][0]
        done = subprocess.run(
            [sys.executable, "-m", "twin", "gateway", "add", name, "--devices-of-area", root],
            cwd=PROJECT_ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        serials = self.sql(
            "SELECT d.serial FROM device d JOIN gateway g ON g.id = d.gateway_id "
            "WHERE g.name = :n AND d.kind = 'gas' AND d.serial IS NOT NULL ORDER BY d.id",
            n=name,
        )
        return done.stdout.strip(), [s for (s,) in serials]

    def stored(self, gateway: str, since: datetime) -> set[Reading]:
        rows = self.sql(
            "SELECT d.serial, r.ts FROM reading r JOIN device d ON d.id = r.device_id "
            "JOIN gateway g ON g.id = d.gateway_id WHERE g.name = :n AND r.ts >= :t",
            n=gateway,
            t=since,
        )
        return {(serial, ts) for serial, ts in rows}


def _is_mosquitto(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip().startswith("mosquitto")
    except OSError:
        return False


class Readings:
    """Distinct readings: each device in turn, timestamps 100 µs apart (so readings taken in
    one second of a run span 0.1 s per 1,000: later runs from a later start never overlap)."""

    def __init__(self, serials: list[str], start: datetime) -> None:
        self.serials = serials
        self.start = start
        self._n = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> list[Reading]:
        with self._lock:
            first, self._n = self._n, self._n + count
        return [
            (self.serials[i % len(self.serials)], self.start + timedelta(microseconds=100 * i))
            for i in range(first, first + count)
        ]


def as_json(readings: Iterable[Reading], kind_value: float = 0.0) -> list[dict]:
    return [
        {"device": serial, "ts": ts.isoformat(), "value": kind_value} for serial, ts in readings
    ]


class Loader(threading.Thread):
    """A thread sending readings until stopped; ``acked`` holds what was acknowledged."""

    def __init__(self, name: str, readings: Readings, per_send: int, interval: float) -> None:
        super().__init__(name=name, daemon=True)
        self.readings, self.per_send, self.interval = readings, per_send, interval
        self.acked: set[Reading] = set()
        self.sent = 0
        self.failures = 0
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def finish(self, timeout: float = 10.0) -> None:
        self._stop_event.set()
        self.join(timeout)

    def _acknowledged(self, readings: Iterable[Reading]) -> None:
        with self._lock:
            self.acked.update(readings)


class MqttLoader(Loader):
    """Publishes as ``gateway`` (QoS 1) on the app's broker; PUBACK = acknowledged."""

    def __init__(
        self,
        port: int,
        gateway: str,
        key: str,
        readings: Readings,
        per_send: int = 20,
        interval: float = 0.02,
        topic: str = "onemap/{}/readings",
    ) -> None:
        super().__init__("fault-mqtt-loader", readings, per_send, interval)
        self.topic = topic.format(gateway)
        self.acked_at: dict[Reading, float] = {}
        """When each reading's PUBACK arrived (``time.monotonic()``)."""
        self._pending: dict[int, list[Reading]] = {}
        self._client = client(f"fault-loader-{gateway}", clean=True)
        self._client.username_pw_set(gateway, key)
        self._client.reconnect_delay_set(0.2, 1)  # type: ignore[arg-type]  # seconds, see twin.mqtt
        self._client.on_publish = self._on_publish
        self._client.connect_async("127.0.0.1", port, keepalive=10)

    def _on_publish(self, _client, _userdata, mid, reason_code, _props) -> None:
        at = time.monotonic()
        with self._lock:
            readings = self._pending.pop(mid, [])
            if not reason_code.is_failure:
                self.acked_at.update(dict.fromkeys(readings, at))
        if not reason_code.is_failure:
            self._acknowledged(readings)

    def run(self) -> None:
        self._client.loop_start()
        try:
            while not self._stop_event.wait(self.interval):
                if not self._client.is_connected():
                    continue
                batch = self.readings.take(self.per_send)
                body = json.dumps({"readings": as_json(batch)})
                with self._lock:  # the PUBACK may arrive before publish() returns
                    info: MQTTMessageInfo = self._client.publish(self.topic, body, qos=1)
                    self._pending[info.mid] = batch
                self.sent += len(batch)
            deadline = time.monotonic() + 5  # the last PUBACKs
            while self._pending and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            self._client.disconnect()
            self._client.loop_stop()


class HttpLoader(Loader):
    """Posts batches to ``/api/readings``; what a 200 answer did not refuse is acknowledged."""

    def __init__(
        self, base_url: str, key: str, readings: Readings, per_send: int = 20, interval=0.05
    ) -> None:
        super().__init__("fault-http-loader", readings, per_send, interval)
        self.url, self.key = base_url + "/api/readings", key
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            batch = self.readings.take(self.per_send)
            status, refused = self._post(batch)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.sent += len(batch)
            if status == 200:
                self._acknowledged(r for i, r in enumerate(batch) if i not in refused)
            else:
                self.failures += 1

    def _post(self, batch: list[Reading]) -> tuple[int, set[int]]:
        body = json.dumps({"readings": as_json(batch)}).encode()
        request = urllib.request.Request(
            self.url,
            body,
            {"Content-Type": "application/json", "X-Gateway-Key": self.key},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as r:
                answer = json.loads(r.read())
                return r.status, {item["index"] for item in answer.get("reasons", [])}
        except urllib.error.HTTPError as exc:
            return exc.code, set()
        except OSError:
            return 0, set()  # no answer: the app is down


def missing(app: AppProcess, gateway: str, since: datetime, acked: set[Reading]) -> set[Reading]:
    """The acknowledged readings the store does not hold."""
    return acked - app.stored(gateway, since)


def settle(app: AppProcess, gateway: str, since: datetime, acked: set[Reading], seconds=30.0):
    """Wait until every acknowledged reading is stored (or ``seconds`` pass); the missing."""
    wait_until(lambda: not missing(app, gateway, since, acked), seconds, step=0.5)
    return missing(app, gateway, since, acked)


def now_utc() -> datetime:
    return datetime.now(UTC)
