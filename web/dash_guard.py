"""A guard in front of Dash's callback route, ``POST /_dash-update-component``.

Any signed-in client can post any payload there. Before Dash reads it, the payload is parsed
(:class:`CallbackCall`, pydantic): the output must name a registered callback, and its inputs
and states must match the callback's declaration in number, component id and property. A
payload that does not answers 400 (404 for an unknown callback) naming what is wrong.

Values reach the callbacks as JSON types the browser could have sent but the callback may not
expect (``{}`` where a list is read, text where a number is): the pages check what is cheap to
check; a ``TypeError``, ``KeyError``, ``ValueError``, ``AttributeError`` or ``IndexError`` (or a
Dash error about the callback's answer) that still escapes a callback is answered 400 — a value
of the wrong type or shape — and logged on one line, not as a 500 with a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import dash
from dash.exceptions import DashException, PreventUpdate
from flask import Response, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from web.responses import json_response

log = logging.getLogger(__name__)

ROUTE = "_dash-update-component"
INPUT_ERRORS = (TypeError, KeyError, ValueError, AttributeError, IndexError)
"""What a value of the wrong type or shape raises in a callback."""
WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")

ComponentId = str | dict[str, str | int | float | bool | list[Any] | None]


class Prop(BaseModel):
    """One component property in a payload (``value`` absent for outputs)."""

    model_config = ConfigDict(extra="forbid")
    id: ComponentId
    property: str = Field(max_length=200)
    value: Any = None


class CallbackCall(BaseModel):
    """The payload the Dash renderer posts to run one callback."""

    model_config = ConfigDict(extra="ignore")
    output: str = Field(max_length=5000)
    outputs: Prop | list[Prop | list[Prop]]
    inputs: list[Prop | list[Prop]] = Field(max_length=200)
    state: list[Prop | list[Prop]] = Field(default_factory=list, max_length=200)
    changedPropIds: list[str] = Field(default_factory=list, max_length=200)


class CallbackRefused(Exception):
    """A payload that cannot run its callback: ``status`` and the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _wildcard(declared_id: str) -> bool:
    """Whether a declared id (a pattern id is JSON text) holds ``ALL``/``MATCH``/…"""
    return declared_id.startswith("{") and any(f'["{w}"]' in declared_id for w in WILDCARDS)


def _id_text(component_id: ComponentId) -> str:
    """A sent id as the callback map spells it (pattern ids as compact, sorted JSON)."""
    if isinstance(component_id, str):
        return component_id
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def _match(kind: str, declared: list[Mapping[str, Any]], sent: list[Prop | list[Prop]]) -> None:
    """The sent inputs (or states) against the declared ones, in order."""
    if len(sent) != len(declared):
        raise CallbackRefused(400, f"{kind}: {len(sent)} sent, the callback takes {len(declared)}")
    for i, (want, got) in enumerate(zip(declared, sent, strict=True)):
        if _wildcard(want["id"]):
            continue  # a pattern: one or many components the renderer found
        if isinstance(got, list) or (_id_text(got.id), got.property) != (
            want["id"],
            want["property"],
        ):
            expected = f"{want['id']}.{want['property']}"
            raise CallbackRefused(400, f"{kind}[{i}]: expected the value of {expected}")


def check_call(body: object, callbacks: Mapping[str, Mapping[str, Any]]) -> CallbackCall:
    """The parsed payload, or :class:`CallbackRefused` saying what is wrong with it."""
    try:
        call = CallbackCall.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise CallbackRefused(
            400, f"not a Dash callback payload: {where}: {first['msg']}"
        ) from None
    spec = callbacks.get(call.output)
    if spec is None:
        raise CallbackRefused(404, f"no callback has the output {call.output[:200]!r}")
    _match("inputs", spec["inputs"], call.inputs)
    _match("state", spec.get("state", []), call.state)
    return call


def _refused(status: int, message: str) -> Response:
    return json_response({"error": message, "status": status}, status)


def guarded(app: dash.Dash, view: Callable[[], Any]) -> Callable[[], Any]:
    """``view`` (Dash's dispatch) behind the payload check and the input-error mapping."""

    def dispatch() -> Any:
        try:
            call = check_call(request.get_json(silent=True), app.callback_map)
        except CallbackRefused as exc:
            return _refused(exc.status, str(exc))
        try:
            return view()
        except PreventUpdate:
            raise
        except (*INPUT_ERRORS, DashException) as exc:
            if isinstance(exc, DashException) and not _about_values(exc):
                raise
            log.warning("callback %s refused: %s", call.output[:200], type(exc).__name__)
            message = f"callback {call.output[:200]}: an input has the wrong type or shape"
            return _refused(400, message)

    dispatch.__name__ = "dispatch"
    return dispatch


def _about_values(exc: DashException) -> bool:
    """Dash errors a forged payload causes (an answer that does not fit the sent outputs)."""
    return type(exc).__name__ in ("InvalidCallbackReturnValue", "MissingCallbackContextException")


def install(app: dash.Dash) -> None:
    """Put the guard in front of the app's callback route."""
    endpoint = app.config.routes_pathname_prefix + ROUTE
    server = app.server
    server.view_functions[endpoint] = guarded(app, server.view_functions[endpoint])
