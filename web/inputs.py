"""Checks every request's text before a view parses it: JSON bodies that parse, nest at most
:data:`MAX_JSON_DEPTH` levels and hold no NUL or unpaired surrogate; query and form values
without NUL characters (PostgreSQL text cannot hold one; none of our parameters takes one).

A failed check answers 400 with :class:`BadInput`, which names the parameter or the place in
the body (in the route's error shape, :mod:`web.errors`). The parsed JSON stays cached on the
request, so a view's ``request.get_json()`` does not parse it again. ``/api/readings`` parses
its own body (:mod:`twin.poison`: one bad reading is rejected, not the batch) and is left alone,
and Open311 checks all its parameters itself (:data:`OWN_CHECKS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from geodata.errors import OneMapError

MAX_JSON_DEPTH = 64
"""Deepest nesting of a JSON body (a GeoJSON polygon in a Dash payload needs about 10)."""
SURROGATE = re.compile("[\ud800-\udfff]")
OWN_PARSERS = frozenset({"/api/readings"})
"""Routes that parse and check their bodies themselves."""
OWN_CHECKS = ("/open311/",)
"""Route prefixes that check every parameter and field themselves, with their own messages in
their own error shape (Open311: :mod:`twin.open311_input`)."""


class BadInput(OneMapError, ValueError):
    """A request whose text cannot be read as sent (400); ``field`` says where."""

    status = 400
    code = "InvalidParameterValue"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def details(self) -> dict[str, object]:
        return {"field": self.field}


def _walk(value: object) -> Iterator[tuple[str, object, int]]:
    """``(path, value, depth)`` of every value in a parsed JSON document, outermost first."""
    stack: list[tuple[str, object, int]] = [("body", value, 1)]
    while stack:
        path, item, depth = stack.pop()
        yield path, item, depth
        if isinstance(item, dict):
            stack.extend((f"{path}.{k}", v, depth + 1) for k, v in item.items())
            stack.extend((f"{path} key", k, depth + 1) for k in item)
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(item))


def check_text(field: str, text: str) -> None:
    """Refuse a NUL character or an unpaired surrogate in ``text``."""
    if "\x00" in text:
        raise BadInput(field, "holds a NUL character")
    if SURROGATE.search(text):
        raise BadInput(field, "holds an unpaired surrogate (text must be valid Unicode)")


def check_json(document: object) -> None:
    """Refuse a document nested too deeply or holding bad text (see :func:`check_text`)."""
    for path, value, depth in _walk(document):
        if depth > MAX_JSON_DEPTH:
            raise BadInput("body", f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str):
            check_text(path[:80], value)


def _json_body() -> None:
    try:
        document = request.get_json()
    except RecursionError:
        raise BadInput("body", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except BadRequest:
        raise BadInput("body", "not valid JSON (UTF-8)") from None
    check_json(document)


def _check_request() -> None:
    """Before every view: the query string, a form body and a JSON body."""
    if request.path.startswith(OWN_CHECKS):
        return
    for name, value in request.args.items(multi=True):
        check_text(name[:40], name)
        check_text(name[:40], value)
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path in OWN_PARSERS:
        return
    if request.is_json:
        _json_body()
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            check_text(name[:40], name)
            check_text(name[:40], value)


def install(server: Flask) -> None:
    """Check every request's text before its view (install after the gate)."""
    server.before_request(_check_request)
