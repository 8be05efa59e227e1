"""An analyst flood while the map is in use: on the real server, 20 clients of 5 accounts send
``/api/analyze`` questions back to back while a leader pans the map; the map's p95 stays under
300 ms, and the questions beyond the limits are refused with 429 and ``Retry-After``."""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest
from sqlalchemy import text

from geodata import accounts
from geodata.engine import get_engine
from tests.faults.harness import AppProcess

pytestmark = pytest.mark.slow

CLIENTS, ACCOUNTS, SECONDS = 20, 5, 6.0
MAP_P95_MS = 300.0
QUESTION = {
    "layer": "buildings",
    "where": [{"field": "floors", "op": ">", "value": 3}],
    "near": [
        {
            "layer": "facilities",
            "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
            "distance_m": 60,
            "mode": "beyond",
        }
    ],
}


def _tokens(app: AppProcess, role: str, count: int) -> list[str]:
    with get_engine(app.store_url).begin() as conn:
        names = [f"flood_{role}_{i}" for i in range(count)]
        for name in names:
            accounts.ensure_account(conn, name, role, [])
        return [accounts.issue_token(conn, name, "fault suite") for name in names]


def _call(url: str, token: str, body: dict | None = None) -> tuple[int, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            r.read()
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, dict(exc.headers)


def _map_path(app: AppProcess) -> str:
    with get_engine(app.store_url).connect() as conn:
        box = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                "FROM (SELECT ST_Extent(geom) e FROM building) s"
            )
        ).one()
    return "/api/layers/buildings?bbox=" + ",".join(f"{v:.6f}" for v in box) + "&zoom=16"


def test_the_map_stays_fast_while_analysts_flood_the_server(app):
    analysts = _tokens(app, "analyst", ACCOUNTS)
    leader = _tokens(app, "leader", 1)[0]
    map_url = app.base_url + _map_path(app)
    assert _call(map_url, leader)[0] == 200  # warm
    stop = threading.Event()
    answers: Counter[int] = Counter()
    retry_after: set[str | None] = set()

    def flood(token: str) -> None:
        while not stop.is_set():
            status, headers = _call(app.base_url + "/api/analyze", token, QUESTION)
            answers[status] += 1
            if status == 429:
                retry_after.add(headers.get("Retry-After"))

    threads = [
        threading.Thread(target=flood, args=(analysts[i % ACCOUNTS],), daemon=True)
        for i in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    time.sleep(0.5)
    latencies, statuses = [], Counter()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        started = time.perf_counter()
        statuses[_call(map_url, leader)[0]] += 1
        latencies.append((time.perf_counter() - started) * 1000)
    stop.set()
    for t in threads:
        t.join(40)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"map p95 {p95:.0f} ms over {len(latencies)} requests; analyze answers {dict(answers)}")
    assert statuses == Counter({200: len(latencies)}), statuses
    assert answers[200] > 0 and answers[429] > 0, answers
    assert set(answers) <= {200, 429}, answers
    assert None not in retry_after and all(int(v) > 0 for v in retry_after if v)
    assert p95 < MAP_P95_MS, f"map p95 {p95:.0f} ms while {CLIENTS} analyst clients ran"
