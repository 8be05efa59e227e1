"""Schemathesis over the OGC API's own OpenAPI document (``/ogc/api``) and ours for ``/api`` and
``/open311`` (``/api/openapi.json``), as an anonymous caller, a signed-in analyst and a grid
worker: valid and invalid inputs (fixed seed, a bounded number per operation). No answer may
be a 5xx, no traceback may reach the log, and no answer to these roles may hold a resident's
name, a phone number or an ID number."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.fuzz.conftest import Tally

EXAMPLES = 20
"""Examples per operation, generation mode and role (Hypothesis, derandomized)."""
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def _schema(client, path: str) -> schemathesis.BaseSchema:
    response = client.get(path)
    assert response.status_code == 200, path
    return schemathesis.openapi.from_dict(response.get_json(force=True))


def _operations(client, path: str, prefix: str) -> list:
    schema = _schema(client, path)
    found = [op.ok() for op in schema.get_all_operations()]
    return [op for op in found if op.path.startswith(prefix) or prefix == "/"]


def fuzz_operation(operation, client, server, tally: Tally, pii, *, names: bool) -> None:
    """Send every generated case of ``operation`` as ``client``'s role; record what failed."""
    auth = client.environ_base.get("HTTP_AUTHORIZATION")
    headers = {"Accept-Encoding": "identity", **({"Authorization": auth} if auth else {})}
    for mode in MODES:

        @settings(
            max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            tally.tried += 1
            label = f"{case.method} {case.formatted_path} {case.query or ''}"[:300]
            try:
                response = case.call(app=server, headers=headers)
            except Exception as exc:  # the app raised: Flask would have answered 500
                tally.errors.append(f"{label} -> {type(exc).__name__}: {exc}"[:400])
                return
            if response.status_code >= 500:
                tally.errors.append(f"{label} -> {response.status_code}")
            found = pii.find(response.content.decode("utf-8", "replace"), names=names)
            if found is not None:
                tally.leaks.append(f"{label} -> {found}")

        run()


def _fuzz(clients, fuzz_app, personal_data, role, doc, prefix) -> Tally:
    client = clients[role]
    tally = Tally()
    doc_client = clients["analyst"]  # the documents need a signed-in reader
    for operation in _operations(doc_client, doc, prefix):
        fuzz_operation(operation, client, fuzz_app.server, tally, personal_data, names=True)
    print(f"{role} {doc}: {tally.tried} inputs, {len(tally.errors)} answered 5xx")
    return tally


def _problems(tally: Tally) -> str:
    return "\n".join((tally.errors + tally.leaks)[:20])


@pytest.mark.parametrize("role", ["anonymous", "analyst", "grid_worker"])
def test_ogc_api(clients, fuzz_app, personal_data, tracebacks, role):
    tally = _fuzz(clients, fuzz_app, personal_data, role, "/ogc/api", "/")
    assert tally.tried > 0 and tally.errors == [] and tally.leaks == [], _problems(tally)
    assert tracebacks.found == [], "\n".join(tracebacks.found[:10])


@pytest.mark.parametrize("role", ["anonymous", "analyst", "grid_worker"])
def test_onemap_api(clients, fuzz_app, personal_data, tracebacks, role):
    tally = _fuzz(clients, fuzz_app, personal_data, role, "/api/openapi.json", "/api")
    assert tally.tried > 0 and tally.errors == [] and tally.leaks == [], _problems(tally)
    assert tracebacks.found == [], "\n".join(tracebacks.found[:10])


@pytest.mark.parametrize("role", ["anonymous", "analyst", "grid_worker"])
def test_open311(clients, fuzz_app, personal_data, tracebacks, role):
    tally = _fuzz(clients, fuzz_app, personal_data, role, "/api/openapi.json", "/open311")
    assert tally.tried > 0 and tally.errors == [] and tally.leaks == [], _problems(tally)
    assert tracebacks.found == [], "\n".join(tracebacks.found[:10])


@pytest.mark.parametrize("path", ["/open311/v2/requests/%C2%B2.json"])
def test_open311_5xx_the_fuzzer_found(clients, path):
    """What the fuzzer once found (``request_id=²``: ``int('²')``), as a fixed input."""
    response = clients["anonymous"].get(path)
    assert 400 <= response.status_code < 500
