"""The sign-in's ``next`` and CSRF, security headers and absolute links, against the real app
and PostGIS.

Facts checked: after a successful sign-in ``next`` leads only to a path on this site — tab,
CR/LF, backslash, ``//``, scheme tricks all land on the role's page, never a 500; a planted
``_csrf_token`` cookie with a form token of the attacker's choosing is refused, and so is a
sign-in posted from another origin even with a genuine token pair; every answer (pages, the
sign-in, API, OGC, Open311, static files) carries the CSP, nosniff, frame and referrer
headers; answers to a signed-in viewer are ``no-store``; the OGC API's links ignore a forged
``Host`` and follow ``ONEMAP_PUBLIC_URL`` when it is set.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from app import create_app
from geodata import accounts
from geodata.engine import get_engine
from geodata.settings import Settings
from tests.conftest import api_token, signed_in

PASSWORD = "correct horse battery"
EVIL_NEXT = [
    "/%09/evil.com",  # as the form sends it (the page's hidden field): literal text
    "/\t/evil.com",
    "/\r\n/evil.com",
    "/\n/evil.com",
    "\\\\evil.com",
    "/\\evil.com",
    "//evil.com",
    "///evil.com",
    "https:evil.com",
    "https://evil.com/",
    "javascript:alert(1)",
    " //evil.com",
    "/\x00/evil.com",
    "/\x7f/evil.com",
    "evil.com",
]


@pytest.fixture(scope="module")
def url(demo_url) -> str:
    return demo_url


@pytest.fixture(scope="module")
def app(url):
    return create_app(Settings(database_url=url), url)


@pytest.fixture(scope="module")
def person(url) -> str:
    with get_engine(url).begin() as conn:
        accounts.add_account(conn, "hard_analyst", "analyst", PASSWORD)
    return "hard_analyst"


def _form_token(client, query: str = "") -> str:
    page = client.get("/login" + query)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]


def _sign_in(client, username: str, next_page: str = "", **headers):
    form = {"username": username, "password": PASSWORD, "csrf_token": _form_token(client)}
    return client.post("/login", data=form | {"next": next_page}, headers=headers)


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_next_leads_only_to_this_site(app, person, evil):
    answer = _sign_in(app.server.test_client(), person, evil)
    if "\x00" in evil:  # refused before sign-in: no form field may hold NUL (web.inputs)
        assert answer.status_code == 400 and "Location" not in answer.headers
        return
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/analyze"


def test_next_keeps_a_path_of_this_site_with_its_query(app, person):
    answer = _sign_in(app.server.test_client(), person, "/twin?zoom=15&a=%2F%2Fx")
    assert answer.headers["Location"] == "/twin?zoom=15&a=%2F%2Fx"


def test_the_login_page_echoes_next_escaped_and_never_fails(app):
    for evil in ("/%0d%0a/evil.com", '"><script>alert(1)</script>'):
        page = app.server.test_client().get("/login", query_string={"next": evil})
        assert page.status_code == 200
        assert "<script>alert" not in page.get_data(as_text=True)


def test_a_planted_csrf_cookie_is_useless(app, person):
    client = app.server.test_client()
    client.set_cookie("_csrf_token", "planted-by-attacker-" + "x" * 40)
    form = {
        "username": person,
        "password": PASSWORD,
        "csrf_token": "planted-by-attacker-" + "x" * 40,
    }
    answer = client.post("/login", data=form)
    assert answer.status_code == 400
    assert "onemap_session" not in " ".join(answer.headers.getlist("Set-Cookie"))


def test_a_genuine_token_pair_posted_from_another_site_is_refused(app, person):
    attacker = app.server.test_client()
    token = _form_token(attacker)  # the attacker's own visit: a valid cookie and token
    nonce = attacker.get_cookie("_csrf_token").value
    victim = app.server.test_client()
    victim.set_cookie("_csrf_token", nonce)  # planted in the victim's browser
    form = {"username": person, "password": PASSWORD, "csrf_token": token}
    for headers in ({"Origin": "https://evil.com"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "same-site"}):  # fmt: skip
        victim.set_cookie("_csrf_token", nonce)  # (each refusal sets a fresh cookie)
        answer = victim.post("/login", data=form, headers=headers)
        assert answer.status_code == 400, headers
    victim.set_cookie("_csrf_token", nonce)
    same = victim.post("/login", data=form, headers={"Origin": "http://localhost"})
    assert same.status_code == 303  # the same pair from our own page signs in


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _assert_hardened(answer) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get(name) == value, name
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp and "http" not in csp  # no other origin by default
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/analyze",
        "/_dash-layout",
        "/api/layers",
        "/api/layers/buildings?bbox=117.2,31.8,117.3,31.9&zoom=15",
        "/ogc",
        "/ogc/collections/buildings/items?limit=2",
        "/api/export/buildings?format=csv&bbox=117.28,31.86,117.29,31.87",
    ],
)
def test_signed_in_answers_are_hardened_and_never_stored(app, url, path):
    client = signed_in(app.server.test_client(), api_token(url, "analyst"))
    page = not path.startswith(("/api", "/ogc", "/_dash"))
    answer = client.get(path, headers={"Accept": "text/html"} if page else {})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    _assert_hardened(answer)
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path", ["/login", "/assets/onemap.css", "/open311/v2/services.json", "/healthz", "/nope"]
)
def test_open_answers_are_hardened_too(app, path):
    answer = app.server.test_client().get(path)
    assert answer.status_code in (200, 401, 404)
    _assert_hardened(answer)


def test_fingerprinted_assets_are_cached_for_a_year_others_revalidated(app, url):
    client = signed_in(app.server.test_client(), api_token(url, "analyst"))
    page = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    linked = re.findall(r'src="(/assets/[^"]+\?m=[^"]+)"', page)
    assert any("/assets/deck_glue.js?m=" in link for link in linked), linked
    for link in linked:
        answer = client.get(link)
        assert answer.status_code == 200, link
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable", link
        _assert_hardened(answer)
    plain = client.get("/assets/onemap.css")  # no fingerprint: may change under the same URL
    assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]
    answer = client.get("/api/layers?m=1")  # only assets
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_csp_holds_the_hash_of_every_inline_script_a_page_runs(app, url):
    client = signed_in(app.server.test_client(), api_token(url, "analyst"))
    page = client.get("/", headers={"Accept": "text/html"})
    html = re.sub(r"<!--.*?-->", "", page.get_data(as_text=True), flags=re.S)  # IE-only parts
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [body for attrs, body in scripts if "src=" not in attrs and "json" not in attrs]
    assert "var renderer = new DashRenderer();" in inline  # Dash starts its renderer inline
    csp = page.headers["Content-Security-Policy"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def _links(answer) -> list[str]:
    return [link["href"] for link in answer.get_json()["links"]]


def test_ogc_links_ignore_a_forged_host(app, url):
    client = signed_in(app.server.test_client(), api_token(url, "planner"))
    forged = client.get("/ogc/collections/buildings/items?limit=1", headers={"Host": "evil.com"})
    assert forged.status_code == 200
    hrefs = _links(forged)
    assert hrefs and all(h.startswith("http://127.0.0.1:8050/ogc") for h in hrefs), hrefs
    local = client.get("/ogc/collections", headers={"Host": "localhost:8050"})
    assert all(h.startswith("http://localhost:8050/ogc") for h in _links(local))


def test_ogc_links_follow_the_public_url(url):
    app = create_app(Settings(database_url=url, public_url="https://onemap.example.gov.cn"), url)
    client = signed_in(app.server.test_client(), api_token(url, "planner"))
    for host in ("evil.com", "localhost"):
        answer = client.get("/ogc/collections/buildings/items?limit=1", headers={"Host": host})
        hrefs = _links(answer)
        assert hrefs and all(h.startswith("https://onemap.example.gov.cn/ogc") for h in hrefs)


def test_allowed_hosts_are_kept_in_links(url):
    app = create_app(Settings(database_url=url, allowed_hosts=("gis.intranet",)), url)
    client = signed_in(app.server.test_client(), api_token(url, "planner"))
    ok = client.get("/ogc", headers={"Host": "gis.intranet:8050"})
    assert all(h.startswith("http://gis.intranet:8050/") for h in _links(ok))
    forged = client.get("/ogc", headers={"Host": "evil.com"})
    assert all(h.startswith("http://gis.intranet:8050/") for h in _links(forged))


def test_sign_in_behind_a_proxy_that_rewrites_host_checks_the_public_url(url, person):
    app = create_app(Settings(database_url=url, public_url="https://onemap.example.gov.cn"), url)
    client = app.server.test_client()
    proxied = {"Host": "127.0.0.1:8050"}
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',
        client.get("/login", headers=proxied).get_data(as_text=True),
    )[1]
    form = {"username": person, "password": PASSWORD, "csrf_token": token}
    evil = client.post("/login", data=form, headers=proxied | {"Origin": "https://evil.com"})
    assert evil.status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', evil.get_data(as_text=True))[1]
    form["csrf_token"] = token
    ours = client.post(
        "/login", data=form, headers=proxied | {"Origin": "https://onemap.example.gov.cn"}
    )
    assert ours.status_code == 303
    assert all("Secure" in c for c in ours.headers.getlist("Set-Cookie"))
