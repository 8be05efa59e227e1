"""Live updates: PostgreSQL ``LISTEN onemap_live`` fanned out to subscribers (SSE clients).

Triggers (migration 0006) ``NOTIFY onemap_live`` with a small JSON payload when an incident
or a device changes. Each process runs at most one :class:`LiveHub` per store: one daemon
thread holding one autocommit connection that LISTENs, started lazily on the first subscriber.
Every message gets a per-process sequence number and goes into each subscriber's bounded
queue and a short backlog (for ``Last-Event-ID`` replay and polling). A subscriber that falls
behind (queue full) is told to ``reset`` (refetch everything) instead of blocking the hub.

This per-process listener is the one piece of process state the live feature keeps (the
DESIGN note allows it): several workers each run their own hub, and every hub sees every
NOTIFY, so no worker misses a change.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.engine import make_url

from geodata.accounts.viewer import Viewer

log = logging.getLogger(__name__)

CHANNEL = "onemap_live"
QUEUE_SIZE = 256
BACKLOG = 512
POLL_SECONDS = 1.0
"""How long the listener waits for a notification before checking whether to stop."""
RECONNECT_SECONDS = (0.5, 1, 2, 5)


@dataclass(frozen=True)
class Message:
    """One change: its sequence number in this process and the trigger's payload."""

    seq: int
    data: dict

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))


@dataclass(eq=False)
class Subscription:
    """One client's bounded queue; ``overflowed`` when it fell behind and must refetch."""

    queue: queue.Queue = field(default_factory=lambda: queue.Queue(QUEUE_SIZE))
    overflowed: bool = False

    def get(self, timeout: float) -> Message | None:
        """The next message, or None after ``timeout`` seconds."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


def conninfo(url: str) -> str:
    """A libpq URL for ``url`` (which may name a SQLAlchemy driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def visible(message: Message, viewer: Viewer, kinds: set[str]) -> bool:
    """Whether ``viewer`` gets ``message``: a kind it has layers for, in its areas."""
    if message.kind not in kinds and message.kind != "reset":
        return False
    area = message.data.get("area_id")
    return not viewer.scoped or area is None or area in (viewer.area_ids or ())


class LiveHub:
    """One LISTEN connection fanned out to subscriber queues (see the module doc)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = uuid.uuid4().hex[:8]
        """Identifies this process's sequence numbers (ids from another process are unknown)."""
        self._lock = threading.Lock()
        self._subscribers: set[Subscription] = set()
        self._backlog: deque[Message] = deque(maxlen=BACKLOG)
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()

    # --- subscribers -------------------------------------------------------------------------

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def listening(self) -> bool:
        """Whether the listener is connected and LISTENing now."""
        return self._ready.is_set()

    def subscribe(self, wait: float = 5.0) -> Subscription:
        """A new subscription; starts the listener and waits until it LISTENs."""
        self.start(wait)
        sub = Subscription()
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def since(self, seq: int) -> list[Message] | None:
        """Messages after ``seq``, or None when some of them are no longer kept."""
        with self._lock:
            kept = list(self._backlog)
        if seq > self._seq:
            return None
        if seq < self._seq and (not kept or kept[0].seq > seq + 1):
            return None
        return [m for m in kept if m.seq > seq]

    def publish(self, data: dict) -> Message:
        """Number ``data`` and hand it to every subscriber (never blocks)."""
        with self._lock:
            self._seq += 1
            message = Message(self._seq, data)
            self._backlog.append(message)
            subscribers = list(self._subscribers)
        for sub in subscribers:
            try:
                sub.queue.put_nowait(message)
            except queue.Full:
                sub.overflowed = True
        return message

    # --- the listener thread -----------------------------------------------------------------

    def start(self, wait: float = 5.0) -> bool:
        """Start the listener thread once; True when it is listening within ``wait`` s."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name=f"onemap-live-{self.token}", daemon=True
                )
                self._thread.start()
        return self._ready.wait(wait)

    def stop(self, wait: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(wait)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                self._listen()
                attempt = 0
            except (psycopg.Error, OSError) as exc:
                log.warning("live listener lost its connection: %s", exc)
            if self._ready.is_set():
                self._ready.clear()
                self.publish({"kind": "reset"})  # changes may have been missed meanwhile
            if self._stop.wait(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]):
                break
            attempt += 1

    def _listen(self) -> None:
        with psycopg.connect(conninfo(self.url), autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self._ready.set()
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=POLL_SECONDS):
                    self._received(notify.payload)
                conn.execute("SELECT 1")  # notices a dead connection between notifications

    def _received(self, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("live: ignored a payload that is not JSON: %.80s", payload)
            return
        if isinstance(data, dict):
            data["at"] = round(time.time(), 3)
            self.publish(data)


_HUBS: dict[str, LiveHub] = {}
_HUBS_LOCK = threading.Lock()


def hub_for(url: str) -> LiveHub:
    """This process's hub for the store at ``url`` (created on first use, started lazily)."""
    with _HUBS_LOCK:
        hub = _HUBS.get(url)
        if hub is None:
            hub = _HUBS[url] = LiveHub(url)
        return hub


def stop_hub(url: str) -> None:
    """Stop and forget this process's hub for ``url`` (before its database goes away)."""
    with _HUBS_LOCK:
        hub = _HUBS.pop(url, None)
    if hub is not None:
        hub.stop()
