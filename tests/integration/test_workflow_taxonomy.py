"""Seeding the incident taxonomy into a real store: idempotent, and edits are kept."""

from __future__ import annotations

from sqlalchemy import func, select, update

from geodata.demo.categories import CATEGORY_CODES
from geodata.models import EventCategory
from geodata.taxonomy import DEFAULT_TAXONOMY
from twin.taxonomy import ensure_taxonomy


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(EventCategory))


def test_seeding_is_idempotent_and_keeps_edits(session):
    before = _count(session)
    added = ensure_taxonomy(session)
    assert _count(session) == before + added == len(DEFAULT_TAXONOMY)
    session.execute(
        update(EventCategory)
        .where(EventCategory.code == "environment.litter")
        .values(sla_hours={"1": 10, "2": 8, "3": 6, "4": 2}, department="物业", active=False)
    )
    session.execute(EventCategory.__table__.delete().where(EventCategory.code == "alarm.gas"))
    assert ensure_taxonomy(session) == 1  # only the deleted one comes back
    assert ensure_taxonomy(session) == 0
    litter = session.get(EventCategory, "environment.litter")
    session.refresh(litter)
    assert (litter.sla_hours, litter.department, litter.active) == (
        {"1": 10, "2": 8, "3": 6, "4": 2},
        "物业",
        False,
    )
    gas = session.get(EventCategory, "alarm.gas")
    assert (gas.name_zh, gas.default_severity, gas.sla_hours["4"]) == ("燃气泄漏报警", 4, 0.5)


def test_store_covers_the_demo_categories(session):
    ensure_taxonomy(session)
    stored = set(session.scalars(select(EventCategory.code)))
    assert set(CATEGORY_CODES) - stored == set()


def test_edited_sla_is_what_new_incidents_use(session):
    from datetime import UTC, datetime, timedelta

    from twin.workflow import create_incident

    ensure_taxonomy(session)
    session.execute(
        update(EventCategory)
        .where(EventCategory.code == "facility.streetlight")
        .values(sla_hours={"1": 5, "2": 4, "3": 3, "4": 1})
    )
    t0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
    event = create_incident(
        session, category="facility.streetlight", lon=117.2, lat=31.8, severity=1, now=t0
    ).event
    assert event.due_at == t0 + timedelta(hours=5)
