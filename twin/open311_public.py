"""The public Open311 feed: what a resident may see of the requests residents made.

Rules (``GET requests`` and ``GET requests/{id}``, anyone, no sign-in):

* Only requests that came in through Open311 (``event.source = 'open311'``) are published:
  incidents grid workers report, welfare checks, sensor alarms and other internal work never
  are, whatever their category — by id they answer 404 like an id that does not exist.
* The description is the resident's text with personal data masked (:func:`geodata.pii_text.
  mask_text`: ID numbers, phones, e-mails, the reporter's own name and recognised names); an
  officer may hide it altogether (:mod:`twin.open311_moderation`), and then neither it nor the
  address the resident typed is published.
* The location is rounded to a multiple of ``open311.published_precision_deg`` (0.0005° by
  default, about 50 m here). ``address`` is the address text the resident typed (masked), never
  the address of the building we matched; ``address_id`` is never published.
* ``media_url`` is published only when it is an http(s) URL on ``open311.media_origins``.
* Internal log notes are never returned; status notes are generated.
* A linked duplicate follows the incident it duplicates (closed when that one is).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata import city_time
from geodata.pii_text import mask_text
from geodata.settings import Settings
from geodata.vocab import OPEN_STATUSES
from twin.open311_input import (
    Open311Error,
    media_url_allowed,
    parse_w3,
    request_id_or_404,
    request_ids,
)

SOURCE = "open311"
"""``event.source`` of the incidents residents reported through Open311: the only ones published."""
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000

_STATUS_NOTES = {
    "reported": {"zh": "已受理，等待派单", "en": "Received, awaiting dispatch"},
    "dispatched": {"zh": "已派单至{dept}", "en": "Dispatched to {dept}"},
    "accepted": {"zh": "处置单位已接单", "en": "Accepted by the handling team"},
    "in_progress": {"zh": "正在处置", "en": "Being handled"},
    "resolved": {"zh": "已处置完毕", "en": "Resolved"},
    "closed": {"zh": "已办结", "en": "Closed"},
    "rejected": {"zh": "经核实不予受理", "en": "Not accepted after review"},
}
DUPLICATE_NOTE = {
    "zh": "疑似重复，已并入工单 {orig} 一并处理",
    "en": "Likely duplicate of request {orig}; handled together with it",
}
_HIDDEN_NOTE = {"zh": "（描述已由工作人员隐藏）", "en": " (description hidden by staff)"}
_ESCALATED = {
    "street": {"zh": "（已上报街道）", "en": " (escalated to the street office)"},
    "district": {"zh": "（已上报区级）", "en": " (escalated to the district)"},
}

_OPEN311_STATUS = (
    "CASE WHEN e.status = ANY(:open) AND (d.id IS NULL OR d.status = ANY(:open)) "
    "THEN 'open' ELSE 'closed' END"
)
_REQUESTS_SQL = f"""
    SELECT e.id, e.category, e.status, e.level, e.reported_at, e.updated_at, e.due_at,
           e.resolved_at, e.closed_at, e.department, e.description, e.public_text_hidden,
           e.duplicate_of, e.trigger -> 'open311' AS o311,
           ST_X(e.loc) AS lon, ST_Y(e.loc) AS lat, c.name_zh, c.name_en,
           d.due_at AS d_due_at, d.resolved_at AS d_resolved_at, d.closed_at AS d_closed_at,
           r.first_name AS r_first, r.last_name AS r_last,
           {_OPEN311_STATUS} AS o_status
    FROM event e
    JOIN event_category c ON c.code = e.category AND c.open311
    LEFT JOIN event d ON d.id = e.duplicate_of
    LEFT JOIN event_reporter r ON r.event_id = e.id
    WHERE e.source = '{SOURCE}'
"""


def w3(t: datetime | None, tz: str) -> str | None:
    """W3C datetime with the offset of the city's zone ``tz``, whole seconds
    (``2010-01-01T08:00:00+08:00``), as GeoReport v2's examples give local times."""
    if t is None:
        return None
    return city_time.iso(t.replace(microsecond=0), tz)


def round_to(value: float, step: float) -> float:
    """``value`` rounded to the nearest multiple of ``step``, written with no float noise."""
    places = max(0, -math.floor(math.log10(step))) + 1
    return round(round(value / step) * step, places)


