"""Two real app processes behind one store behave as one (:mod:`tests.faults.pair`): a sign-out
or a revoked token counts in both at once, an incident taken in by one reaches the other's live
stream, exactly one runs the once-only duties, and after a ``kill -9`` of that one the other
takes them over."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from geodata import accounts
from geodata.engine import get_engine
from tests.faults.harness import kill9, now_utc, wait_until
from tests.faults.pair import Browser, Pair, SseReader, status

TAKEOVER_BOUND_S = 5.0
"""Leader poll 0.5 s here: the lock moves within a second; the rest is the duties' start."""


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Iterator[Pair]:
    both = Pair.start(tmp_path_factory.mktemp("pair"))
    try:
        yield both
    finally:
        both.stop()


def _token(url: str, username: str, role: str) -> str:
    with get_engine(url).begin() as conn:
        accounts.ensure_account(conn, username, role)
        return accounts.issue_token(conn, username, "two processes")


def test_exactly_one_process_leads_and_both_are_ready(pair: Pair) -> None:
    assert pair.leaders() == [pair.a.app_pid()]
    a, b = pair.a.readyz(), pair.b.readyz()
    assert (a["status"], b["status"]) == ("ready", "ready")
    assert a["parts"]["leader"]["role"] == "leader"
    assert a["parts"]["sweeper"]["state"] == "ok"
    assert a["parts"]["broker"]["state"] == "ok"
    assert b["parts"]["leader"]["role"] == "follower"
    assert {b["parts"][p]["state"] for p in ("sweeper", "broker", "subscriber")} == {"off"}
    a_log, b_log = pair.a.log(tail=10**7), pair.b.log(tail=10**7)
    for line in ("leads: starting the once-only duties", "first sweep done", "embedded MQTT"):
        assert line in a_log and line not in b_log


def test_a_sign_out_in_one_process_is_refused_in_the_other_at_once(pair: Pair) -> None:
    password = "a long enough password for two"
    with get_engine(pair.a.store_url).begin() as conn:
        accounts.ensure_account(conn, "pair_analyst", "analyst")
        accounts.set_password(conn, "pair_analyst", password)
    browser = Browser()
    browser.sign_in(pair.a.base_url, "pair_analyst", password)
    for _ in range(2):  # the second answer comes from b's identity cache
        assert browser.status_on(pair.b.base_url, "/api/layers") == 200
    assert browser.sign_out(pair.a.base_url) == 303
    took = wait_until(lambda: browser.status_on(pair.b.base_url, "/api/layers") == 401, 2, 0.01)
    assert took is not None and took < 0.5


def test_a_revoked_token_is_refused_by_both_processes(pair: Pair) -> None:
    token = _token(pair.a.store_url, "pair_planner", "planner")
    urls = [p.base_url + "/ogc/collections" for p in pair.processes()]
    for url in urls * 2:
        assert status(url, token) == 200
    with get_engine(pair.a.store_url).begin() as conn:
        conn.execute(
            text("UPDATE api_token SET revoked = true WHERE token_hash = :h"),
            {"h": accounts.token_hash(token)},
        )
    took = wait_until(lambda: all(status(url, token) == 401 for url in urls), 2, 0.01)
    assert took is not None and took < 0.5


def test_an_incident_taken_in_by_one_reaches_the_others_live_stream(pair: Pair) -> None:
    token = _token(pair.a.store_url, "pair_leader", "leader")
    reader = SseReader(pair.b.base_url, token)
    reader.start()
    assert reader.hello.wait(10)
    key, serials = pair.a.add_gateway("pair-gateway")
    reading = {"device": serials[0], "ts": now_utc().isoformat(), "value": 60.0}
    posted = time.time()
    request = urllib.request.Request(
        pair.a.base_url + "/api/readings",
        json.dumps({"readings": [reading]}).encode(),
        {"Content-Type": "application/json", "X-Gateway-Key": key},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        incidents = json.loads(r.read())["incidents"]
    assert len(incidents) == 1

    def arrived() -> bool:
        return any(
            d.get("kind") == "event" and d.get("id") == incidents[0] for _t, d in reader.messages
        )

    assert wait_until(arrived, 2.0, 0.01) is not None
    at = next(t for t, d in reader.messages if d.get("id") == incidents[0])
    assert at - posted < 2.0
    reader.stop()


def test_the_process_that_started_the_store_stops_without_stopping_it(pair: Pair) -> None:
    """``a`` started the embedded PostgreSQL and leads; stopped (SIGTERM) while ``b`` runs, it
    leaves the cluster running for ``b``, which takes over the duties."""
    postmaster = pair.a.postmaster_pid()
    assert pair.leaders() == [pair.a.app_pid()]
    assert pair.a.proc is not None
    pair.a.proc.terminate()
    assert pair.a.proc.wait(30) == 0
    assert "left running for app process(es)" in pair.a.log()
    assert pair.a.postmaster_pid() == postmaster and pair.a.cluster().alive()
    assert wait_until(lambda: pair.leaders() == [pair.b.app_pid()], 5, 0.05) is not None
    assert wait_until(lambda: pair.b.ready(), 20) is not None
    pair.a.start()
    assert pair.a.readyz()["parts"]["leader"]["role"] == "follower"


def test_after_a_kill_9_of_the_leader_the_other_takes_over(pair: Pair) -> None:
    leader = pair.by_pid(pair.leaders()[0])
    other = pair.b if leader is pair.a else pair.a
    passes_before = other.readyz()["parts"]["sweeper"].get("passes")
    assert passes_before is None  # the follower runs no sweeper
    killed = time.monotonic()
    kill9(leader.app_pid())
    assert leader.proc is not None
    leader.proc.wait(10)
    took = wait_until(lambda: pair.leaders() == [other.app_pid()], 10, 0.05)
    assert took is not None and took < TAKEOVER_BOUND_S

    def duties_up() -> bool:
        parts = other.readyz()["parts"]
        return parts["leader"]["role"] == "leader" and all(
            parts[p]["state"] == "ok" for p in ("sweeper", "broker", "subscriber")
        )

    assert wait_until(duties_up, 20, 0.05) is not None
    assert time.monotonic() - killed < 20
    # the one that died comes back as a follower; still exactly one leader
    leader.start()
    assert pair.leaders() == [other.app_pid()]
    assert leader.readyz()["parts"]["leader"]["role"] == "follower"
    assert other.readyz()["parts"]["sweeper"]["passes"] >= 1
