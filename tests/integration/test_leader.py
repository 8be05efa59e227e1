"""The leader lock on a real PostgreSQL: one holder at a time, released with its connection,
taken by the next poll of another; :class:`Leadership` starts and stops duties accordingly."""

from __future__ import annotations

import os

from geodata.leader import LeaderLock, Leadership, leader_pids
from tests.conftest import until


def test_one_lock_holder_at_a_time_and_the_next_takes_over(store_url):
    first, second = LeaderLock(store_url), LeaderLock(store_url)
    try:
        assert first.poll() is True
        assert second.poll() is False
        assert first.poll() is True  # kept
        assert leader_pids(store_url) == [os.getpid()]
        first.release()  # its backend ends a moment after the connection closes
        assert until(lambda: leader_pids(store_url) == [], 2)
        assert until(second.poll, 2)
        assert first.poll() is False
        assert leader_pids(store_url) == [os.getpid()]
    finally:
        first.release()
        second.release()


def test_leadership_runs_the_duties_only_while_it_leads(store_url):
    events: list[str] = []
    a = Leadership(store_url, 0.05, lambda: events.append("a+"), lambda: events.append("a-"))
    b = Leadership(store_url, 0.05, lambda: events.append("b+"), lambda: events.append("b-"))
    try:
        a.start()
        b.start()
        assert (a.leading, b.leading) == (True, False)
        assert events == ["a+"]
        a.stop()
        assert events[:2] == ["a+", "a-"]
        assert until(lambda: b.leading, 2)  # b's own polls (every 0.05 s) take the lock
        assert events == ["a+", "a-", "b+"] and b.terms == 1
    finally:
        a.stop()
        b.stop()
    assert events == ["a+", "a-", "b+", "b-"]
    assert leader_pids(store_url) == []
