"""Heavy work is limited per account and in all (429 with Retry-After beyond) and runs on its own
pool, so map requests keep answering while analysts are busy (real PostGIS, the demo city).

A question is held "running" deterministically: the test locks the ``building`` table, so an
analyst question about buildings waits inside its slot until the test lets go."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app import create_app
from geodata.engine import get_engine, heavy_engine, normalize_url
from geodata.settings import AnalyticsSettings, Settings
from tests.conftest import api_token, signed_in, sql_rows, until
from web.heavy import HEAVY_KEY, RETRY_AFTER_S, HeavyLimiter

GLOBAL, PER_USER = 2, 1
TALL = {
    "layer": "buildings",
    "where": [{"field": "floors", "op": ">", "value": 6}],
    "near": [
        {
            "layer": "facilities",
            "where": [{"field": "kind", "op": "=", "value": "hydrant"}],
            "distance_m": 60,
            "mode": "beyond",
        }
    ],
}


@pytest.fixture(scope="module")
def server(demo_url):
    settings = Settings(
        database_url=demo_url,
        analytics=AnalyticsSettings(heavy_global_limit=GLOBAL, heavy_per_user_limit=PER_USER),
    )
    return create_app(settings, demo_url).server


@pytest.fixture(scope="module")
def tokens(demo_url) -> dict[str, str]:
    return {role: api_token(demo_url, role) for role in ("analyst", "planner", "admin")}


def _client(server, token: str):
    return signed_in(server.test_client(), token)


def _limiter(server) -> HeavyLimiter:
    return server.config[HEAVY_KEY]


def _ask(server, token: str, body: object = TALL):
    return _client(server, token).post(
        "/api/analyze", data=json.dumps(body), content_type="application/json"
    )


@contextmanager
def buildings_locked(url: str) -> Iterator[None]:
    """The building table locked against reads until the block ends."""
    with get_engine(url).connect() as conn, conn.begin():
        conn.execute(text("LOCK TABLE building IN ACCESS EXCLUSIVE MODE"))
        yield


def _started(server, pool: ThreadPoolExecutor, token: str, running: int) -> Future:
    """A question sent in the background, once it holds its slot (``running`` in all)."""
    future = pool.submit(_ask, server, token)
    assert until(lambda: _limiter(server).running() == running, 5.0), "the question never ran"
    return future


def _refused(response, limit: str) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
    body = json.loads(response.data)
    assert body["code"] == "TooManyRequests" and body["status"] == 429
    assert body["limit"] == limit and body["retry_after"] == RETRY_AFTER_S
    assert body["title"]["zh"] and body["error"]


def test_a_second_question_of_the_same_account_waits_its_turn(server, tokens, demo_url):
    with ThreadPoolExecutor(2) as pool:
        with buildings_locked(demo_url):
            first = _started(server, pool, tokens["analyst"], 1)
            _refused(_ask(server, tokens["analyst"]), "user")
            assert not first.done()  # still running: the refusal was at once
        answered = first.result(timeout=20)
    assert answered.status_code == 200 and json.loads(answered.data)["total"] > 0
    assert _limiter(server).running() == 0
    again = _ask(server, tokens["analyst"])
    assert again.status_code == 200
    assert json.loads(again.data)["total"] == json.loads(answered.data)["total"]


def test_the_third_account_is_refused_beyond_the_global_limit(server, tokens, demo_url):
    with ThreadPoolExecutor(2) as pool:
        with buildings_locked(demo_url):
            first = _started(server, pool, tokens["analyst"], 1)
            second = _started(server, pool, tokens["planner"], 2)
            _refused(_ask(server, tokens["admin"]), "global")
        assert first.result(timeout=20).status_code == 200
        assert second.result(timeout=20).status_code == 200
    assert _limiter(server).running() == 0
    assert _ask(server, tokens["admin"]).status_code == 200


def test_a_refused_question_frees_its_slot(server, tokens):
    for bad in ({"layer": "accounts"}, {"layer": "buildings", "within": {"area": "999999999"}}):
        response = _ask(server, tokens["analyst"], bad)
        assert response.status_code == 400, response.data
        assert _limiter(server).running() == 0
    assert _ask(server, tokens["analyst"]).status_code == 200  # per-account limit 1: it was freed


def test_an_export_beyond_the_limit_is_refused_and_then_served(server, tokens, demo_url):
    name = "test_planner"
    account = sql_rows(demo_url, "SELECT id FROM account WHERE username = :u", u=name)[0][0]
    client = _client(server, tokens["planner"])
    with _limiter(server).slot(f"account:{account}"):
        _refused(client.get("/api/export/buildings?format=geojson"), "user")
    response = client.get("/api/export/buildings?format=geojson")
    assert response.status_code == 200
    assert int(response.headers["X-Feature-Count"]) == len(json.loads(response.data)["features"])
    response.close()


def test_the_map_answers_promptly_while_heavy_work_fills_its_own_pool(server, tokens, demo_url):
    bbox = sql_rows(
        demo_url,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(ST_Expand(geom, 0.01)) e FROM building) s",
    )[0]
    path = "/api/layers/buildings?bbox=" + ",".join(f"{v:.6f}" for v in bbox) + "&zoom=16"
    client = _client(server, tokens["analyst"])
    assert client.get(path).status_code == 200  # warm: the first request builds caches
    heavy, main = heavy_engine(demo_url, GLOBAL), get_engine(demo_url)
    assert heavy is not main
    facilities = {"layer": "facilities"}
    locker = create_engine(normalize_url(demo_url), poolclass=NullPool)
    try:
        with ThreadPoolExecutor(GLOBAL) as pool:
            with locker.connect() as lock, lock.begin():
                lock.execute(text("LOCK TABLE facility IN ACCESS EXCLUSIVE MODE"))
                asked = [
                    pool.submit(_ask, server, tokens[role], facilities)
                    for role in ("planner", "admin")
                ]
                assert until(lambda: heavy.pool.checkedout() == GLOBAL, 5.0)  # type: ignore[attr-defined]
                assert _limiter(server).running() == GLOBAL
                assert main.pool.checkedout() == 0  # type: ignore[attr-defined]
                started = time.perf_counter()
                response = client.get(path)
                seconds = time.perf_counter() - started
                assert response.status_code == 200 and json.loads(response.data)["features"]
                assert seconds < 1.0, f"a map request took {seconds:.2f} s while analysts ran"
                assert not any(f.done() for f in asked)
            answers = [f.result(timeout=20) for f in asked]
    finally:
        locker.dispose()
    assert [a.status_code for a in answers] == [200, 200]
    assert json.loads(answers[0].data)["total"] == json.loads(answers[1].data)["total"] > 0
