"""Assessment (监督考核): how each grid, street office, district and department handled incidents.

One SQL query per grouping over ``event`` (and ``event_log`` for escalations and reopens), with
bound parameters only. Definitions, for incidents *received* (``reported_at``) in ``[start, end)``
and optionally of one category (its code, or a group prefix: ``fire_safety`` matches
``fire_safety.*``):

- **closed**: ``status = 'closed'`` with a ``closed_at``; a rejected incident is received but
  not closed. Status is as stored now, not as it was at ``end``.
- **closure rate**: closed / received.
- **on-time rate**: closed with ``closed_at <= due_at`` / received with a ``due_at`` (NULL when
  none has a due time, e.g. imported 311 cases).
- **time to close** (hours): ``closed_at - reported_at`` of closed incidents; median and 90th
  percentile are ``percentile_cont`` (linear interpolation, as pandas' ``quantile``). Open
  incidents are left out (not censored at ``end``); closed incidents with ``closed_at`` before
  ``reported_at`` (bad source times: 55 of the SF311 sample) count as closed but are left out of
  the times and counted in ``bad_times``.
- **escalation / reopen rate**: received incidents with at least one ``escalate`` / ``reopen``
  row in ``event_log`` (at any time) / received.
- **unit**: grids, communities, street offices and districts through the area hierarchy (an
  incident's ``area_id`` and its ancestors by ``parent_id``, else the covering area, as
  :func:`twin.workflow.area_chain`); incidents outside every area of that level are left out.
  ``department`` is the incident's own, else its category's; ``category`` is the code.
- **rank**: 1 = best by ``rank_by`` (default: on-time rate, then closure rate, then median time);
  ties share a rank.
- **scope** (``areas``, e.g. a scoped leader's ``viewer.area_ids``): only incidents whose
  ``area_id`` lies in those areas or below them (``parent_id``, else the covering ``area_id``, as
  :mod:`analytics.wall_kpis`), and for an area grouping only units in those areas or below them —
  a leader of one street sees its communities and grids, not the district around it.
  ``areas=()`` means nothing; ``None`` (the default) the whole store.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text

from geodata.engine import get_engine

AREA_LEVELS = ("grid", "community", "street", "district")
GROUPINGS = (*AREA_LEVELS, "department", "category", "all")
PERIODS = ("day", "week", "month", "quarter", "year")

# metric -> ORDER BY direction for "best first"
RANK_BY: dict[str, str] = {
    "on_time_rate": "DESC NULLS LAST",
    "closure_rate": "DESC NULLS LAST",
    "median_hours": "ASC NULLS LAST",
    "p90_hours": "ASC NULLS LAST",
    "escalation_rate": "ASC NULLS LAST",
    "reopen_rate": "ASC NULLS LAST",
    "received": "DESC",
}
DEFAULT_RANK = ("on_time_rate", "closure_rate", "median_hours")
WORK_MEM = "256MB"
"""Per assessment query (one at a time per request): sorts of ~1M incidents stay in memory."""

COLUMNS = ("unit", "name", "received", "closed", "closure_rate", "with_due", "on_time",
           "on_time_rate", "median_hours", "p90_hours", "escalated", "escalation_rate",
           "reopened", "reopen_rate", "bad_times", "rank")  # fmt: skip

_ANCESTORS = """
    up(id, anc, lvl, n) AS (
        SELECT id, id, level, 0 FROM area
        UNION ALL
        SELECT up.id, p.id, p.level, up.n + 1
        FROM up JOIN area a ON a.id = up.anc
        JOIN area p ON p.id = COALESCE(a.parent_id, a.area_id)
        WHERE up.n < 6
    ),
    unit_of AS (SELECT id AS area_id, anc AS unit FROM up WHERE lvl = :level),"""

_SCOPE = """
    scope(id) AS (
        SELECT id FROM area WHERE id = ANY(:scope)
        UNION
        SELECT c.id FROM area c JOIN scope ON COALESCE(c.parent_id, c.area_id) = scope.id
    ),"""

_KEYS = {
    "department": ("COALESCE(e.department, c.department)", "NULL"),
    "category": ("e.category", "NULL"),
    "all": ("'all'", "NULL"),
}

_METRICS = """
    count(*) AS received,
    count(*) FILTER (WHERE closed) AS closed,
    count(*) FILTER (WHERE closed)::float8 / count(*) AS closure_rate,
    count(*) FILTER (WHERE due_at IS NOT NULL) AS with_due,
    count(*) FILTER (WHERE closed AND closed_at <= due_at) AS on_time,
    count(*) FILTER (WHERE closed AND closed_at <= due_at)::float8
        / NULLIF(count(*) FILTER (WHERE due_at IS NOT NULL), 0) AS on_time_rate,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY secs) FILTER (WHERE secs >= 0)
        AS hours_q,
    count(*) FILTER (WHERE esc) AS escalated,
    count(*) FILTER (WHERE esc)::float8 / count(*) AS escalation_rate,
    count(*) FILTER (WHERE reo) AS reopened,
    count(*) FILTER (WHERE reo)::float8 / count(*) AS reopen_rate,
    count(*) FILTER (WHERE secs < 0) AS bad_times"""


def _sql(
    by: str, rank_by: Sequence[str], category: str | None, bucket: bool, scoped: bool = False
) -> str:
    """The query text for grouping ``by`` (all variable parts come from whitelists)."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; one of {GROUPINGS}")
    unknown = [m for m in rank_by if m not in RANK_BY]
    if unknown or not rank_by:
        raise ValueError(f"cannot rank by {unknown or rank_by!r}; choose from {tuple(RANK_BY)}")
    area = by in AREA_LEVELS
    key = "u.unit" if area else _KEYS[by][0]
    join = "JOIN unit_of u ON u.area_id = e.area_id" if area else ""
    if by == "department":
        join = "LEFT JOIN event_category c ON c.code = e.category"
    where = "e.reported_at >= :start AND e.reported_at < :end"
    if category is not None:
        where += " AND (e.category = :category OR e.category LIKE :category_group)"
    if scoped:
        where += " AND e.area_id IN (SELECT id FROM scope)"
        if area:
            where += " AND u.unit IN (SELECT id FROM scope)"
    period = "date_trunc(:period, e.reported_at AT TIME ZONE :tz)" if bucket else "NULL"
    name = "ar.name" if area else "NULL"
    name_join = "LEFT JOIN area ar ON ar.id = s.unit" if area else ""
    order = ", ".join(f"{m} {RANK_BY[m]}" for m in rank_by)
    part = "PARTITION BY bucket " if bucket else ""
    return f"""
    WITH RECURSIVE {_ANCESTORS if area else ""}{_SCOPE if scoped else ""}
    ev AS (
        SELECT {key} AS unit, {period} AS bucket, e.id,
               e.status = 'closed' AND e.closed_at IS NOT NULL AS closed,
               e.closed_at, e.due_at,
               CASE WHEN e.status = 'closed'
                    THEN EXTRACT(EPOCH FROM e.closed_at - e.reported_at)::float8 END AS secs
        FROM event e {join}
        WHERE {where}
    ),
    lg AS (
        SELECT l.event_id, bool_or(l.action = 'escalate') AS esc,
               bool_or(l.action = 'reopen') AS reo
        FROM event_log l
        WHERE l.action IN ('escalate', 'reopen') AND l.at >= :start
        GROUP BY l.event_id
    ),
    q AS (
        SELECT ev.unit, ev.bucket, {_METRICS}
        FROM ev LEFT JOIN lg ON lg.event_id = ev.id
        GROUP BY ev.unit, ev.bucket
    ),
    s AS (
        SELECT q.*, q.hours_q[1] / 3600.0 AS median_hours, q.hours_q[2] / 3600.0 AS p90_hours
        FROM q
    )
    SELECT s.*, {name} AS name, rank() OVER ({part}ORDER BY {order}) AS rank
    FROM s {name_join}
    ORDER BY s.bucket, rank, s.unit
    """


