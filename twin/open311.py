"""Open311 GeoReport v2 over our incidents: services, request intake with duplicate linking, and
the public view of requests (no reporter data, ever).

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
* Reporter data (first/last name, email, phone, device_id) go to ``event_reporter`` only. The
  public view returns the description with phone numbers, e-mail addresses and the reporter's
  own name masked; internal log notes are never returned (status notes are generated).
* Non-personal report details (address_string, media_url, attributes, client app) are kept in
  ``event.trigger['open311']`` (no schema change).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.errors import OneMapError
from geodata.models import EventLog, EventReporter
from geodata.privacy import mask_name, mask_phone
from geodata.settings import Settings
from geodata.vocab import OPEN_STATUSES
from twin.workflow import create_incident

MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_DESCRIPTION = 4000
SOURCE = "open311"


class Open311Error(OneMapError):
    """One or more errors to answer with, as ``[{"code": …, "description": …}]``; ``status``
    (400, 403 or 404) is the HTTP status and each error's code."""

    code = "Open311Error"

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions

    def body(self) -> list[dict]:
        return [{"code": self.status, "description": d} for d in self.descriptions]


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

_STATUS_NOTES = {
    "reported": {"zh": "已受理，等待派单", "en": "Received, awaiting dispatch"},
    "dispatched": {"zh": "已派单至{dept}", "en": "Dispatched to {dept}"},
    "accepted": {"zh": "处置单位已接单", "en": "Accepted by the handling team"},
    "in_progress": {"zh": "正在处置", "en": "Being handled"},
    "resolved": {"zh": "已处置完毕", "en": "Resolved"},
    "closed": {"zh": "已办结", "en": "Closed"},
    "rejected": {"zh": "经核实不予受理", "en": "Not accepted after review"},
}
_DUPLICATE_NOTE = {
    "zh": "疑似重复，已并入工单 {orig} 一并处理",
    "en": "Likely duplicate of request {orig}; handled together with it",
}
_ESCALATED = {
    "street": {"zh": "（已上报街道）", "en": " (escalated to the street office)"},
    "district": {"zh": "（已上报区级）", "en": " (escalated to the district)"},
}


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
    if _service(session, code) is None:
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
        if not report.address_id.isdigit():
            errors.append(f"address_id must be a building id (digits), got {report.address_id!r}")
            return None
        rows = session.execute(
            text(sql.format(where="id = :id")), {"id": int(report.address_id)}
        ).all()
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


def _check_lengths(report: Report, errors: list[str]) -> None:
    limits = {
        "first_name": 64,
        "last_name": 64,
        "email": 128,
        "phone": 32,
        "device_id": 64,
        "address_string": 256,
        "media_url": 1024,
        "description": MAX_DESCRIPTION,
    }
    for name, limit in limits.items():
        value = getattr(report, name)
        if value is not None and len(value) > limit:
            errors.append(f"{name} is longer than {limit} characters")
    if report.email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", report.email):
        errors.append(f"email {report.email!r} is not an e-mail address")


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
    service = _service(session, report.service_code)
    if service is None:
        raise Open311Error(404, f"service_code {report.service_code!r} not found")
    errors: list[str] = []
    attrs = _check_attributes(report.attributes, errors)
    _check_lengths(report, errors)
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
        notice = _DUPLICATE_NOTE[locale].format(orig=original)
    elif locale == "en":
        notice = f"{service.name_en}: expected to be handled by {_w3(event.due_at)}"
    else:
        notice = f"{service.name_zh}：预计 {_w3(event.due_at)} 前处理"
    return {"service_request_id": str(event.id), "service_notice": notice, "account_id": None}


# --- the public view -----------------------------------------------------------------------

_OPEN311_STATUS = (
    "CASE WHEN e.status = ANY(:open) AND (d.id IS NULL OR d.status = ANY(:open)) "
    "THEN 'open' ELSE 'closed' END"
)
_REQUESTS_SQL = f"""
    SELECT e.id, e.category, e.status, e.level, e.reported_at, e.updated_at, e.due_at,
           e.resolved_at, e.closed_at, e.department, e.description, e.building_id,
           e.duplicate_of, e.trigger -> 'open311' AS o311,
           ST_X(e.loc) AS lon, ST_Y(e.loc) AS lat, c.name_zh, c.name_en, b.address,
           d.due_at AS d_due_at, d.resolved_at AS d_resolved_at, d.closed_at AS d_closed_at,
           r.first_name AS r_first, r.last_name AS r_last,
           {_OPEN311_STATUS} AS o_status
    FROM event e
    JOIN event_category c ON c.code = e.category AND c.open311
    LEFT JOIN event d ON d.id = e.duplicate_of
    LEFT JOIN building b ON b.id = e.building_id
    LEFT JOIN event_reporter r ON r.event_id = e.id
"""

