"""Open311 GeoReport v2 over our incidents: services and request intake with duplicate linking
(the public view of requests: :mod:`twin.open311_public`; input checks: :mod:`twin.open311_input`).

Decisions (see also ``api/open311.py``):

* Services are the active ``event_category`` rows with ``open311 = true`` (leaves only; groups
  and device/care categories are not offered). ``service_code`` is the category code; every
  service is ``realtime`` (the id comes back at once, no tokens) and shares the small attribute
  set :data:`ATTRIBUTES` (``metadata: true``).
* Status: ``open`` while our incident is reported/dispatched/accepted/in_progress, ``closed``
  once resolved, closed or rejected — the same line the workflow draws for "open". A linked
  duplicate follows the incident it duplicates (closed when that one is).
* Duplicates: a report within ``open311_duplicate_radius_m`` metres (geography) and
  ``open311_duplicate_hours`` of an open incident of the same category, not itself a duplicate,
  is stored as its own incident with ``duplicate_of`` set and never dispatched separately.
  The client gets the new request's own id (it can follow it), status ``open`` and a notice /
  ``status_notes`` naming the original. An advisory lock per category makes concurrent reports
  of one problem link instead of both opening.
* Reporter data (first/last name, email, phone, device_id) go to ``event_reporter`` only.
  Incidents made here have ``source = 'open311'``: the only ones the public feed shows.
* Non-personal report details (address_string, media_url, attributes, client app) are kept in
  ``event.trigger['open311']`` (no schema change).
* Every text field must be plain text (no control characters but tab and newlines, no lone
  surrogates); ``media_url`` must be an http(s) URL on ``open311.media_origins`` (400 otherwise).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata import city_time
from geodata.models import EventLog, EventReporter
from geodata.settings import Settings
from geodata.vocab import OPEN_STATUSES
from twin.open311_input import (
    Open311Error,
    bad_character,
    media_url_allowed,
    request_id,
    service_code_or_404,
)
from twin.open311_public import DUPLICATE_NOTE, SOURCE
from twin.workflow import create_incident

__all__ = ["ATTRIBUTES", "Open311Error", "Report", "service_definition", "services", "submit"]

MAX_DESCRIPTION = 4000


@dataclass(frozen=True)
class Attribute:
    """A service attribute (GeoReport ``ServiceAttribute``)."""

    code: str
    datatype: str
    required: bool
    description: dict[str, str]
    order: int
    values: tuple[tuple[str, dict[str, str]], ...] = field(default=())


ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "urgency",
        "singlevaluelist",
        False,
        {"zh": "紧急程度", "en": "How urgent is it?"},
        1,
        (("normal", {"zh": "一般", "en": "Normal"}), ("urgent", {"zh": "紧急", "en": "Urgent"})),
    ),
    Attribute("floor", "number", False, {"zh": "楼层（室内时）", "en": "Floor, if indoors"}, 2),
)
"""Attributes every service accepts; ``urgency=urgent`` raises the severity by one."""
_ATTRIBUTES = {a.code: a for a in ATTRIBUTES}

# --- services ------------------------------------------------------------------------------


def _name(row, locale: str) -> str:
    return row.name_en if locale == "en" else row.name_zh


def services(session: Session, locale: str) -> list[dict]:
    """GET services: the categories offered to residents."""
    rows = session.execute(
        text(
            "SELECT c.code, c.name_zh, c.name_en, c.parent, c.department, c.sla_hours, "
            "c.default_severity, g.name_zh AS group_zh, g.name_en AS group_en "
            "FROM event_category c LEFT JOIN event_category g ON g.code = c.parent "
            "WHERE c.open311 AND c.active ORDER BY c.code"
        )
    )
    out = []
    for r in rows:
        hours = r.sla_hours.get(str(r.default_severity))
        alt = r.name_zh if locale == "en" else r.name_en
        when = f"usually within {hours:g} h" if locale == "en" else f"一般 {hours:g} 小时内处理"
        group = (r.group_en if locale == "en" else r.group_zh) or r.parent
        out.append(
            {
                "service_code": r.code,
                "service_name": _name(r, locale),
                "description": f"{alt}; {when}" if hours is not None else alt,
                "metadata": True,
                "type": "realtime",
                "keywords": ", ".join(x for x in (r.name_zh, r.name_en, r.department) if x),
                "group": group,
            }
        )
    return out


def _service(session: Session, code: str):
    return session.execute(
        text(
            "SELECT code, name_zh, name_en, default_severity FROM event_category "
            "WHERE code = :code AND open311 AND active"
        ),
        {"code": code},
    ).one_or_none()


def service_definition(session: Session, code: str, locale: str) -> dict:
    """GET services/{code}: the attributes of one service."""
    if _service(session, service_code_or_404(code)) is None:
        raise Open311Error(404, f"service_code {code!r} not found")
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": None,
                "order": a.order,
                "description": a.description[locale],
                "values": [{"key": k, "name": names[locale]} for k, names in a.values],
            }
            for a in ATTRIBUTES
        ],
    }


# --- intake --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A parsed, validated POST: the fields it may carry (attributes as code → values)."""

    service_code: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    description: str | None = None
    media_url: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)


