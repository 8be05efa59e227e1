"""The workflow's state machine, actors and clock, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from geodata import vocab
from geodata.errors import WorkflowError
from geodata.vocab import OPEN_STATUSES
from twin.clock import FixedClock, SystemClock
from twin.workflow import ACTIONS, REASON_REQUIRED, TRANSITIONS, Actor


def test_every_status_is_known_and_reachable():
    targets = {to for _, to in TRANSITIONS.values()}
    sources = set().union(*(frm for frm, _ in TRANSITIONS.values()))
    assert targets | sources <= set(vocab.EVENT_STATUS)
    assert set(vocab.EVENT_STATUS) - {"reported"} <= targets
    assert set(ACTIONS) == set(TRANSITIONS)


def test_happy_path_chain():
    chain = ["dispatch", "accept", "start", "resolve", "close"]
    status = "reported"
    for action in chain:
        frm, status_to = TRANSITIONS[action]
        assert status in frm
        status = status_to
    assert status == "closed"


def test_open_statuses_match_the_unique_index():
    # the index ux_event_open_rule_subject treats resolved/closed/rejected as not open
    assert set(OPEN_STATUSES) == set(vocab.EVENT_STATUS) - {"resolved", "closed", "rejected"}
    assert {"return", "reject", "reopen"} == REASON_REQUIRED


@pytest.mark.parametrize(
    ("role", "level", "message"),
    [
        ("janitor", None, "unknown role 'janitor'"),
        ("leader", None, "a leader needs a level"),
        ("leader", "city", "unknown level 'city'"),
        ("grid_worker", "street", "a grid_worker works at level 'grid'"),
    ],
)
def test_bad_actors_are_refused(role, level, message):
    with pytest.raises(WorkflowError, match=message):
        Actor("x", role, level)


def test_good_actors():
    assert Actor("a", "admin").area_ids is None
    assert Actor("s", "system").level is None
    assert Actor("w", "grid_worker", "grid", (1, 2)).area_ids == (1, 2)


def test_fixed_clock_moves_only_when_told():
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clock = FixedClock(t0)
    assert clock.now() == clock.now() == t0
    assert clock.advance(timedelta(hours=2)) == t0 + timedelta(hours=2) == clock.now()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2026, 1, 1))


def test_system_clock_is_utc_aware():
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
