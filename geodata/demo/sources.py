"""The demo city's data sources: four departments' registers with an import history ending at
the demo's anchor, so that three are current and one (the fire facility register) is overdue.

Each run's rows are the current row count of the table the department supplies (a plausible
full refresh); runs are written as ``import_run`` rows with outcome ``ok`` (one ``failed`` run of
the overdue source shows why it is late).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import psycopg

from geodata.bulk import one_value


@dataclass(frozen=True)
class DemoSource:
    name: str
    title_zh: str
    title_en: str
    department: str
    layer: str
    cadence: dt.timedelta
    last_age: dt.timedelta
    """How long before the anchor the last successful import ran."""
    runs: int
    rows_sql: str
    failed_age: dt.timedelta | None = None


DAY = dt.timedelta(days=1)
SOURCES: tuple[DemoSource, ...] = (
    DemoSource("police_population", "公安人口库", "Police population register", "公安分局",
               "residents", DAY, dt.timedelta(hours=3), 14, "SELECT count(*) FROM resident"),
    DemoSource("housing_register", "住建房屋库", "Housing and buildings register", "住建局",
               "buildings", 7 * DAY, 2 * DAY, 8, "SELECT count(*) FROM building"),
    DemoSource("civil_elderly", "民政养老数据", "Civil affairs elderly care data", "民政局",
               "residents", 30 * DAY, 12 * DAY, 6,
               "SELECT count(*) FROM resident WHERE care_tags && ARRAY['elderly', "
               "'elderly_alone']::varchar[]"),
    DemoSource("fire_facilities", "消防设施台账", "Fire facility register", "消防救援支队",
               "facilities", 7 * DAY, 23 * DAY, 5, "SELECT count(*) FROM facility",
               failed_age=9 * DAY),
)  # fmt: skip
"""``fire_facilities`` is overdue: its last import is 23 days old for a weekly cadence."""

REGISTER = """
    INSERT INTO data_source (name, title_zh, title_en, department, area_id, cadence, created_at)
    VALUES (%s, %s, %s, %s,
            (SELECT id FROM area WHERE depth = 1 ORDER BY code, id OFFSET %s LIMIT 1), %s, %s)
"""
RUN = """
    INSERT INTO import_run (at, started_at, layer, source, file_name, counts, actor,
                            rows_written, outcome, error)
    VALUES (%s, %s, %s, %s, %s, %s::jsonb, 'demo', %s, %s, %s)
"""


def load_sources(conn: psycopg.Connection, anchor: dt.datetime) -> int:
    """Register the demo sources and their import history; how many runs were written."""
    written = 0
    for i, s in enumerate(SOURCES):
        created = anchor - s.last_age - s.cadence * s.runs
        conn.execute(REGISTER, (s.name, s.title_zh, s.title_en, s.department, i, s.cadence,
                                created))  # fmt: skip
        rows = int(one_value(conn.execute(s.rows_sql)))
        for k in range(s.runs):
            at = anchor - s.last_age - s.cadence * k
            counts = json.dumps({"read": rows, "updated": rows})
            conn.execute(RUN, (at, at - dt.timedelta(minutes=4), s.layer, s.name,
                               f"{s.name}_{at:%Y%m%d}.csv", counts, rows, "ok", None))  # fmt: skip
            written += 1
        if s.failed_age is not None:
            at = anchor - s.failed_age
            conn.execute(RUN, (at, at - dt.timedelta(minutes=1), s.layer, s.name,
                               f"{s.name}_{at:%Y%m%d}.csv", "{}", 0, "failed",
                               "UnreadableInput: the file is not valid UTF-8 or GBK"))  # fmt: skip
            written += 1
    return written