_PHONE = re.compile(r"(?<!\d)\+?\d[\d\- ]{5,}\d(?!\d)")
_EMAIL = re.compile(r"[^@\s]+@([^@\s]+\.[^@\s]+)")


def redact(description: str | None, names: Sequence[str | None] = ()) -> str | None:
    """Mask phone numbers, e-mail addresses and the given names in free text."""
    if not description:
        return description
    out = _PHONE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), description)
    out = _EMAIL.sub(lambda m: "***@" + m.group(1), out)
    parts = [n.strip() for n in names if n and n.strip()]
    whole = ["".join(parts), "".join(reversed(parts)), " ".join(parts), " ".join(reversed(parts))]
    for name in sorted({*whole, *parts}, key=len, reverse=True):
        if len(name) >= 2:
            out = out.replace(name, mask_name(name))
    return out


def _w3(t: datetime | None) -> str | None:
    """W3C datetime in UTC, whole seconds (``2010-01-01T00:00:00Z``)."""
    if t is None:
        return None
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _request(row, locale: str) -> dict:
    o311 = row.o311 or {}
    closed = row.o_status == "closed"
    if row.duplicate_of is not None:
        note = _DUPLICATE_NOTE[locale].format(orig=row.duplicate_of)
        expected = row.d_due_at
        done = row.d_closed_at or row.d_resolved_at
    else:
        note = _STATUS_NOTES[row.status][locale].format(dept=row.department or "")
        if row.level in _ESCALATED and not closed:
            note += _ESCALATED[row.level][locale]
        expected = row.due_at
        done = row.closed_at or row.resolved_at
    updated = (done or row.updated_at) if closed else row.updated_at
    return {
        "service_request_id": str(row.id),
        "status": row.o_status,
        "status_notes": note,
        "service_name": _name(row, locale),
        "service_code": row.category,
        "description": redact(row.description, (row.r_last, row.r_first)),
        "agency_responsible": row.department,
        "service_notice": None,
        "requested_datetime": _w3(row.reported_at),
        "updated_datetime": _w3(max(updated, row.reported_at)),
        "expected_datetime": _w3(expected),
        "address": row.address or o311.get("address_string"),
        "address_id": str(row.building_id) if row.building_id else None,
        "zipcode": None,
        "lat": round(row.lat, 7),
        "long": round(row.lon, 7),
        "media_url": o311.get("media_url"),
    }


def get_request(session: Session, request_id: str, locale: str) -> dict:
    """GET requests/{id}: one request, or 404."""
    if not request_id.isdigit():
        raise Open311Error(404, f"service_request_id {request_id!r} not found")
    row = session.execute(
        text(_REQUESTS_SQL + " WHERE e.id = :id"),
        {"id": int(request_id), "open": list(OPEN_STATUSES)},
    ).one_or_none()
    if row is None:
        raise Open311Error(404, f"service_request_id {request_id!r} not found")
    return _request(row, locale)


def parse_w3(name: str, value: str) -> datetime:
    """A W3C datetime with its zone (``Z`` or ``±HH:MM``), or a 400."""
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        t = None
    if t is None or t.tzinfo is None:
        raise Open311Error(
            400,
            f"{name} must be a W3C datetime with a zone, e.g. 2010-01-01T00:00:00Z; got {value!r}",
        )
    return t


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def find_requests(
    session: Session, args: Mapping[str, str], locale: str, now: datetime
) -> list[dict]:
    """GET requests: by ids (overriding all else) or by codes, date window and status."""
    params: dict = {"open": list(OPEN_STATUSES), "limit": MAX_REQUESTS}
    ids = _csv(args.get("service_request_id"))
    if ids:
        if not all(i.isdigit() for i in ids):
            raise Open311Error(400, "service_request_id must be comma-separated request ids")
        params["ids"] = [int(i) for i in ids]
        where = "e.id = ANY(:ids)"
    else:
        start = parse_w3("start_date", args["start_date"]) if args.get("start_date") else None
        end = parse_w3("end_date", args["end_date"]) if args.get("end_date") else None
        if start is None:
            if end is None:
                end = now
            start = end - MAX_SPAN
        elif end is None:
            end = start + MAX_SPAN
        if start > end:
            raise Open311Error(400, "start_date is after end_date")
        if end - start > MAX_SPAN:
            raise Open311Error(400, "start_date … end_date may not span more than 90 days")
        params |= {"start": start, "end": end}
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
        text(_REQUESTS_SQL + f" WHERE {where} ORDER BY e.reported_at DESC, e.id DESC LIMIT :limit"),
        params,
    )
    return [_request(r, locale) for r in rows]
