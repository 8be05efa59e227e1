"""``POST /api/grid/actions`` and ``/api/grid/reports``: the grid worker's offline queue.

``/api/grid/reports`` takes ``{"key", "category", "lon", "lat", "description", "lang"}`` and
makes the reported incident once per key (:func:`twin.grid_desk.report`; a replay answers the
same ``incident``); a location outside the viewer's grids answers 403, an unknown category 400.

The body is JSON ``{"key", "incident", "action", "note", "photo", "lang"}``: ``key`` made by the
page when the button was pressed (8–64 characters), ``action`` one of the task buttons,
``photo`` an optional ``data:image/jpeg|png;base64,…`` URL. The same checks and scope as the
grid desk (:mod:`twin.action_queue`). Answers: 200 ``{"incident", "action", "status",
"replay": false}`` when applied, the same with ``"replay": true`` for a key already applied
(nothing changes); 409 with a message in ``lang`` naming who changed the incident and when (city
time) when it moved on meanwhile; 404 for an incident outside the viewer's grids (alike for
one that does not exist); 400 for a malformed body; 403 for roles without grids; 422 for a
photo that is not one. A session needs its CSRF token (``X-CSRFToken``), like every change.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geodata import city_time
from geodata.errors import OneMapError, WorkflowError
from geodata.vocab import Role
from twin import action_queue, grid_desk
from twin.clock import SystemClock
from web import context, i18n
from web.responses import json_response

blueprint = Blueprint("grid_actions", __name__)
ROUTE = "/api/grid/actions"
REPORTS = "/api/grid/reports"
ACTIONS = tuple(grid_desk.UI_ACTIONS)
PHOTO_TYPES = ("image/jpeg", "image/png")
GRID_ROLES = (Role.grid_worker, Role.admin)


class QueuedReport(BaseModel):
    """One queued report as the page sends it."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=action_queue.KEY_MIN, max_length=action_queue.KEY_MAX)
    category: str = Field(min_length=1, max_length=64)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    description: str | None = Field(default=None, max_length=2000)
    lang: str | None = Field(default=None, max_length=8)


class QueuedAction(BaseModel):
    """One queued action as the page sends it."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=action_queue.KEY_MIN, max_length=action_queue.KEY_MAX)
    incident: int = Field(gt=0, lt=2**63)
    action: Literal["accept", "handle", "close", "escalate"]
    note: str | None = Field(default=None, max_length=2000)
    photo: str | None = Field(default=None, max_length=grid_desk.PHOTO_MAX_BYTES * 4 // 3 + 64)
    lang: str | None = Field(default=None, max_length=8)


def _error(message: str, status: int, **extra: object) -> Response:
    return json_response({"error": message, "status": status, **extra}, status)


def _photo(value: str | None) -> grid_desk.Upload | None:
    """The photo of a data URL (ValueError when it is not one)."""
    if not value:
        return None
    head, _, encoded = value.partition(",")
    media = head.removeprefix("data:").split(";", 1)[0]
    if not head.startswith("data:") or ";base64" not in head or media not in PHOTO_TYPES:
        raise ValueError(f"photo must be a base64 data URL of {' or '.join(PHOTO_TYPES)}")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error):
        raise ValueError("photo is not valid base64") from None
    return grid_desk.Upload(context.settings().store.data_dir, data, media)


def conflict_text(exc: action_queue.Conflict, action: str, lang: str) -> str:
    """The conflict in words: which incident, its status now, who moved it and when."""
    mover = exc.mover
    role_key = f"role.{mover.role}"
    role = i18n.text(role_key, lang) if role_key in i18n.STRINGS else ""
    by = " ".join(p for p in (role, mover.name or "") if p) or i18n.text(
        "grid.conflict_someone", lang
    )
    return i18n.text("grid.conflict", lang).format(
        id=exc.event_id,
        at=city_time.fmt(mover.at, context.timezone()),
        by=by,
        status=i18n.text(f"grid.event.{exc.status_now}", lang),
        action=i18n.text(f"grid.act.{action}", lang),
    )


def _now() -> datetime:
    return SystemClock().now()


def _refused(exc: ValidationError) -> Response:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return _error(f"{where}: {first['msg']}", 400)


@blueprint.post(REPORTS)
def queued_report() -> Response:
    """Make one queued report's incident once per key (a replay answers the same incident)."""
    try:
        body = QueuedReport.model_validate(request.get_json(silent=True))
    except ValidationError as exc:
        return _refused(exc)
    viewer = context.viewer()
    if viewer.role not in GRID_ROLES:
        return _error(f"role {viewer.role!r} has no grid tasks", 403)
    try:
        event_id = grid_desk.report(
            context.store_url(), viewer, None, body.category, body.lon, body.lat,
            body.description, _now(), key=body.key,
        )  # fmt: skip
    except (ValueError, WorkflowError) as exc:
        return _error(str(exc), 400)
    except grid_desk.OutOfScope as exc:
        return _error(str(exc), 403)
    return json_response({"incident": event_id, "status": "reported"})


@blueprint.post(ROUTE)
def queued_action() -> Response:
    """Apply one queued task action exactly once (or say why not)."""
    try:
        body = QueuedAction.model_validate(request.get_json(silent=True))
    except ValidationError as exc:
        return _refused(exc)
    lang = i18n.language(body.lang or context.settings().web.language)
    viewer = context.viewer()
    if viewer.role not in GRID_ROLES:
        return _error(f"role {viewer.role!r} has no grid tasks", 403)
    try:
        photo = _photo(body.photo)
        answer = action_queue.keyed_act(
            context.store_url(), viewer, body.key, body.incident, body.action, body.note,
            _now(), photo,
        )  # fmt: skip
    except ValueError as exc:
        return _error(str(exc), 400)
    except grid_desk.OutOfScope:
        return _error(i18n.text("grid.out_of_scope", lang).format(id=body.incident), 404)
    except action_queue.Conflict as exc:
        return _error(conflict_text(exc, body.action, lang), 409, **exc.details())
    except OneMapError as exc:
        if exc.status >= 500:
            raise
        return _error(str(exc), exc.status)
    return json_response(
        {
            "incident": answer.event_id,
            "action": answer.action,
            "status": answer.status,
            "status_text": i18n.text(f"grid.event.{answer.status}", lang),
            "replay": answer.replay,
        }
    )
