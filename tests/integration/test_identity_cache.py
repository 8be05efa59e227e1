"""The per-process identity cache (web.identity_cache) on a real store and live listener, and
the gate using it: remembered identities are forgotten when the store's triggers say an
account, scope, session or token changed, when they expire, and nothing is remembered while
the listener is down."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app import create_app
from geodata import accounts
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import signed_in, until
from twin.live import LiveHub, hub_for
from web.identity_cache import IdentityCache, cache_for

NOTIFY = "SELECT pg_notify('onemap_live', :payload)"


class Loads:
    """A loader that counts its calls and answers ``found`` (expiring at ``expires``)."""

    def __init__(self, found: object = "viewer", expires: datetime | None = None) -> None:
        self.calls, self.found, self.expires = 0, found, expires
        self.during: Callable[[], None] | None = None

    def __call__(self):
        self.calls += 1
        if self.during:
            self.during()
        return None if self.found is None else (self.found, self.expires)


@pytest.fixture
def hub(store_url) -> LiveHub:
    hub = hub_for(store_url)
    assert hub.start(10) and hub.listening
    return hub


def notify(url: str, hub: LiveHub, payload: str) -> None:
    """Send ``payload`` on the live channel and wait until the listener has it."""
    before = hub.seq
    with get_engine(url).begin() as conn:
        conn.execute(text(NOTIFY), {"payload": payload})
    assert until(lambda: hub.seq > before)


def test_found_identities_are_remembered_until_an_identity_change(store_url, hub):
    cache, load = IdentityCache(hub), Loads()
    assert cache.lookup("k", load) == "viewer" and cache.lookup("k", load) == "viewer"
    assert load.calls == 1
    notify(store_url, hub, '{"kind": "event", "id": 1}')  # other news: still remembered
    assert cache.lookup("k", load) == "viewer" and load.calls == 1
    notify(store_url, hub, '{"kind": "identity"}')
    assert cache.lookup("k", load) == "viewer" and load.calls == 2


def test_unknown_keys_are_never_remembered(hub):
    cache, load = IdentityCache(hub), Loads(found=None)
    assert cache.lookup("k", load) is None and cache.lookup("k", load) is None
    assert load.calls == 2 and len(cache) == 0


def test_an_entry_ends_when_its_session_does_and_after_the_ttl(hub):
    cache = IdentityCache(hub, ttl=60)
    soon = Loads(expires=datetime.now(UTC) + timedelta(seconds=0.2))
    cache.lookup("s", soon)
    assert cache.lookup("s", soon) and soon.calls == 1
    time.sleep(0.25)
    cache.lookup("s", soon)
    assert soon.calls == 2
    short, load = IdentityCache(hub, ttl=0.1), Loads()
    short.lookup("t", load)
    time.sleep(0.15)
    short.lookup("t", load)
    assert load.calls == 2


def test_a_change_arriving_during_a_lookup_keeps_its_answer_out(store_url, hub):
    cache, load = IdentityCache(hub), Loads()
    cache.lookup("other", Loads())  # the cache is subscribed before the change is sent
    load.during = lambda: notify(store_url, hub, '{"kind": "identity"}')
    cache.lookup("k", load)
    load.during = None
    cache.lookup("k", load)
    assert load.calls == 2


def test_nothing_is_remembered_while_the_listener_is_down(store_url):
    down = LiveHub(store_url)  # never started: not listening
    down.start = lambda wait=5.0: False  # type: ignore[method-assign]
    cache, load = IdentityCache(down), Loads()
    cache.lookup("k", load)
    cache.lookup("k", load)
    assert load.calls == 2 and not down.listening


def test_a_reconnected_listener_forgets_everything(hub):
    cache, load = IdentityCache(hub), Loads()
    cache.lookup("k", load)
    hub.publish({"kind": "reset"})  # what the hub says after reconnecting
    cache.lookup("k", load)
    assert load.calls == 2


# --- through the gate: the store's triggers (migration 0014) -----------------------------------


@pytest.fixture(scope="module")
def app(demo_url):
    return create_app(Settings(database_url=demo_url), demo_url)


def _token(url: str, username: str, role: str) -> str:
    with get_engine(url).begin() as conn:
        accounts.ensure_account(conn, username, role)
        conn.execute(text("UPDATE account SET active = true WHERE username = :u"), {"u": username})
        return accounts.issue_token(conn, username, "identity cache tests")


def _status(app, token: str, path: str = "/ogc/collections") -> int:
    return signed_in(app.server.test_client(), token).get(path).status_code


def remembered(url: str, token: str) -> bool:
    """Whether this process answers for ``token`` without asking the store."""
    asked: list[int] = []
    cache_for(url).lookup(f"token:{accounts.token_hash(token)}", lambda: asked.append(1))
    return not asked


def _used(app, url: str, token: str) -> None:
    """The token opens the API, and the process now remembers it (the first request starts
    the process's listener; nothing is remembered until it listens)."""
    assert _status(app, token) == 200
    assert until(lambda: hub_for(url).listening)
    assert _status(app, token) == 200
    assert remembered(url, token)


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE api_token SET revoked = true WHERE token_hash = :h",
        "UPDATE account SET active = false WHERE id = "
        "(SELECT account_id FROM api_token WHERE token_hash = :h)",
        "DELETE FROM api_token WHERE token_hash = :h",
    ],
)
def test_a_revoked_token_or_disabled_account_is_refused_once_the_store_says_so(
    app, demo_url, change
):
    token = _token(demo_url, "cache_planner", "planner")
    _used(app, demo_url, token)
    with get_engine(demo_url).begin() as conn:
        conn.execute(text(change), {"h": accounts.token_hash(token)})
    assert until(lambda: not remembered(demo_url, token), 2.0)
    assert _status(app, token) == 401


