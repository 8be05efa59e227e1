"""Self-service API tokens (``/account``) against the real app and PostGIS.

Facts checked: the limits are the CLI's (name, expiry, active tokens per account) and the CLI
keeps them too; the page's callbacks create a token that opens the OGC API, list it with its
times in the city's zone and its last use, and revoke it so it opens nothing; both actions
are audited; a token id of somebody else's token (or a malformed one) in the callback
payload changes nothing; a grid worker has no account page; last use is written at most
once a minute per token.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app import create_app
from geodata import accounts, city_time
from geodata.accounts import tokens
from geodata.accounts.access import viewer_of
from geodata.engine import get_engine
from geodata.settings import PROJECT_ROOT, Settings
from pages import account_ids as account
from tests.conftest import signed_in, sql_rows, sql_scalar, until
from web import i18n

CLIENT = "203.0.113.7"
"""The client address the audit rows of these tests record (TEST-NET-3)."""


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def app(url):
    return create_app(Settings(database_url=url), url)


def _owner(url: str, username: str, role: str = "planner", areas: tuple[str, ...] = ()):
    """The viewer of account ``username`` (created on first use) and a token it signs in with."""
    with get_engine(url).begin() as conn:
        accounts.ensure_account(conn, username, role, list(areas))
        identity = accounts.account_identity(conn, username)
        return viewer_of(identity), accounts.issue_token(conn, username, "tests")


class Page:
    """The account page's server callbacks over HTTP, as one signed-in client."""

    def __init__(self, app, token: str) -> None:
        self.client = signed_in(app.server.test_client(), token)
        deps = self.client.get("/_dash-dependencies").get_json()
        self.specs = [d for d in deps if d.get("clientside_function") is None]

    def _post(self, first_output: str, inputs: list, state: list, changed: str):
        spec = next(d for d in self.specs if d["output"].lstrip(".").startswith(first_output))
        outputs = []
        for part in spec["output"].strip(".").split("..."):
            cid, prop = part.rsplit(".", 1)
            outputs.append({"id": cid, "property": prop})
        body = {"output": spec["output"], "outputs": outputs, "inputs": inputs, "state": state,
                "changedPropIds": [changed]}  # fmt: skip
        return self.client.post("/_dash-update-component", json=body)

    def create(self, name: object, days: object, lang: str = "zh"):
        inputs = [{"id": account.CREATE, "property": "n_clicks", "value": 1}]
        state = [
            {"id": account.NAME, "property": "value", "value": name},
            {"id": account.DAYS, "property": "value", "value": days},
            {"id": account.VERSION, "property": "data", "value": 0},
            {"id": "lang-switch", "property": "value", "value": lang},
        ]
        return self._post(account.NEW, inputs, state, f"{account.CREATE}.n_clicks")

    def revoke(self, token_id: object, lang: str = "zh"):
        button = {"type": account.REVOKE, "token": token_id}
        inputs = [[{"id": button, "property": "n_clicks", "value": 1}]]
        state = [
            {"id": account.VERSION, "property": "data", "value": 1},
            {"id": "lang-switch", "property": "value", "value": lang},
        ]
        changed = json.dumps(button, sort_keys=True, separators=(",", ":")) + ".n_clicks"
        return self._post(account.STATUS, inputs, state, changed)

    def show(self, lang: str = "zh"):
        inputs = [
            {"id": account.VERSION, "property": "data", "value": 1},
            {"id": "lang-switch", "property": "value", "value": lang},
        ]
        return self._post(account.TABLE, inputs, [], f"{account.VERSION}.data")


