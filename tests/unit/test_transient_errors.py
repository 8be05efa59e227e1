"""geodata.availability.transient: which store errors are worth a retry and which are poison."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from geodata.availability import conflict, transient

E = psycopg.errors


@pytest.mark.parametrize(
    "error",
    [E.DeadlockDetected("x"), E.SerializationFailure("x"), E.QueryCanceled("x"),
     E.AdminShutdown("x"), E.TooManyConnections("x"), E.LockNotAvailable("x"),
     psycopg.OperationalError("connection refused")],
)  # fmt: skip
def test_busy_or_unreachable_store_is_retried(error):
    assert transient(error)
    assert transient(OperationalError("INSERT …", {}, error))


@pytest.mark.parametrize(
    "error",
    [E.ProgramLimitExceeded("index row size exceeds"), E.CheckViolation("x"),
     E.NumericValueOutOfRange("x"), E.UntranslatableCharacter("x")],
)  # fmt: skip
def test_a_refusal_of_the_data_is_not_retried(error):
    assert not transient(error)
    assert not transient(OperationalError("INSERT …", {}, error))


def test_only_transaction_conflicts_are_conflicts():
    assert conflict(E.DeadlockDetected("x")) and conflict(E.SerializationFailure("x"))
    assert not conflict(E.QueryCanceled("x")) and not conflict(E.CheckViolation("x"))
