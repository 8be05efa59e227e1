"""Open311 GeoReport v2 at ``/open311/v2``: ``services``, ``services/{code}``, ``requests``
(GET and POST), ``requests/{id}`` and ``tokens/{id}``, each as ``.json`` or ``.xml``.

* One jurisdiction: ``jurisdiction_id`` is optional; if ``open311_jurisdiction_id`` is set, any
  other value gets 404.
* POST needs ``api_key`` (form or query): Open311 clients have their own keys
  (``open311_api_keys``, client name → key); missing or wrong → 403, as the spec says.
* Errors are ``[{"code": status, "description": …}]`` (``<errors><error>…`` in XML):
  :func:`error_answer`, the shape ``app.py`` registers for this blueprint.
* Language: ``locale`` (``zh``, ``en``, ``en_US`` …) or Accept-Language; default the app's.
* Time: the app's clock under ``CLOCK_KEY`` (tests put a FixedClock there), else the wall clock.
The logic lives in :mod:`twin.open311`; this module only speaks HTTP.
"""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from geodata.engine import session_scope
from geodata.errors import OneMapError
from twin import open311
from twin.clock import SystemClock
from twin.open311 import Open311Error, Report
from web import context

blueprint = Blueprint("open311", __name__, url_prefix="/open311/v2")
CLOCK_KEY = "ONEMAP_CLOCK"
FMT = "<any(json, xml):fmt>"
LOCALES = ("zh", "en")
_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
# XML element names for list items (GeoReport's XML is the source the JSON maps from)
_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}


def _now() -> datetime:
    return (current_app.config.get(CLOCK_KEY) or SystemClock()).now()


def _locale() -> str:
    asked = request.values.get("locale", "").lower().replace("-", "_")
    if asked[:2] in LOCALES:
        return asked[:2]
    best = request.accept_languages.best_match(LOCALES)
    return best or (
        context.settings().web.language if context.settings().web.language in LOCALES else "zh"
    )


def _xml(root: str, value) -> bytes:
    def fill(elem: ET.Element, v) -> None:
        if isinstance(v, dict):
            for k, item in v.items():
                fill(ET.SubElement(elem, k), item)
        elif isinstance(v, list):
            for item in v:
                fill(ET.SubElement(elem, _ITEMS.get(elem.tag, "item")), item)
        elif isinstance(v, bool):
            elem.text = "true" if v else "false"
        elif v is not None:
            elem.text = str(v)

    top = ET.Element(root)
    fill(top, value)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _answer(fmt: str, root: str, value, status: int = 200) -> ResponseReturnValue:
    if fmt == "xml":
        return Response(_xml(root, value), status, content_type="text/xml; charset=utf-8")
    response = jsonify(value)
    response.status_code = status
    response.content_type = "application/json; charset=utf-8"
    return response


def error_answer(exc: OneMapError) -> ResponseReturnValue:
    """Open311's error list, in the format the request asked for (registered by ``app.py``
    through :func:`web.errors.install`). Only Open311's own errors are answered so; any other
    error is left to Flask (a 500), like every error outside the errors this API defines."""
    if not isinstance(exc, Open311Error):
        raise exc
    fmt = (request.view_args or {}).get("fmt", "json")
    return _answer(fmt, "errors", exc.body(), exc.status)


@blueprint.before_request
def _jurisdiction() -> None:
    wanted = context.settings().open311.jurisdiction_id
    given = request.values.get("jurisdiction_id")
    if wanted and given and given != wanted:
        raise Open311Error(404, f"jurisdiction_id {given!r} not found; this is {wanted!r}")


@blueprint.get(f"/services.{FMT}")
def services(fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        return _answer(fmt, "services", open311.services(session, _locale()))


@blueprint.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        body = open311.service_definition(session, code, _locale())
    return _answer(fmt, "service_definition", body)


def _client() -> str:
    """The Open311 client the api_key belongs to, or 403."""
    key = request.values.get("api_key", "")
    if not key:
        raise Open311Error(403, "api_key was not provided -- can't proceed with create_request")
    for name, known in context.settings().open311.api_keys.items():
        if hmac.compare_digest(key.encode(), known.encode()):
            return name
    raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request")


def _report() -> Report:
    form = request.values
    attributes: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE.match(key)
        if match:
            attributes.setdefault(match.group(1), []).extend(form.getlist(key))
    fields: dict[str, Any] = {
        name: (form.get(name) or None) for name in Report.__dataclass_fields__
    }
    fields["attributes"] = attributes
    return Report(**fields)


@blueprint.post(f"/requests.{FMT}")
def create_request(fmt: str) -> ResponseReturnValue:
    client = _client()
    report = _report()
    with session_scope(context.store_url()) as session:
        body = open311.submit(session, context.settings(), report, client, _now(), _locale())
    return _answer(fmt, "service_requests", [body])


@blueprint.get(f"/requests.{FMT}")
def requests(fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        body = open311.find_requests(session, request.args, _locale(), _now())
    return _answer(fmt, "service_requests", body)


@blueprint.get(f"/requests/<request_id>.{FMT}")
def request_by_id(request_id: str, fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        body = open311.get_request(session, request_id, _locale())
    # GeoReport answers a single request as a one-element list, like GET requests
    return _answer(fmt, "service_requests", [body])


@blueprint.get(f"/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> ResponseReturnValue:
    raise Open311Error(404, f"token {token!r} not found: services are realtime, ids come at once")
