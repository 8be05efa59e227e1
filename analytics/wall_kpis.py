"""Figures of the command wall (``/wall``): KPI tiles, the daily trend, the alarm ticker, and the
governance area a leader drills into — for one viewer and one selected area.

Definitions (as :mod:`analytics.assessment`, for incidents *received* in a window):

- **open**: status in :data:`geodata.vocab.OPEN_STATUSES`; **overdue**: open past its *first*
  deadline — reported more than its category's SLA hours (for its severity) ago
  (:data:`FIRST_DEADLINE`). Escalation and reopening restart ``due_at`` for the next tier, but
  a leader asks "how many are late?", so the deadline set when it was reported counts (``due_at``
  only when the category has no SLA); **welfare checks due**: open incidents of category
  :data:`WELFARE_CATEGORY`.
- **closure rate**: incidents received in the window (today since local midnight, or the last
  30 days) that are closed (``status = 'closed'`` with a ``closed_at``) / received; None when
  none were received.
- **active alarms**: sensors (devices other than cameras) whose state is ``alarm`` — the set the
  wall's live-alarm layer draws (``sensors?status=alarm``).
- **area**: the selected area and every area below it (``parent_id``, else the covering
  ``area_id``, as the assessment's hierarchy), intersected with the viewer's scope; an incident or
  device belongs to the area its ``area_id`` names. With no area selected, an unscoped viewer
  sees the whole store (rows outside every area included).

The ticker lists category, place (area name) and time, never an incident's title or
description: the wall shows no personal identifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from geodata.accounts.viewer import Viewer
from geodata.engine import get_engine
from geodata.vocab import OPEN_STATUSES, AreaLevel, DeviceStatus, EventStatus

CITY_TZ = ZoneInfo("Asia/Shanghai")
"""The default city zone (``ONEMAP_TIMEZONE`` is passed in by the pages)."""
"""Day boundaries of "today" and the daily trend (the city's local time)."""
WELFARE_CATEGORY = "care.welfare_check"
TREND_DAYS = 30
TICKER_SIZE = 10
CHILD_LEVEL: dict[str | None, AreaLevel] = {
    None: AreaLevel.district,
    AreaLevel.city: AreaLevel.district,
    AreaLevel.district: AreaLevel.street,
    AreaLevel.street: AreaLevel.community,
    AreaLevel.community: AreaLevel.grid,
    AreaLevel.grid: AreaLevel.grid,
}
"""The level of the areas drawn (and clickable) under a selection of each level."""

FIRST_DEADLINE = (
    "COALESCE(e.reported_at + make_interval(secs => "
    "(c.sla_hours ->> e.severity::text)::float8 * 3600), e.due_at)"
)
"""SQL over incident ``e`` and its category ``c`` (:data:`WITH_CATEGORY`): the deadline of its
first SLA (reported + the category's hours for its severity), not restarted by escalation;
``due_at`` if the category has no SLA."""
WITH_CATEGORY = "event e LEFT JOIN event_category c ON c.code = e.category"
"""Incidents ``e`` with their category's row ``c`` (one hash join: a lookup per open incident
was half the open-incidents query's time at 9.5 million residents)."""

_SUBTREE = "SELECT area_id FROM area_unit WHERE unit = ANY(:roots)"
"""The roots and every area below them (by ``parent_id``, else the covering ``area_id``)."""

_CHAIN = """
    WITH RECURSIVE up(id, n) AS (
        SELECT id, 0 FROM area WHERE id = :id
        UNION ALL
        SELECT COALESCE(a.parent_id, a.area_id), up.n + 1 FROM up JOIN area a ON a.id = up.id
        WHERE up.n < 6 AND COALESCE(a.parent_id, a.area_id) IS NOT NULL
    )
    SELECT a.id, a.level, a.name, a.name_en, ST_XMin(a.geom), ST_YMin(a.geom),
           ST_XMax(a.geom), ST_YMax(a.geom), a.population
    FROM up JOIN area a ON a.id = up.id ORDER BY up.n DESC"""

_EXTENT = """
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
    FROM (SELECT ST_Extent(geom) AS e FROM area WHERE {where}) x"""


@dataclass(frozen=True)
class AreaRef:
    """One governance area as the wall shows it (no personal data)."""

    id: int
    level: str
    name: str
    name_en: str | None
    bbox: tuple[float, float, float, float]
    population: int | None = None  # resident population (modelled for the demo)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "level": self.level,
            "name": self.name,
            "name_en": self.name_en,
            "bbox": list(self.bbox),
        }


@dataclass(frozen=True)
class Selection:
    """A selected area with its ancestors the viewer may open (outermost first)."""

    area: AreaRef
    chain: tuple[AreaRef, ...]

    @property
    def child_level(self) -> str:
        return CHILD_LEVEL[self.area.level]


