"""A day of readings for the demo city's devices, generated inside PostgreSQL.

At full size the city has about a million devices; the readings table is the one that grows
fastest (200,000 devices every 20 minutes are 14.4 million rows a day). The rows are made by
one ``INSERT … SELECT`` over ``generate_series`` so no row crosses the wire, each device on its
own phase within the interval, none after the device's ``last_seen`` (an offline device
stopped reporting), values as the heartbeat sends them (:func:`twin.heartbeat.reading`).
"""

from __future__ import annotations

import datetime as dt

from geodata.bulk import analyze, raw_connection

READINGS_SQL = """
WITH d AS (
    SELECT id, kind, least(last_seen, %(anchor)s) AS until,
           coalesce(last_value, 1000.0) AS last_value,
           (id * 7919) %% %(step_s)s AS phase_s
    FROM device
    WHERE kind <> 'camera' AND last_seen IS NOT NULL
    ORDER BY (id * 2654435761) %% 4294967296, id
    LIMIT %(devices)s
), r AS (
    SELECT d.id, d.kind, d.last_value, d.until, s.ts, random() AS u
    FROM d CROSS JOIN LATERAL generate_series(
        %(anchor)s - interval '1 day' + make_interval(secs => d.phase_s),
        d.until, make_interval(secs => %(step_s)s)) AS s(ts)
)
INSERT INTO reading (device_id, ts, value, payload, received_at)
SELECT id, ts,
       CASE kind
           WHEN 'gas' THEN round((u * 3)::numeric, 2)
           WHEN 'manhole' THEN round((u * 3)::numeric, 2)
           WHEN 'smoke' THEN round((u * 2)::numeric, 2)
           WHEN 'water' THEN round((last_value
                                    - extract(epoch FROM until - ts) / 3600 * 0.6)::numeric, 3)
           WHEN 'electric' THEN round((u * 30)::numeric, 1)
           WHEN 'door' THEN CASE WHEN u < %(door_open)s THEN 1 ELSE 0 END
           ELSE floor(u * 20)
       END::float8,
       CASE WHEN kind = 'door' AND u < %(door_open)s
            THEN '{"event": "open", "direction": "in"}'::jsonb
            WHEN kind = 'door' THEN '{"event": "heartbeat"}'::jsonb
       END,
       ts
FROM r
"""

PARTITIONS_SQL = """
SELECT onemap_reading_partition(m::date)
FROM (SELECT DISTINCT date_trunc('month', t) AS m
      FROM unnest(ARRAY[%(anchor)s - interval '1 day', %(anchor)s]) AS t) AS months
"""


def load_day_of_readings(
    url: str, devices: int, anchor: dt.datetime, *, step_minutes: int = 20, seed: float = 0.2024
) -> int:
    """Insert the last day (up to ``anchor``) of readings of ``devices`` non-camera devices
    (spread over the city by a hash of their ids), one every ``step_minutes``; return the rows.

    Door sensors open about 7 times a day (payload ``{"event": "open"}``), as the heartbeat's do.
    """
    params = {
        "anchor": anchor,
        "devices": devices,
        "step_s": step_minutes * 60,
        "door_open": 0.1,
    }
    with raw_connection(url) as conn:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT setseed(%s)", (seed,))
                cur.execute(PARTITIONS_SQL, params)
                cur.execute(READINGS_SQL, params)
                rows = cur.rowcount
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        analyze(conn, ("reading",))
        conn.commit()
    return rows
