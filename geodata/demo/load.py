"""Loading the generated demo city into the store, and emptying the store again."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from psycopg import sql

from geodata.bulk import analyze, copy_rows, one_value, raw_connection, sync_sequences
from geodata.demo.city import generate
from geodata.demo.readings import load_day_of_readings
from geodata.demo.sources import load_sources
from geodata.demo.tables import TABLE_ORDER, Chunk, columns
from geodata.errors import DemoError
from geodata.models import Base
from geodata.store import refresh_resident_stats

SEQUENCED = ("area", "road", "building", "house", "resident", "organization", "device", "facility",
             "event", "event_log")  # fmt: skip


# Roads run along grid edges, so their location may lie on a shared edge: let PostGIS pick the
# area exactly as the area trigger would (roads are few).
ROAD_AREAS = """
UPDATE road r SET area_id = (
    SELECT a.id FROM area a WHERE a.geom && r.loc AND ST_Covers(a.geom, r.loc)
    ORDER BY a.depth DESC, a.id LIMIT 1)
"""


def built_at() -> dt.datetime:
    """Now, to the second: the anchor of a demo built now."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _rows(chunk: Chunk, table: str):
    if table in chunk.features:
        return chunk.features[table].rows()
    return chunk.plain[table]


def build_demo(
    url: str,
    scale: float = 1.0,
    seed: int = 2024,
    *,
    id_hash_key: str = "onemap-demo-key-change-me",
    progress: Callable[[str], None] | None = None,
    anchor: dt.datetime | None = None,
    reading_devices: int = 0,
) -> dict[str, int]:
    """Generate the demo city and load it into the (migrated, empty) store at ``url``; return
    row counts per table.

    The city's history (incidents, logs, devices' last reports) ends at ``anchor``, by default
    the moment of the build, so a new demo is current; pass a fixed anchor for a build that is
    the same on every run. ``reading_devices`` > 0 adds the last day of readings of that many
    devices (:func:`~geodata.demo.readings.load_day_of_readings`).

    Everything is loaded in one transaction with ``COPY``; areas are assigned in Python (each
    feature's grid, each area's parent), so the area trigger is bypassed with
    ``SET LOCAL onemap.area_assigned = 'on'``. Raises :class:`DemoError` when the store is not
    empty (nothing is changed then).
    """
    say = progress or (lambda _msg: None)
    counts = dict.fromkeys(TABLE_ORDER, 0)
    started = time.perf_counter()
    anchor = anchor or built_at()
    with raw_connection(url) as conn:
        try:
            with conn.cursor() as cur:
                cur.execute("LOCK TABLE area IN SHARE ROW EXCLUSIVE MODE")
                busy = []
                for table in TABLE_ORDER:
                    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
                        sql.Identifier(table)
                    )
                    if one_value(cur.execute(query)):
                        busy.append(table)
                if busy:
                    raise DemoError(
                        f"the store already holds data (tables: {', '.join(busy)}); the demo "
                        "city is only built into an empty store. Use a fresh database, or "
                        "`python -m geodata demo --reset` to empty this one first."
                    )
                cur.execute("SET LOCAL onemap.area_assigned = 'on'")
            for i, chunk in enumerate(generate(scale, seed, id_hash_key, anchor)):
                for table in TABLE_ORDER:
                    counts[table] += copy_rows(conn, table, columns(table), _rows(chunk, table))
                if i == 0:
                    say(f"areas: {counts['area']:,}")
                else:
                    say(
                        f"{chunk.label}: residents {counts['resident']:,}, "
                        f"buildings {counts['building']:,}, events {counts['event']:,} "
                        f"({time.perf_counter() - started:.1f} s)"
                    )
            with conn.cursor() as cur:
                cur.execute(ROAD_AREAS)
            say(f"data sources: {load_sources(conn, anchor):,} import runs")
            sync_sequences(conn, SEQUENCED)
            conn.commit()
            say("commit: done")
        except BaseException:
            conn.rollback()
            raise
        analyze(conn, TABLE_ORDER)
        conn.commit()
        say("analyze: done")
    refresh_resident_stats(url, concurrently=False)
    say("resident stats: done")
    if reading_devices > 0:
        counts["reading"] = load_day_of_readings(url, reading_devices, anchor)
        say(f"readings: {counts['reading']:,} rows")
    for table in TABLE_ORDER:
        say(f"{table}: {counts[table]:,}")
    return counts


def reset_store(url: str) -> None:
    """Empty every table of the store (``TRUNCATE … RESTART IDENTITY CASCADE``)."""
    tables = [sql.Identifier(t) for t in Base.metadata.tables]
    with raw_connection(url) as conn:
        try:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.SQL(", ").join(tables))
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
