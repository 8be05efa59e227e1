"""A controllable clock: everything time-based in ``twin`` takes one (tests never sleep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Tells the time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (for tests and simulations)."""

    def __init__(self, t: datetime) -> None:
        self._t = as_utc(t)

    def now(self) -> datetime:
        return self._t

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` (never backwards) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"a clock cannot go backwards (advance by {delta})")
        self._t += delta
        return self._t

    def set(self, t: datetime) -> None:
        """Jump to ``t``."""
        self._t = as_utc(t)


def as_utc(t: datetime) -> datetime:
    """``t`` in UTC; naive datetimes are refused (their zone is unknown)."""
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t.isoformat()}: give a timezone-aware time")
    return t.astimezone(UTC)
