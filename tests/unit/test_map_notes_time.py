"""The map's notes name times in the city's clock (ONEMAP_TIMEZONE), with its offset."""

from __future__ import annotations

from datetime import UTC, date, datetime

from analytics.coverage import GapState
from layers.providers.coverage_gaps import stale_note
from layers.providers.forecast import run_note

LATE = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
"""07:30 on 2026-12-07 in Shanghai."""


def test_the_forecast_note_says_when_the_model_ran_in_city_time():
    run = (1, "v3", LATE, None, None, None, None, date(2026, 12, 7), None)
    note = run_note(run, 7)
    assert "运行于 2026-12-07 07:30 UTC+08:00" in note["zh"]
    assert "run 2026-12-07 07:30 UTC+08:00" in note["en"]
    assert "run 2026-12-06 15:30 UTC-08:00" in run_note(run, 7, "America/Los_Angeles")["en"]


def test_the_coverage_note_says_when_the_gaps_were_refreshed_in_city_time():
    state = GapState(version=3, changed_at=LATE, refreshed_version=2,
                     refreshed_at=datetime(2026, 12, 6, 16, tzinfo=UTC))  # fmt: skip
    note = stale_note(state)
    assert "（2026-12-07 00:00:00 UTC+08:00）" in note["zh"]
    assert "change (2026-12-07 07:30:00 UTC+08:00)" in note["en"]
    assert "change (?)" in stale_note(GapState(3, None, 2, LATE))["en"]
