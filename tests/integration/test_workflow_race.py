"""Two writers racing for the same (rule, subject): the unique index decides, one incident."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from geodata.engine import get_engine
from geodata.models import Event, EventCategory
from twin.taxonomy import ensure_taxonomy
from twin.workflow import CreateResult, create_incident

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
KW = {"category": "alarm.smoke", "lon": 117.22, "lat": 31.82, "now": T0,
      "rule": "race_test", "subject": "device:1"}  # fmt: skip


def _waiting_for_lock(engine, pid: int) -> bool:
    with engine.connect() as c:
        return bool(
            c.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"),
                {"p": pid},
            )
        )


def test_concurrent_creates_yield_one_incident(store_url):
    engine = get_engine(store_url)
    with engine.begin() as c:
        seeded = ensure_taxonomy(c) > 0
    try:
        with Session(engine) as first, Session(engine) as second:
            a = create_incident(first, **KW)  # holds the index entry, not committed yet
            second_pid = second.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar()
            out: list[CreateResult] = []
            worker = threading.Thread(target=lambda: out.append(create_incident(second, **KW)))
            worker.start()
            deadline = time.monotonic() + 10
            while not _waiting_for_lock(engine, second_pid) and time.monotonic() < deadline:
                time.sleep(0.02)  # until the second writer blocks on the index (not a clock)
            assert _waiting_for_lock(engine, second_pid)
            first.commit()
            worker.join(10)
            (b,) = out
            second.commit()
            assert (a.created, b.created, b.event.id) == (True, False, a.event.id)
    finally:
        with engine.begin() as c:
            c.execute(delete(Event).where(Event.rule == "race_test"))
            if seeded:
                c.execute(delete(EventCategory))
