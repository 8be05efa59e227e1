"""One handler for OneMap's own errors, registered once on the server by ``app.py``.

Each :class:`~geodata.errors.OneMapError` carries its HTTP ``status`` and its ``code``; each API
blueprint answers in its own shape (:func:`install` takes the table: blueprint → shape):

- :func:`json_error` (``/api/…``): ``{"error": message, "status": status, …details}``;
- :func:`ogc_error` (the OGC API): ``{"code": code, "description": message, "status": status}``;
- or a blueprint's own writer (Open311 answers its error list, in JSON or XML).

An error with a ``retry_after`` (a heavy-work limit reached, :class:`web.heavy.HeavyBusy`: 429)
also sends ``Retry-After``. An error raised anywhere else (the request checks of
:mod:`web.inputs` and :mod:`web.body_limits`, Dash callbacks, blueprints without a shape) answers in
:func:`json_error`'s shape. Errors with the default status 500 are not answered here: Flask
handles them like any exception.

One exception to that: a store that cannot be reached (:class:`~geodata.errors.StoreUnavailable`,
or a driver error :func:`geodata.availability.unavailable` recognises) is answered 503 with
``Retry-After`` on every route, including the gate's session lookup: in the blueprint's shape,
a small page for a browser asking for a page, else the API's JSON body.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping

from flask import Blueprint, Flask, Response, jsonify, make_response, request
from flask.typing import ResponseReturnValue

from geodata.availability import DRIVER_ERRORS, unavailable
from geodata.errors import OneMapError, StoreUnavailable
from web import i18n
from web.card_page import card_page, language
from web.gate import DATA_PREFIXES
from web.responses import JSON

ErrorShape = Callable[[OneMapError], ResponseReturnValue]
"""Writes the answer to an error raised in one blueprint."""


def json_error(exc: OneMapError) -> ResponseReturnValue:
    """The OneMap API's error body: the message, the status and the error's details."""
    return jsonify({"error": str(exc), "status": exc.status, **exc.details()}), exc.status


def ogc_error(exc: OneMapError) -> Response:
    """OGC API – Features' error body (an exception with ``code`` and ``description``)."""
    body = json.dumps({"code": exc.code, "description": str(exc), "status": exc.status})
    return Response(body, status=exc.status, mimetype=JSON)


def _wants_page() -> bool:
    """A browser asking for a page (or posting a form), not a script or a Dash callback."""
    return not request.path.startswith(DATA_PREFIXES) and "text/html" in request.headers.get(
        "Accept", ""
    )


def _unavailable_page(exc: StoreUnavailable) -> Response:
    lang = language()
    message = i18n.text("store.unavailable", lang).format(seconds=exc.retry_after)
    body = (
        f'<p class="login-error">{html.escape(message)}</p>'
        f'<p><a href="{html.escape(request.full_path.rstrip("?"))}">'
        f"{html.escape(i18n.text('store.retry', lang))}</a></p>"
    )
    return card_page(lang, body, exc.status)


def install(server: Flask, shapes: Mapping[Blueprint, ErrorShape]) -> None:
    """Answer OneMap errors raised in the views of ``shapes``' blueprints in their shape, and
    an unreachable store on every route (503, ``Retry-After``)."""
    by_name = {blueprint.name: shape for blueprint, shape in shapes.items()}

    def answer(exc: OneMapError) -> ResponseReturnValue:
        if exc.status == 500:
            raise exc  # not an answer: Flask's own handling, as for any other exception
        shape = by_name.get(request.blueprint or "", json_error)
        try:
            response = make_response(shape(exc))
        except OneMapError as refused:
            if refused is not exc:
                raise
            # The blueprint's shape answers only its own errors (Open311): the request checks'
            # errors (:mod:`web.inputs`, :mod:`web.body_limits`) answer in the API's JSON shape.
            response = make_response(json_error(exc))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # a limit reached (429, :mod:`web.heavy`): when to retry
            response.headers["Retry-After"] = str(retry_after)
            response.headers["Cache-Control"] = "no-store"
        return response

    def answer_unavailable(exc: StoreUnavailable) -> Response:
        if _wants_page():
            response = _unavailable_page(exc)
        else:
            shape = by_name.get(request.blueprint or "", json_error)
            try:
                response = make_response(shape(exc))
            except OneMapError:  # the blueprint's shape answers only its own errors
                response = make_response(json_error(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        response.headers["Cache-Control"] = "no-store"
        return response

    def answer_driver_error(exc: Exception) -> Response:
        found = unavailable(exc)
        if found is None:
            raise exc  # a deadlock, a constraint, a bad query: a fault, Flask's own handling
        server.logger.warning("store unavailable on %s %s: %s", request.method, request.path, exc)
        return answer_unavailable(found)

    server.register_error_handler(OneMapError, answer)
    server.register_error_handler(StoreUnavailable, answer_unavailable)
    for driver_error in DRIVER_ERRORS:
        server.register_error_handler(driver_error, answer_driver_error)
