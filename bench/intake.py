"""Benchmark: sustained readings intake via MQTT and HTTP, and alarm-to-incident latency.

In a fresh database of the embedded cluster: D gas detectors owned by one gateway and the alarm
probe's detectors owned by a second one (each MQTT connection logs in as its own gateway), the
incident taxonomy. Then

1. baseline: a bare ``COPY`` of the same N rows into a plain table shaped like ``reading``;
2. MQTT: an EmbeddedBroker on a free port and the real subscriber; a publisher process sends the
   N readings (``--per-message`` readings per message, QoS 1) as fast as the broker takes them;
   the clock stops when the store holds all N. While it runs, one gas alarm every 0.25 s on a
   fresh device: the time from publishing the alarm to its incident row being visible
   (committed) is the alarm-to-incident latency;
3. HTTP: ``POST /api/readings`` on a waitress server in this process, 2 client threads posting
   batches of 1000.

Prints readings/s for each, count in = count stored, latency p50/p95/max and the ratio of each
rate to the bare COPY measured in the same run.

    .venv/bin/python bench/intake.py [--readings 100000] [--per-message 100]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from sqlalchemy import text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geodata.bulk import raw_connection
from geodata.engine import get_engine
from geodata.models import Device
from geodata.settings import Settings
from geodata.store import embedded_store, scratch_database
from tests.conftest import free_port
from twin.broker import EmbeddedBroker
from twin.gateways import add_gateway
from twin.mqtt import Subscriber, client
from twin.taxonomy import ensure_taxonomy

DB = "onemap_bench_intake"
GATEWAY = "bench-gw"
ALARM_GATEWAY = "bench-alarm"
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def _point(i: int) -> str:
    return f"SRID=4326;POINT(117.2{i % 97:02d} 31.8{i % 89:02d})"


def setup(
    url: str, devices: int, alarm_devices: int
) -> tuple[dict[str, str], list[str], list[str]]:
    """The two gateways' keys by name, the serials of the normal and of the alarm devices."""
    with Session(get_engine(url)) as s, s.begin():
        ensure_taxonomy(s.connection())
        gid, key, _ = add_gateway(s, GATEWAY)
        alarm_gid, alarm_key, _ = add_gateway(s, ALARM_GATEWAY)
        s.add_all(
            Device(
                kind="gas",
                serial=f"B{i:07d}",
                geom=_point(i),
                gateway_id=gid if i < devices else alarm_gid,
            )
            for i in range(devices + alarm_devices)
        )
    serials = [f"B{i:07d}" for i in range(devices)]
    alarms = [f"B{i:07d}" for i in range(devices, devices + alarm_devices)]
    return {GATEWAY: key, ALARM_GATEWAY: alarm_key}, serials, alarms


def readings(serials: list[str], n: int, offset_s: int) -> list[dict]:
    """N normal gas readings, round-robin over the devices, distinct (device, ts)."""
    out = []
    for i in range(n):
        ts = BASE + timedelta(seconds=offset_s + i // len(serials))
        out.append({"device": serials[i % len(serials)], "ts": ts.isoformat(), "value": 1.5})
    return out


def count(url: str) -> int:
    """Readings stored from the load's gateway (the alarm probes' are counted apart)."""
    with get_engine(url).connect() as c:
        return c.execute(
            text(
                "SELECT count(*) FROM reading r JOIN device d ON d.id = r.device_id "
                "JOIN gateway g ON g.id = d.gateway_id WHERE g.name = :g"
            ),
            {"g": GATEWAY},
        ).scalar()


def bare_copy(url: str, rows: list[dict]) -> float:
    """Seconds to COPY the rows (device id, ts, value) into a plain PK'd table."""
    with get_engine(url).connect() as c:
        ids = dict(c.execute(text("SELECT serial, id FROM device")).all())
    data = [(ids[r["device"]], r["ts"], r["value"], None) for r in rows]
    with raw_connection(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            "CREATE TABLE bench_copy (device_id bigint, ts timestamptz, value float8, "
            "payload jsonb, received_at timestamptz DEFAULT now(), PRIMARY KEY (device_id, ts))"
        )
        conn.commit()
        t = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_copy (device_id, ts, value, payload) FROM STDIN") as cp,
        ):
            for row in data:
                cp.write_row(row)
        conn.commit()
        took = time.perf_counter() - t
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return took