@dataclass(frozen=True)
class Kpis:
    """The numbers of the KPI tiles."""

    open: int
    overdue: int
    welfare_due: int
    active_alarms: int
    received_today: int
    closed_today: int
    received_30d: int
    closed_30d: int

    @property
    def closure_today(self) -> float | None:
        return self.closed_today / self.received_today if self.received_today else None

    @property
    def closure_30d(self) -> float | None:
        return self.closed_30d / self.received_30d if self.received_30d else None


@dataclass(frozen=True)
class TrendDay:
    day: date
    received: int
    closed: int
    received_closed: int = 0
    """Of the incidents received that day, those closed (the closure rates' numerators)."""


@dataclass(frozen=True)
class TickerItem:
    """One line of the ticker: when, what (category), where (area), how severe, status."""

    id: int
    reported_at: datetime
    category: str
    severity: int
    status: str
    area: str | None
    area_en: str | None


def _subtree(conn: Connection, roots: Sequence[int]) -> set[int]:
    return set(conn.execute(text(_SUBTREE), {"roots": list(roots)}).scalars())


def area_filter(conn: Connection, viewer: Viewer, area_id: int | None) -> list[int] | None:
    """Ids of the areas whose rows count for ``viewer`` with ``area_id`` selected (None: no
    filter, the whole store; empty: nothing)."""
    if area_id is None and viewer.area_ids is None:
        return None
    allowed = _subtree(conn, viewer.area_ids) if viewer.area_ids is not None else None
    if area_id is None:
        return sorted(allowed or ())
    chosen = _subtree(conn, [area_id])
    return sorted(chosen & allowed if allowed is not None else chosen)


def _where(areas: list[int] | None, alias: str) -> str:
    return "" if areas is None else f" AND {alias}.area_id = ANY(:areas)"


def select_area(url: str, viewer: Viewer, area_id: int) -> Selection | None:
    """The area ``area_id`` and its ancestors within the viewer's scope; None when the viewer
    may not see it (outside their scope) or it does not exist."""
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(_CHAIN), {"id": area_id}).all()
        if not rows or rows[-1][0] != area_id:
            return None
        refs = tuple(AreaRef(r[0], r[1], r[2], r[3], (r[4], r[5], r[6], r[7]), r[8]) for r in rows)
        if viewer.area_ids is None:
            return Selection(refs[-1], tuple(r for r in refs if r.level != AreaLevel.city))
        allowed = _subtree(conn, viewer.area_ids)
    if area_id not in allowed:
        return None
    return Selection(refs[-1], tuple(r for r in refs if r.id in allowed))


def extent(url: str, viewer: Viewer) -> tuple[float, float, float, float] | None:
    """Lon/lat box of the viewer's areas (the whole city's areas when unscoped)."""
    where = "TRUE" if viewer.area_ids is None else "id = ANY(:scope)"
    with get_engine(url).connect() as conn:
        row = conn.execute(
            text(_EXTENT.format(where=where)), {"scope": list(viewer.area_ids or ())}
        ).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])


def detail_extent(
    url: str, viewer: Viewer, area_id: int | None
) -> tuple[float, float, float, float] | None:
    """Lon/lat box of the grids (where the modelled detail is) in ``area_id`` (None: the whole
    city) within the viewer's scope; None when there are none there (e.g. a street office
    outside the demo's detailed core)."""
    with get_engine(url).connect() as conn:
        areas = area_filter(conn, viewer, area_id)
        where = f"level = '{AreaLevel.grid}'" + ("" if areas is None else " AND id = ANY(:areas)")
        row = conn.execute(text(_EXTENT.format(where=where)), {"areas": areas}).one()
    return None if row[0] is None else (row[0], row[1], row[2], row[3])


def local_midnight(now: datetime, zone: ZoneInfo = CITY_TZ) -> datetime:
    """Start of ``now``'s day in the city's time zone ``zone`` (timezone-aware)."""
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(), zone)


def _window(trend: list[TrendDay]) -> tuple[int, int, int, int]:
    """Received and closed today, received and closed in the trend's days, from the trend."""
    today = trend[-1] if trend else TrendDay(date.min, 0, 0)
    return (
        today.received,
        today.received_closed,
        sum(d.received for d in trend),
        sum(d.received_closed for d in trend),
    )


