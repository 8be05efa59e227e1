"""Early-warning rules: readings and silence turn into incidents.

- :func:`on_readings` runs the event-driven rules over the readings the intake just stored
  (only those, plus the stored history around them);
- :func:`sweep` runs the time-based rules (silence) as set-based SQL, called periodically.

Both return the ids of the incidents they created; one incident stays open per rule and subject
(:func:`twin.workflow.create_incident` keeps it so). Each rule is one module (its docstring
documents the readings it understands); thresholds are ``twin_*`` settings. The registries
below list the rules explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from geodata.settings import Settings
from twin.clock import as_utc
from twin.rules import dogs, fire_lane, offline, smoke_gas, stale_source, welfare
from twin.rules.base import Batch, Hit, load_batch, raise_incidents


@dataclass(frozen=True)
class EventRule:
    name: str
    evaluate: Callable[[Session, Batch, datetime, Settings], list[Hit]]


@dataclass(frozen=True)
class SweepRule:
    name: str
    scan: Callable[[Session, datetime, Settings], list[Hit]]


EVENT_RULES: tuple[EventRule, ...] = (
    EventRule(smoke_gas.NAME, smoke_gas.evaluate),
    EventRule(fire_lane.NAME, fire_lane.evaluate),
    EventRule(dogs.NAME, dogs.evaluate),
)
SWEEP_RULES: tuple[SweepRule, ...] = (
    SweepRule(offline.NAME, offline.scan),
    SweepRule(welfare.NAME, welfare.scan),
    SweepRule(stale_source.NAME, stale_source.scan),
)
RULE_NAMES = tuple(r.name for r in EVENT_RULES) + tuple(r.name for r in SWEEP_RULES)
assert len(set(RULE_NAMES)) == len(RULE_NAMES), "rule names must be unique"


def on_readings(
    session: Session, readings: Iterable[Any], now: datetime, settings: Settings
) -> list[int]:
    """Run the event-driven rules over freshly stored readings; ids of incidents created."""
    now = as_utc(now)
    batch = load_batch(session, readings)
    if not batch.readings:
        return []
    hits = [h for rule in EVENT_RULES for h in rule.evaluate(session, batch, now, settings)]
    return raise_incidents(session, hits, now)


def sweep(session: Session, now: datetime, settings: Settings) -> list[int]:
    """Run the time-based rules; ids of incidents created."""
    now = as_utc(now)
    created: list[int] = []
    for rule in SWEEP_RULES:
        created += raise_incidents(session, rule.scan(session, now, settings), now)
    return created


__all__ = ["EVENT_RULES", "SWEEP_RULES", "on_readings", "sweep"]