def _float(name: str, value: str, errors: list[str]) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        errors.append(f"{name} must be a number in decimal degrees, got {value!r}")
        return None
    return number


def _check_attributes(attrs: Mapping[str, Sequence[str]], errors: list[str]) -> dict:
    """Validate attribute[code]=value pairs against :data:`ATTRIBUTES`."""
    clean: dict = {}
    for code, values in attrs.items():
        spec = _ATTRIBUTES.get(code)
        if spec is None:
            errors.append(f"attribute[{code}] is not defined; defined: {sorted(_ATTRIBUTES)}")
            continue
        keys = {k for k, _ in spec.values}
        if spec.datatype == "multivaluelist":
            bad = [v for v in values if v not in keys]
            if bad:
                errors.append(f"attribute[{code}]: {bad} not among {sorted(keys)}")
            clean[code] = list(values)
            continue
        if len(values) != 1:
            errors.append(f"attribute[{code}] takes one value, got {len(values)}")
            continue
        value = values[0]
        if spec.datatype == "singlevaluelist" and value not in keys:
            errors.append(f"attribute[{code}]: {value!r} is not one of {sorted(keys)}")
        elif spec.datatype == "number":
            number = _float(f"attribute[{code}]", value, errors)
            clean[code] = number
            continue
        clean[code] = value
    for spec in ATTRIBUTES:
        if spec.required and spec.code not in attrs:
            errors.append(f"attribute[{spec.code}] is required")
    return clean


def _locate(session: Session, settings: Settings, report: Report, errors: list[str]):
    """(lon, lat, building_id) of the report, from lat/long, address_id or address_string."""
    if report.lat is not None or report.long is not None:
        if report.lat is None or report.long is None:
            errors.append("lat and long must be sent together")
            return None
        lat = _float("lat", report.lat, errors)
        lon = _float("long", report.long, errors)
        if lat is None or lon is None:
            return None
        x0, y0, x1, y1 = settings.city.extent
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            errors.append(
                f"lat/long ({lat}, {lon}) is outside {settings.city.name} "
                f"(long {x0}…{x1}, lat {y0}…{y1}, WGS84)"
            )
            return None
        building = session.execute(
            text(
                "SELECT id FROM building WHERE ST_Intersects(geom, "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY id LIMIT 1"
            ),
            {"lon": lon, "lat": lat},
        ).scalar()
        return lon, lat, building
    sql = (
        "SELECT id, ST_X(p) AS lon, ST_Y(p) AS lat FROM "
        "(SELECT id, ST_PointOnSurface(geom) AS p FROM building WHERE {where}) b LIMIT 2"
    )
    if report.address_id:
        building = request_id(report.address_id)
        if building is None:
            errors.append(f"address_id must be a building id (digits), got {report.address_id!r}")
            return None
        rows = session.execute(text(sql.format(where="id = :id")), {"id": building}).all()
    elif report.address_string:
        rows = session.execute(
            text(sql.format(where="lower(btrim(address)) = lower(btrim(:a))")),
            {"a": report.address_string},
        ).all()
    else:
        errors.append("a location is required: lat and long, address_string or address_id")
        return None
    if len(rows) != 1:
        what = "address_id" if report.address_id else "address_string"
        errors.append(f"{what} could not be located on one building; send lat and long")
        return None
    return rows[0].lon, rows[0].lat, rows[0].id


_LIMITS = {
    "service_code": 64,
    "lat": 32,
    "long": 32,
    "address_id": 19,
    "account_id": 64,
    "first_name": 64,
    "last_name": 64,
    "email": 128,
    "phone": 32,
    "device_id": 64,
    "address_string": 256,
    "media_url": 1024,
    "description": MAX_DESCRIPTION,
}


