"""The sweeper's readiness from its timestamps (a real thread; times given, not waited for)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from twin.readiness import SWEEP_GRACE_S, sweeper_state
from twin.service import Background

INTERVAL = 60.0


@pytest.fixture
def bg() -> Iterator[Background]:
    stop = threading.Event()
    sweeper = threading.Thread(target=stop.wait, daemon=True)
    sweeper.start()
    yield Background(None, None, None, sweeper=sweeper, started_at=1000.0)
    stop.set()
    sweeper.join(5)


def test_a_sweeper_that_has_not_finished_its_first_pass_is_ok_for_a_while(bg):
    bg.sweep_began_at = 1000.0
    state = sweeper_state(bg, INTERVAL, now=1000.0 + INTERVAL + SWEEP_GRACE_S - 1)
    assert state.state == "ok" and state.ready
    assert state.detail == {"passes": 0, "running": True, "last_pass_age_s": None}


def test_a_pass_running_too_long_is_down(bg):
    bg.sweep_began_at = 1000.0
    state = sweeper_state(bg, INTERVAL, now=1000.0 + INTERVAL + SWEEP_GRACE_S + 1)
    assert state.state == "down" and not state.ready
    assert state.detail["reason"] == "a pass has run too long"


def test_an_idle_sweeper_is_judged_by_its_last_pass(bg):
    bg.sweeps, bg.swept_at = 3, 2000.0
    assert sweeper_state(bg, INTERVAL, now=2000.0 + INTERVAL).state == "ok"
    late = sweeper_state(bg, INTERVAL, now=2000.0 + INTERVAL + SWEEP_GRACE_S + 0.5)
    assert late.as_dict() == {
        "state": "down",
        "required": True,
        "passes": 3,
        "running": False,
        "last_pass_age_s": INTERVAL + SWEEP_GRACE_S + 0.5,
        "reason": "no pass recently",
    }


def test_a_dead_sweeper_thread_is_down_and_no_sweeper_is_off(bg):
    stopped = threading.Thread(target=lambda: None)
    stopped.start()
    stopped.join()
    bg.sweeper = stopped
    assert sweeper_state(bg, INTERVAL, now=1001.0).detail["reason"] == "sweeper stopped"
    bg.sweeper = None
    off = sweeper_state(bg, INTERVAL, now=1001.0)
    assert off.state == "off" and off.ready and not off.required
