"""The state of each part the app needs, for ``GET /readyz`` (:mod:`api.health`): the store,
and the background parts it runs (:class:`twin.service.Background`): the broker, the MQTT
subscriber and the sweeper.

A part is ``ok``, ``down`` (with a ``reason``) or ``off`` (this process does not run it). A part
the process runs is required: the app is ready when every required part is ``ok``. States say
nothing secret: no URL, host, user or password.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from geodata.availability import ping
from geodata.embedded import port_in_use
from geodata.errors import StoreUnavailable
from geodata.replicas import ReadReplicas
from twin.mqtt import parse_url
from twin.store_watch import RESTARTING

if TYPE_CHECKING:
    from twin.service import Background

OK, DOWN, OFF = "ok", "down", "off"
SWEEP_GRACE_S = 300.0
"""How long past its interval the sweeper may stay silent (a long pass, a forecast refresh)
before it is reported ``down``."""
CONNECT_TIMEOUT_S = 1.0
STORE_TIMEOUT_S = 2.0
"""How long the store's ``SELECT 1`` may take."""


@dataclass(frozen=True)
class PartState:
    """One part's state; ``detail`` holds a few plain facts (never an address or a secret)."""

    state: str
    required: bool
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.state == OK or not self.required

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "required": self.required, **self.detail}


OFF_PART = PartState(OFF, required=False)


def store_state(bg: Background | None, url: str) -> PartState:
    """The store: ``down`` at once while the embedded PostgreSQL's watcher knows it is gone
    (reason ``restarting``, or ``restart failed`` while it waits to try again), else a
    ``SELECT 1`` on a new connection within :data:`STORE_TIMEOUT_S`. An embedded store's
    detail counts the watcher's restarts."""
    watch = bg.store_watch if bg is not None else None
    detail: dict[str, object] = {}
    if watch is not None:
        detail = {"embedded": True, "restarts": watch.restarts, "watching": watch.watching}
        if watch.last_outage_s is not None:
            detail["last_outage_s"] = watch.last_outage_s
        if not watch.up:
            reason = "restarting" if watch.state == RESTARTING else "restart failed"
            return PartState(DOWN, True, detail | {"reason": reason})
    try:
        ms = ping(url, STORE_TIMEOUT_S)
    except StoreUnavailable:
        return PartState(DOWN, True, detail | {"reason": "store not reachable"})
    return PartState(OK, True, detail | {"ms": round(ms, 1)})


def broker_state(bg: Background | None) -> PartState:
    """The embedded broker running and listening, or the configured one accepting connections."""
    if bg is None:
        return OFF_PART
    if bg.broker is not None:
        if not bg.broker.running():
            return PartState(DOWN, True, {"embedded": True, "reason": "broker process exited"})
        if not port_in_use(bg.broker.port, bg.broker.host, CONNECT_TIMEOUT_S):
            return PartState(DOWN, True, {"embedded": True, "reason": "broker not listening"})
        return PartState(OK, True, {"embedded": True})
    if bg.broker_error:
        return PartState(DOWN, True, {"embedded": True, "reason": bg.broker_error})
    if bg.mqtt_url:
        host, port, _user, _password = parse_url(bg.mqtt_url)
        if not port_in_use(port, host, CONNECT_TIMEOUT_S):
            return PartState(DOWN, True, {"embedded": False, "reason": "broker not reachable"})
        return PartState(OK, True, {"embedded": False})
    return OFF_PART


def subscriber_state(bg: Background | None) -> PartState:
    """The MQTT intake connected, subscribed, and its worker storing what arrives."""
    if bg is None:
        return OFF_PART
    sub = bg.subscriber
    if sub is None:
        if bg.broker_error:
            return PartState(DOWN, True, {"reason": "no broker to subscribe to"})
        return OFF_PART
    detail: dict[str, object] = {"backlog": sub.backlog}
    if not sub.consuming:
        return PartState(DOWN, True, detail | {"reason": "intake worker stopped"})
    if not sub.subscribed:
        return PartState(DOWN, True, detail | {"reason": "not connected and subscribed"})
    return PartState(OK, True, detail)


def sweeper_state(bg: Background | None, interval_s: float, now: float | None = None) -> PartState:
    """The sweeper alive, with a pass begun or ended within ``interval_s`` +
    :data:`SWEEP_GRACE_S` (``now``: ``time.monotonic()``)."""
    if bg is None or bg.sweeper is None:
        return OFF_PART
    now = time.monotonic() if now is None else now
    running = bg.sweep_began_at is not None
    detail: dict[str, object] = {
        "passes": bg.sweeps,
        "running": running,
        "last_pass_age_s": None if bg.swept_at is None else round(now - bg.swept_at, 1),
    }
    if not bg.sweeper.is_alive():
        return PartState(DOWN, True, detail | {"reason": "sweeper stopped"})
    alive_at = bg.sweep_began_at or bg.swept_at or bg.started_at
    if now - alive_at > interval_s + SWEEP_GRACE_S:
        reason = "a pass has run too long" if running else "no pass recently"
        return PartState(DOWN, True, detail | {"reason": reason})
    return PartState(OK, True, detail)


def leader_state(bg: Background | None) -> PartState:
    """Whether this process leads (runs the broker, intake, sweeper and heartbeat) or follows
    (they are ``off`` here and run in the leader); never required."""
    if bg is None or bg.leadership is None:
        return OFF_PART
    role = "leader" if bg.leadership.leading else "follower"
    return PartState(OK, False, {"role": role, "terms": bg.leadership.terms})


def replicas_state(replicas: ReadReplicas) -> PartState:
    """The hot standbys read-only work reads from (``off``: none configured): ``ok`` when
    each is usable, else ``down`` naming where reads go; never required (the primary serves
    every read a standby cannot)."""
    states = replicas.states()
    if not states:
        return OFF_PART
    usable = sum(s.up for s in states)
    detail: dict[str, object] = {
        "standbys": [s.as_dict() for s in states],
        "reads_on": "standby" if usable else "primary",
    }
    if usable == len(states):
        return PartState(OK, False, detail)
    reason = "reads fall back to the primary" if not usable else "a standby is not usable"
    return PartState(DOWN, False, detail | {"reason": reason})


def background_parts(bg: Background | None, sweep_interval_s: float) -> dict[str, PartState]:
    """The leader lock's, the broker's, the subscriber's and the sweeper's states."""
    if bg is not None and not bg.leading:  # the duties run in the leading process
        return dict.fromkeys(("broker", "subscriber", "sweeper"), OFF_PART) | {
            "leader": leader_state(bg)
        }
    return {
        "leader": leader_state(bg),
        "broker": broker_state(bg),
        "subscriber": subscriber_state(bg),
        "sweeper": sweeper_state(bg, sweep_interval_s),
    }
