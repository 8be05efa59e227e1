"""The MQTT readings subscriber: batches broker messages into :func:`twin.intake.ingest`.

Topic ``onemap/<gateway>/readings`` (the ``+`` of ``mqtt_topic`` names the gateway). Payload:
one reading ``{"device": …, "ts": …, "value": …, "payload": {…}}`` or a batch
``{"readings": [{…}, …]}``. Who sent it: when the broker authenticates gateways and lets each
publish only to its own topic (the embedded Mosquitto, or an external broker with
``mqtt_broker_acl``), the topic names the gateway, which must be active. Otherwise the message
must carry the gateway's key (``"key": K``, SHA-256 compared with ``gateway.key_hash``). The old
form with the key in the message is still accepted everywhere for one release: a key that is
present is checked.
Messages with a bad key, bad JSON (including ``NaN``/``Infinity`` and invalid UTF-8 outside a
string), a bad shape or more than ``twin.max_body_bytes`` bytes are counted, written to
``reading_reject`` (bounded, without the key) and acknowledged; a bad reading inside a message is
refused alone (:mod:`twin.poison`). They never stop the subscriber.

Delivery is at least once: QoS 1, a persistent session, and messages acknowledged only after the
batch is committed (paho's ``manual_ack``); idempotent storage makes redelivery harmless. paho
reconnects on its own; a store that is unavailable (:func:`geodata.availability.transient`) is
retried with back-off, holding the batch; a store that refuses the batch for any other reason
gets it split to isolate the refused readings, which are quarantined and acknowledged.
"""

from __future__ import annotations

import hmac
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import text

from geodata.availability import transient
from geodata.engine import get_engine
from geodata.settings import Settings
from twin import poison
from twin.gateways import hash_key
from twin.intake import _raw, ingest, record_rejects
from twin.quarantine import describe, record_safely, store_batch

log = logging.getLogger("onemap.mqtt")

KEYS_TTL_S = 1.0
"""How long the active gateways read from the store are trusted: a disabled gateway's messages
are refused within this time (a gateway not found is looked up again at once)."""


class Clock(Protocol):
    def now(self) -> datetime: ...


class _UTCClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes | bytearray
    mid: int
    qos: int


def parse_url(url: str) -> tuple[str, int, str | None, str | None]:
    """host, port, username, password of ``mqtt://[user:pass@]host[:port]``."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    return parts.hostname or "127.0.0.1", parts.port or 1883, parts.username, parts.password


def gateway_of(topic: str, topic_filter: str) -> str | None:
    """The topic level that matches the filter's ``+`` (the gateway name)."""
    levels, pattern = topic.split("/"), topic_filter.split("/")
    if "+" not in pattern or len(levels) != len(pattern):
        return None
    return levels[pattern.index("+")] or None


def client(client_id: str, clean: bool = True) -> mqtt.Client:
    """A paho 2.x client (version-2 callbacks, MQTT 3.1.1)."""
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean,
        protocol=mqtt.MQTTv311,
    )