def _publisher(port: int, key: str, payloads: list[str], ready, go, per_s: float = 0) -> None:
    """Publish ``payloads`` (QoS 1): as fast as possible, or ``per_s`` messages a second."""
    pub = client(f"bench-pub-{mp.current_process().pid}")
    pub.username_pw_set(GATEWAY, key)
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    ready.set()
    go.wait()
    infos = []
    t0 = time.perf_counter()
    for i, p in enumerate(payloads):
        if per_s:
            wait = t0 + i / per_s - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        infos.append(pub.publish(f"onemap/{GATEWAY}/readings", p, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    pub.disconnect()
    pub.loop_stop()


def wait_count(url: str, target: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count(url) >= target:
            return time.perf_counter()
        time.sleep(0.02)
    return None


def latency_probe(url: str, port: int, key: str, alarms: list[str], stop: threading.Event):
    """Publish one alarm every 0.25 s; measure publish → incident committed."""
    out: list[float] = []
    pub = client("bench-alarm")
    pub.username_pw_set(ALARM_GATEWAY, key)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    engine = get_engine(url)
    for serial in alarms:
        if stop.is_set():
            break
        with engine.connect() as c:
            dev = c.execute(text("SELECT id FROM device WHERE serial = :s"), {"s": serial}).scalar()
        now = datetime.now(UTC)
        body = {"device": serial, "ts": now.isoformat(), "value": 45.0}
        t0 = time.perf_counter()
        pub.publish(f"onemap/{ALARM_GATEWAY}/readings", json.dumps(body), qos=1)
        deadline = t0 + 10
        while time.perf_counter() < deadline:
            with engine.connect() as c:
                if c.execute(text("SELECT 1 FROM event WHERE device_id = :d"), {"d": dev}).first():
                    out.append(time.perf_counter() - t0)
                    break
            time.sleep(0.002)
        time.sleep(0.25)
    pub.disconnect()
    pub.loop_stop()
    return out


def bench_mqtt(
    url: str,
    keys: dict[str, str],
    rows: list[dict],
    per_msg: int,
    alarms: list[str],
    rate: float = 0,
) -> dict:
    """Publish ``rows`` (at ``rate`` readings/s, or flat out) with alarm probes alongside."""
    settings = Settings(mqtt_batch_size=5000, mqtt_batch_wait_s=0.05)
    payloads = []
    for i in range(0, len(rows), per_msg):
        chunk = rows[i : i + per_msg]
        payloads.append(json.dumps(chunk[0] if per_msg == 1 else {"readings": chunk}))
    with TemporaryDirectory() as tmp, EmbeddedBroker(Path(tmp), 0, store_url=url) as broker:
        sub = Subscriber(broker.intake_url, url, settings, broker_acl=True).start()
        ctx = mp.get_context("fork")
        ready, go = ctx.Event(), ctx.Event()
        proc = ctx.Process(
            target=_publisher,
            args=(broker.port, keys[GATEWAY], payloads, ready, go, rate / per_msg),
        )
        proc.start()
        ready.wait(10)
        before = count(url)
        stop = threading.Event()
        lat: list[float] = []
        probe = threading.Thread(
            target=lambda: lat.extend(
                latency_probe(url, broker.port, keys[ALARM_GATEWAY], alarms, stop)
            )
        )
        t0 = time.perf_counter()
        go.set()
        probe.start()
        t1 = wait_count(url, before + len(rows), timeout=600)
        stop.set()
        probe.join()
        proc.join(60)
        time.sleep(0.5)
        stored = count(url) - before
        sub.stop()
    return {
        "seconds": (t1 or time.perf_counter()) - t0,
        "stored": stored,
        "latency": lat,
        "rejected": sub.counts["rejected"],
    }


def bench_http(url: str, key: str, rows: list[dict], batch: int = 1000) -> dict:
    from flask import Flask
    from waitress.server import create_server

    from api.readings import blueprint
    from web.context import SETTINGS_KEY, STORE_URL_KEY

    app = Flask("bench")
    app.config[SETTINGS_KEY] = Settings()
    app.config[STORE_URL_KEY] = url
    app.register_blueprint(blueprint)
    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    bodies = [
        json.dumps({"readings": rows[i : i + batch]}).encode() for i in range(0, len(rows), batch)
    ]

    def post(body: bytes) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/readings",
            body,
            {"Content-Type": "application/json", "X-Gateway-Key": key},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["stored"]

    before = count(url)
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        answered = sum(pool.map(post, bodies))
    took = time.perf_counter() - t0
    server.close()
    return {"seconds": took, "stored": count(url) - before, "answered": answered}


def report_latency(label: str, lat: list[float]) -> None:
    lat = sorted(lat)
    if not lat:
        print(f"alarm -> incident ({label}): no samples")
        return
    p95 = lat[max(0, round(0.95 * len(lat)) - 1)]
    print(
        f"alarm -> incident ({label}): n={len(lat)}  p50 {statistics.median(lat) * 1000:.0f} ms"
        f"  p95 {p95 * 1000:.0f} ms  max {lat[-1] * 1000:.0f} ms"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--readings", type=int, default=100_000)
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--per-message", type=int, default=100)
    p.add_argument("--alarms", type=int, default=200)
    p.add_argument("--rate", type=float, default=5000, help="paced phase: readings/s")
    p.add_argument("--seconds", type=float, default=20, help="paced phase: duration")
    args = p.parse_args()
    store = embedded_store(Settings(database_url=None))
    store.start()
    try:
        with scratch_database(store.url(), DB) as url:
            keys, serials, alarms = setup(url, args.devices, args.alarms)
            n = args.readings
            mqtt_rows = readings(serials, n, 0)
            http_rows = readings(serials, n, n // len(serials) + 10)
            copy_s = bare_copy(url, mqtt_rows)
            copy_rate = n / copy_s
            print(f"bare COPY            {n:>8,} rows  {copy_s:6.2f} s  {copy_rate:>9,.0f} rows/s")

            m = bench_mqtt(url, keys, mqtt_rows, args.per_message, alarms[: len(alarms) // 4])
            rate = n / m["seconds"]
            print(
                f"MQTT flat out ({args.per_message}/message)  {n:>8,} in {m['seconds']:6.2f} s  "
                f"{rate:>9,.0f} readings/s  stored {m['stored']:,} "
                f"({'=' if m['stored'] == n else '!='} in)  x{rate / copy_rate:.2f} of COPY"
            )
            report_latency("flat out", m["latency"])
            paced_n = int(args.rate * args.seconds)
            paced_rows = readings(serials, paced_n, 2 * (n // len(serials)) + 20)
            pm = bench_mqtt(url, keys, paced_rows, args.per_message, alarms[len(alarms) // 4 :],
                            rate=args.rate)  # fmt: skip
            prate = paced_n / pm["seconds"]
            print(
                f"MQTT paced {args.rate:,.0f}/s for {args.seconds:g} s  {paced_n:>8,} in "
                f"{pm['seconds']:6.2f} s  {prate:>9,.0f} readings/s  stored {pm['stored']:,} "
                f"({'=' if pm['stored'] == paced_n else '!='} in)"
            )
            report_latency(f"{args.rate:,.0f}/s", pm["latency"])
            h = bench_http(url, keys[GATEWAY], http_rows)
            hrate = n / h["seconds"]
            print(
                f"HTTP (1000/POST, 2 clients) {n:>8,} in {h['seconds']:6.2f} s  {hrate:>9,.0f} "
                f"readings/s  stored {h['stored']:,} ({'=' if h['stored'] == n else '!='} in)  "
                f"x{hrate / copy_rate:.2f} of COPY"
            )
    finally:
        store.stop_if_started_here()


if __name__ == "__main__":
    main()
