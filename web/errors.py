"""One handler for OneMap's own errors, registered once on the server by ``app.py``.

Each :class:`~geodata.errors.OneMapError` carries its HTTP ``status`` and its ``code``; each API
blueprint answers in its own shape (:func:`install` takes the table: blueprint → shape):

- :func:`json_error` (``/api/…``): ``{"error": message, "status": status, …details}``;
- :func:`ogc_error` (the OGC API): ``{"code": code, "description": message, "status": status}``;
- or a blueprint's own writer (Open311 answers its error list, in JSON or XML).

Errors with the default status 500, and errors raised anywhere else (pages, Dash callbacks,
blueprints without a shape), are not answered here: Flask handles them like any exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from geodata.errors import OneMapError
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


def install(server: Flask, shapes: Mapping[Blueprint, ErrorShape]) -> None:
    """Answer OneMap errors raised in the views of ``shapes``' blueprints in their shape."""
    by_name = {blueprint.name: shape for blueprint, shape in shapes.items()}

    def answer(exc: OneMapError) -> ResponseReturnValue:
        shape = by_name.get(request.blueprint or "")
        if shape is None or exc.status == 500:
            raise exc  # not an answer: Flask's own handling, as for any other exception
        return shape(exc)

    server.register_error_handler(OneMapError, answer)
