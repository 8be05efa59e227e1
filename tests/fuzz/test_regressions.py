"""The hostile inputs of issue 13 that answered 500 (or worse), each with the answer it gets now:
a 4xx with a message naming what is wrong, nothing changed, and no traceback in the log."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from geodata.settings import PROJECT_ROOT
from tests.conftest import sql_scalar

BBOX = "117.0,31.6,117.5,32.0"
INCIDENTS = f"/api/layers/incidents?bbox={BBOX}"


def _error(response, status: int) -> str:
    """The answer's error message, after checking its status and that it is not a page."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert b"<html" not in response.data.lower()
    body = response.get_json(force=True)
    message = body.get("error") or body.get("description")
    assert isinstance(message, str) and message
    return message


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("&zoom=15&area=%C2%B2", "area"),
        ("&zoom=15&area=99999999999999999999999", "area"),
        ("&zoom=15&area=%00", "area"),
        ("&zoom=15&time=2020-01-01/9999-12-31", "time"),
        ("&zoom=15&time=0001-01-01T00:00:00%2B14:00/2020-01-01", "time"),
        ("&zoom=15&category=%00", "category"),
        ("&zoom=%C2%B2", "zoom"),
        ("&zoom=15&limit=%C2%B2", "limit"),
    ],
)
def test_layer_parameters(clients, tracebacks, query, field):
    message = _error(clients["analyst"].get(INCIDENTS + query), 400)
    assert message.startswith(f"{field}:") or f"{field}" in message
    assert not tracebacks.found


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/ogc/collections/incidents/items?offset=9223372036854775808", 400, "offset"),
        ("/ogc/collections/incidents/items?limit=99999999999999999999999", 400, "limit"),
        ("/ogc/collections/incidents/items?after=9223372036854775808", 400, "after"),
        ("/ogc/collections/incidents/items/%C2%B2", 404, "no feature"),
        ("/ogc/collections/incidents/items/99999999999999999999", 404, "no feature"),
        ("/ogc/collections/incidents/items?datetime=9999-12-31T00:00:00Z/..", 400, "datetime"),
        ("/ogc/collections/%00/items", 404, "collection"),
    ],
)
def test_ogc_parameters(clients, tracebacks, path, status, words):
    assert words in _error(clients["analyst"].get(path), status)
    assert not tracebacks.found


def test_export_area_with_nul(clients, tracebacks):
    response = clients["analyst"].get("/api/export/buildings?format=geojson&area=%00")
    assert "area" in _error(response, 400)
    assert not tracebacks.found


def test_live_poll_with_a_foreign_digit(clients, tracebacks):
    token = clients["analyst"].get("/api/live?poll=").get_json()["id"].split("-")[0]
    response = clients["analyst"].get(f"/api/live?poll={token}-%C2%B2")
    assert response.status_code == 200
    assert response.get_json()["reset"] is True  # not a sequence number of this process
    assert not tracebacks.found


QUESTION = {"layer": "incidents", "time": {"field": "reported_at", "last_hours": 24}}


@pytest.mark.parametrize(
    "until", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-14:00", "0001-01-01"]
)
def test_analyze_until_at_the_ends_of_time(clients, tracebacks, until):
    question = {**QUESTION, "time": {**QUESTION["time"], "until": until}}
    message = _error(clients["analyst"].post("/api/analyze", json=question), 400)
    assert "time.until" in message
    assert not tracebacks.found


def test_analyze_lone_surrogate(clients, tracebacks):
    body = '{"layer": "incidents", "where": [{"field": "category", "value": "\\ud800"}]}'
    response = clients["analyst"].post("/api/analyze", data=body, content_type="application/json")
    assert "surrogate" in _error(response, 400)
    assert not tracebacks.found


def test_json_nested_100000_deep(clients, tracebacks):
    body = "[" * 100_000 + "]" * 100_000
    response = clients["analyst"].post("/api/analyze", data=body, content_type="application/json")
    assert "nested" in _error(response, 400)
    assert not tracebacks.found


def test_analyze_body_over_its_limit(clients, tracebacks):
    body = json.dumps({"layer": "incidents", "pad": "x" * 600_000})
    response = clients["analyst"].post("/api/analyze", data=body, content_type="application/json")
    assert "bytes" in _error(response, 413)
    assert not tracebacks.found


def test_dash_callback_body_over_its_limit_is_refused_before_reading(clients, tracebacks):
    # A 'photo' past the callback limit: refused on its Content-Length, before it is read.
    body = b'{"output": "x", "pad": "' + b"A" * (12 * 1024 * 1024) + b'"}'
    response = clients["grid_worker"].post(
        "/_dash-update-component", data=body, content_type="application/json"
    )
    assert "bytes" in _error(response, 413)
    assert not tracebacks.found


def test_dash_component_suites_path_traversal(clients, tracebacks):
    for client in (clients["anonymous"], clients["analyst"]):
        response = client.get("/_dash-component-suites/dash/..%2f..%2fapp.py")
        assert response.status_code == 404
        assert b"create_app" not in response.data
    assert not tracebacks.found


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("anonymous", "/open311/anything"),
        ("anonymous", "/open311/v2/nothing/here"),
        ("analyst", "/no-such-page"),
        ("analyst", "/api/no-such-route"),
        ("analyst", "/ogc/no-such-route"),
    ],
)
def test_unknown_paths_answer_a_plain_404(clients, role, path):
    response = clients[role].get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert b"_dash-renderer" not in response.data and b"dash_renderer" not in response.data


def test_known_pages_still_open(clients):
    response = clients["analyst"].get("/analyze", headers={"Accept": "text/html"})
    assert response.status_code == 200 and b"_dash-renderer" in response.data


def _dash(client, output: str, inputs: list, state: list | None = None, changed=None):
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in output.strip(".").split("...")
    ]
    body = {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": changed or [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
    return client.post("/_dash-update-component", json=body)


@pytest.mark.parametrize("picked", [{}, [], "x", {"lat": "north", "lon": 1}, {"lat": None}])
def test_grid_picked_type_confusion(clients, tracebacks, picked):
    response = _dash(
        clients["grid_worker"],
        "..grid-pick-marker.children...grid-picked-text.children..",
        [{"id": "grid-picked", "property": "data", "value": picked}],
    )
    assert response.status_code in (200, 204, 400), response.get_data(as_text=True)[:300]
    assert not tracebacks.found


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"output": "no-such.children", "inputs": [], "changedPropIds": []},
        {"output": 5, "inputs": "x"},
        [],
        {"output": "grid-pick-marker.children", "inputs": [{"id": 1}]},
    ],
)
def test_dash_payload_shape(clients, tracebacks, body):
    response = clients["analyst"].post("/_dash-update-component", json=body)
    assert response.status_code in (400, 404), response.get_data(as_text=True)[:300]
    assert not tracebacks.found


def test_import_cli_nul_in_csv(fuzz_url, tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"lon,lat,category\n117.25,31.84,traffic\x00_accident\n")
    before = sql_scalar(fuzz_url, "SELECT count(*) FROM event")
    env = {**os.environ, "DATABASE_URL": fuzz_url}
    out = subprocess.run(
        [sys.executable, "-m", "geodata", "import", str(path), "--layer", "events"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "NUL" in out.stderr and "row" in out.stderr
    assert sql_scalar(fuzz_url, "SELECT count(*) FROM event") == before
