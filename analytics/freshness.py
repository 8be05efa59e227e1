"""Data freshness of the departments' sources, for the admins' ``/sources`` page and the wall.

The figures come from :func:`geodata.sources.freshness` (one SQL query at ``now``); this module
reads them from the store and sums them up: how many active sources are current, and which are
overdue (by title in each language).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from geodata.engine import get_engine
from geodata.sources import Freshness, freshness


@dataclass(frozen=True)
class FreshnessSummary:
    """``current`` of ``total`` active sources are current; the overdue ones' titles."""

    current: int
    total: int
    overdue: tuple[dict[str, str], ...]


def source_rows(url: str, now: datetime, grace: timedelta) -> list[Freshness]:
    """Every active source's freshness at ``now`` (overdue first)."""
    with get_engine(url).connect() as conn:
        return freshness(conn, now, grace)


def summary(rows: list[Freshness]) -> FreshnessSummary:
    """The wall's line: current count, total, overdue titles."""
    late = tuple({"zh": r.title_zh, "en": r.title_en} for r in rows if r.overdue)
    return FreshnessSummary(len(rows) - len(late), len(rows), late)