def _note(row, locale: str, closed: bool) -> str:
    if row.duplicate_of is not None:
        note = DUPLICATE_NOTE[locale].format(orig=row.duplicate_of)
    else:
        note = _STATUS_NOTES[row.status][locale].format(dept=row.department or "")
        if row.level in _ESCALATED and not closed:
            note += _ESCALATED[row.level][locale]
    return note + (_HIDDEN_NOTE[locale] if row.public_text_hidden else "")


def _request(row, settings: Settings, locale: str) -> dict:
    o311 = row.o311 or {}
    closed = row.o_status == "closed"
    if row.duplicate_of is not None:
        expected, done = row.d_due_at, row.d_closed_at or row.d_resolved_at
    else:
        expected, done = row.due_at, row.closed_at or row.resolved_at
    updated = (done or row.updated_at) if closed else row.updated_at
    names = (row.r_last, row.r_first)
    hidden = row.public_text_hidden
    media = o311.get("media_url")
    address = o311.get("address_string")
    step = settings.open311.published_precision_deg
    tz = settings.city.timezone
    return {
        "service_request_id": str(row.id),
        "status": row.o_status,
        "status_notes": _note(row, locale, closed),
        "service_name": row.name_en if locale == "en" else row.name_zh,
        "service_code": row.category,
        "description": None if hidden else mask_text(row.description, names),
        "agency_responsible": row.department,
        "service_notice": None,
        "requested_datetime": w3(row.reported_at, tz),
        "updated_datetime": w3(max(updated, row.reported_at), tz),
        "expected_datetime": w3(expected, tz),
        "address": None if hidden or not address else mask_text(str(address).strip(), names),
        "address_id": None,
        "zipcode": None,
        "lat": round_to(row.lat, step),
        "long": round_to(row.lon, step),
        "media_url": media
        if isinstance(media, str) and media_url_allowed(media, settings.open311.media_origins)
        else None,
    }


def get_request(session: Session, settings: Settings, request_id: str, locale: str) -> dict:
    """GET requests/{id}: one published request, or 404."""
    number = request_id_or_404(request_id)
    row = session.execute(
        text(_REQUESTS_SQL + " AND e.id = :id"),
        {"id": number, "open": list(OPEN_STATUSES)},
    ).one_or_none()
    if row is None:
        raise Open311Error(404, f"service_request_id {request_id!r} not found")
    return _request(row, settings, locale)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _window(args: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    """``start_date`` … ``end_date`` (default: the 90 days before ``end_date`` or now)."""
    start = parse_w3("start_date", args["start_date"]) if args.get("start_date") else None
    end = parse_w3("end_date", args["end_date"]) if args.get("end_date") else None
    if start is None:
        end = end or now
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if start > end:
        raise Open311Error(400, "start_date is after end_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date … end_date may not span more than 90 days")
    return start, end


def find_requests(
    session: Session, settings: Settings, args: Mapping[str, str], locale: str, now: datetime
) -> list[dict]:
    """GET requests: by ids (overriding all else) or by codes, date window and status."""
    params: dict = {"open": list(OPEN_STATUSES), "limit": MAX_REQUESTS}
    ids = _csv(args.get("service_request_id"))
    if ids:
        params["ids"] = request_ids(ids)
        where = "e.id = ANY(:ids)"
    else:
        params["start"], params["end"] = _window(args, now)
        where = "e.reported_at BETWEEN :start AND :end"
        codes = _csv(args.get("service_code"))
        if codes:
            params["codes"] = codes
            where += " AND e.category = ANY(:codes)"
        statuses = _csv(args.get("status"))
        if statuses:
            if not set(statuses) <= {"open", "closed"}:
                raise Open311Error(400, f"status must be open and/or closed, got {statuses}")
            params["statuses"] = statuses
            where += f" AND {_OPEN311_STATUS} = ANY(:statuses)"
    rows = session.execute(
        text(_REQUESTS_SQL + f" AND {where} ORDER BY e.reported_at DESC, e.id DESC LIMIT :limit"),
        params,
    )
    return [_request(r, settings, locale) for r in rows]
