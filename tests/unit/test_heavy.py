"""The heavy-work limiter: per-caller and global limits, refusal at once, release on errors."""

from __future__ import annotations

import pytest

from web.heavy import HeavyBusy, HeavyLimiter


def test_limits_per_caller_and_in_all():
    limiter = HeavyLimiter(global_limit=2, per_user_limit=1)
    with limiter.slot("a"):
        with pytest.raises(HeavyBusy) as own, limiter.slot("a"):
            pass
        assert own.value.status == 429 and own.value.scope == "user"
        with limiter.slot("b"):
            assert limiter.running() == 2 and limiter.running("b") == 1
            with pytest.raises(HeavyBusy) as everyone, limiter.slot("c"):
                pass
            assert everyone.value.scope == "global" and everyone.value.retry_after > 0
        with limiter.slot("c"):
            assert limiter.running() == 2
    assert limiter.running() == 0


def test_a_slot_is_freed_when_the_work_fails():
    limiter = HeavyLimiter(global_limit=1, per_user_limit=1)
    for _ in range(3):
        with pytest.raises(ZeroDivisionError), limiter.slot("a"):
            _ = 1 / 0
    assert limiter.running() == 0
    with limiter.slot("b"):
        assert limiter.running("b") == 1


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError):
        HeavyLimiter(0, 1)
