"""The live twin's background services: the broker, the MQTT intake and the periodic sweeper.

:func:`start_background` starts, in order, the embedded Mosquitto (unless ``mqtt_url`` names an
external broker), the MQTT subscriber thread and a sweeper thread that every
``twin_sweep_interval_s`` runs ``twin.rules.sweep(session, now, settings)`` (time-based rules:
silent door sensors, offline devices …) and ``twin.workflow.escalate_overdue(session, now)``,
each in its own transaction, then brings the precomputed analysis (coverage gaps, the risk
forecast) up to date. :meth:`Background.stop` stops them in reverse order.
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
from analytics.forecast_store import refresh_forecast
from geodata.engine import get_engine
from geodata.settings import Settings
from twin import rules, workflow
from twin.broker import EmbeddedBroker
from twin.clock import Clock, SystemClock
from twin.mqtt import Subscriber

log = logging.getLogger("onemap.twin")

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
        run = refresh_forecast(store_url, age, settings.analytics.dask_scheduler)
        if run is not None:
            log.info("risk forecast run %s stored", run)
    except Exception:
        log.exception("forecast refresh failed")


@dataclass
class Background:
    """What :func:`start_background` started."""

    broker: EmbeddedBroker | None
    subscriber: Subscriber | None
    mqtt_url: str | None
    sweeper: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    sweeps: int = 0
    broker_error: str | None = None
    """Why the embedded broker did not start (None: it started, or an external one is used)."""
    started_at: float = field(default_factory=time.monotonic)
    sweep_began_at: float | None = None
    """``time.monotonic()`` when the sweeper's pass under way began (None between passes)."""
    swept_at: float | None = None
    """``time.monotonic()`` when the sweeper's last pass ended."""

    def stop(self) -> None:
        """Stop the sweeper, drain and stop the subscriber, stop the embedded broker."""
        self._stop.set()
        if self.sweeper is not None:
            self.sweeper.join(30)
        if self.subscriber is not None:
            self.subscriber.stop()
        if self.broker is not None:
            self.broker.stop()


def start_background(
    settings: Settings,
    store_url: str,
    clock: Clock | None = None,
    *,
    sweep: bool = True,
    client_id: str = "onemap-intake",
) -> Background:
    """Start the broker (embedded unless ``mqtt_url``), the MQTT intake and the sweeper."""
    clock = clock or SystemClock()
    broker = None
    broker_error = None
    mqtt_url = settings.mqtt.url
    if not mqtt_url:
        try:
            broker = EmbeddedBroker.from_settings(settings).start()
            mqtt_url = broker.url
            assert broker.process is not None, "start() returned: Mosquitto is running"
            log.info("embedded MQTT broker on %s (pid %s)", mqtt_url, broker.process.pid)
        except (OSError, RuntimeError) as exc:  # no mosquitto here: HTTP intake still works
            log.error("MQTT intake off: the embedded broker did not start (%s)", exc)
            broker_error = f"the embedded broker did not start ({type(exc).__name__})"
    subscriber = None
    if mqtt_url:
        try:
            subscriber = Subscriber(mqtt_url, store_url, settings, clock, client_id=client_id)
            subscriber.start()
        except BaseException:
            if broker is not None:
                broker.stop()
            raise
    bg = Background(broker, subscriber, mqtt_url, broker_error=broker_error)
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
                if bg._stop.wait(settings.twin.sweep_interval_s):
                    return

        bg.sweeper = threading.Thread(target=loop, name="onemap-sweeper", daemon=True)
        bg.sweeper.start()
    return bg
