"""Store a batch so that one reading the store refuses cannot hold back the others.

:func:`store_batch` runs :func:`twin.intake.ingest` in one transaction. If the store refuses the
write for a reason that lies in the data (a constraint, an invalid value — anything but a
transient failure), the batch is split in halves, each in its own transaction, down to the single
readings that fail; those go to ``reading_reject`` with the store's reason. A transient failure
(:func:`geodata.availability.transient`: the store is down or unreachable, a deadlock or
serialization conflict, a pool timeout) is raised for the caller to retry: that is not poison.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from geodata.availability import transient
from geodata.settings import Settings
from twin import poison
from twin.intake import IntakeResult, _raw, ingest, record_rejects

log = logging.getLogger("onemap.intake")


def describe(exc: BaseException) -> str:
    """One short line naming the store's refusal."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    first = (str(orig).strip().splitlines() or [""])[0]
    return poison.safe(f"{type(orig).__name__}: {first}", 200)


def record_safely(
    engine: Engine,
    channel: str,
    gateway: str | None,
    rejects: Sequence[tuple[str, object]],
    now: datetime,
) -> None:
    """Write rejects in a transaction of their own; if the store refuses even that (not a
    transient failure), write them again without the message text."""
    if not rejects:
        return
    try:
        with engine.begin() as conn:
            record_rejects(_raw(conn), channel, gateway, rejects, now)
    except Exception as exc:
        if transient(exc):
            raise
        log.warning("reject log refused the messages (%s); keeping reasons only", describe(exc))
        with engine.begin() as conn:
            record_rejects(_raw(conn), channel, gateway, [(r, None) for r, _ in rejects], now)


def store_batch(
    engine: Engine,
    gateway: str | None,
    messages: Sequence[object],
    channel: str,
    now: datetime,
    settings: Settings,
) -> IntakeResult:
    """Ingest ``messages`` and commit; isolate readings the store refuses (module docstring)."""
    try:
        with engine.begin() as conn:
            return ingest(conn, gateway, messages, channel, now, settings)
    except Exception as exc:
        if transient(exc):
            raise
        log.warning("store refused a batch of %d readings (%s); splitting", len(messages), exc)
        result = IntakeResult()
        _isolate(engine, gateway, messages, 0, channel, now, settings, result, exc)
        return result


def _isolate(
    engine: Engine,
    gateway: str | None,
    messages: Sequence[object],
    offset: int,
    channel: str,
    now: datetime,
    settings: Settings,
    result: IntakeResult,
    error: BaseException,
) -> None:
    if len(messages) == 1:
        reason = f"store refused the reading: {describe(error)}"
        record_safely(engine, channel, gateway, [(reason, messages[0])], now)
        result.rejected += 1
        result.reasons.append((offset, reason))
        return
    mid = len(messages) // 2
    for part, start in ((messages[:mid], offset), (messages[mid:], offset + mid)):
        try:
            with engine.begin() as conn:
                found = ingest(conn, gateway, part, channel, now, settings)
        except Exception as exc:
            if transient(exc):
                raise
            _isolate(engine, gateway, part, start, channel, now, settings, result, exc)
            continue
        result.add(found, start)
