"""The demo city's heartbeat: keeps the twin alive while the app runs, and fills the gap on start.

Every ``twin_heartbeat_interval_s`` one tick, with bounded work, through the real code paths:

- devices without a gateway that are not offline report (``twin.intake.ingest``), stalest
  first, so each reports at least every ``twin_heartbeat_refresh_minutes``; door sensors of
  elderly people living alone record an opening now and then;
- at the city's own daily rates (measured from its last 30 days of incidents): a smoke or gas
  detector alarms now and then (the intake's rules open the incident), and residents report
  trouble (``twin.workflow.create_incident``, ``source='open311'``, modelled on a past report);
- simulated street-office staff dispatch, accept, start, resolve and close open incidents with
  realistic delays (``twin.workflow.transition``, each step stamped when it happened).

:func:`catch_up` runs once on start: a demo store reopened days later gets the missing days'
incidents (at most ``twin_heartbeat_catch_up_days``) handled by the staff as they would have
been, door openings for every door sensor without one in the last half day, and a report from
every stale device, so every figure is current. Devices owned by a gateway are left alone: they
report for themselves, and the offline rule judges them (except the simulator's: the heartbeat
keeps the devices it drove reporting after it exits).
"""

from __future__ import annotations

import logging
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.errors import WorkflowError
from geodata.settings import Settings
from geodata.vocab import DeviceStatus, EventStatus
from twin import intake, workflow
from twin.clock import Clock

log = logging.getLogger("onemap.twin.heartbeat")

CHANNEL = "heartbeat"
"""The intake channel the heartbeat's readings arrive on (dead letters name it)."""
RATE_DAYS = 30
"""The city's daily rates are measured over this many days of its history."""
BATCH = 2000
"""Most readings per intake batch."""
STAFF_PER_TICK = 20
"""Most incidents the staff move in one tick."""
OURS = "(gateway_id IS NULL OR gateway_id IN (SELECT id FROM gateway WHERE name = 'simulator'))"
"""The devices the heartbeat reports for: the demo's own, and those the simulator drove."""
DOOR_OPEN_HOURS = 12.0
"""Door sensors without an opening for this long get one on catch-up."""

STAFF = {
    "grid": workflow.Actor("模拟网格员", "grid_worker", "grid", kind="simulated"),
    "street": workflow.Actor("模拟街道值班员", "leader", "street", kind="simulated"),
    "district": workflow.Actor("模拟区级值班员", "leader", "district", kind="simulated"),
}
"""Who handles incidents at each tier (the whole city)."""
NEXT_ACTION = {
    EventStatus.reported: "dispatch",
    EventStatus.dispatched: "accept",
    EventStatus.accepted: "start",
    EventStatus.in_progress: "resolve",
    EventStatus.resolved: "close",
}
MEAN_HOURS = {"dispatch": 0.25, "accept": 0.5, "start": 1.0, "resolve": 5.0, "close": 8.0}
"""Mean delay before each step (exponential; resolving is lognormal with a slow tail)."""


def enabled(settings: Settings) -> bool:
    """Whether the heartbeat runs: ``twin_heartbeat``, else demo mode (the embedded store)."""
    on = settings.twin.heartbeat
    return on if on is not None else settings.store.database_url is None


def step_delay(event_id: int, action: str, severity: int) -> timedelta:
    """How long the staff take before ``action`` on incident ``event_id`` (deterministic)."""
    rng = random.Random(f"{event_id}:{action}")
    if action == "resolve":
        hours = rng.lognormvariate(math.log(MEAN_HOURS["resolve"] + severity), 0.8)
        if rng.random() < 0.04:  # the slow tail: stuck for weeks
            hours *= rng.uniform(20, 100)
    else:
        hours = rng.expovariate(1 / MEAN_HOURS[action])
    return timedelta(hours=hours)


# --- readings ---------------------------------------------------------------------------------


