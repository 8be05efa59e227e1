"""What the public Open311 feed publishes, through the real app and store: only residents' own
reports (never grid workers' reports, welfare checks or sensor alarms), their text masked and
escaped, their location rounded, media only from our origin, text an officer hid withheld; and
hostile input answered 4xx in Open311's error shape, never a 500 or the app's HTML."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from api.open311 import CLOCK_KEY
from app import create_app
from geodata.engine import get_engine, session_scope
from geodata.settings import Settings
from geodata.store import drop_database, migrate, recreate_database
from tests.conftest import api_token
from tests.integration.factories import add_area, add_building, two_grid_district
from twin import __main__ as twin_cli
from twin.clock import FixedClock
from twin.taxonomy import ensure_taxonomy
from twin.workflow import create_incident

KEY = "publishing-key"
ORIGIN = "https://onemap.example.gov.cn"
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
LON, LAT = 117.2312345, 31.8212345  # inside the west grid of two_grid_district
SECRET = "邻居李明天天在楼道堆杂物"


@pytest.fixture(scope="module")
def url(cluster):
    server = os.environ.get("ONEMAP_TEST_DATABASE_URL") or cluster.url()
    name = f"onemap_test_open311_pub_{os.getpid()}"
    url = recreate_database(server, name)
    migrate(url)
    with session_scope(url) as session:
        ensure_taxonomy(session)
        two_grid_district(session)
        add_area(session, "district", (117.30, 31.80, 117.40, 31.90), code="T340103")
        add_building(session, (117.2400, 31.8300, 117.2402, 31.8302), address="测试路9号")
    try:
        yield url
    finally:
        get_engine(url).dispose()
        drop_database(server, name)


@pytest.fixture(scope="module")
def app(url):
    settings = Settings(
        database_url=url, open311_api_keys={"miniapp": KEY}, open311_media_origins=(ORIGIN,)
    )
    app = create_app(settings, url)
    app.server.config[CLOCK_KEY] = FixedClock(T0)
    return app


@pytest.fixture
def client(app, url):
    with get_engine(url).begin() as conn:
        conn.execute(text("TRUNCATE event CASCADE"))
    return app.server.test_client()


def post(client, status: int = 200, fmt: str = "json", **form):
    response = client.post(f"/open311/v2/requests.{fmt}", data={"api_key": KEY, **form})
    assert response.status_code == status, response.data[:400]
    return response


def report(client, **form) -> str:
    form = {"service_code": "environment.litter", "long": str(LON), "lat": str(LAT), **form}
    return post(client, **form).get_json()[0]["service_request_id"]


def internal(url: str, category: str, source: str, **kw) -> str:
    """An incident made inside OneMap (a grid worker's report, a rule's), as the code does."""
    with session_scope(url) as session:
        made = create_incident(
            session, category=category, lon=LON, lat=LAT, now=T0, source=source, **kw
        )
        return str(made.event.id)


def events(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM event")).scalar_one()


def errors_of(response, status: int) -> list[dict]:
    """The Open311 error list of a JSON answer with ``status``."""
    assert response.status_code == status, response.data[:300]
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert isinstance(body, list) and body and all(e["code"] == status for e in body)
    return body


# --- only residents' reports ------------------------------------------------------------------


def test_internal_incidents_are_never_published(client, url):
    mine = report(client, description="路灯坏了")
    grid = internal(url, "environment.litter", "grid", description=SECRET)
    welfare = internal(url, "care.welfare_check", "onemap", rule="door", subject="house:1")
    smoke = internal(url, "alarm.smoke", "onemap", rule="smoke", subject="device:1")
    ids = (grid, welfare, smoke)
    pages = {
        fmt: client.get(f"/open311/v2/requests.{fmt}?status=open,closed") for fmt in ("json", "xml")
    }
    assert [r["service_request_id"] for r in pages["json"].get_json()] == [mine]
    root = ET.fromstring(pages["xml"].data)
    assert [r.find("service_request_id").text for r in root] == [mine]
    listed = client.get(f"/open311/v2/requests.json?service_request_id={mine},{','.join(ids)}")
    assert [r["service_request_id"] for r in listed.get_json()] == [mine]
    for rid in ids:
        assert errors_of(client.get(f"/open311/v2/requests/{rid}.json"), 404)
        xml = client.get(f"/open311/v2/requests/{rid}.xml")
        assert xml.status_code == 404 and ET.fromstring(xml.data).tag == "errors"
    for page in (*pages.values(), listed):
        assert "李明" not in page.data.decode() and "楼道" not in page.data.decode()


# --- masking, rounding, media, markup -------------------------------------------------------------


def test_personal_data_in_descriptions_is_masked(client):
    description = (
        "邻居李明和老王在楼道堆放杂物，王先生也知道；联系人张建国 13912345678，"
        "身份证340102199001011234，邮件li.ming@example.com；neighbour Li Ming too"
    )
    rid = report(client, description=description, first_name="秀英", last_name="赵")
    [one] = client.get(f"/open311/v2/requests/{rid}.json").get_json()
    assert one["description"] == (
        "邻居李*和老*在楼道堆放杂物，*先生也知道；联系人张** 139****5678，"
        "身份证******************，邮件***@example.com；neighbour L*** M*** too"
    )
    plain = report(client, description="马路上有坑，高空抛物，宁国路路灯不亮")
    [kept] = client.get(f"/open311/v2/requests/{plain}.json").get_json()
    assert kept["description"] == "马路上有坑，高空抛物，宁国路路灯不亮"


def test_location_is_rounded_to_the_published_precision(client):
    rid = report(client)
    response = client.get(f"/open311/v2/requests/{rid}.json")
    [one] = response.get_json()
    assert (one["long"], one["lat"]) == (117.231, 31.821)  # multiples of 0.0005°
    assert b"117.2312" not in response.data and b"31.8212" not in response.data
    [xml] = ET.fromstring(client.get(f"/open311/v2/requests/{rid}.xml").data)
    assert (xml.find("long").text, xml.find("lat").text) == ("117.231", "31.821")


@pytest.mark.parametrize(
    "media_url",
    [
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://evil.example.com/p.jpg",
        "//evil.example.com/p.jpg",
        f"{ORIGIN}@evil.example.com/p.jpg",
        f"{ORIGIN}.evil.example.com/p.jpg",
        "https://user:pw@onemap.example.gov.cn/p.jpg",
        "ftp://onemap.example.gov.cn/p.jpg",
        "http://onemap.example.gov.cn/p.jpg",  # another origin: http, port 80
        f" {ORIGIN}/p.jpg",
        f"{ORIGIN}\\@evil.example.com/",
    ],
)
def test_foreign_or_script_media_urls_are_refused(client, url, media_url):
    before = events(url)
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": KEY,
            "service_code": "environment.litter",
            "lat": str(LAT),
            "long": str(LON),
            "media_url": media_url,
        },
    )
    [error] = errors_of(response, 400)
    assert (
        "media_url must be an http(s) URL on https://onemap.example.gov.cn" in error["description"]
    )
    assert events(url) == before


def test_media_on_our_origin_is_published_and_stored_bad_media_is_not(client, url):
    ours = report(client, media_url=f"{ORIGIN}:443/media/7.jpg?size=large")
    [one] = client.get(f"/open311/v2/requests/{ours}.json").get_json()
    assert one["media_url"] == f"{ORIGIN}:443/media/7.jpg?size=large"
    with get_engine(url).begin() as conn:  # stored before the rule existed
        conn.execute(
            text(
                "UPDATE event SET trigger = jsonb_set(trigger, '{open311,media_url}', "
                "'\"javascript:alert(1)\"') WHERE id = :id"
            ),
            {"id": int(ours)},
        )
    [again] = client.get(f"/open311/v2/requests/{ours}.json").get_json()
    assert again["media_url"] is None
    assert b"javascript" not in client.get("/open311/v2/requests.xml").data


def test_markup_is_escaped_never_reflected(client):
    payload = "<img src=x onerror=alert(1)> & <script>alert(2)</script>"
    rid = report(client, description=payload, address_string="<b>楼下</b>")
    response = client.get(f"/open311/v2/requests/{rid}.json")
    assert response.content_type == "application/json; charset=utf-8"
    assert b"<" not in response.data and b">" not in response.data
    assert b"\\u003cimg src=x onerror=alert(1)\\u003e \\u0026" in response.data
    [one] = response.get_json()
    assert one["description"] == payload and one["address"] == "<b>楼下</b>"
    xml = client.get(f"/open311/v2/requests/{rid}.xml")
    assert xml.content_type == "text/xml; charset=utf-8"
    assert b"<img" not in xml.data and b"&lt;img src=x onerror=alert(1)&gt; &amp;" in xml.data
    assert ET.fromstring(xml.data)[0].find("description").text == payload
    error = client.get("/open311/v2/services/<script>.json")
    assert error.status_code == 404 and b"<script>" not in error.data


# --- moderation -----------------------------------------------------------------------------------


def _as(app, url, role: str, *areas: str):
    client = app.server.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {api_token(url, role, areas)}"
    return client


def test_an_officer_hides_and_shows_a_reports_text(app, client, url):
    rid = report(client, description=SECRET, address_string="测试路9号")
    leader = _as(app, url, "leader", "T340102001")  # the street office the report lies in
    hidden = leader.post(f"/api/open311/requests/{rid}/hide")
    assert hidden.status_code == 200, hidden.data
    assert hidden.get_json()["public_text_hidden"] is True
    for page in (f"/open311/v2/requests/{rid}.json", "/open311/v2/requests.json"):
        [one] = client.get(page).get_json()
        assert one["description"] is None and one["address"] is None
        assert one["status_notes"].endswith("（描述已由工作人员隐藏）")
    assert "李" not in client.get("/open311/v2/requests.xml").data.decode()
    with get_engine(url).connect() as conn:
        row = conn.execute(
            text(
                "SELECT e.description, e.public_text_hidden_by, l.actor_id IS NOT NULL AS who "
                "FROM event e JOIN event_log l ON l.event_id = e.id "
                "WHERE e.id = :id AND l.action = 'hide_public_text'"
            ),
            {"id": int(rid)},
        ).one()
    assert row.description == SECRET and row.public_text_hidden_by == "test_leader_T340102001"
    assert row.who
    admin = _as(app, url, "admin")
    assert admin.post(f"/api/open311/requests/{rid}/show").status_code == 200
    [back] = client.get(f"/open311/v2/requests/{rid}.json").get_json()
    assert back["description"] == "邻居李*天天在楼道堆杂物" and back["address"] == "测试路9号"


def test_who_may_not_moderate(app, client, url):
    rid = report(client, description=SECRET)
    grid_internal = internal(url, "environment.litter", "grid", description=SECRET)
    elsewhere = _as(app, url, "leader", "T340103")
    refused = {
        "grid worker": _as(app, url, "grid_worker", "T3401020010011").post(
            f"/api/open311/requests/{rid}/hide"
        ),
        "analyst": _as(app, url, "analyst").post(f"/api/open311/requests/{rid}/hide"),
        "leader elsewhere": elsewhere.post(f"/api/open311/requests/{rid}/hide"),
        "anonymous": app.server.test_client().post(f"/api/open311/requests/{rid}/hide"),
    }
    assert {who: r.status_code for who, r in refused.items()} == {
        "grid worker": 403,
        "analyst": 403,
        "leader elsewhere": 403,
        "anonymous": 401,
    }
    assert "outside your areas" in refused["leader elsewhere"].get_json()["error"]
    admin = _as(app, url, "admin")
    assert admin.post(f"/api/open311/requests/{grid_internal}/hide").status_code == 404
    assert admin.post("/api/open311/requests/%C2%B2/hide").status_code == 404
    [one] = client.get(f"/open311/v2/requests/{rid}.json").get_json()
    assert one["description"] == "邻居李*天天在楼道堆杂物"


def test_the_cli_hides_and_shows(client, url, capsys):
    rid = report(client, description=SECRET)
    settings = Settings(database_url=url)
    for action, expected in (("hide", None), ("show", "邻居李*天天在楼道堆杂物")):
        args = twin_cli.parser(settings).parse_args(["open311", action, rid])
        assert args.fn(settings, args) == 0
        [one] = client.get(f"/open311/v2/requests/{rid}.json").get_json()
        assert one["description"] == expected
    assert "text shown again in the public feed" in capsys.readouterr().out
    args = twin_cli.parser(settings).parse_args(["open311", "hide", "999999999"])
    assert args.fn(settings, args) == 2
    assert "no Open311 request 999999999" in capsys.readouterr().err


# --- hostile input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/open311/v2/requests.json?start_date=9999-12-31T00:00:00Z", 400, "between 1970"),
        ("/open311/v2/requests.json?end_date=0001-01-01T00:00:00%2B14:00", 400, "between 1970"),
        ("/open311/v2/requests.json?start_date=2026-13-01T00:00:00Z", 400, "W3C datetime"),
        ("/open311/v2/requests.json?service_request_id=%C2%B2", 400, "request ids"),
        ("/open311/v2/requests.json?service_request_id=99999999999999999999", 400, "ids"),
        ("/open311/v2/requests.json?service_code=%00", 400, "control character (U+0000)"),
        ("/open311/v2/requests.json?status=%01", 400, "control character (U+0001)"),
        ("/open311/v2/requests.json?locale=%00", 400, "control character"),
        ("/open311/v2/requests.json?%00=1", 400, "parameter name"),
        ("/open311/v2/requests/%C2%B2.json", 404, "not found"),
        ("/open311/v2/requests/9223372036854775808.json", 404, "not found"),
        ("/open311/v2/services/%00.xml", 400, "control character (U+0000)"),
        ("/open311/v2/services/%C2%B2.json", 404, "not found"),
        ("/open311/v2/tokens/%00.json", 400, "control character"),
        ("/open311/v2/requests.json?jurisdiction_id=%00", 400, "control character"),
    ],
)
def test_hostile_queries_answer_4xx(client, path, status, says):
    response = client.get(path)
    fmt = "xml" if path.split("?")[0].endswith(".xml") else "json"
    assert response.status_code == status, response.data[:300]
    if fmt == "xml":
        root = ET.fromstring(response.data)
        assert root.tag == "errors" and root[0].find("code").text == str(status)
        assert says in root[0].find("description").text
    else:
        assert any(says in e["description"] for e in errors_of(response, status))


@pytest.mark.parametrize(
    "field",
    ["description", "address_string", "first_name", "last_name", "email", "phone", "device_id",
     "media_url", "service_code", "lat", "attribute[urgency]", "account_id"],
)  # fmt: skip
@pytest.mark.parametrize("bad", ["\x00", "\x1b"])
def test_nul_or_control_character_in_any_field_is_400_and_stores_nothing(client, url, field, bad):
    before = events(url)
    form = {
        "api_key": KEY,
        "service_code": "environment.litter",
        "lat": str(LAT),
        "long": str(LON),
    }
    form[field] = form.get(field, "x") + bad
    response = client.post("/open311/v2/requests.json", data=form)
    [error] = errors_of(response, 400)
    assert field in error["description"] and "send plain text" in error["description"]
    assert events(url) == before


def test_other_hostile_posts(client, url):
    before = events(url)
    base = {"api_key": KEY, "service_code": "environment.litter"}
    cases = {
        "address_id": {**base, "address_id": "²"},
        "too many": {**base, **{f"attribute[x{i}]": "1" for i in range(70)}},
        "too long": {**base, "lat": "3" * 5000, "long": str(LON)},
        "nan": {**base, "lat": "nan", "long": str(LON)},
    }
    said = {name: errors_of(post_raw(client, form), 400) for name, form in cases.items()}
    assert "address_id must be a building id" in said["address_id"][0]["description"]
    assert "more than 64 parameters" in said["too many"][-1]["description"]
    assert "lat is longer than 4096 characters" in said["too long"][0]["description"]
    assert "must be a number" in said["nan"][0]["description"]
    assert events(url) == before


def post_raw(client, form: dict):
    return client.post("/open311/v2/requests.json", data=form)


# --- unknown paths and methods --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/open311/anything",
        "/open311/",
        "/open311/v2/",
        "/open311/v2/nothing.json",
        "/open311/v2/services.csv",
        "/open311/v3/services.json",
        "/open311/v2/requests/1.json/extra",
    ],
)
def test_unknown_paths_are_404_in_open311_shape_not_html(client, path):
    response = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    [error] = errors_of(response, 404)
    assert "no such Open311 resource" in error["description"]
    assert b"<html" not in response.data.lower()
    xml = client.get("/open311/v2/nothing.xml")
    assert xml.status_code == 404 and ET.fromstring(xml.data)[0].find("code").text == "404"


def test_known_paths_with_other_methods_are_405(client):
    put = client.put("/open311/v2/services.json")
    assert errors_of(put, 405) and put.headers["Allow"] == "GET"
    delete = client.delete("/open311/v2/requests.json")
    assert errors_of(delete, 405) and delete.headers["Allow"] == "GET, POST"
    assert client.post("/open311/v2/services/environment.litter.xml").status_code == 405
