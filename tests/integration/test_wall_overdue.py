"""The wall's overdue tile counts open incidents past their *first* deadline: escalation restarts
``due_at`` for the next tier, but not the leader's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from analytics.wall_kpis import kpis
from geodata.accounts.viewer import Viewer
from geodata.models import EventCategory
from tests.integration.factories import two_grid_district
from twin.taxonomy import ensure_taxonomy
from twin.workflow import create_incident, escalate_overdue, sla_hours

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LEADER = Viewer("leader")

# Independent: reported + the category's SLA for the severity, read from the stored taxonomy.
FIRST_DEADLINE_SQL = """
    SELECT count(*) FROM event e JOIN event_category c ON c.code = e.category
    WHERE e.status IN ('reported', 'dispatched', 'accepted', 'in_progress')
      AND e.area_id = ANY(:areas)
      AND e.reported_at + (c.sla_hours ->> e.severity::text)::float8 * interval '1 hour' < :now
"""


def test_an_escalated_incident_stays_overdue_by_its_first_deadline(session, conn):
    ensure_taxonomy(session)
    areas = two_grid_district(session)
    late = create_incident(
        session, category="environment.litter", lon=117.22, lat=31.82, now=T0
    ).event
    hours = sla_hours(session.get(EventCategory, late.category), late.severity)
    fresh_at = T0 + timedelta(hours=hours)
    create_incident(session, category="environment.litter", lon=117.28, lat=31.82, now=fresh_at)
    now = T0 + timedelta(hours=hours + 1)
    assert escalate_overdue(session, now) == [late.id]  # restarts its due_at …
    session.flush()
    assert late.due_at is not None and late.due_at > now
    figures = kpis(conn, LEADER, areas["district"].id, now)
    assert (figures.open, figures.overdue) == (2, 1)  # … but it is still late
    ids = [a.id for a in areas.values()]
    assert (
        figures.overdue
        == conn.execute(text(FIRST_DEADLINE_SQL), {"areas": ids, "now": now}).scalar_one()
    )
    later = now + timedelta(hours=hours)
    assert kpis(conn, LEADER, areas["district"].id, later).overdue == 2