def reading(
    kind: str, serial: str, last: float | None, t: datetime, rng: random.Random, opened: bool
) -> dict:
    """An everyday reading of a device of ``kind`` at ``t`` (a door opening if ``opened``)."""
    msg: dict = {"device": serial, "ts": t.isoformat()}
    if kind in ("gas", "manhole"):
        msg["value"] = round(rng.uniform(0, 3), 2)
    elif kind == "smoke":
        msg["value"] = round(rng.uniform(0, 2), 2)
    elif kind == "water":
        msg["value"] = round((last or rng.uniform(100, 9000)) + rng.uniform(0, 0.05), 3)
    elif kind == "electric":
        msg["value"] = round(rng.uniform(0, 30), 1)
    elif kind == "door":
        event = "open" if opened else "heartbeat"
        msg["value"] = 1 if opened else 0
        msg["payload"] = {"event": event, **({"direction": "in"} if opened else {})}
    elif kind == "camera":
        msg["value"] = round(rng.uniform(0.6, 0.99), 2)
        msg["payload"] = {"detection": "person", "track": f"hb-{rng.randrange(10**6)}"}
    else:  # access gates and anything else: passes counted
        msg["value"] = float(rng.randrange(0, 20))
    return msg


STALE = text(
    f"""
    SELECT id, kind, serial, last_value FROM device
    WHERE {OURS} AND serial IS NOT NULL AND status <> '{DeviceStatus.offline}'
      AND (last_seen IS NULL OR last_seen < :before)
    ORDER BY last_seen NULLS FIRST, id LIMIT :n
    """
)

DOORS_WITHOUT_OPENING = text(
    f"""
    SELECT d.id, d.kind, d.serial, d.last_value FROM device d
    WHERE d.kind = 'door' AND {OURS} AND d.serial IS NOT NULL
      AND d.status <> '{DeviceStatus.offline}'
      AND NOT EXISTS (SELECT 1 FROM reading r WHERE r.device_id = d.id AND r.ts > :since
                      AND r.payload ->> 'event' = 'open')
    ORDER BY d.id
    """
)


def _ingest(session: Session, msgs: list[dict], now: datetime, settings: Settings) -> int:
    stored = 0
    for i in range(0, len(msgs), BATCH):
        result = intake.ingest(session, None, msgs[i : i + BATCH], CHANNEL, now, settings)
        stored += result.stored
    return stored


def refresh_devices(
    session: Session, now: datetime, settings: Settings, rng: random.Random, n: int
) -> int:
    """The ``n`` stalest devices not heard from within the refresh period report now (door
    sensors open now and then); returns the readings stored."""
    before = now - timedelta(minutes=settings.twin.heartbeat_refresh_minutes)
    rows = session.execute(STALE, {"before": before, "n": n}).all()
    msgs = [reading(r.kind, r.serial, r.last_value, now, rng, rng.random() < 0.3) for r in rows]
    return _ingest(session, msgs, now, settings)


def open_doors(session: Session, now: datetime, settings: Settings, rng: random.Random) -> int:
    """Each door sensor without an opening in the last DOOR_OPEN_HOURS records one in them."""
    since = now - timedelta(hours=DOOR_OPEN_HOURS)
    rows = session.execute(DOORS_WITHOUT_OPENING, {"since": since}).all()
    msgs = [
        reading(r.kind, r.serial, r.last_value, since + (now - since) * rng.random(), rng, True)
        for r in rows
    ]
    return _ingest(session, msgs, now, settings)


def alarm(session: Session, now: datetime, settings: Settings, rng: random.Random) -> list[int]:
    """A smoke or gas detector without a gateway alarms; returns the incidents opened."""
    row = session.execute(
        text(
            "SELECT id, kind, serial FROM device WHERE kind IN ('smoke', 'gas') "
            f"AND gateway_id IS NULL AND serial IS NOT NULL AND status = '{DeviceStatus.online}' "
            "ORDER BY id OFFSET :k LIMIT 1"
        ),
        {"k": rng.randrange(1000)},
    ).first()
    if row is None:
        return []
    threshold = settings.twin.alarm_thresholds.get(row.kind, 20.0)
    msg = {"device": row.serial, "ts": now.isoformat(), "value": round(threshold * 1.6, 1)}
    return intake.ingest(session, None, [msg], CHANNEL, now, settings).incidents


# --- incidents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rates:
    """The city's incidents per day: reports by people and device alarms."""

    reports: float
    alarms: float


