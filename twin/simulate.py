"""Stream realistic readings for the demo city's devices through the real intake.

``python -m twin.simulate [--scenario gas-leak|elderly-inactive|fire-lane|dogs|normal]
[--rate N] [--duration S] [--via mqtt|http|direct]``

Every scenario streams background traffic (``normal``) at ``--rate`` readings/s: gas and smoke
near zero, water meters counting up, door sensors opening and closing, electric leakage, manhole
tilt, cameras seeing people and vehicles. On top of it:

- ``gas-leak``: one gas detector's %LEL climbs past the alarm threshold → gas alarm incident;
- ``elderly-inactive``: one elderly-alone home's door sensor shows its last opening more than
  ``twin_door_inactive_hours`` ago, then only heartbeats → welfare check on the next sweep;
- ``fire-lane``: the camera nearest a fire lane reports one vehicle track parked in the lane for
  longer than ``twin_fire_lane_minutes`` (history back-filled, then live) → blocked-lane incident;
- ``dogs``: large-dog sightings (separate tracks) on the cameras of one H3 cell → dog incident.

The readings are the contracts documented in :mod:`twin.rules` (door ``payload.event`` /
``direction``, camera ``payload.detection`` / ``zone`` / ``track`` / ``size``). The simulator
acts as gateway ``simulator``: it gives that gateway a new key each run and binds to it only the
devices it drives — its scenario's, and at most ``POOL`` others for the background traffic, each
of which reports at once — so the offline rule never judges a device the simulator does not
drive (devices owned by real gateways are left alone). The demo city's heartbeat
(:mod:`twin.heartbeat`) keeps them reporting after the run.
Transport: MQTT (``--url``, else ``mqtt_url``, else the app's embedded broker found through
``<data_dir>/mqtt/port``), logged in as user ``simulator`` with the new key as password (the
embedded broker's accounts are written again and reloaded first), or HTTP (``--url`` of the
running app, ``POST /api/readings``, header ``X-Gateway-Key``), or direct (``twin.intake.ingest``
on the store, in this process).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.settings import Settings, get_settings
from geodata.store import open_store
from geodata.vocab import ResidentStatus
from twin.broker import EmbeddedBroker, port_file_url
from twin.gateways import add_gateway, bind_devices
from twin.intake import ingest
from twin.mqtt import client, parse_url

if TYPE_CHECKING:  # paho is imported only when sending over MQTT
    from paho.mqtt.client import MQTTMessageInfo

SCENARIOS = ("normal", "gas-leak", "elderly-inactive", "fire-lane", "dogs")
GATEWAY = "simulator"
TICK_S = 0.2
POOL = 200
"""Most devices the background traffic drives (besides the scenario's own)."""


@dataclass(frozen=True)
class Dev:
    id: int
    serial: str
    kind: str
    house_id: int | None
    h3_r9: int | None


@dataclass
class SimResult:
    """What a run sent and what the intake answered (HTTP answers; MQTT is fire-and-forget)."""

    scenario: str
    sent: int = 0
    messages: int = 0
    stored: int = 0
    rejected: int = 0
    focus: dict = field(default_factory=dict)  # the device/home/cell the scenario is about


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def prepare_gateway(store_url: str, ids: set[int], name: str = GATEWAY) -> tuple[str, int]:
    """Give the simulator gateway a fresh key and bind it the devices ``ids`` that no other
    gateway owns; (key, newly bound)."""
    with Session(get_engine(store_url)) as s, s.begin():
        gid, key, _ = add_gateway(s, name)
        assigned = bind_devices(s, gid, ids)
    return key, assigned


def load_devices(store_url: str, gateway: str = GATEWAY) -> list[Dev]:
    """The devices the simulator gateway may report for (with serials): its own and those no
    gateway owns."""
    with get_engine(store_url).connect() as c:
        rows = c.execute(
            text(
                "SELECT d.id, d.serial, d.kind, d.house_id, d.h3_r9 FROM device d "
                "LEFT JOIN gateway g ON g.id = d.gateway_id "
                "WHERE (d.gateway_id IS NULL OR g.name = :g) AND d.serial IS NOT NULL "
                "ORDER BY d.id"
            ),
            {"g": gateway},
        ).all()
    return [Dev(*r) for r in rows]


def background_pool(devices: list[Dev], skip: set[int], rng: random.Random) -> list[Dev]:
    """At most POOL devices (none of the scenario's) for the background traffic."""
    rest = [d for d in devices if d.id not in skip]
    return rng.sample(rest, min(POOL, len(rest)))


# --- background traffic ---------------------------------------------------------------------


class Normal:
    """Everyday readings of random devices (never those a scenario is about)."""

    def __init__(self, devices: list[Dev], rng: random.Random) -> None:
        self.devices = devices
        self.rng = rng
        self.water: dict[int, float] = {}

    def reading(self, d: Dev, t: datetime) -> dict:
        r = self.rng
        msg: dict = {"device": d.serial, "ts": _iso(t)}
        if d.kind == "gas":
            msg["value"] = round(r.uniform(0, 3), 2)
        elif d.kind == "smoke":
            msg["value"] = round(r.uniform(0, 2), 2)
        elif d.kind == "water":
            self.water[d.id] = self.water.get(d.id, r.uniform(100, 9000)) + r.uniform(0, 0.05)
            msg["value"] = round(self.water[d.id], 3)
        elif d.kind == "door":
            event = r.choice(("open", "close", "heartbeat", "heartbeat"))
            msg["value"] = 1 if event == "open" else 0
            msg["payload"] = {"event": event}
            if event == "open":
                msg["payload"]["direction"] = r.choice(("in", "out"))
        elif d.kind == "camera":
            what = r.choice(("person", "person", "vehicle"))
            msg["value"] = round(r.uniform(0.6, 0.99), 2)
            msg["payload"] = {"detection": what, "track": f"n-{r.randrange(10**6)}"}
            if what == "vehicle":
                msg["payload"]["zone"] = "road"
        elif d.kind == "electric":
            msg["value"] = round(r.uniform(0, 30), 1)
        elif d.kind == "manhole":
            msg["value"] = round(r.uniform(0, 3), 2)
        else:  # access gates and anything else: passes counted
            msg["value"] = float(r.randrange(0, 20))
        return msg

    def batch(self, n: int, t: datetime, skip: set[int]) -> list[dict]:
        out = []
        for i in range(n):
            d = self.rng.choice(self.devices)
            if d.id in skip:
                continue
            # distinct instants: the same device never gets two readings at one ts
            out.append(self.reading(d, t + timedelta(microseconds=i)))
        return out


# --- scenarios ------------------------------------------------------------------------------

Scenario = Callable[[datetime, int], list[dict]]  # (now, tick) -> readings


def _pick(devices: list[Dev], kind: str, rng: random.Random) -> Dev:
    pool = [d for d in devices if d.kind == kind]
    if not pool:
        raise SystemExit(f"the demo city has no {kind} device this gateway may report for")
    return rng.choice(pool)


def gas_leak(devices, rng, settings, store_url) -> tuple[Scenario, dict, set[int]]:
    dev = _pick(devices, "gas", rng)
    threshold = settings.twin.alarm_thresholds.get("gas", 20.0)
    ramp = [1.5, 3.0, 6.0, 10.0, threshold * 0.8, threshold * 1.3, threshold * 2.0]

    def step(now: datetime, tick: int) -> list[dict]:
        value = ramp[min(tick, len(ramp) - 1)] + rng.uniform(0, 1)
        return [{"device": dev.serial, "ts": _iso(now), "value": round(min(value, 100.0), 2)}]

    return step, {"device_id": dev.id, "serial": dev.serial}, {dev.id}


def elderly_inactive(devices, rng, settings, store_url) -> tuple[Scenario, dict, set[int]]:
    with get_engine(store_url).connect() as c:
        ids = set(
            c.execute(
                text(
                    "SELECT DISTINCT d.id FROM device d JOIN resident r ON r.house_id = d.house_id "
                    f"WHERE d.kind = 'door' AND r.status = '{ResidentStatus.active}' "
                    "AND 'elderly_alone' = ANY(r.care_tags) AND NOT EXISTS ("
                    "SELECT 1 FROM reading x WHERE x.device_id = d.id AND x.ts > :since)"
                ),
                {"since": datetime.now(UTC) - timedelta(hours=settings.rules.door_inactive_hours)},
            ).scalars()
        )
    pool = [d for d in devices if d.kind == "door" and d.id in ids] or [
        d for d in devices if d.kind == "door"
    ]
    if not pool:
        raise SystemExit("the demo city has no door sensor this gateway may report for")
    dev = rng.choice(pool)
    quiet = timedelta(hours=settings.rules.door_inactive_hours + 1)

    def heartbeat(t: datetime) -> dict:
        return {"device": dev.serial, "ts": _iso(t), "value": 0, "payload": {"event": "heartbeat"}}

    def step(now: datetime, tick: int) -> list[dict]:
        if tick == 0:  # the history: came home, closed the door, then nothing but heartbeats
            start = now - quiet
            out = [
                {
                    "device": dev.serial,
                    "ts": _iso(start),
                    "value": 1,
                    "payload": {"event": "open", "direction": "in"},
                },
                {
                    "device": dev.serial,
                    "ts": _iso(start + timedelta(seconds=20)),
                    "value": 0,
                    "payload": {"event": "close"},
                },
            ]
            t = start + timedelta(minutes=10)
            while t < now:  # a heartbeat every 10 minutes, the last one now
                out.append(heartbeat(t))
                t += timedelta(minutes=10)
            out.append(heartbeat(now))
            return out
        if tick % 25 == 0:
            return [
                {
                    "device": dev.serial,
                    "ts": _iso(now),
                    "value": 0,
                    "payload": {"event": "heartbeat"},
                }
            ]
        return []

    return step, {"device_id": dev.id, "serial": dev.serial, "house_id": dev.house_id}, {dev.id}


def fire_lane(devices, rng, settings, store_url) -> tuple[Scenario, dict, set[int]]:
    with get_engine(store_url).connect() as c:
        near = c.execute(
            text(
                "SELECT d.id FROM device d LEFT JOIN gateway g ON g.id = d.gateway_id, "
                "LATERAL (SELECT f.geom FROM facility f WHERE f.kind = 'fire_lane' "
                "ORDER BY f.geom <-> d.loc LIMIT 1) f "
                "WHERE d.kind = 'camera' AND (d.gateway_id IS NULL OR g.name = :g) "
                "ORDER BY ST_Distance(f.geom::geography, d.loc::geography) LIMIT 1"
            ),
            {"g": GATEWAY},
        ).scalar()
    dev = next((d for d in devices if d.id == near), None) or _pick(devices, "camera", rng)
    track = f"t-{rng.randrange(10**5)}"
    parked = timedelta(minutes=settings.rules.fire_lane_minutes + 2)

    def detection(t: datetime) -> dict:
        return {
            "device": dev.serial,
            "ts": _iso(t),
            "value": round(rng.uniform(0.85, 0.99), 2),
            "payload": {"detection": "vehicle", "zone": "fire_lane", "track": track},
        }

    def step(now: datetime, tick: int) -> list[dict]:
        if tick == 0:  # the car has been there a while: back-fill one detection every 30 s
            n = int(parked.total_seconds() // 30)
            return [detection(now - parked + timedelta(seconds=30 * i)) for i in range(n + 1)]
        return [detection(now)] if tick % 5 == 0 else []

    return step, {"device_id": dev.id, "serial": dev.serial, "track": track}, {dev.id}


def dogs(devices, rng, settings, store_url) -> tuple[Scenario, dict, set[int]]:
    cams = [d for d in devices if d.kind == "camera" and d.h3_r9 is not None]
    if not cams:
        raise SystemExit("the demo city has no camera this gateway may report for")
    cell = rng.choice(cams).h3_r9
    here = [d for d in cams if d.h3_r9 == cell]
    k = settings.rules.dog_sightings

    def step(now: datetime, tick: int) -> list[dict]:
        if tick >= k:
            return []
        d = here[tick % len(here)]
        t = now - timedelta(minutes=10 * (k - tick))
        return [
            {
                "device": d.serial,
                "ts": _iso(t),
                "value": round(rng.uniform(0.8, 0.97), 2),
                "payload": {"detection": "dog", "size": "large", "track": f"d-{tick}"},
            }
        ]

    return step, {"h3_r9": cell, "cameras": [d.id for d in here]}, {d.id for d in here}


SCENARIO_BUILDERS = {
    "gas-leak": gas_leak,
    "elderly-inactive": elderly_inactive,
    "fire-lane": fire_lane,
    "dogs": dogs,
}


# --- transports -----------------------------------------------------------------------------


class HttpSender:
    """POST /api/readings batches to the running app."""

    def __init__(self, base_url: str, key: str) -> None:
        self.url = base_url.rstrip("/") + "/api/readings"
        self.key = key

    def send(self, readings: list[dict], result: SimResult) -> None:
        body = json.dumps({"readings": readings}).encode()
        req = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json", "X-Gateway-Key": self.key}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                out = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"{self.url}: HTTP {exc.code} {exc.read()[:200]!r}") from None
        result.stored += out["stored"]
        result.rejected += out["rejected"]

    def close(self) -> None:
        pass


class DirectSender:
    """Store batches through ``twin.intake.ingest`` in this process, as the gateway (no app or
    broker needed; the rules run as they do for HTTP and MQTT)."""

    def __init__(self, store_url: str, settings: Settings) -> None:
        self.store_url = store_url
        self.settings = settings

    def send(self, readings: list[dict], result: SimResult) -> None:
        with Session(get_engine(self.store_url)) as s, s.begin():
            out = ingest(s, GATEWAY, readings, "direct", datetime.now(UTC), self.settings)
        result.stored += out.stored
        result.rejected += out.rejected

    def close(self) -> None:
        pass


class MqttSender:
    """Publish batches (QoS 1) to ``onemap/<gateway>/readings``, logged in as the gateway (user
    ``gateway``, password ``key``); the key is not in the messages."""

    def __init__(
        self, mqtt_url: str, gateway: str, key: str, chunk: int = 500, wait: float = 10.0
    ) -> None:
        host, port, _user, _password = parse_url(mqtt_url)
        self.topic = f"onemap/{gateway}/readings"
        self.chunk = chunk
        self.client = client(f"onemap-sim-{random.randrange(10**8)}")
        self.client.username_pw_set(gateway, key)
        self.client.max_inflight_messages_set(200)
        self.pending: list[MQTTMessageInfo] = []
        self._connect(host, port, wait)

    def _connect(self, host: str, port: int, wait: float) -> None:
        """Connect, retrying while the broker refuses: a new key may take until the app's next
        accounts check (a few seconds) to reach a broker this process could not reload."""
        accepted = threading.Event()
        refused: list[str] = []

        def on_connect(_c, _u, _f, reason_code, _p) -> None:
            if reason_code.is_failure:
                refused.append(str(reason_code))
            else:
                accepted.set()

        self.client.on_connect = on_connect
        self.client.reconnect_delay_set(0.5, 1)  # type: ignore[arg-type]  # paho says int
        self.client.connect(host, port)
        self.client.loop_start()
        if not accepted.wait(wait):
            self.client.loop_stop()
            why = refused[-1] if refused else "no answer"
            raise SystemExit(f"the MQTT broker at {host}:{port} refused the gateway: {why}")

    def send(self, readings: list[dict], result: SimResult) -> None:
        for i in range(0, len(readings), self.chunk):
            body = json.dumps({"readings": readings[i : i + self.chunk]})
            self.pending.append(self.client.publish(self.topic, body, qos=1))
        self.pending = [p for p in self.pending if not p.is_published()]

    def close(self) -> None:
        for p in self.pending:
            p.wait_for_publish(30)
        self.client.disconnect()
        self.client.loop_stop()


def _mqtt_url(settings: Settings, given: str | None) -> str:
    url = given or settings.mqtt.url or port_file_url(settings)
    if not url:
        raise SystemExit("no MQTT broker: start the app (make run) or pass --mqtt-url")
    return url


# --- the run --------------------------------------------------------------------------------


def ticks(duration: float) -> Iterator[int]:
    """Tick numbers every TICK_S seconds of wall time for ``duration`` seconds (at least one)."""
    start = time.monotonic()
    tick = 0
    while True:
        yield tick
        tick += 1
        wait = start + tick * TICK_S - time.monotonic()
        if start + tick * TICK_S > start + duration:
            return
        if wait > 0:
            time.sleep(wait)


def run(
    settings: Settings,
    store_url: str,
    scenario: str = "normal",
    rate: float = 50.0,
    duration: float = 10.0,
    via: str = "mqtt",
    url: str | None = None,
    seed: int | None = None,
    log: Callable[[str], None] = lambda _m: None,
    broker: EmbeddedBroker | None = None,
) -> SimResult:
    """Stream ``scenario`` for ``duration`` seconds at ``rate`` background readings/s.

    Over MQTT, ``broker`` (default: the embedded broker of ``settings``' data folder, unless a
    broker URL is given) gets its accounts written again so the gateway's new key works."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    rng = random.Random(seed)
    devices = load_devices(store_url)
    if not devices:
        raise SystemExit("no devices to simulate: build the demo city first (make run)")
    result = SimResult(scenario)
    special: Scenario | None = None
    skip: set[int] = set()
    if scenario != "normal":
        special, result.focus, skip = SCENARIO_BUILDERS[scenario](devices, rng, settings, store_url)
        log(f"scenario {scenario}: {result.focus}")
    pool = background_pool(devices, skip, rng)
    key, assigned = prepare_gateway(store_url, skip | {d.id for d in pool})
    log(f"gateway {GATEWAY}: drives {len(pool) + len(skip)} devices ({assigned} newly bound)")
    sender: HttpSender | MqttSender | DirectSender
    if via == "direct":
        sender = DirectSender(store_url, settings)
    elif via == "http":
        sender = HttpSender(url or f"http://{settings.web.host}:{settings.web.port}", key)
    elif via == "mqtt":
        if broker is None and not (url or settings.mqtt.url):
            broker = EmbeddedBroker.from_settings(settings, store_url)
        if broker is not None:
            broker.sync()
        sender = MqttSender(_mqtt_url(settings, url), GATEWAY, key)
    else:
        raise ValueError("via must be mqtt, http or direct")
    normal = Normal(pool, rng)
    carry = 0.0
    try:
        for tick in ticks(duration):
            now = datetime.now(UTC)
            carry += rate * TICK_S
            n, carry = int(carry), carry - int(carry)
            readings = normal.batch(n, now, skip)
            if tick == 0:  # every device it drives reports at once
                t0 = now + timedelta(microseconds=n + 1)
                readings += [normal.reading(d, t0) for d in pool] if pool else []
            if special is not None:
                readings += special(now, tick)
            if readings:
                sender.send(readings, result)
                result.sent += len(readings)
                result.messages += 1
    finally:
        sender.close()
    log(f"sent {result.sent} readings in {result.messages} batches via {via}")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m twin.simulate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--scenario", choices=SCENARIOS, default="normal")
    p.add_argument("--rate", type=float, default=50.0, help="background readings per second")
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    p.add_argument("--via", choices=("mqtt", "http", "direct"), default="mqtt")
    p.add_argument("--url", help="app URL (http) or broker URL mqtt://host:port (mqtt)")
    p.add_argument("--seed", type=int)
    args = p.parse_args(argv)
    settings = get_settings()
    store = open_store(settings)
    result = run(
        settings,
        store.url,
        args.scenario,
        args.rate,
        args.duration,
        args.via,
        args.url,
        args.seed,
        log=print,
    )
    if args.via in ("http", "direct"):
        print(f"stored {result.stored}, rejected {result.rejected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
