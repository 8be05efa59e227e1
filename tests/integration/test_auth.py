"""Sign-in, sessions, CSRF, lock-out and API tokens against the real app and PostGIS.

Facts checked: every gated route refuses an anonymous client (pages are sent to the login page,
data gets 401) while the device intake, Open311 and static assets stay reachable with their own
rules; a correct sign-in sets an HttpOnly SameSite session cookie and lands on the role's page;
a wrong password and an unknown user get the same answer; five failures lock the account even
for the right password; state-changing requests need the session's CSRF token; sign-out ends
the session; revoked, expired and disabled accounts' tokens open nothing; passwords are stored
as Argon2id hashes only; ``next`` cannot send the user to another site.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from sqlalchemy import text

from app import create_app
from geodata import accounts
from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT, Settings
from tests.conftest import api_token, signed_in, until

PASSWORD = "correct horse battery"

GATED = [
    ("GET", "/"),
    ("GET", "/twin"),
    ("GET", "/wall"),
    ("GET", "/grid"),
    ("GET", "/export"),
    ("GET", "/analyze"),
    ("GET", "/audit"),
    ("GET", "/_dash-layout"),
    ("GET", "/_dash-dependencies"),
    ("POST", "/_dash-update-component"),
    ("GET", "/api/layers"),
    ("GET", "/api/layers/buildings?bbox=117,31,118,32&zoom=12"),
    ("GET", "/api/layers/residents?bbox=117,31,118,32&zoom=12"),
    ("GET", "/api/export/buildings?format=geojson"),
    ("GET", "/api/export/residents?format=csv"),
    ("GET", "/api/live?poll=0"),
    ("POST", "/api/analyze"),
    ("GET", "/ogc"),
    ("GET", "/ogc/collections"),
    ("GET", "/ogc/collections/buildings/items"),
    ("GET", "/ogc/collections/buildings/items/1"),
    ("POST", "/logout"),
]


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def app(url):
    return create_app(Settings(database_url=url, login_max_failures=5), url)


@pytest.fixture(scope="module")
def person(url) -> str:
    """An analyst account of the test city with a known password."""
    with get_engine(url).begin() as conn:
        accounts.add_account(conn, "auth_analyst", "analyst", PASSWORD)
    return "auth_analyst"


def _login_form(client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]


def _sign_in(client, username: str, password: str, next_page: str = ""):
    csrf = _login_form(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": next_page},
    )


@pytest.mark.parametrize(("method", "path"), GATED)
def test_anonymous_clients_are_refused_everywhere(app, method, path):
    client = app.server.test_client()
    page = client.open(path, method=method, headers={"Accept": "text/html"})
    data = client.open(path, method=method, headers={"Accept": "application/json"})
    assert data.status_code == 401
    assert data.headers["WWW-Authenticate"].startswith("Bearer")
    if path.startswith(("/api", "/ogc", "/_dash")) or method == "POST":
        assert page.status_code == 401
    else:  # a person's browser is sent to the login page, coming back afterwards
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/login?next=")


def test_open_routes_keep_their_own_rules(app):
    client = app.server.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/assets/onemap.css").status_code == 200
    assert client.get("/open311/v2/services.json").status_code == 200
    readings = client.post("/api/readings", json={"readings": []})
    assert readings.status_code == 401 and "X-Gateway-Key" in readings.get_json()["error"]


def test_sign_in_sets_a_guarded_session_and_lands_on_the_role_page(app, person):
    client = app.server.test_client()
    response = _sign_in(client, person, PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/analyze"
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("onemap_session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session
    csrf = next(c for c in cookies if c.startswith("_csrf_token="))
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf
    assert client.get("/api/layers").status_code == 200


def test_secure_cookies_behind_a_tls_proxy(url, person):
    app = create_app(Settings(database_url=url, cookie_secure=True), url)
    response = _sign_in(app.server.test_client(), person, PASSWORD)
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))


def test_next_page_is_followed_only_on_this_site(app, person):
    ok = _sign_in(app.server.test_client(), person, PASSWORD, "/twin?zoom=15")
    assert ok.headers["Location"] == "/twin?zoom=15"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        bad = _sign_in(app.server.test_client(), person, PASSWORD, evil)
        assert bad.headers["Location"] == "/analyze"


def test_wrong_password_and_unknown_user_get_the_same_answer(app, person):
    wrong = _sign_in(app.server.test_client(), person, "not the password")
    unknown = _sign_in(app.server.test_client(), "nobody_here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "用户名或密码错误" in response.get_data(as_text=True)
        assert "onemap_session" not in response.headers.get("Set-Cookie", "")


def test_a_login_post_without_the_form_token_is_refused(app, person):
    client = app.server.test_client()
    response = client.post("/login", data={"username": person, "password": PASSWORD})
    assert response.status_code == 400
    assert "onemap_session" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_five_failures_lock_the_account_even_for_the_right_password(app, url):
    with get_engine(url).begin() as conn:
        accounts.add_account(conn, "auth_locked", "planner", PASSWORD)
    for _ in range(5):
        assert _sign_in(app.server.test_client(), "auth_locked", "wrong guess").status_code == 401
    locked = _sign_in(app.server.test_client(), "auth_locked", PASSWORD)
    assert locked.status_code == 401 and "锁定" in locked.get_data(as_text=True)
    with get_engine(url).begin() as conn:
        accounts.set_password(conn, "auth_locked", PASSWORD + "!")  # an admin resets it
    assert _sign_in(app.server.test_client(), "auth_locked", PASSWORD + "!").status_code == 303


def test_state_changing_requests_need_the_sessions_csrf_token(app, person):
    client = app.server.test_client()
    _sign_in(client, person, PASSWORD)
    body = {"output": "x.children", "outputs": {}, "inputs": [], "changedPropIds": []}
    refused = client.post("/_dash-update-component", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    token = client.get_cookie("_csrf_token").value
    forged = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": "x" * 43})
    assert forged.status_code == 403
    passed = client.post("/_dash-update-component", json=body, headers={"X-CSRFToken": token})
    assert passed.status_code != 403


def test_sign_out_ends_the_session(app, person, url):
    client = app.server.test_client()
    _sign_in(client, person, PASSWORD)
    cookie = client.get_cookie("onemap_session").value
    token = client.get_cookie("_csrf_token").value
    out = client.post("/logout", headers={"X-CSRFToken": token})
    assert out.status_code == 303
    # the offline page's caches and queue (service worker, IndexedDB) go with the session
    assert out.headers["Clear-Site-Data"] == '"cache", "storage"'
    with get_engine(url).connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM web_session WHERE token_hash = :h"),
            {"h": accounts.token_hash(cookie)},
        ).scalar_one()
    assert left == 0
    replay = app.server.test_client()
    replay.set_cookie("onemap_session", cookie)
    assert replay.get("/api/layers").status_code == 401


def test_tokens_open_nothing_once_revoked_expired_or_disabled(app, url):
    client = app.server.test_client()
    token = api_token(url, "planner", ())
    assert signed_in(client, token).get("/ogc/collections").status_code == 200
    with get_engine(url).begin() as conn:
        conn.execute(
            text("UPDATE api_token SET revoked = true WHERE token_hash = :h"),
            {"h": accounts.token_hash(token)},
        )
        expired = accounts.issue_token(conn, "test_planner", "old", days=-1)
        accounts.add_account(conn, "auth_gone", "planner", PASSWORD)
        gone = accounts.issue_token(conn, "auth_gone", "script")
        accounts.set_active(conn, "auth_gone", False)
    for dead in (token, expired, gone, "om_" + "A" * 43):
        # a process may remember the token until the store's notice of the change arrives
        # (web.identity_cache: about a millisecond after the commit)
        assert until(lambda t=dead: _status(app, t) == 401, 2.0), dead


def _status(app, token: str) -> int:
    return signed_in(app.server.test_client(), token).get("/ogc/collections").status_code


def test_passwords_are_stored_as_argon2id_only(url, person):
    with get_engine(url).connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM account WHERE username = :u"), {"u": person}
        ).scalar_one()
        tokens = conn.execute(text("SELECT token_hash FROM api_token")).scalars().all()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", t) for t in tokens)


def test_weak_passwords_and_unknown_roles_are_refused(url):
    with get_engine(url).begin() as conn:
        with pytest.raises(accounts.AccountError, match="at least 10"):
            accounts.add_account(conn, "auth_weak", "analyst", "short")
        with pytest.raises(accounts.AccountError, match="unknown role"):
            accounts.add_account(conn, "auth_role", "superuser", PASSWORD)
        with pytest.raises(accounts.AccountError, match="needs at least one grid"):
            accounts.add_account(conn, "auth_grid", "grid_worker", PASSWORD)


def test_user_command_line_adds_lists_and_issues_tokens(app, url):
    def user(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "geodata", "user", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
            cwd=PROJECT_ROOT,
            timeout=60,
        )

    with get_engine(url).connect() as conn:
        grid = conn.execute(text("SELECT code FROM area WHERE level = 'grid' LIMIT 1")).scalar()
    added = user(
        "add", "cli_worker", "--role", "grid_worker", "--area", grid, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = user("list")
    line = next(x for x in listed.stdout.splitlines() if x.startswith("cli_worker"))
    assert "grid_worker" in line and grid in line and "active" in line
    token = user("token", "cli_worker", "--name", "qgis").stdout.strip()
    assert token.startswith("om_")
    assert signed_in(app.server.test_client(), token).get("/ogc").status_code == 200
    duplicate = user("add", "cli_worker", "--role", "planner")
    assert duplicate.returncode == 2 and "exists already" in duplicate.stderr
