"""Every instant an API answers is ISO 8601 with an explicit offset (``Z`` or ``±hh:mm``), never
a naive time: the layers, the live poll, OGC API Features, Open311, the analyst's answer, the
health probes and the GeoJSON export, as the admin (who sees every field) on the demo city."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from layers.registry import LAYERS
from tests.conftest import api_client

DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(?P<zone>Z|[+-]\d\d:?\d\d)?")
CITY = "117.20,31.80,117.32,31.90"


def instants(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """``(where, text)`` of every string in ``value`` that is a date-time as a whole."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from instants(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from instants(item, f"{path}[{i}]")
    elif isinstance(value, str) and DATE_TIME.fullmatch(value):
        yield path, value


def naive(body: object) -> list[str]:
    """The date-times in ``body`` without an offset."""
    found = list(instants(body))
    return [f"{where}: {text}" for where, text in found if not DATE_TIME.fullmatch(text)["zone"]]


@pytest.fixture(scope="module")
def client(demo_url):
    return api_client(demo_url, "admin")


def answers(client) -> Iterator[tuple[str, object]]:
    """``(request, JSON body)`` of every API that answers instants."""
    gets = ["/api/layers", "/api/live?poll=", "/healthz", "/readyz", "/ogc/collections",
            "/open311/v2/requests.json", "/api/export/events?format=geojson"]  # fmt: skip
    gets += [f"/api/layers/{layer.id}?bbox={CITY}&zoom=17&limit=200" for layer in LAYERS]
    ogc = json.loads(client.get("/ogc/collections?f=json").data)
    gets += [f"/ogc/collections/{c['id']}/items?limit=50&f=json" for c in ogc["collections"]]
    for path in gets:
        response = client.get(path)
        assert response.status_code == 200, (path, response.data[:200])
        yield path, json.loads(response.data)
    question = {"layer": "incidents", "limit": 50}
    response = client.post("/api/analyze", data=json.dumps(question),
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 200, response.data[:200]
    yield "/api/analyze", json.loads(response.data)


def test_no_api_answers_a_naive_time(client):
    seen, found = 0, []
    for path, body in answers(client):
        seen += len(list(instants(body)))
        found += [f"{path} {problem}" for problem in naive(body)]
    assert seen > 100  # incidents, readings, forecasts … carry instants
    assert not found, "\n".join(found[:40])


def test_the_scan_catches_a_naive_time():
    body = {"a": [{"t": "2026-12-07T07:30:00"}], "b": "2026-12-07T07:30:00+08:00", "c": "x"}
    assert naive(body) == [".a[0].t: 2026-12-07T07:30:00"]
    assert naive({"t": "2026-12-06T23:30:00Z", "u": "2026-12-06 23:30:00+0000"}) == []