def _counts(
    conn: Connection,
    areas: list[int] | None,
    now: datetime,
    zone: ZoneInfo,
    window: tuple[int, int, int, int] | None = None,
) -> Kpis:
    """The KPI tiles; ``window`` (received/closed today and in the 30 days) when the caller has
    it from :func:`_trend` already (the same rows: one scan of the 30 days instead of two)."""
    params = {
        "open": list(OPEN_STATUSES),
        "now": now,
        "welfare": WELFARE_CATEGORY,
        "areas": areas,
        "today": local_midnight(now, zone),
        "since": local_midnight(now, zone) - timedelta(days=TREND_DAYS - 1),
    }
    open_row = conn.execute(
        text(
            f"SELECT count(*), count(*) FILTER (WHERE {FIRST_DEADLINE} < :now), "
            "count(*) FILTER (WHERE e.category = :welfare) "
            f"FROM {WITH_CATEGORY} WHERE e.status = ANY(:open){_where(areas, 'e')}"
        ),
        params,
    ).one()
    if window is None:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE reported_at >= :today), "
                "count(*) FILTER (WHERE reported_at >= :today AND closed), count(*), "
                "count(*) FILTER (WHERE closed) FROM ("
                f"SELECT reported_at, status = '{EventStatus.closed}' AND closed_at IS NOT NULL "
                "AS closed "
                "FROM event e WHERE reported_at >= :since AND reported_at <= :now"
                f"{_where(areas, 'e')}) w"
            ),
            params,
        ).one()
        window = (row[0], row[1], row[2], row[3])
    alarms = conn.execute(
        text(
            f"SELECT count(*) FROM device d WHERE status = '{DeviceStatus.alarm}' "
            "AND kind <> 'camera'" + _where(areas, "d")
        ),
        params,
    ).scalar_one()
    return Kpis(open_row[0], open_row[1], open_row[2], alarms, *window)


def _trend(
    conn: Connection, areas: list[int] | None, now: datetime, zone: ZoneInfo
) -> list[TrendDay]:
    last = now.astimezone(zone).date()
    first = last - timedelta(days=TREND_DAYS - 1)
    start = datetime.combine(first, time(), zone)
    where = _where(areas, "e")
    sql = f"""
        WITH rec AS (
            SELECT (reported_at AT TIME ZONE :tz)::date AS day, count(*) AS n,
                   count(*) FILTER (WHERE status = '{EventStatus.closed}'
                                    AND closed_at IS NOT NULL) AS closed
            FROM event e
            WHERE reported_at >= :start AND reported_at <= :now{where} GROUP BY 1),
        clo AS (
            SELECT (closed_at AT TIME ZONE :tz)::date AS day, count(*) AS n FROM event e
            WHERE status = '{EventStatus.closed}'
              AND closed_at >= :start AND closed_at <= :now{where}
            GROUP BY 1)
        SELECT d::date, COALESCE(rec.n, 0), COALESCE(clo.n, 0), COALESCE(rec.closed, 0)
        FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') d
        LEFT JOIN rec ON rec.day = d::date LEFT JOIN clo ON clo.day = d::date ORDER BY 1"""
    params = {
        "tz": zone.key,
        "start": start,
        "now": now,
        "first": first,
        "last": last,
        "areas": areas,
    }
    return [TrendDay(*row) for row in conn.execute(text(sql), params).all()]


def _ticker(conn: Connection, areas: list[int] | None, limit: int) -> list[TickerItem]:
    sql = (
        "SELECT e.id, e.reported_at, e.category, e.severity, e.status, a.name, a.name_en "
        "FROM event e LEFT JOIN area a ON a.id = e.area_id "
        f"WHERE TRUE{_where(areas, 'e')} ORDER BY e.reported_at DESC, e.id DESC LIMIT :n"
    )
    rows = conn.execute(text(sql), {"areas": areas, "n": limit}).all()
    return [TickerItem(*row) for row in rows]


@dataclass(frozen=True)
class WallFigures:
    """Everything the wall's data callback shows, computed in one connection."""

    kpis: Kpis
    trend: list[TrendDay]
    ticker: list[TickerItem]


def kpis(
    conn: Connection, viewer: Viewer, area_id: int | None, now: datetime, zone: ZoneInfo = CITY_TZ
) -> Kpis:
    """The KPI tiles alone for ``viewer`` in ``area_id``, on an open connection."""
    return _counts(conn, area_filter(conn, viewer, area_id), now, zone)


def figures(
    url: str, viewer: Viewer, area_id: int | None, now: datetime, zone: ZoneInfo = CITY_TZ
) -> WallFigures:
    """KPIs, the 30-day trend and the latest incidents for ``viewer`` in ``area_id``; days
    are the city's (``zone``)."""
    with get_engine(url).connect() as conn:
        areas = area_filter(conn, viewer, area_id)
        trend = _trend(conn, areas, now, zone)
        return WallFigures(
            _counts(conn, areas, now, zone, _window(trend)),
            trend,
            _ticker(conn, areas, TICKER_SIZE),
        )
