"""A registered data source not imported for longer than its cadence plus grace
(``twin_source_grace_hours``) → one low-severity incident (category ``other.data_stale``,
subject ``source:<name>``) at its owning area (the grid follows from that location; a source
with no area goes to the top-level area).

Freshness is :func:`geodata.sources.freshness` (one SQL query). One incident stays open per
source across sweeps. It is left for the owner to close once the data is imported (the rule
does not close it): a closed incident comes back only when the source is overdue anew, counted
from the later of its last successful import and the closure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from geodata.settings import Settings
from geodata.sources import Freshness, freshness
from twin.rules.base import Hit, iso, subject_states, titled

NAME = "stale_source"
CATEGORY = "other.data_stale"
SEVERITY = 1

PLACES = text(
    """
    SELECT a.id, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat
    FROM area a CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS pt) p
    WHERE a.id = ANY(:ids)
    UNION ALL
    (SELECT NULL, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
     FROM area ORDER BY depth, id LIMIT 1)
    """
)
"""Where each owning area's incidents go (a point inside it), plus the top-level area (NULL)."""


def scan(session: Session, now: datetime, settings: Settings) -> list[Hit]:
    """Hits for the overdue sources with no open incident and not already dealt with."""
    grace = timedelta(hours=settings.rules.source_grace_hours)
    overdue = [f for f in freshness(session, now, grace) if f.overdue]
    states = subject_states(session, NAME, [f"source:{f.name}" for f in overdue])
    due = []
    for f in overdue:
        state = states.get(f"source:{f.name}")
        if state is None or _due_again(f, state.open, state.done_at, now, grace):
            due.append(f)
    if not due:
        return []
    ids = sorted({f.area_id for f in due if f.area_id is not None})
    places = {r.id: (r.lon, r.lat) for r in session.execute(PLACES, {"ids": ids})}
    hits = []
    for f in due[: settings.rules.sweep_max_incidents]:
        place = places.get(f.area_id) or places.get(None)
        if place is not None:
            hits.append(_hit(f, place, now, grace))
    return hits


def _due_again(
    f: Freshness, is_open: bool, done_at: datetime | None, now: datetime, grace: timedelta
) -> bool:
    """With an incident history: none open, and overdue anew since the last was closed."""
    if is_open:
        return False
    return done_at is None or now - max(f.since, done_at) > f.cadence + grace


def _hit(f: Freshness, place: tuple[float, float], now: datetime, grace: timedelta) -> Hit:
    """The incident of one overdue source."""
    facts = {"title_zh": f.title_zh, "title_en": f.title_en}
    title, words = titled(NAME, **facts)
    return Hit(
        rule=NAME,
        subject=f"source:{f.name}",
        category=CATEGORY,
        title=title,
        lon=place[0],
        lat=place[1],
        severity=SEVERITY,
        trigger={
            "rule": NAME,
            **words,
            "source": f.name,
            "department": f.department,
            "account": f.account,
            "area_id": f.area_id,
            "last_import": iso(f.last_import),
            "cadence_hours": f.cadence.total_seconds() / 3600,
            "grace_hours": grace.total_seconds() / 3600,
            "overdue_hours": round((now - f.since - f.cadence).total_seconds() / 3600, 2),
        },
    )