def _check_fields(report: Report, settings: Settings, errors: list[str]) -> None:
    """Lengths, plain text, the e-mail's shape and the media URL's origin."""
    for name, limit in _LIMITS.items():
        value = getattr(report, name)
        if value is None:
            continue
        why = bad_character(value)
        if why:
            errors.append(f"{name} holds {why}; send plain text")
        elif len(value) > limit:
            errors.append(f"{name} is longer than {limit} characters")
    if report.email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", report.email):
        errors.append(f"email {report.email[:128]!r} is not an e-mail address")
    origins = settings.open311.media_origins
    if report.media_url and not media_url_allowed(report.media_url, origins):
        errors.append(
            "media_url must be an http(s) URL on "
            + (" or ".join(origins) if origins else "this service's own origin (none accepted)")
        )


def find_duplicate(
    session: Session, settings: Settings, category: str, lon: float, lat: float, now: datetime
) -> int | None:
    """The open incident of ``category`` this report likely duplicates (nearest, then oldest)."""
    return session.execute(
        text(
            "WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS g) "
            "SELECT e.id FROM event e, p WHERE e.category = :cat "
            "AND e.status = ANY(:open) AND e.duplicate_of IS NULL "
            "AND e.reported_at > :since AND e.reported_at <= :now "
            "AND ST_DWithin(e.loc::geography, p.g, :r) "
            "ORDER BY ST_Distance(e.loc::geography, p.g), e.reported_at LIMIT 1"
        ),
        {
            "lon": lon,
            "lat": lat,
            "cat": category,
            "open": list(OPEN_STATUSES),
            "since": now - timedelta(hours=settings.open311.duplicate_hours),
            "now": now,
            "r": settings.open311.duplicate_radius_m,
        },
    ).scalar()


def submit(
    session: Session,
    settings: Settings,
    report: Report,
    client: str,
    now: datetime,
    locale: str = "zh",
) -> dict:
    """POST requests: validate, store (reporter apart), link a likely duplicate; the response."""
    if not report.service_code:
        raise Open311Error(400, "service_code was not provided")
    service = _service(session, service_code_or_404(report.service_code))
    if service is None:
        raise Open311Error(404, f"service_code {report.service_code!r} not found")
    errors: list[str] = []
    attrs = _check_attributes(report.attributes, errors)
    _check_fields(report, settings, errors)
    if errors:
        raise Open311Error(400, *errors)
    where = _locate(session, settings, report, errors)
    if errors:
        raise Open311Error(400, *errors)
    lon, lat, building_id = where
    severity = service.default_severity
    if attrs.get("urgency") == "urgent":
        severity = min(4, severity + 1)
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"open311:{service.code}"}
    )
    original = find_duplicate(session, settings, service.code, lon, lat, now)
    details = {
        "client": client,
        "address_string": report.address_string,
        "address_id": report.address_id,
        "media_url": report.media_url,
        "attributes": attrs,
    }
    title = service.name_zh + (f"：{report.address_string}" if report.address_string else "")
    result = create_incident(
        session,
        category=service.code,
        title=title[:256],
        lon=lon,
        lat=lat,
        severity=severity,
        description=report.description,
        trigger={SOURCE: {k: v for k, v in details.items() if v not in (None, {})}},
        building_id=building_id,
        source=SOURCE,
        actor=f"open311:{client}",
        actor_kind="open311",
        now=now,
    )
    event = result.event
    if original is not None:
        event.duplicate_of = original
        session.add(
            EventLog(
                event_id=event.id,
                at=now,
                actor=f"open311:{client}",
                actor_kind="open311",
                action="duplicate",
                note=f"likely duplicate of incident {original} (not dispatched separately)",
            )
        )
    personal = (report.first_name, report.last_name, report.email, report.phone, report.device_id)
    if any(personal):
        session.add(
            EventReporter(
                event_id=event.id,
                first_name=report.first_name,
                last_name=report.last_name,
                email=report.email,
                phone=report.phone,
                client=report.device_id,
            )
        )
    session.flush()
    if original is not None:
        notice = DUPLICATE_NOTE[locale].format(orig=original)
    else:
        tz = settings.city.timezone
        due = f"{city_time.fmt(event.due_at, tz, city_time.SECOND)} ({city_time.offset_label(tz)})"
        if locale == "en":
            notice = f"{service.name_en}: expected to be handled by {due}"
        else:
            notice = f"{service.name_zh}：预计 {due} 前处理"
    return {"service_request_id": str(event.id), "service_notice": notice, "account_id": None}