def city_rates(conn: Connection | Session, until: datetime) -> Rates:
    """Incidents per day in the RATE_DAYS before ``until``."""
    row = conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE device_id IS NULL), count(*) FILTER (WHERE device_id "
            "IS NOT NULL AND rule IS DISTINCT FROM 'offline') FROM event "
            "WHERE reported_at >= :since AND reported_at < :until"
        ),
        {"since": until - timedelta(days=RATE_DAYS), "until": until},
    ).one()
    return Rates(row[0] / RATE_DAYS, row[1] / RATE_DAYS)


TEMPLATE = text(
    """
    SELECT category, severity, title, ST_X(geom) AS lon, ST_Y(geom) AS lat, device_id,
           building_id FROM event
    WHERE (:alarms OR device_id IS NULL) AND rule IS DISTINCT FROM 'offline'
      AND reported_at < :until
    ORDER BY reported_at DESC OFFSET :k LIMIT 1
    """
)


def report(session: Session, t: datetime, rng: random.Random, alarms: bool = False) -> int | None:
    """A resident's report at ``t``, modelled on one of the last few hundred (with ``alarms``,
    device alarms too); returns its id (None: the city has no history to model on)."""
    params = {"alarms": alarms, "until": t, "k": rng.randrange(300)}
    row = session.execute(TEMPLATE, params).first()
    if row is None:
        row = session.execute(TEMPLATE, params | {"k": 0}).first()
    if row is None:
        return None
    try:
        created = workflow.create_incident(
            session,
            category=row.category,
            lon=row.lon,
            lat=row.lat,
            now=t,
            title=row.title,
            severity=row.severity,
            device_id=row.device_id,
            building_id=row.building_id,
            source="open311" if row.device_id is None else "onemap",
            actor="居民上报" if row.device_id is None else "system",
            actor_kind="resident" if row.device_id is None else "system",
        )
    except WorkflowError as exc:  # an inactive category: skip this one
        log.info("heartbeat report skipped: %s", exc)
        return None
    return created.event.id


OPEN_WORK = text(
    f"""
    SELECT e.id, e.status, e.level, e.severity, max(l.at) AS last_at, min(l.at) AS first_at
    FROM event e JOIN event_log l ON l.event_id = e.id
    WHERE e.status IN ({", ".join(f"'{s}'" for s in NEXT_ACTION)})
    GROUP BY e.id ORDER BY max(l.at), e.id LIMIT 5000
    """
)
"""The open work, for the staff to choose what is due (the newest 5,000 are plenty)."""


def staff_work(
    session: Session,
    now: datetime,
    n: int = STAFF_PER_TICK,
    not_before: datetime | None = None,
) -> int:
    """The staff take the next steps, up to ``now``, on the ``n`` incidents waiting longest
    among those reported since ``not_before``; each step is stamped when its delay ran out.
    The open work from before (the built demo's backlog, what the city held when it stopped)
    is left to the people who use the demo: the staff were not there. Returns the steps taken."""
    steps = 0
    due = []
    for row in session.execute(OPEN_WORK).all():
        if not_before is not None and row.first_at < not_before:
            continue
        at = row.last_at + step_delay(row.id, NEXT_ACTION[row.status], row.severity)
        if at <= now:
            due.append((at, row))
    due.sort(key=lambda d: (d[0], d[1].id))
    for _, row in due[:n]:
        status, at = row.status, row.last_at
        while status in NEXT_ACTION:
            action = NEXT_ACTION[status]
            at = at + step_delay(row.id, action, row.severity)
            if at > now:
                break
            actor = STAFF.get(row.level, STAFF["grid"])
            try:
                event = workflow.transition(session, row.id, action, actor, now=at)
            except WorkflowError as exc:
                log.info("heartbeat staff: %s", exc)
                break
            status = event.status
            steps += 1
    return steps


# --- the heartbeat ----------------------------------------------------------------------------


@dataclass
class CatchUp:
    """What :func:`catch_up` filled in."""

    since: datetime | None
    incidents: int = 0
    steps: int = 0
    readings: int = 0
    door_openings: int = 0


def last_alive(conn: Connection | Session) -> datetime | None:
    """When the city was last heard from: the newest report of a device without a gateway."""
    return conn.execute(text(f"SELECT max(last_seen) FROM device WHERE {OURS}")).scalar_one()


