"""``GET /api/live``: changes of incidents and devices as server-sent events (SSE).

The stream starts with ``event: hello`` (which layers each message kind affects, for the
viewer) and then sends one ``data:`` line per change (``id: <process>-<seq>``), ``: ping``
comments as heartbeats, and ends after :data:`MAX_STREAM_SECONDS` (the browser's
``EventSource`` reconnects and replays what it missed through ``Last-Event-ID``). Not
compressed or buffered (``text/event-stream`` is not in :mod:`web.compress`'s list; waitress
flushes each chunk). Each stream holds a server thread, so at most ``settings.web.live_streams`` run
per process; beyond that the answer is 503 and clients poll ``/api/live?poll=<last id>``,
which answers at once with JSON ``{"id", "messages", "layers"}`` (``"reset": true`` when
the messages since that id are not known here: refetch).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from geodata.accounts.viewer import Viewer
from geodata.query import WHOLE_NUMBER
from layers.registry import layers_for
from twin.live import LiveHub, Message, hub_for, visible
from web import context

blueprint = Blueprint("live_api", __name__, url_prefix="/api/live")

HEARTBEAT_SECONDS = 15.0
MAX_STREAM_SECONDS = 300.0
# SSE streams per process: ``settings.web.live_streams`` (each holds one of the server's
# ``settings.web.threads`` threads; the rest stay for the API).
RETRY_MS = 1000
STREAM_HEADERS = {
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
}


def affected_layers(viewer: Viewer) -> dict[str, list[str]]:
    """The viewer's layer ids per message kind (the table a layer draws from)."""
    out: dict[str, list[str]] = {}
    for layer in layers_for(viewer.role):
        if layer.source in ("event", "device"):
            out.setdefault(layer.source, []).append(layer.id)
    return out


def _last_seq(hub: LiveHub, last_id: str | None) -> int | None:
    """The sequence number of ``<token>-<seq>`` when it is this process's, else None."""
    token, _, seq = (last_id or "").partition("-")
    return int(seq) if token == hub.token and WHOLE_NUMBER.fullmatch(seq) else None


def _event(message: Message, hub: LiveHub) -> str:
    return f"id: {hub.token}-{message.seq}\ndata: {json.dumps(message.data)}\n\n"


def _stream(hub: LiveHub, viewer: Viewer, last_id: str | None) -> Iterator[str]:
    layers = affected_layers(viewer)
    kinds = set(layers)
    sub = hub.subscribe()
    try:
        hello = {"layers": layers, "id": f"{hub.token}-{hub.seq}"}
        yield f"retry: {RETRY_MS}\nevent: hello\ndata: {json.dumps(hello)}\n\n"
        seq = _last_seq(hub, last_id)
        if last_id:
            missed = hub.since(seq) if seq is not None else None
            for old in missed if missed is not None else [Message(0, {"kind": "reset"})]:
                if visible(old, viewer, kinds):
                    yield _event(old, hub)
        until = time.monotonic() + MAX_STREAM_SECONDS
        while time.monotonic() < until:
            message = sub.get(HEARTBEAT_SECONDS)
            if sub.overflowed:
                sub.overflowed = False
                message = Message(hub.seq, {"kind": "reset"})
            if message is None:
                yield ": ping\n\n"
            elif visible(message, viewer, kinds):
                yield _event(message, hub)
    finally:
        hub.unsubscribe(sub)


def _poll(hub: LiveHub, viewer: Viewer, last_id: str) -> ResponseReturnValue:
    layers = affected_layers(viewer)
    seq = _last_seq(hub, last_id)
    hub.start()
    missed = hub.since(seq) if seq is not None else None
    body: dict[str, object] = {"id": f"{hub.token}-{hub.seq}", "layers": layers}
    if missed is None:
        body["reset"] = bool(last_id)
        body["messages"] = []
    else:
        body["messages"] = [m.data for m in missed if visible(m, viewer, set(layers))]
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("")
def live() -> ResponseReturnValue:
    """The viewer's live changes: an SSE stream, or one poll with ``?poll=<last id>``."""
    hub = hub_for(context.store_url())
    viewer = context.viewer()
    if "poll" in request.args:
        return _poll(hub, viewer, request.args["poll"])
    if hub.subscribers >= context.settings().web.live_streams:
        response = jsonify({"error": "too many live streams: poll /api/live?poll=", "status": 503})
        response.status_code = 503
        response.headers["Retry-After"] = "30"
        return response
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last")
    return Response(
        _stream(hub, viewer, last_id),
        mimetype="text/event-stream",
        headers=STREAM_HEADERS,
    )
