"""What several benchmarks share: a scratch demo database, more incidents, best-of timing,
the app served on a free port."""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text

from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import embedded_store, scratch_database
from geodata.vocab import CLOSED_SQL

_NOT_COPIED = {"id", "source", "source_id", "created_at", "updated_at"}


@contextmanager
def scratch_demo(label: str, scale: float, seed: int, *, keep: bool = False) -> Iterator[str]:
    """A fresh database on the embedded cluster holding the demo city; dropped unless ``keep``."""
    from geodata.demo import build_demo

    store = embedded_store(Settings(database_url=None))
    store.start()
    with scratch_database(store.url(), f"onemap_bench_{label}", keep=keep) as url:
        started = time.perf_counter()
        build_demo(url, scale=scale, seed=seed)
        print(f"demo city scale {scale:g} built in {time.perf_counter() - started:.1f} s")
        yield url
        if keep:
            print(f"kept {url}")


@contextmanager
def given_or_scratch_demo(args: argparse.Namespace, label: str) -> Iterator[str]:
    """``args.url`` when given, else a scratch demo city built at ``args.scale``/``args.seed``
    (kept afterwards with ``args.keep``)."""
    if args.url:
        yield args.url
        return
    with scratch_demo(label, args.scale, args.seed, keep=args.keep) as url:
        yield url


def get_ok(client, path: str) -> Callable[[], None]:
    """A run that GETs ``path`` with a Flask test client and insists on a 200."""

    def run() -> None:
        response = client.get(path)
        assert response.status_code == 200, response.data[:200]

    return run


def p50_p95(runs: list[Callable[[], object]], n: int) -> list[tuple[float, float]]:
    """p50 and p95 in milliseconds of ``n`` calls of each of ``runs`` (after one warm-up each),
    interleaved so that load from elsewhere on the machine falls on all of them alike."""
    for run in runs:
        run()
    samples: list[list[float]] = [[] for _ in runs]
    for _ in range(n):
        for run, into in zip(runs, samples, strict=True):
            started = time.perf_counter()
            run()
            into.append((time.perf_counter() - started) * 1000)
    out = []
    for into in samples:
        into.sort()
        out.append((statistics.median(into), into[int(0.95 * (n - 1))]))
    return out


def add_incident_args(parser: argparse.ArgumentParser, scale: float) -> None:
    """The options of a benchmark on a demo city topped up with incidents."""
    parser.add_argument("--scale", type=float, default=scale)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--url", help="use this demo database instead of building one")
    parser.add_argument("--keep", action="store_true", help="keep the built database")


@contextmanager
def incident_demo(
    args: argparse.Namespace, label: str, *, with_logs: bool = False
) -> Iterator[str]:
    """``--url`` or else a scratch demo city (``label``), topped up to ``--incidents`` (and,
    ``with_logs``, their logs); see :func:`add_incident_args`."""
    if args.url:
        top_up_incidents(args.url, args.incidents, with_logs=with_logs)
        yield args.url
        return
    with scratch_demo(f"{label}_{os.getpid()}", args.scale, args.seed, keep=args.keep) as url:
        started = time.perf_counter()
        n = top_up_incidents(url, args.incidents, with_logs=with_logs)
        print(f"topped up to {n:,} incidents in {time.perf_counter() - started:.0f} s")
        yield url


@contextmanager
def serve_app(url: str, *, timeout: float = 180) -> Iterator[str]:
    """``python app.py`` on ``url`` at a free port (output discarded); yields its base URL
    once ``/login`` answers and stops it (SIGTERM) afterwards."""
    from tests.conftest import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "ONEMAP_PORT": str(port)}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, **quiet)
    base = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_serving(base, proc, timeout)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_until_serving(base: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "login", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"app.py did not serve {base}")


def top_up_incidents(url: str, target: int, *, with_logs: bool = False) -> int:
    """Copy the store's incidents (and, ``with_logs``, their logs) in SQL until there are at
    least ``target``; return the count. Open rule incidents are not copied (one per subject)."""
    with get_engine(url).begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
        if have >= target:
            return have
        columns = conn.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'event' "
                "AND table_schema = current_schema() ORDER BY ordinal_position"
            )
        ).scalars()
        listed = ", ".join(f'"{c}"' for c in columns if c not in _NOT_COPIED)
        conn.execute(text("SET LOCAL onemap.area_assigned = 'on'"))
        conn.execute(
            text(
                f"INSERT INTO event (source, source_id, {listed}) "
                f"SELECT 'bench', k || ':' || id, {listed} FROM event, generate_series(1, :n) k "
                f"WHERE rule IS NULL OR status IN {CLOSED_SQL}"
            ),
            {"n": -(-(target - have) // have)},
        )
        if with_logs:
            conn.execute(
                text(
                    "INSERT INTO event_log (event_id, at, actor, action, from_status, to_status, "
                    "from_level, to_level, note) "
                    "SELECT n.id, l.at, l.actor, l.action, l.from_status, l.to_status, "
                    "l.from_level, l.to_level, l.note FROM event n "
                    "JOIN event_log l ON l.event_id = split_part(n.source_id, ':', 2)::bigint "
                    "WHERE n.source = 'bench'"
                )
            )
        total = conn.execute(text("SELECT count(*) FROM event")).scalar_one()
    tables = "event, event_log" if with_logs else "event"
    with get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {tables}"))
    return total


def best(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _bench_user(role: str, areas: tuple[str, ...]) -> str:
    return "_".join(("bench", role, *areas))[:64]


def bench_account(url: str, role: str = "analyst", areas: tuple[str, ...] = ()) -> int:
    """The id of the benchmark account with ``role`` (and area codes), created on first use."""
    from geodata import accounts

    with get_engine(url).begin() as conn:
        return accounts.ensure_account(conn, _bench_user(role, areas), role, list(areas))


def bench_token(url: str, role: str = "analyst", areas: tuple[str, ...] = ()) -> str:
    """A new API token of the benchmark account (send as ``Authorization: Bearer …``)."""
    from geodata import accounts

    bench_account(url, role, areas)
    with get_engine(url).begin() as conn:
        return accounts.issue_token(conn, _bench_user(role, areas), "bench")


def session_cookies(
    url: str, base: str, role: str = "analyst", areas: tuple[str, ...] = ()
) -> list[dict]:
    """Session and CSRF cookies of a new session of the benchmark account, for Playwright's
    ``context.add_cookies`` (a signed-in browser without going through the form)."""
    from datetime import timedelta

    from geodata import accounts
    from web.gate import CSRF_COOKIE, SESSION_COOKIE

    account = bench_account(url, role, areas)
    with get_engine(url).begin() as conn:
        token, csrf = accounts.open_session(conn, account, timedelta(hours=2), "bench")
    return [
        {"name": SESSION_COOKIE, "value": token, "url": base},
        {"name": CSRF_COOKIE, "value": csrf, "url": base},
    ]
