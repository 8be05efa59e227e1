"""Throttles (:mod:`web.throttles`) against the real app and PostGIS, each client address set per
request.

Facts checked: failed sign-ins are throttled per account and address (429 with
``Retry-After`` on the sign-in card) while the account's owner, from another address, still
signs in; per address across accounts; per account across many addresses, and that lock-out is
over once its short window has passed; successful sign-ins do not count; a flood of wrong
Open311 keys from one address is answered 429 in Open311's own error list after the limit, as
is one key used from many addresses; analyst questions and exports are throttled per account
in the OneMap API's JSON shape.
"""

from __future__ import annotations

import re
import time

import pytest

from app import create_app
from geodata import accounts
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import api_token, signed_in

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def owner(url) -> str:
    with get_engine(url).begin() as conn:
        accounts.add_account(conn, "throttle_owner", "analyst", PASSWORD)
        accounts.add_account(conn, "throttle_other", "analyst", PASSWORD)
    return "throttle_owner"


def _app(url: str, **settings):
    return create_app(Settings(database_url=url, **settings), url)


def _sign_in(client, username: str, password: str, address: str):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=form, environ_base=environ)


def test_a_stranger_at_one_address_cannot_lock_the_owner_out(url, owner):
    app = _app(url)  # defaults: 10 failures per account and address in 15 minutes
    stranger = app.server.test_client()
    answers = [_sign_in(stranger, owner, "wrong", "10.1.0.1").status_code for _ in range(12)]
    assert answers == [401] * 10 + [429] * 2
    refused = _sign_in(stranger, owner, PASSWORD, "10.1.0.1")  # even the right password
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    assert "分钟后再试" in refused.get_data(as_text=True)
    assert _sign_in(app.server.test_client(), owner, PASSWORD, "10.1.0.2").status_code == 303


def test_one_address_spraying_many_accounts_is_throttled(url, owner):
    app = _app(url, login_limit_address="5 per 15 minutes")
    client = app.server.test_client()
    names = [f"nobody{i}" for i in range(7)]
    answers = [_sign_in(client, name, "wrong", "10.2.0.1").status_code for name in names]
    assert answers == [401] * 5 + [429] * 2
    assert _sign_in(client, owner, PASSWORD, "10.2.0.2").status_code == 303


def test_many_addresses_on_one_account_are_throttled_for_a_short_window(url, owner):
    window = 20  # seconds (default: a minute); the sign-ins below take well under that
    app = _app(url, login_limit_account=f"6 per {window} seconds", login_max_failures=1000)
    client = app.server.test_client()
    answers = [_sign_in(client, owner, "x", f"10.3.0.{i}").status_code for i in range(8)]
    assert answers == [401] * 6 + [429] * 2
    during = _sign_in(client, owner, PASSWORD, "10.3.1.1")
    retry_after = int(during.headers["Retry-After"])
    assert during.status_code == 429 and 0 < retry_after <= window + 1
    time.sleep(retry_after + 0.5)  # the oldest failure has left the window
    assert _sign_in(client, owner, PASSWORD, "10.3.1.1").status_code == 303  # … then over


def test_successful_sign_ins_do_not_count(url, owner):
    app = _app(url, login_limit_account_address="2 per 15 minutes")
    client = app.server.test_client()
    answers = [_sign_in(client, owner, PASSWORD, "10.4.0.1").status_code for _ in range(5)]
    assert answers == [303] * 5


def _open311_post(client, key: str, address: str):
    form = {"api_key": key, "service_code": "x", "lat": "31.86", "long": "117.28"}
    return client.post(
        "/open311/v2/requests.json", data=form, environ_base={"REMOTE_ADDR": address}
    )


def test_a_flood_of_wrong_open311_keys_is_throttled_per_address(url):
    app = _app(url, open311_api_keys={"miniapp": "k" * 40})
    client = app.server.test_client()
    answers = [_open311_post(client, f"guess-{i}", "10.5.0.1") for i in range(40)]
    codes = [a.status_code for a in answers]
    assert codes == [403] * 10 + [429] * 30  # default: 10 refused keys per 10 minutes
    last = answers[-1]
    assert int(last.headers["Retry-After"]) >= 1
    assert last.get_json()[0]["code"] == 429  # Open311's error list
    assert "too many requests" in last.get_json()[0]["description"]
    xml = client.post(
        "/open311/v2/requests.xml", data={"api_key": "x"}, environ_base={"REMOTE_ADDR": "10.5.0.1"}
    )
    assert xml.status_code == 429 and b"<errors>" in xml.data


def test_a_valid_key_is_counted_per_key_not_per_address(url):
    app = _app(url, open311_api_keys={"miniapp": "k" * 40}, open311_limit_key="3 per minute")
    client = app.server.test_client()
    codes = [_open311_post(client, "k" * 40, "10.7.0.1").status_code for _ in range(4)]
    assert 403 not in codes and codes[3] == 429  # (400: the test's report is incomplete)
    assert 429 not in codes[:3]


def test_one_open311_key_from_many_addresses_is_throttled(url):
    app = _app(url, open311_limit_key="5 per minute")
    client = app.server.test_client()
    codes = [_open311_post(client, "stolen", f"10.6.0.{i}").status_code for i in range(7)]
    assert codes == [403] * 5 + [429] * 2


def test_analyst_questions_and_exports_are_throttled_per_account(url):
    app = _app(url, analyze_rate_per_user="2 per minute", export_rate_per_user="2 per minute")
    first = signed_in(app.server.test_client(), api_token(url, "analyst"))
    question = {"layer": "buildings", "bbox": [117.28, 31.86, 117.29, 31.87]}
    codes = [first.post("/api/analyze", json=question).status_code for _ in range(3)]
    assert 429 not in codes[:2] and codes[2] == 429
    refused = first.post("/api/analyze", json=question)
    assert refused.get_json()["status"] == 429 and "Retry-After" in refused.headers
    export = "/api/export/buildings?format=csv&bbox=117.28,31.86,117.29,31.87"
    assert [first.get(export).status_code for _ in range(3)] == [200, 200, 429]
    other = signed_in(app.server.test_client(), api_token(url, "planner"))
    assert other.get(export).status_code == 200  # another account has its own count