def catch_up(store_url: str, now: datetime, settings: Settings, seed: int = 0) -> CatchUp:
    """Fill the gap between the city's last sign of life and ``now`` (see the module doc)."""
    rng = random.Random(seed)
    engine = get_engine(store_url)
    with Session(engine) as s, s.begin():
        since = last_alive(s)
        out = CatchUp(since)
        if since is not None and since < now:
            days = min((now - since).total_seconds() / 86400, settings.twin.heartbeat_catch_up_days)
            start = now - timedelta(days=days)
            rates = city_rates(s, since)
            n = _poisson(rng, (rates.reports + rates.alarms) * days)
            share = rates.alarms / (rates.reports + rates.alarms or 1)
            for t in sorted(start + (now - start) * rng.random() for _ in range(n)):
                out.incidents += report(s, t, rng, alarms=rng.random() < share) is not None
    with Session(engine) as s, s.begin():
        while True:
            taken = staff_work(s, now, 500, since)
            out.steps += taken
            if taken == 0:
                break
    with Session(engine) as s, s.begin():
        out.door_openings = open_doors(s, now, settings, rng)
    with Session(engine) as s, s.begin():
        out.readings = refresh_devices(s, now, settings, rng, 10**9)
    return out


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation above 50)."""
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    k, p, limit = 0, 1.0, math.exp(-mean)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Heartbeat:
    """The ticking part: :meth:`tick` does one tick's bounded work."""

    store_url: str
    settings: Settings
    rng: random.Random = field(default_factory=random.Random)
    rates: Rates | None = None
    ticks: int = 0
    watching_since: datetime | None = None
    """The staff handle incidents reported from then on (see :func:`staff_work`)."""

    def per_tick(self) -> int:
        """Devices to refresh per tick so each reports once per refresh period."""
        with get_engine(self.store_url).connect() as c:
            total = c.execute(text(f"SELECT count(*) FROM device WHERE {OURS}"))
            devices = int(total.scalar_one())
        period_s = self.settings.twin.heartbeat_refresh_minutes * 60
        return max(1, math.ceil(2 * devices * self.settings.twin.heartbeat_interval_s / period_s))

    def tick(self, now: datetime) -> dict[str, int]:
        """Refresh stale devices, maybe an alarm and a report, move the staff's work."""
        interval = self.settings.twin.heartbeat_interval_s
        engine = get_engine(self.store_url)
        out = {"readings": 0, "alarms": 0, "reports": 0, "steps": 0}
        with Session(engine) as s, s.begin():
            if self.rates is None:
                self.rates = city_rates(s, now)
            out["readings"] = refresh_devices(s, now, self.settings, self.rng, self.per_tick())
        with Session(engine) as s, s.begin():
            if self.rng.random() < self.rates.alarms * interval / 86400:
                out["alarms"] = len(alarm(s, now, self.settings, self.rng))
            if self.rng.random() < self.rates.reports * interval / 86400:
                out["reports"] = int(report(s, now, self.rng) is not None)
            out["steps"] = staff_work(s, now, not_before=self.watching_since)
        self.ticks += 1
        return out


def run(store_url: str, settings: Settings, clock: Clock, stop: threading.Event) -> None:
    """Catch up once, then tick every ``twin_heartbeat_interval_s`` until ``stop`` is set;
    failures are logged, never fatal."""
    started = clock.now()
    since: datetime | None = started
    try:
        done = catch_up(store_url, started, settings)
        since = done.since or started
        log.info("demo city caught up: %s", done)
    except Exception:
        log.exception("heartbeat catch-up failed")
    beat = Heartbeat(store_url, settings, watching_since=since)
    while not stop.wait(settings.twin.heartbeat_interval_s):
        try:
            beat.tick(clock.now())
        except Exception:
            log.exception("heartbeat tick failed")


def start(
    store_url: str, settings: Settings, clock: Clock, stop: threading.Event
) -> threading.Thread:
    """Run the heartbeat in a daemon thread."""
    thread = threading.Thread(
        target=run, args=(store_url, settings, clock, stop), name="onemap-heartbeat", daemon=True
    )
    thread.start()
    return thread