def _strings(value: object) -> list[str]:
    """Every text in a Dash answer (components as JSON), in order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _works(app, token: str) -> bool:
    return signed_in(app.server.test_client(), token).get("/ogc/collections").status_code == 200


def _audit(url: str, action: str, token_id: int) -> list:
    return sql_rows(
        url,
        "SELECT username, client FROM audit_log WHERE action = :a "
        "AND object_type = 'api_token' AND (detail->>'token_id')::bigint = :t",
        a=action,
        t=token_id,
    )


def _last_use(url: str, token_id: int):
    return sql_scalar(url, "SELECT last_used_at FROM api_token_use WHERE token_id = :t", t=token_id)


def test_limits_are_the_same_for_page_and_cli(url):
    owner, _ = _owner(url, "tok_limits")
    with get_engine(url).begin() as conn:
        for name, days, kind in (
            ("", 30, "name"),
            ("x" * 65, 30, "name"),
            ("tab\there", 30, "name"),
            ("ok", 0, "days"),
            ("ok", 366, "days"),
            ("ok", None, "days"),
        ):
            with pytest.raises(tokens.TokenLimit) as refused:
                tokens.create_token(conn, owner, name, days, CLIENT)
            assert refused.value.kind == kind
        # the sign-in token counts: nine more make ten active, the eleventh is refused
        made = [tokens.create_token(conn, owner, f"t{i}", 7, CLIENT) for i in range(9)]
        with pytest.raises(tokens.TokenLimit) as refused:
            tokens.create_token(conn, owner, "eleventh", 7, CLIENT)
        assert refused.value.kind == "count"
        assert tokens.revoke_token(conn, owner, made[0].id, CLIENT) == "t0"
        again = tokens.create_token(conn, owner, "after a revocation", 365, CLIENT)
        expires = conn.execute(
            text("SELECT expires_at - created_at FROM api_token WHERE id = :t"), {"t": again.id}
        ).scalar_one()
    assert expires.days == 365

    def user(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "geodata", "user", "token", *args],
            capture_output=True,
            text=True,
            env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
            cwd=PROJECT_ROOT,
            timeout=60,
        )

    full = user("tok_limits", "--name", "cli")
    assert full.returncode == 2 and "at most 10 active tokens" in full.stderr
    _, _ = _owner(url, "tok_cli")
    too_long = user("tok_cli", "--name", "cli", "--days", "400")
    assert too_long.returncode == 2 and "at most 365 days" in too_long.stderr
    issued = user("tok_cli", "--name", "cli")
    assert issued.returncode == 0, issued.stderr
    token_id, days = sql_rows(
        url,
        "SELECT id, extract(day FROM expires_at - created_at) FROM api_token WHERE token_hash = :h",
        h=accounts.token_hash(issued.stdout.strip()),
    )[0]
    assert days == 365 and _audit(url, tokens.CREATED, token_id) == [("tok_cli", "cli")]


def test_page_creates_lists_and_revokes_a_token(app, url):
    _, sign_in_token = _owner(url, "tok_page")
    page = Page(app, sign_in_token)
    answer = page.create("  office QGIS ", 30)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    shown = [s for s in _strings(answer.get_json()["response"]) if s.startswith("om_")]
    assert len(shown) == 1
    token = shown[0]
    assert _works(app, token)
    token_id, name, created = sql_rows(
        url,
        "SELECT id, name, created_at FROM api_token WHERE token_hash = :h",
        h=accounts.token_hash(token),
    )[0]
    assert name == "office QGIS"
    assert _audit(url, tokens.CREATED, token_id) == [("tok_page", "127.0.0.1")]
    used = _last_use(url, token_id)
    assert used is not None and (datetime.now(UTC) - used).total_seconds() < 30

    table = page.show("zh").get_json()["response"][account.TABLE]["children"]
    row = next(r for r in table if r["props"].get("data-token") == str(token_id))
    cells = [td["props"].get("children") for td in row["props"]["children"]]
    zone = Settings().city.timezone
    assert cells[:2] == ["office QGIS", city_time.fmt(created, zone, account.TIME_FORMAT)]
    assert cells[3:5] == [city_time.fmt(used, zone, account.TIME_FORMAT), "有效"]
    assert token not in json.dumps(table)  # the value is shown once, never listed

    revoked = page.revoke(token_id)
    assert revoked.status_code == 200
    assert "已撤销" in json.dumps(revoked.get_json(), ensure_ascii=False)
    assert until(lambda: not _works(app, token), 2.0)
    assert _audit(url, tokens.REVOKED, token_id) == [("tok_page", "127.0.0.1")]
    assert page.revoke(token_id).get_json()["response"][account.STATUS]["children"] == (
        i18n.text("account.not_found", "zh")
    )


@pytest.mark.parametrize("forged", ["other", 0, -1, 2**70, "7", True, None, 1.5])
def test_a_forged_token_id_revokes_nothing(app, url, forged):
    _, mine = _owner(url, "tok_forger")
    _, theirs = _owner(url, "tok_victim", "analyst")
    their_id = sql_scalar(
        url, "SELECT id FROM api_token WHERE token_hash = :h", h=accounts.token_hash(theirs)
    )
    before = sql_scalar(url, "SELECT count(*) FROM api_token WHERE revoked")
    answer = Page(app, mine).revoke(their_id if forged == "other" else forged)
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)
    if answer.status_code == 200:
        status = answer.get_json()["response"][account.STATUS]["children"]
        assert status == i18n.text("account.not_found", "zh")
    assert sql_scalar(url, "SELECT count(*) FROM api_token WHERE revoked") == before
    assert _works(app, theirs) and _audit(url, tokens.REVOKED, their_id) == []


def test_a_grid_worker_has_no_account_page(app, url):
    grid = sql_scalar(url, "SELECT code FROM area WHERE level = 'grid' ORDER BY code LIMIT 1")
    _, token = _owner(url, "tok_grid", "grid_worker", (grid,))
    client = signed_in(app.server.test_client(), token)
    assert client.get("/account", headers={"Accept": "text/html"}).status_code == 403
    before = sql_scalar(url, "SELECT count(*) FROM api_token")
    assert Page(app, token).create("mine", 30).status_code == 204
    assert sql_scalar(url, "SELECT count(*) FROM api_token") == before


def test_bad_input_is_a_message_not_an_error(app, url):
    _, token = _owner(url, "tok_inputs")
    page = Page(app, token)
    for name, days, key in (
        ("x", 3650, "account.err.days"),
        ("x", "30", "account.err.days"),
        ("x", True, "account.err.days"),
        (["x"], 30, "account.err.name"),
        ("", 30, "account.err.name"),
        ("\u0000", 30, "account.err.name"),
    ):
        answer = page.create(name, days, "en")
        assert answer.status_code in (200, 400), answer.get_data(as_text=True)
        if answer.status_code == 200:
            status = answer.get_json()["response"][account.STATUS]["children"]
            assert status == i18n.text(key, "en"), (name, days)


def test_last_use_is_written_at_most_once_a_minute(app, url):
    _, token = _owner(url, "tok_use")
    token_id = sql_scalar(
        url, "SELECT id FROM api_token WHERE token_hash = :h", h=accounts.token_hash(token)
    )
    assert _works(app, token)
    first = _last_use(url, token_id)
    assert _works(app, token)
    with get_engine(url).begin() as conn:
        tokens.note_use(conn, token)  # another process, within the minute: no write
    same = _last_use(url, token_id)
    assert first is not None and same == first
    with get_engine(url).begin() as conn:
        conn.execute(
            text(
                "UPDATE api_token_use SET last_used_at = last_used_at - interval '2 minutes' "
                "WHERE token_id = :t"
            ),
            {"t": token_id},
        )
        tokens.note_use(conn, token)
    later = _last_use(url, token_id)
    assert later > first
