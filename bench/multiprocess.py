"""Benchmark: two app processes behind one store, against one process as the baseline.

Two ``python app.py`` processes (``a`` starts the embedded PostgreSQL and the demo city, ``b``
attaches to it; :mod:`tests.faults.pair`) and a hot standby made with ``pg_basebackup -R``
(:mod:`tests.integration.replica_support`). Prints, each as the median of ``--repeat`` runs:

- sign-out propagation: a session signed out through ``a`` until ``b`` refuses it (baseline:
  until ``a`` itself refuses it);
- token revocation: a token revoked in the store until ``b`` refuses it (baseline: ``a``);
- live latency: a reading posted to ``a`` that opens an incident until the incident arrives on
  ``b``'s SSE stream (baseline: on ``a``'s own stream);
- leader failover: ``kill -9`` of the leader until the other holds the lock and until its
  duties (broker, intake, sweeper) are up (baseline: restarting a lone process to ready);
- standby: a write on the primary until the standby shows it, and ``kill -9`` of the standby
  until reads are on the primary.

    .venv/bin/python bench/multiprocess.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import text

from app import create_app
from geodata import accounts
from geodata.engine import get_engine
from geodata.leader import libpq_url
from geodata.replicas import read_replicas
from geodata.settings import Settings
from tests.faults.harness import AppProcess, kill9, now_utc, wait_until
from tests.faults.pair import Browser, Pair, SseReader, status
from tests.integration.replica_support import Standby

STEP_S = 0.002
SEEN = "SELECT count(*) FROM bench_mark WHERE n = %s"


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:8.1f} ms (min {min(seconds) * 1000:.1f})"


def _timed(fact: Callable[[], bool], seconds: float = 10.0) -> float:
    took = wait_until(fact, seconds, STEP_S)
    if took is None:
        raise RuntimeError("the awaited fact did not hold in time")
    return took


def sign_out(pair: Pair, where: AppProcess, password: str) -> float:
    browser = Browser()
    browser.sign_in(pair.a.base_url, "bench_pair", password)
    for _ in range(2):
        assert browser.status_on(where.base_url, "/api/layers") == 200
    assert browser.sign_out(pair.a.base_url) == 303
    return _timed(lambda: browser.status_on(where.base_url, "/api/layers") == 401)


def revoke(pair: Pair, where: AppProcess) -> float:
    with get_engine(pair.a.store_url).begin() as conn:
        token = accounts.issue_token(conn, "bench_pair", "bench")
    url = where.base_url + "/ogc/collections"
    for _ in range(2):
        assert status(url, token) == 200
    started = time.monotonic()
    with get_engine(pair.a.store_url).begin() as conn:
        conn.execute(
            text("UPDATE api_token SET revoked = true WHERE token_hash = :h"),
            {"h": accounts.token_hash(token)},
        )
    _timed(lambda: status(url, token) == 401)
    return time.monotonic() - started


def live(pair: Pair, readers: dict[str, SseReader], key: str, serial: str) -> dict[str, float]:
    reading = {"device": serial, "ts": now_utc().isoformat(), "value": 60.0}
    request = urllib.request.Request(
        pair.a.base_url + "/api/readings",
        json.dumps({"readings": [reading]}).encode(),
        {"Content-Type": "application/json", "X-Gateway-Key": key},
    )
    posted = time.time()
    with urllib.request.urlopen(request, timeout=10) as r:
        (incident,) = json.loads(r.read())["incidents"]
    out = {}
    for name, reader in readers.items():

        def arrived(reader: SseReader = reader) -> bool:
            return any(d.get("id") == incident for _t, d in list(reader.messages))

        _timed(arrived)
        out[name] = next(t for t, d in list(reader.messages) if d.get("id") == incident) - posted
    return out


def failover(pair: Pair) -> tuple[float, float]:
    leader = pair.by_pid(pair.leaders()[0])
    other = pair.b if leader is pair.a else pair.a
    killed = time.monotonic()
    kill9(leader.app_pid())
    assert leader.proc is not None
    leader.proc.wait(10)
    lock = _timed(lambda: pair.leaders() == [other.app_pid()], 20)

    def duties() -> bool:
        parts = other.readyz()["parts"]
        return all(parts[p]["state"] == "ok" for p in ("broker", "subscriber", "sweeper"))

    _timed(duties, 30)
    up = time.monotonic() - killed
    leader.start()
    return lock, up


def standby_figures(pair: Pair, repeat: int) -> tuple[list[float], float]:
    standby = Standby(pair.a.cluster()).create()
    try:
        primary = pair.a.store_url
        on_standby = standby.url(primary)
        shown = []
        with psycopg.connect(libpq_url(on_standby), autocommit=True) as replica:
            for i in range(repeat):
                with get_engine(primary).begin() as conn:
                    conn.execute(text("CREATE TABLE IF NOT EXISTS bench_mark (n int)"))
                    conn.execute(text("INSERT INTO bench_mark VALUES (:n)"), {"n": i})
                started = time.monotonic()

                def visible(n: int = i) -> bool:
                    try:
                        row = replica.execute(SEEN, (n,)).fetchone()
                    except psycopg.errors.UndefinedTable:
                        return False
                    return bool(row and row[0])

                _timed(visible)
                shown.append(time.monotonic() - started)
        settings = Settings(database_url=primary, read_database_url=on_standby)
        client = create_app(settings, primary).server.test_client()
        replicas = read_replicas(primary, on_standby, settings.store.read_max_lag_s)
        _timed(lambda: replicas.url() == on_standby)
        killed = time.monotonic()
        standby.kill9()

        def on_primary() -> bool:
            part = client.get("/readyz").get_json()["parts"]["replicas"]
            return part["reads_on"] == "primary"

        _timed(on_primary)
        return shown, time.monotonic() - killed
    finally:
        standby.remove()
        with get_engine(pair.a.store_url).begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_mark"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with TemporaryDirectory(prefix="onemap-bench-pair-") as folder:
        started = time.monotonic()
        pair = Pair.start(Path(folder))
        print(f"two processes ready in {time.monotonic() - started:.1f} s")
        try:
            password = "a long enough bench password"
            with get_engine(pair.a.store_url).begin() as conn:
                accounts.ensure_account(conn, "bench_pair", "leader")
                accounts.set_password(conn, "bench_pair", password)
            n = args.repeat
            base = [sign_out(pair, pair.a, password) for _ in range(n)]
            cross = [sign_out(pair, pair.b, password) for _ in range(n)]
            print(f"sign-out refused   same process {_ms(base)}   other process {_ms(cross)}")
            base = [revoke(pair, pair.a) for _ in range(n)]
            cross = [revoke(pair, pair.b) for _ in range(n)]
            print(f"token revoked      same process {_ms(base)}   other process {_ms(cross)}")
            with get_engine(pair.a.store_url).begin() as conn:
                token = accounts.issue_token(conn, "bench_pair", "bench live")
            readers = {p.name[-1]: SseReader(p.base_url, token) for p in pair.processes()}
            for reader in readers.values():
                reader.start()
                assert reader.hello.wait(10)
            key, serials = pair.a.add_gateway("bench-pair")
            runs = [live(pair, readers, key, serials[i]) for i in range(n)]
            same, other = [r["a"] for r in runs], [r["b"] for r in runs]
            print(f"live event         same process {_ms(same)}   other process {_ms(other)}")
            for reader in readers.values():
                reader.stop()
            lone = AppProcess(Path(folder) / "lone")
            lone.start()
            lone.kill_app()
            restart = lone.start()
            lone.stop()
            lock, up = failover(pair)
            print(
                f"leader failover    lock moved {lock:.2f} s, duties up {up:.2f} s after kill -9 "
                f"(baseline: a lone process restarted to ready in {restart:.2f} s)"
            )
            shown, fallback = standby_figures(pair, n)
            print(
                f"standby            a write visible on it after {_ms(shown)}; "
                f"reads on the primary {fallback:.2f} s after its kill -9"
            )
        finally:
            pair.stop()


if __name__ == "__main__":
    main()
