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
* Every parameter (query, form, path) is checked before any view: plain text, bounded length and
  count (:func:`twin.open311_input.check_parameters`), else 400. Any other path under
  ``/open311`` answers 404 (405 for a known path with another method) in the same error shape,
  never the app's HTML; so do HTTP errors raised inside these views (413, a bad form body).
* JSON answers are ``application/json`` with ``<``, ``>`` and ``&`` written as ``\\u003c`` …
  (the same strings, never markup); XML text is escaped and stripped of characters XML forbids.
* Moderation (signed in, leaders in their areas and admins): ``POST
  /api/open311/requests/<id>/hide`` and ``…/show`` (:data:`moderation`, JSON errors).
The logic lives in :mod:`twin.open311`, :mod:`twin.open311_public` and
:mod:`twin.open311_moderation`; this module only speaks HTTP.
"""

from __future__ import annotations

import hmac
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from geodata.engine import session_scope
from geodata.errors import OneMapError
from twin import open311, open311_public
from twin.clock import SystemClock
from twin.open311 import Open311Error, Report
from twin.open311_input import bad_character, check_parameters, request_id_or_404
from twin.open311_moderation import moderator_areas, set_public_text_hidden
from web import context

blueprint = Blueprint("open311", __name__, url_prefix="/open311")
moderation = Blueprint("open311_moderation", __name__, url_prefix="/api/open311")
CLOCK_KEY = "ONEMAP_CLOCK"
FMT = "<any(json, xml):fmt>"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_XML_INVALID = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_JSON_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
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
            elem.text = _XML_INVALID.sub("\ufffd", str(v))

    top = ET.Element(root)
    fill(top, value)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _json(value) -> str:
    """JSON text holding no ``<``, ``>`` or ``&`` (escaped inside strings: the same value)."""
    return json.dumps(value, ensure_ascii=False).translate(_JSON_MARKUP)


def _answer(fmt: str, root: str, value, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, value), status, content_type="text/xml; charset=utf-8")
    return Response(_json(value), status, content_type="application/json; charset=utf-8")


def _fmt() -> str:
    """The format the request asked for: the route's, else the path's suffix, else JSON."""
    fmt = (request.view_args or {}).get("fmt")
    return fmt or ("xml" if request.path.endswith(".xml") else "json")


def error_answer(exc: OneMapError) -> ResponseReturnValue:
    """Open311's error list, in the format the request asked for (registered by ``app.py``
    through :func:`web.errors.install`): Open311's own errors, and any other refusal (4xx) of
    a check that runs before these views (:mod:`web.inputs`, :mod:`web.throttles`) as one
    entry. A server fault is left to Flask."""
    if isinstance(exc, Open311Error):
        return _answer(_fmt(), "errors", exc.body(), exc.status)
    if exc.status >= 500:
        raise exc
    return _answer(_fmt(), "errors", [{"code": exc.status, "description": str(exc)}], exc.status)


@blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    """An HTTP error raised in these views (a body too large, a malformed form, a limit) in
    Open311's error shape, keeping its headers (``Retry-After``, ``Allow``)."""
    status = exc.code or 500
    response = _answer(_fmt(), "errors", [{"code": status, "description": exc.description}], status)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


@blueprint.before_request
def _plain_parameters() -> None:
    """Every parameter is plain text of bounded length and number (400 otherwise)."""
    check_parameters(request.args.items(multi=True))
    if request.method == "POST":
        check_parameters(request.form.items(multi=True))
    for name, value in (request.view_args or {}).items():
        why = bad_character(value) if isinstance(value, str) else None
        if why:
            raise Open311Error(400, f"the path's {name} holds {why}")


@blueprint.before_request
def _jurisdiction() -> None:
    wanted = context.settings().open311.jurisdiction_id
    given = request.values.get("jurisdiction_id")
    if wanted and given and given != wanted:
        raise Open311Error(404, f"jurisdiction_id {given!r} not found; this is {wanted!r}")


@blueprint.route("/", defaults={"rest": ""}, methods=METHODS)
@blueprint.route("/<path:rest>", methods=METHODS)
def unknown(rest: str) -> ResponseReturnValue:
    """Any other path under ``/open311``: 405 when the path exists for other methods, else 404
    (Open311's error shape, never the app's HTML)."""
    allowed = _methods_of(request.path)
    if allowed:
        error = Open311Error(405, f"{request.method} is not allowed here; use {', '.join(allowed)}")
        response = _answer(_fmt(), "errors", error.body(), 405)
        response.headers["Allow"] = ", ".join(allowed)
        return response
    raise Open311Error(404, f"no such Open311 resource: {request.path[:200]!r}")


def _methods_of(path: str) -> list[str]:
    """The methods a route other than :func:`unknown` answers at ``path``."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _ = adapter.match(path, method=method)
        except HTTPException:
            continue
        if endpoint != f"{blueprint.name}.unknown":
            allowed.append(method)
    return allowed


@blueprint.get(f"/v2/services.{FMT}")
def services(fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        return _answer(fmt, "services", open311.services(session, _locale()))


@blueprint.get(f"/v2/services/<code>.{FMT}")
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


@blueprint.post(f"/v2/requests.{FMT}")
def create_request(fmt: str) -> ResponseReturnValue:
    client = _client()
    report = _report()
    with session_scope(context.store_url()) as session:
        body = open311.submit(session, context.settings(), report, client, _now(), _locale())
    return _answer(fmt, "service_requests", [body])


@blueprint.get(f"/v2/requests.{FMT}")
def requests(fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        body = open311_public.find_requests(
            session, context.settings(), request.args, _locale(), _now()
        )
    return _answer(fmt, "service_requests", body)


@blueprint.get(f"/v2/requests/<request_id>.{FMT}")
def request_by_id(request_id: str, fmt: str) -> ResponseReturnValue:
    with session_scope(context.store_url()) as session:
        body = open311_public.get_request(session, context.settings(), request_id, _locale())
    # GeoReport answers a single request as a one-element list, like GET requests
    return _answer(fmt, "service_requests", [body])


@blueprint.get(f"/v2/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> ResponseReturnValue:
    raise Open311Error(
        404, f"token {token[:64]!r} not found: services are realtime, ids come at once"
    )


# --- moderation (signed in) ----------------------------------------------------------------


def _moderate(request_id: str, hidden: bool) -> ResponseReturnValue:
    viewer = context.viewer()
    areas = moderator_areas(viewer)
    number = request_id_or_404(request_id)
    actor = viewer.username or f"account:{viewer.account_id}"
    with session_scope(context.store_url()) as session:
        done = set_public_text_hidden(
            session, number, hidden, actor, _now(), areas, viewer.account_id
        )
    return jsonify(done.as_dict())


@moderation.post("/requests/<request_id>/hide")
def hide(request_id: str) -> ResponseReturnValue:
    """Hide a report's text from the public feed (leaders in their areas, admins)."""
    return _moderate(request_id, True)


@moderation.post("/requests/<request_id>/show")
def show(request_id: str) -> ResponseReturnValue:
    """Publish a hidden report's text again."""
    return _moderate(request_id, False)