def test_a_new_role_or_scope_counts_once_the_store_says_so(app, demo_url):
    token = _token(demo_url, "cache_leader", "leader")
    _used(app, demo_url, token)
    assert _status(app, token, "/audit") == 403  # leaders may not read the audit trail
    try:
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("UPDATE account SET role = 'admin' WHERE username = 'cache_leader'"))
        assert until(lambda: not remembered(demo_url, token), 2.0)
        assert _status(app, token, "/audit") == 200
        assert remembered(demo_url, token)
        with get_engine(demo_url).begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO account_scope (account_id, area_id) SELECT a.id, x.id "
                    "FROM account a, area x WHERE a.username = 'cache_leader' "
                    "AND x.level = 'street' ORDER BY x.id LIMIT 1"
                )
            )
        assert until(lambda: not remembered(demo_url, token), 2.0)
    finally:
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("UPDATE account SET role = 'leader' WHERE username = 'cache_leader'"))


def test_signing_out_here_forgets_the_session_at_once(app, demo_url):
    password = "a long enough password"
    with get_engine(demo_url).begin() as conn:
        accounts.ensure_account(conn, "cache_analyst", "analyst")
        accounts.set_password(conn, "cache_analyst", password)
    client = app.server.test_client()
    _status(app, "om_unknown")  # starts the process's listener
    assert until(lambda: hub_for(demo_url).listening)
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    login = {"username": "cache_analyst", "password": password, "csrf_token": csrf}
    assert client.post("/login", data=login).status_code == 303
    assert client.get("/api/layers").status_code == 200
    cookie = client.get_cookie("onemap_session").value
    check = client.get_cookie("_csrf_token").value
    assert client.post("/logout", headers={"X-CSRFToken": check}).status_code == 303
    replay = app.server.test_client()
    replay.set_cookie("onemap_session", cookie)
    assert replay.get("/api/layers").status_code == 401  # no wait: forgotten by the sign-out
