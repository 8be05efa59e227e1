"""The live twin's background services: the broker, the MQTT intake and the periodic sweeper.

:func:`start_background` starts, in order, the embedded Mosquitto (unless ``mqtt_url`` names an
external broker), the MQTT subscriber thread (paho reconnects it on its own), a watcher thread
that restarts the embedded broker on the same port within seconds when it dies (with back-off
while it cannot), and a sweeper thread that every
``twin_sweep_interval_s`` runs ``twin.rules.sweep(session, now, settings)`` (time-based rules:
silent door sensors, offline devices …) and ``twin.workflow.escalate_overdue(session, now)``,
each in its own transaction, then brings the precomputed analysis (coverage gaps, the risk
forecast) up to date; when the store is the embedded PostgreSQL, a watcher restarts it within
seconds when it dies (:mod:`twin.store_watch`); in demo mode the city's heartbeat catches up
and keeps it alive (:mod:`twin.heartbeat`). :meth:`Background.stop` stops the store's
watcher first, then the others in reverse order.

Several app processes may serve one store: the broker, the intake, the sweeper (with the
forecast refresh) and the heartbeat run only in the process holding the leader lock
(:mod:`geodata.leader`); another takes them over within ``twin_leader_poll_s`` (+ their start)
after the leader dies. The store's watcher runs in every process (its revive lock lets one
restart the cluster).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from analytics.coverage import refresh_if_stale
from geodata.embedded import EmbeddedStore
from geodata.engine import get_engine
from geodata.leader import Leadership
from geodata.settings import Settings
from twin import heartbeat, rules, workflow
from twin.broker import EmbeddedBroker
from twin.clock import Clock, SystemClock
from twin.mqtt import Subscriber
from twin.store_watch import StoreWatch, watch_store

log = logging.getLogger("onemap.twin")

WATCH_INTERVAL_S = 0.5
"""How often the watcher checks that the embedded broker still runs."""
WATCH_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Waits after consecutive failed restarts (the last one repeats)."""
ACCOUNTS_CHECK_S = 5.0
"""How often the watcher checks the store for gateways added or disabled by another process."""

FIRST_SWEEP_DONE = "first sweep done"
"""Logged once the sweeper's first pass (at start-up) has committed."""

SweepJob = Callable[[Session, datetime, Settings], object]


def _escalate_overdue(session: Session, now: datetime, _settings: Settings) -> list[int]:
    return workflow.escalate_overdue(session, now)


SWEEP_JOBS: tuple[tuple[str, SweepJob], ...] = (
    ("twin.rules.sweep", rules.sweep),
    ("twin.workflow.escalate_overdue", _escalate_overdue),
)
"""What the sweeper runs, in order, each as ``job(session, now, settings)``."""


def sweep_once(
    store_url: str,
    now: datetime,
    settings: Settings,
    jobs: Sequence[tuple[str, SweepJob]] = SWEEP_JOBS,
) -> dict:
    """Run every sweep job once, each in its own transaction; returns what each returned."""
    out = {}
    for label, fn in jobs:
        try:
            with Session(get_engine(store_url)) as session, session.begin():
                out[label] = fn(session, now, settings)
        except Exception:
            log.exception("%s failed", label)
            out[label] = None
    return out


def refresh_derived(store_url: str, settings: Settings) -> None:
    """Bring precomputed analysis up to date after the sweep: camera coverage gaps when a
    camera, fire lane or road changed, the risk forecast when it is older than
    ``forecast_refresh_hours``; failures are logged, never fatal."""
    try:
        if refresh_if_stale(store_url):
            log.info("camera coverage gaps refreshed")
    except Exception:
        log.exception("coverage refresh failed")
    if settings.analytics.forecast_refresh_hours <= 0:
        return
    try:
        age = timedelta(hours=settings.analytics.forecast_refresh_hours)
        # The model libraries (scikit-learn, SciPy) load when a forecast is due, not at start-up.
        from analytics.forecast_store import refresh_forecast

        run = refresh_forecast(store_url, age, settings.analytics.dask_scheduler)
        if run is not None:
            log.info("risk forecast run %s stored", run)
    except Exception:
        log.exception("forecast refresh failed")


def _watch(bg: Background, broker: EmbeddedBroker, stop: threading.Event) -> None:
    """Restart the embedded broker when it dies on its own (not when stopped on purpose); every
    ACCOUNTS_CHECK_S, bring its accounts in step with the store (in a thread of its own, so a
    store that is slow to answer never delays a restart)."""
    failures = 0
    check_at, checker = time.monotonic() + ACCOUNTS_CHECK_S, None
    while not stop.wait(WATCH_INTERVAL_S):
        if time.monotonic() >= check_at and not (checker and checker.is_alive()):
            check_at = time.monotonic() + ACCOUNTS_CHECK_S
            checker = threading.Thread(target=broker.resync, name="onemap-broker-accounts")
            checker.daemon = True
            checker.start()
        try:
            if broker.revive():
                bg.restarts += 1
                assert broker.process is not None
                log.info(
                    "embedded MQTT broker back on port %s (pid %s)", broker.port, broker.process.pid
                )
            failures = 0
        except Exception as exc:
            wait = WATCH_BACKOFF_S[min(failures, len(WATCH_BACKOFF_S) - 1)]
            failures += 1
            log.error("embedded MQTT broker restart failed (%s); next try in %.0f s", exc, wait)
            if stop.wait(wait):
                return