def _params(start, end, category, by, areas=None, **extra) -> dict:
    params = {"start": start, "end": end, **extra}
    if areas is not None:
        params["scope"] = [int(a) for a in areas]
    if category is not None:
        params |= {"category": category, "category_group": _like_escape(category) + ".%"}
    if by in AREA_LEVELS:
        params["level"] = by
    return params


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def assess(
    url: str,
    by: str,
    start: datetime,
    end: datetime,
    *,
    category: str | None = None,
    rank_by: Sequence[str] = DEFAULT_RANK,
    areas: Sequence[int] | None = None,
) -> list[dict]:
    """Assessment rows (see :data:`COLUMNS`) per unit of ``by`` for incidents received in
    ``[start, end)``, best first; only inside ``areas`` when given (see the module's scope)."""
    sql = _sql(by, rank_by, category, bucket=False, scoped=areas is not None)
    params = _params(start, end, category, by, areas)
    return [{c: r[c] for c in COLUMNS} for r in _rows(url, sql, params)]


def _rows(url: str, sql: str, params: dict) -> list:
    """The query's rows, with room to sort a year of a city's incidents in memory (the
    percentiles sort every group; at the default work_mem that spills to disk)."""
    with get_engine(url).begin() as conn:
        conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        return conn.execute(text(sql), params).mappings().all()


def trend(
    url: str,
    start: datetime,
    end: datetime,
    *,
    period: str = "week",
    by: str = "all",
    category: str | None = None,
    tz: str = "UTC",
    rank_by: Sequence[str] = DEFAULT_RANK,
    areas: Sequence[int] | None = None,
) -> list[dict]:
    """The assessment per ``period`` (week or month …, starting in time zone ``tz``) and unit
    of ``by``: rows with ``bucket`` (naive local start of the period) first, ranked per bucket;
    only inside ``areas`` when given."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; one of {PERIODS}")
    sql = _sql(by, rank_by, category, bucket=True, scoped=areas is not None)
    params = _params(start, end, category, by, areas, period=period, tz=tz)
    rows = _rows(url, sql, params)
    return [{"bucket": r["bucket"], **{c: r[c] for c in COLUMNS}} for r in rows]


def to_csv(rows: Sequence[dict]) -> str:
    """The rows as CSV text (header from the first row; empty string for no rows)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
