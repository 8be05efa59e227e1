"""Open311 GeoReport v2 through the real app and store: services, round trip, errors as the spec
says, duplicate linking (49 m / 47 h vs 51 m / 49 h), filters, XML, and no reporter data in any
GET. Responses are checked against the Swagger definitions in ../shared/data/open311-spec."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import yaml  # PyYAML: installed with dask and dash-leaflet, so never skipped
from pyproj import Geod
from sqlalchemy import text

from api.open311 import CLOCK_KEY
from app import create_app
from geodata.engine import get_engine, session_scope
from geodata.settings import Settings
from geodata.store import drop_database, migrate, recreate_database
from tests.conftest import shared_data
from tests.integration.factories import add_building
from twin.clock import FixedClock
from twin.taxonomy import ensure_taxonomy

KEY = "test-open311-key"
ORIGIN = "https://onemap.example.gov.cn"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
LON, LAT = 117.2500, 31.8200
GEOD = Geod(ellps="WGS84")
ADDRESS = "合肥市蜀山区测试路1号"
PII = {
    "first_name": "建国",
    "last_name": "张",
    "email": "zhang.jg@example.com",
    "phone": "13912345678",
    "device_id": "wx-device-77",
}
W3 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# --- the spec's definitions ------------------------------------------------------------------


@pytest.fixture(scope="module")
def swagger() -> dict:
    return yaml.safe_load(shared_data("open311-spec", "georeport_v2-1_swagger.yaml").read_text())


_TYPES = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def conforms(value: dict, name: str, swagger: dict) -> None:
    """Assert ``value`` is a valid ``name`` of the Swagger definitions (required fields, types,
    enums, date-times, nested $refs); no field outside the definition."""
    spec = swagger["definitions"][name]
    for req in spec.get("required", []):
        assert value.get(req) is not None, f"{name}: required {req} missing in {value}"
    for key, item in value.items():
        assert key in spec["properties"], f"{name}: {key} is not a field of the spec"
        if item is None:
            continue
        prop = spec["properties"][key]
        assert isinstance(item, _TYPES[prop["type"]]), f"{name}.{key}: {item!r} not {prop['type']}"
        if prop["type"] == "number":
            assert not isinstance(item, bool)
        if "enum" in prop:
            assert item in prop["enum"], f"{name}.{key}: {item!r} not in {prop['enum']}"
        if prop.get("format") == "date-time":
            assert W3.match(item), f"{name}.{key}: {item!r} is not a W3C datetime with zone"
        if prop["type"] == "array" and "$ref" in prop.get("items", {}):
            for element in item:
                conforms(element, prop["items"]["$ref"].rsplit("/", 1)[1], swagger)


# --- the app on its own database ---------------------------------------------------------------


@pytest.fixture(scope="module")
def o311_url(cluster):
    server = os.environ.get("ONEMAP_TEST_DATABASE_URL") or cluster.url()
    name = f"onemap_test_open311_{os.getpid()}"
    url = recreate_database(server, name)
    migrate(url)
    with session_scope(url) as session:
        ensure_taxonomy(session)
        bounds = (LON - 0.0002, LAT - 0.0002, LON + 0.0002, LAT + 0.0002)
        add_building(session, bounds, address=ADDRESS)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        drop_database(server, name)


@pytest.fixture(scope="module")
def app(o311_url):
    settings = Settings(
        database_url=o311_url, open311_api_keys={"miniapp": KEY}, open311_media_origins=(ORIGIN,)
    )
    app = create_app(settings, o311_url)
    app.server.config[CLOCK_KEY] = FixedClock(T0)
    return app


@pytest.fixture
def clock(app) -> FixedClock:
    clock = app.server.config[CLOCK_KEY]
    clock.set(T0)
    return clock


@pytest.fixture
def client(app, o311_url, clock):
    with get_engine(o311_url).begin() as conn:
        conn.execute(text("TRUNCATE event CASCADE"))
    return app.server.test_client()


def _at(east_m: float, north_m: float = 0.0) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(LON, LAT, 90, east_m)
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m)
    return lon, lat


def post(client, status: int = 200, fmt: str = "json", **form):
    form = {"api_key": KEY, **form}
    response = client.post(f"/open311/v2/requests.{fmt}", data=form)
    assert response.status_code == status, response.data[:400]
    return response if fmt == "xml" else response.get_json()


def report(client, code="environment.litter", where=(LON, LAT), **extra) -> str:
    body = post(client, service_code=code, long=str(where[0]), lat=str(where[1]), **extra)
    return body[0]["service_request_id"]


def get(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, response.data[:400]
    return response.get_json()


# --- services ------------------------------------------------------------------------------


def test_services_are_the_open311_categories(client, swagger, o311_url):
    body = get(client, "/open311/v2/services.json")
    for service in body:
        conforms(service, "Service", swagger)
    with get_engine(o311_url).connect() as conn:
        expected = (
            conn.execute(
                text("SELECT code FROM event_category WHERE open311 AND active ORDER BY code")
            )
            .scalars()
            .all()
        )
    codes = [s["service_code"] for s in body]
    assert codes == expected and "environment.litter" in codes
    assert not any(c.startswith(("alarm.", "device.")) or c == "care.welfare_check" for c in codes)
    litter = next(s for s in body if s["service_code"] == "environment.litter")
    assert litter["service_name"] == "垃圾乱堆乱放" and litter["group"] == "市容环境"
    assert litter["type"] == "realtime" and litter["metadata"] is True
    en = get(client, "/open311/v2/services.json?locale=en_US")
    assert (
        next(s for s in en if s["service_code"] == "environment.litter")["service_name"]
        == "Litter and dumping"
    )
    by_header = client.get("/open311/v2/services.json", headers={"Accept-Language": "en"})
    assert by_header.get_json()[0]["service_name"] == en[0]["service_name"]


def test_services_xml(client):
    response = client.get("/open311/v2/services.xml")
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(response.data)
    assert root.tag == "services" and root[0].tag == "service"
    assert root[0].find("service_code").text and root[0].find("metadata").text == "true"


def test_service_definition(client, swagger):
    body = get(client, "/open311/v2/services/environment.litter.json?locale=en")
    conforms(body, "ServiceDefinition", swagger)
    urgency = next(a for a in body["attributes"] if a["code"] == "urgency")
    assert urgency["datatype"] == "singlevaluelist" and urgency["required"] is False
    assert [v["key"] for v in urgency["values"]] == ["normal", "urgent"]
    missing = get(client, "/open311/v2/services/alarm.gas.json", status=404)
    assert missing == [{"code": 404, "description": "service_code 'alarm.gas' not found"}]


# --- round trip ----------------------------------------------------------------------------


def test_round_trip_fields_per_spec(client, swagger, o311_url):
    description = "楼下垃圾堆了三天，请联系我 139-1234-5678 或 zhang.jg@example.com，张建国"
    body = post(
        client,
        service_code="environment.litter",
        lat=str(LAT),
        long=str(LON),
        description=description,
        media_url=f"{ORIGIN}/media/p.jpg",
        **{"attribute[urgency]": "urgent", "attribute[floor]": "3"},
        **PII,
    )
    assert len(body) == 1
    conforms(body[0], "RequestResponse", swagger)
    # the notice is read by people: the due time in the city's clock, with its offset
    assert "预计 2026-05-06 16:00:00 (UTC+08:00) 前处理" in body[0]["service_notice"]
    rid = body[0]["service_request_id"]
    [one] = get(client, f"/open311/v2/requests/{rid}.json")
    conforms(one, "Request", swagger)
    assert one["service_request_id"] == rid and one["status"] == "open"
    assert one["service_code"] == "environment.litter" and one["service_name"] == "垃圾乱堆乱放"
    assert one["agency_responsible"] == "环卫所"
    assert one["requested_datetime"] == "2026-05-04T16:00:00+08:00"  # the city's offset
    # severity 1 raised to 2 by urgency=urgent: ROUTINE SLA 48 h
    assert one["expected_datetime"] == "2026-05-06T16:00:00+08:00"
    assert (one["lat"], one["long"]) == (pytest.approx(LAT), pytest.approx(LON))
    # the matched building's address and id are not published (only what the resident typed)
    assert one["address"] is None and one["address_id"] is None
    assert one["media_url"] == f"{ORIGIN}/media/p.jpg"
    assert one["status_notes"] == "已受理，等待派单"
    assert "139****5678" in one["description"] and "***@example.com" in one["description"]
    assert "张建国" not in one["description"] and "张**" in one["description"]
    with get_engine(o311_url).connect() as conn:
        stored = conn.execute(
            text(
                "SELECT e.severity, e.source, e.description, r.first_name, r.last_name, "
                "r.email, r.phone, r.client, e.trigger FROM event e "
                "JOIN event_reporter r ON r.event_id = e.id WHERE e.id = :id"
            ),
            {"id": int(rid)},
        ).one()
    assert stored.severity == 2 and stored.source == "open311"
    assert stored.description == description  # stored whole for the handlers
    assert (stored.first_name, stored.last_name, stored.email, stored.phone, stored.client) == (
        PII["first_name"],
        PII["last_name"],
        PII["email"],
        PII["phone"],
        PII["device_id"],
    )
    assert stored.trigger["open311"]["attributes"] == {"urgency": "urgent", "floor": 3.0}
    assert "phone" not in str(stored.trigger) and PII["email"] not in str(stored.trigger)


def test_no_reporter_data_in_any_get(client):
    rid = report(client, description="无个人信息", **PII)
    pages = [
        client.get(f"/open311/v2/requests/{rid}.json").data,
        client.get(f"/open311/v2/requests/{rid}.xml").data,
        client.get("/open311/v2/requests.json").data,
        client.get("/open311/v2/requests.xml").data,
        client.get(f"/open311/v2/requests.json?service_request_id={rid}").data,
    ]
    for page in pages:
        text_ = page.decode()
        assert rid in text_
        for value in PII.values():
            assert value not in text_, value


def test_address_string_and_address_id_locate_on_a_building(client, o311_url):
    body = post(client, service_code="facility.streetlight", address_string=f" {ADDRESS} ")
    [one] = get(client, f"/open311/v2/requests/{body[0]['service_request_id']}.json")
    assert one["address"].strip() == ADDRESS and one["address_id"] is None
    assert one["lat"] == pytest.approx(LAT, abs=3e-4) and one["long"] == pytest.approx(
        LON, abs=3e-4
    )
    with get_engine(o311_url).connect() as conn:
        building = conn.execute(text("SELECT building_id FROM event")).scalar_one()
    by_id = post(client, service_code="facility.streetlight", address_id=str(building))
    assert by_id[0]["service_request_id"]
    unknown = post(client, 400, service_code="facility.streetlight", address_string="火星路 1 号")
    assert "could not be located" in unknown[0]["description"]


def test_xml_post(client):
    response = post(
        client, fmt="xml", service_code="environment.litter", lat=str(LAT), long=str(LON)
    )
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests" and root[0].tag == "request"
    assert root[0].find("service_request_id").text.isdigit()


# --- errors --------------------------------------------------------------------------------


def _only(body: list) -> tuple[int, str]:
    assert isinstance(body, list) and len(body) >= 1
    assert set(body[0]) == {"code", "description"}
    return body[0]["code"], body[0]["description"]


def test_validation_errors_per_spec(client):
    assert _only(post(client, 400, lat=str(LAT), long=str(LON))) == (
        400,
        "service_code was not provided",
    )
    code, text_ = _only(post(client, 404, service_code="no.such", lat=str(LAT), long=str(LON)))
    assert code == 404 and "no.such" in text_
    code, text_ = _only(
        post(client, 400, service_code="environment.litter", lat="39.9", long="116.4")
    )
    assert code == 400 and "outside 合肥市" in text_
    assert (
        "lat and long must be sent together"
        in _only(post(client, 400, service_code="environment.litter", lat=str(LAT)))[1]
    )
    assert "location is required" in _only(post(client, 400, service_code="environment.litter"))[1]
    assert (
        "must be a number"
        in _only(post(client, 400, service_code="environment.litter", lat="north", long=str(LON)))[
            1
        ]
    )
    both = post(
        client,
        400,
        service_code="environment.litter",
        lat=str(LAT),
        long=str(LON),
        **{"attribute[urgency]": "panic", "attribute[colour]": "red"},
    )
    assert len(both) == 2 and all(e["code"] == 400 for e in both)
    texts = " | ".join(e["description"] for e in both)
    assert "attribute[colour] is not defined" in texts and "'panic' is not one of" in texts


def test_api_key_missing_or_wrong_is_403(client):
    for key in ("", "wrong"):
        response = client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "service_code": "environment.litter",
                "lat": str(LAT),
                "long": str(LON),
            },
        )
        assert response.status_code == 403
        code, text_ = _only(response.get_json())
        assert code == 403 and "api_key" in text_
    xml = client.post("/open311/v2/requests.xml", data={"service_code": "environment.litter"})
    root = ET.fromstring(xml.data)
    assert xml.status_code == 403 and root.tag == "errors" and root[0].find("code").text == "403"


def test_unknown_request_is_404(client):
    assert _only(get(client, "/open311/v2/requests/987654321.json", status=404))[0] == 404


# --- duplicates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metres", "hours", "linked"),
    [(49, 47, True), (51, 47, False), (49, 49, False), (51, 49, False)],
)
def test_duplicates_within_50_m_and_48_h(client, clock, o311_url, metres, hours, linked):
    first = report(client, code="fire_safety.blocked_lane")
    clock.advance(timedelta(hours=hours))
    body = post(
        client,
        service_code="fire_safety.blocked_lane",
        long=str(_at(0, metres)[0]),
        lat=str(_at(0, metres)[1]),
    )
    second = body[0]["service_request_id"]
    assert second != first  # stored as its own request, never lost
    with get_engine(o311_url).connect() as conn:
        dup = conn.execute(
            text("SELECT duplicate_of FROM event WHERE id = :id"), {"id": int(second)}
        ).scalar()
    assert dup == (int(first) if linked else None)
    [one] = get(client, f"/open311/v2/requests/{second}.json")
    assert one["status"] == "open"
    if linked:
        assert first in body[0]["service_notice"] and first in one["status_notes"]
    else:
        assert "重复" not in (one["status_notes"] or "")


def test_other_category_or_closed_original_is_not_a_duplicate(client, o311_url):
    first = report(client, code="fire_safety.blocked_lane")
    other = report(client, code="environment.litter", where=_at(10))
    closed = report(client, code="environment.noise")
    with get_engine(o311_url).begin() as conn:
        conn.execute(
            text("UPDATE event SET status = 'closed', closed_at = :t WHERE id = :id"),
            {"id": int(closed), "t": T0},
        )
    again = report(client, code="environment.noise", where=_at(5))
    with get_engine(o311_url).connect() as conn:
        links = dict(conn.execute(text("SELECT id, duplicate_of FROM event")).all())
    assert links[int(other)] is None and links[int(again)] is None and links[int(first)] is None


def test_a_duplicate_closes_with_its_original(client, clock, o311_url):
    first = report(client, code="fire_safety.blocked_lane")
    dup = report(client, code="fire_safety.blocked_lane", where=_at(20))
    with get_engine(o311_url).begin() as conn:
        conn.execute(
            text("UPDATE event SET status = 'resolved', resolved_at = :t WHERE id = :id"),
            {"id": int(first), "t": T0 + timedelta(hours=3)},
        )
    [one] = get(client, f"/open311/v2/requests/{dup}.json")
    assert one["status"] == "closed" and one["updated_datetime"] == "2026-05-04T19:00:00+08:00"
    closed = get(client, "/open311/v2/requests.json?status=closed")
    assert {r["service_request_id"] for r in closed} == {first, dup}


# --- GET requests filters ------------------------------------------------------------------


def test_requests_filters_and_default_window(client, clock, swagger):
    old = report(client)  # at T0
    clock.advance(timedelta(days=100))
    lamp = report(client, code="facility.streetlight", where=_at(500))
    litter = report(client, where=_at(900))
    recent = get(client, "/open311/v2/requests.json")  # default: most recent 90 days
    for r in recent:
        conforms(r, "Request", swagger)
    assert [r["service_request_id"] for r in recent] == [litter, lamp]
    assert [
        r["service_request_id"]
        for r in get(client, "/open311/v2/requests.json?service_code=facility.streetlight")
    ] == [lamp]
    ids = get(client, f"/open311/v2/requests.json?service_request_id={old},{lamp}&status=closed")
    assert {r["service_request_id"] for r in ids} == {old, lamp}  # ids override everything
    window = get(
        client,
        "/open311/v2/requests.json?start_date=2026-05-01T00:00:00Z"
        "&end_date=2026-05-05T00:00:00%2B08:00",
    )
    assert [r["service_request_id"] for r in window] == [old]
    assert get(client, "/open311/v2/requests.json?status=closed") == []
    assert len(get(client, "/open311/v2/requests.json?status=open,closed")) == 2
    span = get(
        client,
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z",
        status=400,
    )
    assert "90 days" in _only(span)[1]
    assert (
        "zone"
        in _only(get(client, "/open311/v2/requests.json?start_date=2026-01-01", status=400))[1]
    )
    assert _only(get(client, "/open311/v2/requests.json?status=pending", status=400))[0] == 400