@dataclass
class Background:
    """What :func:`start_background` started."""

    broker: EmbeddedBroker | None
    subscriber: Subscriber | None
    mqtt_url: str | None
    sweeper: threading.Thread | None = None
    watcher: threading.Thread | None = None
    restarts: int = 0
    """How often the watcher restarted the embedded broker."""
    _stop: threading.Event = field(default_factory=threading.Event)
    sweeps: int = 0
    broker_error: str | None = None
    """Why the embedded broker did not start (None: it started, or an external one is used)."""
    started_at: float = field(default_factory=time.monotonic)
    sweep_began_at: float | None = None
    """``time.monotonic()`` when the sweeper's pass under way began (None between passes)."""
    swept_at: float | None = None
    """``time.monotonic()`` when the sweeper's last pass ended."""
    store_watch: StoreWatch | None = None
    """The embedded PostgreSQL's watcher (None: the store is not embedded)."""
    heartbeat: threading.Thread | None = None
    """The demo city's heartbeat (None: off, see :func:`twin.heartbeat.enabled`)."""
    leadership: Leadership | None = None
    """This process's part in the leader lock (None: it runs its duties unconditionally)."""

    @property
    def store_restarts(self) -> int:
        """How often the watcher started the embedded PostgreSQL again."""
        return self.store_watch.restarts if self.store_watch is not None else 0

    @property
    def leading(self) -> bool:
        """Whether this process runs the once-only duties now."""
        return self.leadership is None or self.leadership.leading

    def stop(self) -> None:
        """Stop the store's watcher (nothing is restarted from now on), then the duties:
        the sweeper, the heartbeat, the subscriber (drained) and the embedded broker; give up
        the leader lock."""
        if self.store_watch is not None:
            self.store_watch.stop()
        if self.leadership is not None:
            self.leadership.stop()
        else:
            self.stop_duties()

    def stop_duties(self) -> None:
        """Stop what :func:`start_duties` started (in reverse order; the stopped parts stay
        here until the next term, and ``/readyz`` reports them ``off`` while not leading)."""
        self._stop.set()
        for thread in (self.watcher, self.sweeper, self.heartbeat):
            if thread is not None:
                thread.join(30)
        if self.subscriber is not None:
            self.subscriber.stop()
        if self.broker is not None:
            self.broker.stop()


def start_duties(
    bg: Background,
    settings: Settings,
    store_url: str,
    clock: Clock,
    *,
    sweep: bool = True,
    client_id: str = "onemap-intake",
) -> None:
    """The once-only duties of the leading process, into ``bg``: the broker (embedded unless
    ``mqtt_url``), the MQTT intake, the broker's watcher, the sweeper and the heartbeat."""
    stop = bg._stop = threading.Event()
    broker = None
    broker_error = None
    mqtt_url = settings.mqtt.url
    if not mqtt_url:
        try:
            broker = EmbeddedBroker.from_settings(settings, store_url).start()
            mqtt_url = broker.url
            assert broker.process is not None, "start() returned: Mosquitto is running"
            log.info("embedded MQTT broker on %s (pid %s)", mqtt_url, broker.process.pid)
        except (OSError, RuntimeError) as exc:  # no mosquitto here: HTTP intake still works
            log.error("MQTT intake off: the embedded broker did not start (%s)", exc)
            broker_error = f"the embedded broker did not start ({type(exc).__name__})"
    subscriber = None
    if mqtt_url:
        try:
            subscriber = Subscriber(
                broker.intake_url if broker else mqtt_url,
                store_url,
                settings,
                clock,
                client_id=client_id,
                broker_acl=True if broker else None,
            )
            subscriber.start()
        except BaseException:
            if broker is not None:
                broker.stop()
            raise
    bg.broker, bg.subscriber, bg.mqtt_url = broker, subscriber, mqtt_url
    bg.broker_error = broker_error
    if broker is not None:
        bg.watcher = threading.Thread(
            target=_watch, args=(bg, broker, stop), name="onemap-broker-watch", daemon=True
        )
        bg.watcher.start()
    if sweep:

        def loop() -> None:
            while True:  # the first sweep at once: overdue work is escalated on start-up
                started = bg.sweep_began_at = time.monotonic()
                sweep_once(store_url, clock.now(), settings)
                refresh_derived(store_url, settings)
                bg.swept_at, bg.sweep_began_at = time.monotonic(), None
                bg.sweeps += 1
                if bg.sweeps == 1:
                    log.info(FIRST_SWEEP_DONE + " in %.1f s", time.monotonic() - started)
                if stop.wait(settings.twin.sweep_interval_s):
                    return

        bg.sweeper = threading.Thread(target=loop, name="onemap-sweeper", daemon=True)
        bg.sweeper.start()
    if heartbeat.enabled(settings):
        bg.heartbeat = heartbeat.start(store_url, settings, clock, stop)


def start_background(
    settings: Settings,
    store_url: str,
    clock: Clock | None = None,
    *,
    sweep: bool = True,
    client_id: str = "onemap-intake",
    embedded: EmbeddedStore | None = None,
) -> Background:
    """Start the watcher of the ``embedded`` PostgreSQL serving ``store_url`` (when the store
    is embedded) and take part in the leader lock (:mod:`geodata.leader`): while this process
    leads, it runs :func:`start_duties` (a lone process leads before this returns)."""
    clock = clock or SystemClock()
    bg = Background(None, None, None)

    def gain() -> None:
        start_duties(bg, settings, store_url, clock, sweep=sweep, client_id=client_id)

    bg.leadership = Leadership(store_url, settings.twin.leader_poll_s, gain, bg.stop_duties)
    bg.leadership.start()
    if embedded is not None:
        bg.store_watch = watch_store(embedded, store_url)
    return bg