class Subscriber:
    """Consumes readings from ``mqtt_url`` into the store at ``store_url`` (a thread)."""

    def __init__(
        self,
        mqtt_url: str,
        store_url: str,
        settings: Settings,
        clock: Clock | None = None,
        client_id: str | None = None,
        broker_acl: bool | None = None,
    ) -> None:
        self.settings = settings
        self.broker_acl = settings.mqtt.broker_acl if broker_acl is None else broker_acl
        """The broker authenticates gateways and keeps each to its own topic (None: as set)."""
        self.store_url = store_url
        self.clock = clock or _UTCClock()
        self.topic = settings.mqtt.topic
        self.host, self.port, user, password = parse_url(mqtt_url)
        self.counts: Counter[str] = Counter()
        self.incidents: list[int] = []
        self._queue: queue.Queue[_Message] = queue.Queue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        """Set once the broker acknowledged the subscription (before: messages would be lost)."""
        self._keys: dict[str, str] = {}
        self._keys_at = 0.0
        self._batch_refreshed = False
        self._client = client(client_id or f"onemap-intake-{uuid.uuid4().hex[:8]}", clean=False)
        self._client.manual_ack_set(True)
        if user:
            self._client.username_pw_set(user, password)
        # paho annotates the delays as int; they are seconds added to time.time(), 0.5 works
        self._client.reconnect_delay_set(0.5, 10)  # type: ignore[arg-type]
        self._client.max_inflight_messages_set(1000)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._worker = threading.Thread(target=self._run, name="onemap-mqtt-intake", daemon=True)

    # --- paho callbacks (network thread) ----------------------------------------------------
    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        client.subscribe(self.topic, qos=1)
        log.info("MQTT subscriber connected to %s:%s (%s)", self.host, self.port, self.topic)

    def _on_subscribe(self, _client, _userdata, _mid, reason_codes, _props) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.warning("MQTT subscription to %s refused: %s", self.topic, reason_codes)
            return
        self._subscribed.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:
        self._subscribed.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        self._queue.put(_Message(msg.topic, msg.payload, msg.mid, msg.qos))

    # --- life cycle -------------------------------------------------------------------------
    def start(self, wait: float = 10.0) -> Subscriber:
        """Connect (retrying in the background) and start consuming; waits up to ``wait``
        seconds for the broker to acknowledge the subscription."""
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        self._worker.start()
        if wait and not self._subscribed.wait(wait):
            log.warning("MQTT broker %s:%s not reachable yet; still trying", self.host, self.port)
        return self

    def stop(self, drain: float = 5.0) -> None:
        """Finish the queued messages (up to ``drain`` seconds), then disconnect."""
        deadline = time.monotonic() + drain
        while not self._queue.empty() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        self._worker.join(drain + 5)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def subscribed(self) -> bool:
        """Connected, and the broker acknowledged the subscription."""
        return self._subscribed.is_set()

    @property
    def consuming(self) -> bool:
        """The worker that stores the messages is running."""
        return self._worker.is_alive() and not self._stop.is_set()

    @property
    def backlog(self) -> int:
        """Messages received and not yet stored."""
        return self._queue.qsize()

    def wait_for(self, total_messages: int, timeout: float = 30.0) -> bool:
        """Wait until ``total_messages`` messages have been handled (tests, bench)."""
        deadline = time.monotonic() + timeout
        while self.counts["messages"] < total_messages:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # --- the worker -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            if not batch:
                continue
            if not self._store(batch):
                return  # unacked: the broker redelivers to the persistent session
            for m in batch:
                if m.qos:
                    self._client.ack(m.mid, m.qos)
            self.counts["messages"] += len(batch)

    def _store(self, batch: list[_Message]) -> bool:
        """Handle ``batch`` until it is done (True) or the subscriber stops (False). A transient
        store failure is retried with back-off; any other failure quarantines the messages."""
        delay = 0.2
        error: BaseException | None = None
        while True:
            try:
                if error is None:
                    self._handle(batch)
                else:
                    self._quarantine(batch, error)
                return True
            except Exception as exc:
                if not transient(exc):
                    if error is not None:
                        log.error(
                            "%d MQTT messages could not even be quarantined; dropped: %s",
                            len(batch),
                            describe(exc),
                        )
                        self.counts["dropped"] += len(batch)
                        return True
                    log.exception("intake of %d MQTT messages failed; quarantining", len(batch))
                    self.counts["intake_errors"] += 1
                    error = exc
                    continue
                log.warning(
                    "store unavailable for %d MQTT messages (%s); retrying",
                    len(batch),
                    describe(exc),
                )
                self.counts["store_errors"] += 1
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, 10.0)

    def _take(self) -> list[_Message]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.mqtt.batch_wait_s
        while len(batch) < self.settings.mqtt.batch_size:
            left = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get_nowait() if left <= 0 else self._queue.get(timeout=left)
                )
            except queue.Empty:
                break
        return batch

    def _key_hashes(self, conn, force: bool = False) -> dict[str, str]:
        """Active gateways' key hashes by name, read again after KEYS_TTL_S (or when forced)."""
        if force or time.monotonic() - self._keys_at > KEYS_TTL_S:
            rows = conn.execute(text("SELECT name, key_hash FROM gateway WHERE active")).all()
            self._keys = {name: h for name, h in rows}
            self._keys_at = time.monotonic()
        return self._keys

    def _accepts(self, keys: dict[str, str], gateway: str, key: object) -> bool:
        expected = keys.get(gateway)
        if expected is None:
            return False
        if key is None:
            return self.broker_acl
        return (
            isinstance(key, str)
            and poison.text_problem(key) is None
            and hmac.compare_digest(hash_key(key), expected)
        )

    def _auth_problem(self, conn, gateway: str, key: object) -> str | None:
        """Why a message on ``gateway``'s topic (with ``key`` from the message, if any) is not
        accepted, else None. A miss reads the gateways again, at most once per batch."""
        if self._accepts(self._key_hashes(conn), gateway, key):
            return None
        if not self._batch_refreshed:
            self._batch_refreshed = True  # a new gateway, or a rotated key
            if self._accepts(self._key_hashes(conn, force=True), gateway, key):
                return None
        if key is None and self.broker_acl:
            return "gateway unknown or not active"
        if key is None:
            return "no gateway key (this broker does not authenticate gateways)"
        return "unknown gateway or bad key"

    def _parse(
        self, conn, batch: list[_Message]
    ) -> tuple[list[tuple[str | None, str, object]], dict[str, list[object]]]:
        """Whole-message rejects and the readings of each authenticated gateway."""
        per_gateway: dict[str, list[object]] = {}
        rejects: list[tuple[str | None, str, object]] = []
        self._batch_refreshed = False
        limit = self.settings.twin.max_body_bytes
        for m in batch:
            gateway = gateway_of(m.topic, self.topic)
            if len(m.payload) > limit:
                rejects.append((gateway, f"message larger than {limit} bytes", m.payload))
                continue
            try:
                body = poison.loads(m.payload)
            except ValueError as exc:
                rejects.append((gateway, f"message is not JSON: {exc}", m.payload))
                continue
            if not isinstance(body, dict):
                rejects.append((gateway, "message must be a JSON object", body))
                continue
            key = body.pop("key", None)
            if gateway is None:
                rejects.append((None, f"topic {m.topic!r} names no gateway", body))
                continue
            problem = self._auth_problem(conn, gateway, key)
            if problem is not None:
                rejects.append((gateway, problem, body))
                continue
            readings = body.get("readings", [body]) if "readings" in body else [body]
            if not isinstance(readings, list):
                rejects.append((gateway, "readings must be a list", body))
                continue
            if len(readings) > self.settings.twin.max_batch:
                reason = f"more than {self.settings.twin.max_batch} readings in one message"
                rejects.append((gateway, reason, {"readings": len(readings)}))
                continue
            per_gateway.setdefault(gateway, []).extend(readings)
        return rejects, per_gateway

    def _handle(self, batch: list[_Message]) -> None:
        """Store one batch. A store refusal that is not transient is isolated (the batch is
        split, the refused readings quarantined) instead of failing the whole batch again."""
        now = self.clock.now()
        engine = get_engine(self.store_url)
        with engine.connect() as conn:
            rejects, per_gateway = self._parse(conn, batch)
        totals: Counter[str] = Counter(rejected=len(rejects), malformed=len(rejects))
        found: list[int] = []
        try:
            with engine.begin() as conn:
                raw = _raw(conn)
                for gateway, reason, msg in rejects:
                    record_rejects(raw, "mqtt", gateway, [(reason, msg)], now)
                results = [
                    ingest(conn, gateway, readings, "mqtt", now, self.settings)
                    for gateway, readings in per_gateway.items()
                ]
        except Exception as exc:
            if transient(exc):
                raise
            log.warning("store refused an MQTT batch (%s); isolating the bad readings", exc)
            self.counts["isolated_batches"] += 1
            for gateway, reason, msg in rejects:
                record_safely(engine, "mqtt", gateway, [(reason, msg)], now)
            results = [
                store_batch(engine, gateway, readings, "mqtt", now, self.settings)
                for gateway, readings in per_gateway.items()
            ]
        for result in results:
            totals.update(
                stored=result.stored, duplicates=result.duplicates, rejected=result.rejected
            )
            found.extend(result.incidents)
        self.counts.update(totals)
        self.incidents.extend(found)

    def _quarantine(self, batch: list[_Message], error: BaseException) -> None:
        """Last resort for a batch the intake itself failed on: every message to
        ``reading_reject`` as raw bytes, so the stream goes on (raises if the store is down)."""
        reason = f"intake failed: {describe(error)}"
        engine = get_engine(self.store_url)
        now = self.clock.now()
        for m in batch:
            record_safely(
                engine, "mqtt", gateway_of(m.topic, self.topic), [(reason, m.payload)], now
            )
        self.counts.update(rejected=len(batch), malformed=len(batch), quarantined=len(batch))
