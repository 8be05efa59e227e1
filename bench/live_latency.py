"""Live-update latency: DB commit → SSE client receipt, against polling the layer API every 1 s.

    python bench/live_latency.py --url postgresql://…/db [--n 20]

Serves the app with waitress (threads=8, as ``app.py``) on a free port, opens one SSE client on
``/api/live`` and one poller of ``/api/layers/incidents`` (1 s interval) for the same event,
then commits N status changes at random phases and prints p50/p95 of both and their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text
from waitress.server import create_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from bench.common import bench_token
from geodata.engine import get_engine
from geodata.settings import Settings

POLL_SECONDS = 1.0


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def sse_client(port: int, seen: dict[str, float], ready: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/api/live", headers={"Authorization": f"Bearer {TOKEN[0]}"})
    response = conn.getresponse()
    for raw in response:
        line = raw.decode().strip()
        if line.startswith("event: hello"):
            ready.set()
        elif line.startswith("data: {"):
            data = json.loads(line[6:])
            seen.setdefault(f"{data.get('id')}:{data.get('status')}", time.monotonic())


TOKEN: list[str] = []
"""The benchmark account's API token (set in main)."""


def poller(url: str, event_id: int, seen: dict[str, float], stop: threading.Event) -> None:
    while not stop.is_set():
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN[0]}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
        for f in body["features"]:
            if f["id"] == event_id:
                seen.setdefault(f"{event_id}:{f['properties'].get('status')}", time.monotonic())
        stop.wait(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    engine = get_engine(args.url)
    with engine.connect() as conn:
        event_id, status, lon, lat = conn.execute(
            text("SELECT id, status, ST_X(loc), ST_Y(loc) FROM event WHERE rule IS NULL LIMIT 1")
        ).one()
    TOKEN.append(bench_token(args.url))
    app = create_app(Settings(database_url=args.url), args.url)
    server = create_server(app.server, host="127.0.0.1", port=0, threads=8)
    port = server.effective_port
    threading.Thread(target=server.run, daemon=True).start()
    sse_seen: dict[str, float] = {}
    poll_seen: dict[str, float] = {}
    ready, stop = threading.Event(), threading.Event()
    threading.Thread(target=sse_client, args=(port, sse_seen, ready), daemon=True).start()
    bbox = f"{lon - 0.002},{lat - 0.002},{lon + 0.002},{lat + 0.002}"
    url = f"http://127.0.0.1:{port}/api/layers/incidents?bbox={bbox}&zoom=18"
    threading.Thread(target=poller, args=(url, event_id, poll_seen, stop), daemon=True).start()
    assert ready.wait(10), "no hello from /api/live"
    rows: list[tuple[float, float]] = []
    states = ["dispatched", "accepted"]
    try:
        for i in range(args.n):
            new = states[i % 2]
            key = f"{event_id}:{new}"
            sse_seen.pop(key, None)
            poll_seen.pop(key, None)
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE event SET status = :s WHERE id = :i"), {"s": new, "i": event_id}
                )
            committed = time.monotonic()
            deadline = time.monotonic() + 3
            while (key not in sse_seen or key not in poll_seen) and time.monotonic() < deadline:
                time.sleep(0.005)
            sse_ms = (sse_seen.get(key, float("inf")) - committed) * 1000
            poll_ms = (poll_seen.get(key, float("inf")) - committed) * 1000
            print(f"{i + 1:3d} {new:10s} sse {sse_ms:7.1f} ms   poll {poll_ms:7.1f} ms", flush=True)
            rows.append((sse_ms, poll_ms))
            time.sleep(random.uniform(0.1, 0.6))
    finally:
        stop.set()
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE event SET status = :s WHERE id = :i"), {"s": status, "i": event_id}
            )
        server.close()
    sse = [r[0] for r in rows]
    poll = [r[1] for r in rows]
    print(f"\nN={len(rows)} commit → receipt")
    print(f"SSE (LISTEN/NOTIFY): p50 {pct(sse, 50):7.1f} ms  p95 {pct(sse, 95):7.1f} ms")
    print(f"polling every 1 s:   p50 {pct(poll, 50):7.1f} ms  p95 {pct(poll, 95):7.1f} ms")
    p50, p95 = pct(poll, 50) / pct(sse, 50), pct(poll, 95) / pct(sse, 95)
    print(f"ratio poll/SSE: p50 {p50:.0f}×, p95 {p95:.0f}×")


if __name__ == "__main__":
    main()
