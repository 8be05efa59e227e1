"""Assessment (监督考核): how each grid, street office, district and department handled incidents.

Bound parameters only. Definitions, for incidents *received* (``reported_at``) in ``[start, end)``
and optionally of one category (its code, or a group prefix: ``fire_safety`` matches
``fire_safety.*``):

- **closed**: ``status = 'closed'`` with a ``closed_at``; a rejected incident is received but
  not closed. Status is as stored now, not as it was at ``end``.
- **closure rate**: closed / received.
- **on-time rate**: closed with ``closed_at <= due_at`` / received with a ``due_at`` (NULL when
  none has a due time, e.g. imported 311 cases).
- **time to close** (hours): ``closed_at - reported_at`` of closed incidents; median and 90th
  percentile are exactly PostgreSQL's ``percentile_cont`` (linear interpolation, as pandas'
  ``quantile``). Open incidents are left out (not censored at ``end``); closed incidents with
  ``closed_at`` before ``reported_at`` (bad source times: 55 of the SF311 sample) count as
  closed but are left out of the times and counted in ``bad_times``.
- **escalation / reopen rate**: received incidents with at least one ``escalate`` / ``reopen``
  row in ``event_log`` (at any time) / received.
- **after-photo rate**: closed incidents with at least one ``photo`` of kind ``after``
  (处置后) / closed (NULL when none is closed): how many closures carry evidence.
- **unit**: grids, communities, street offices and districts through the area hierarchy (an
  incident's ``area_id`` and its ancestors by ``parent_id``, else the covering area, as
  :func:`twin.workflow.area_chain`; precomputed in ``area_unit``); incidents outside every area
  of that level are left out. ``department`` is the incident's own, else its category's;
  ``category`` is the code.
- **rank**: 1 = best by ``rank_by`` (default: on-time rate, then closure rate, then median time);
  ties share a rank.
- **scope** (``areas``, e.g. a scoped leader's ``viewer.area_ids``): only incidents whose
  ``area_id`` lies in those areas or below them (``parent_id``, else the covering ``area_id``, as
  :mod:`analytics.wall_kpis`), and for an area grouping only units in those areas or below them —
  a leader of one street sees its communities and grids, not the district around it.
  ``areas=()`` means nothing; ``None`` (the default) the whole store.

How (a year of a city is a million incidents, and ``percentile_cont`` sorts every group in one
process): area groupings split their units into :data:`BRANCHES` branches of one ``UNION ALL``
that PostgreSQL runs side by side (Parallel Append), each reading its units' incidents through
the ``area_id`` index and aggregating them with ``percentile_cont`` itself; a second query
counts the few escalated or reopened ones. The other groupings have few, large units: one
parallel aggregate counts incidents per unit and time-to-close bin (``onemap_close_bin``,
migration 0012), a second query sorts only the rows of the bins that hold the percentiles'
rows, and the interpolation is ``percentile_cont``'s own arithmetic; bins choose which rows to
sort and never change a figure. Rates and ranks are computed in Python from the counts with
the same float operations as the SQL they replace. All queries of a call share one snapshot.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, text

from geodata import city_time
from geodata.engine import get_engine
from geodata.vocab import AreaLevel, EventStatus

AREA_LEVELS = (AreaLevel.grid, AreaLevel.community, AreaLevel.street, AreaLevel.district)
"""The area levels incidents are grouped by, from the bottom."""
_CLOSED = f"e.status = '{EventStatus.closed}'"
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
    "after_photo_rate": "DESC NULLS LAST",
    "received": "DESC",
}
DEFAULT_RANK = ("on_time_rate", "closure_rate", "median_hours")
PERCENTILES = {"median_hours": 0.5, "p90_hours": 0.9}
WORK_MEM = "256MB"
"""Per assessment query (one at a time per request): a district's times sort in memory."""
BRANCHES = 3
"""Branches of an area grouping: the leader and two parallel workers take one each."""

COLUMNS = ("unit", "name", "received", "closed", "closure_rate", "with_due", "on_time",
           "on_time_rate", "median_hours", "p90_hours", "escalated", "escalation_rate",
           "reopened", "reopen_rate", "after_photo", "after_photo_rate", "bad_times",
           "rank")  # fmt: skip
COUNTS = ("received", "closed", "with_due", "on_time", "escalated", "reopened", "bad_times")

SECS = "EXTRACT(EPOCH FROM e.closed_at - e.reported_at)::float8"
TIMED = f"{_CLOSED} AND e.closed_at >= e.reported_at"
BIN = "onemap_close_bin(e.status, e.reported_at, e.closed_at)"
"""An incident's time-to-close bin; written exactly as the statistics on event name it."""

_LOGGED = """(
    SELECT l.event_id, bool_or(l.action = 'escalate') AS esc, bool_or(l.action = 'reopen') AS reo
    FROM event_log l
    WHERE l.action IN ('escalate', 'reopen') AND l.at >= :start
    GROUP BY l.event_id
) lg"""
"""Incidents with an escalation or a reopening logged since the window's start."""

_COUNTED = f"""count(*) AS received,
    count(*) FILTER (WHERE {_CLOSED} AND e.closed_at IS NOT NULL) AS closed,
    count(*) FILTER (WHERE e.due_at IS NOT NULL) AS with_due,
    count(*) FILTER (WHERE {_CLOSED} AND e.closed_at <= e.due_at) AS on_time,
    count(*) FILTER (WHERE {_CLOSED} AND e.closed_at < e.reported_at) AS bad_times"""

_UNITS = {
    "department": ("COALESCE(e.department, c.department)",
                   "LEFT JOIN event_category c ON c.code = e.category"),
    "category": ("e.category", ""),
    "all": ("'all'::text", ""),
}  # fmt: skip
"""Per non-area grouping: an incident's unit, and the join it needs."""

_BASE = {
    "department": (("department", "category"), "COALESCE(b.department, c.department)",
                   "LEFT JOIN event_category c ON c.code = b.category"),
    "category": (("category",), "b.category", ""),
    "all": ((), "'all'::text", ""),
}  # fmt: skip
"""Per non-area grouping: the event columns counted per worker, then the unit of a counted
row ``b`` and the join it needs (a few counted rows are joined instead of every incident)."""


def _check(by: str, rank_by: Sequence[str]) -> None:
    """Raise ValueError for an unknown grouping or ranking metric."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; one of {GROUPINGS}")
    unknown = [m for m in rank_by if m not in RANK_BY]
    if unknown or not rank_by:
        raise ValueError(f"cannot rank by {unknown or rank_by!r}; choose from {tuple(RANK_BY)}")


_IN_SCOPE = "SELECT s.area_id FROM area_unit s WHERE s.unit = ANY(:scope)"
"""Areas in the scope or below them."""


def _where(category: str | None, scoped: bool) -> str:
    """The incidents counted: received in the window, of the category, inside the scope."""
    where = "e.reported_at >= :start AND e.reported_at < :end"
    if category is not None:
        where += " AND (e.category = :category OR e.category LIKE :category_group)"
    if scoped:
        where += f" AND e.area_id IN ({_IN_SCOPE})"
    return where


def _bucket(bucket: bool) -> str:
    """An incident's period (naive local start), or NULL when not bucketed."""
    return "date_trunc(:period, e.reported_at AT TIME ZONE :tz)" if bucket else "NULL::timestamp"


# --- area groupings: percentile_cont per unit, units split over parallel branches -----------


def _area_sql(category: str | None, bucket: bool, scoped: bool) -> str:
    """One query: a ``UNION ALL`` branch per share of the units (``unit % BRANCHES``), each
    reading its units' incidents unit by unit (so its aggregate needs no sort)."""
    unit_scope = f" AND u.unit IN ({_IN_SCOPE})" if scoped else ""
    branch = f"""
        SELECT u.unit, {_bucket(bucket)} AS bucket, {_COUNTED},
               percentile_cont(ARRAY[{", ".join(map(str, PERCENTILES.values()))}])
                   WITHIN GROUP (ORDER BY {SECS}) FILTER (WHERE {TIMED}) AS secs
        FROM area_unit u JOIN event e ON e.area_id = u.area_id
        WHERE u.level = :level AND u.unit % {BRANCHES} = {{share}}{unit_scope}
              AND {_where(category, scoped)}
        GROUP BY 1, 2"""
    union = "\n        UNION ALL".join(branch.format(share=i) for i in range(BRANCHES))
    return f"""
    SELECT s.*, ar.name FROM ({union}
    ) s LEFT JOIN area ar ON ar.id = s.unit
    ORDER BY s.bucket, s.unit
    """


def _area_groups(conn: Connection, sql: str, params: dict) -> list[dict]:
    """Per unit: its counts and the seconds of each percentile."""
    groups = []
    for r in conn.execute(text(sql), params).mappings():
        g = dict(r)
        secs = g.pop("secs") or [None] * len(PERCENTILES)
        groups.append(g | dict(zip(PERCENTILES, secs, strict=True)))
    return groups


def _logged_sql(category: str | None, bucket: bool, scoped: bool) -> str:
    """Escalated and reopened incidents per unit: the few logged ones, each looked up by id
    (``OFFSET 0`` keeps the planner from scanning every incident instead; joining the log to
    each branch would cost its sort by unit)."""
    unit_scope = f"WHERE u.unit IN ({_IN_SCOPE})" if scoped else ""
    return f"""
    WITH b AS (
        SELECT area_id, bucket, count(*) FILTER (WHERE lg.esc) AS escalated,
               count(*) FILTER (WHERE lg.reo) AS reopened
        FROM {_LOGGED} CROSS JOIN LATERAL (
            SELECT e.area_id, {_bucket(bucket)} AS bucket FROM event e
            WHERE e.id = lg.event_id AND {_where(category, scoped)}
            OFFSET 0
        ) e
        GROUP BY 1, 2
    )
    SELECT u.unit, b.bucket, sum(b.escalated)::bigint AS escalated,
           sum(b.reopened)::bigint AS reopened
    FROM b JOIN area_unit u ON u.area_id = b.area_id AND u.level = :level
    {unit_scope}
    GROUP BY 1, 2
    """


def _add_logged(conn: Connection, sql: str, params: dict, groups: list[dict]) -> None:
    """Set each group's escalated and reopened counts."""
    logged = {(r.unit, r.bucket): r for r in conn.execute(text(sql), params)}
    for g in groups:
        r = logged.get((g["unit"], g["bucket"]))
        g["escalated"], g["reopened"] = (r.escalated, r.reopened) if r else (0, 0)


def _photo_sql(by: str, category: str | None, bucket: bool, scoped: bool) -> str:
    """Closed incidents with an after-photo per unit (and bucket): the few with photos, each
    incident looked up by id."""
    if by in AREA_LEVELS:
        unit, join = "u.unit", "JOIN area_unit u ON u.area_id = e.area_id AND u.level = :level"
        if scoped:
            join += f" AND u.unit IN ({_IN_SCOPE})"
    else:
        unit, join = _UNITS[by]
    return f"""
    SELECT {unit} AS unit, {_bucket(bucket)} AS bucket, count(*) AS after_photo
    FROM (SELECT DISTINCT p.event_id FROM photo p WHERE p.kind = 'after') p
    JOIN event e ON e.id = p.event_id {join}
    WHERE {_CLOSED} AND e.closed_at IS NOT NULL AND {_where(category, scoped)}
    GROUP BY 1, 2
    """


def _add_photos(conn: Connection, sql: str, params: dict, groups: list[dict]) -> None:
    """Set each group's count of closures with an after-photo."""
    counted = {(r.unit, r.bucket): r.after_photo for r in conn.execute(text(sql), params)}
    for g in groups:
        g["after_photo"] = counted.get((g["unit"], g["bucket"]), 0)


# --- other groupings: counts per time-to-close bin, then only the needed bins' rows ----------


def _needed() -> str:
    """SQL: the bin holds a row some percentile reads (0-based ranks, as percentile_cont)."""
    ranks = [f"{fn}({p}::float8 * (timed - 1))" for p in PERCENTILES.values()
             for fn in ("floor", "ceil")]  # fmt: skip
    held = " OR ".join(f"{r} BETWEEN before AND before + received - 1" for r in ranks)
    return f"bin IS NOT NULL AND ({held})"


def _counts_sql(by: str, category: str | None, bucket: bool, scoped: bool) -> str:
    """Query 1: counts per unit (and bucket), and the bins holding the percentiles' rows."""
    base, unit, join = _BASE[by]
    cols = "".join(f"e.{c}, " for c in base)
    keys = "".join(f"{c}, " for c in base)
    sums = ", ".join(f"sum(b.{c})::bigint AS {c}" for c in COUNTS)
    totals = ", ".join(f"sum({c})::bigint AS {c}" for c in COUNTS)
    return f"""
    WITH base AS (
        SELECT {cols}{_bucket(bucket)} AS bucket, {BIN} AS bin, {_COUNTED},
               count(*) FILTER (WHERE lg.esc) AS escalated,
               count(*) FILTER (WHERE lg.reo) AS reopened
        FROM event e LEFT JOIN {_LOGGED} ON lg.event_id = e.id
        WHERE {_where(category, scoped)}
        GROUP BY {keys}bucket, bin
    ),
    ub AS (
        SELECT {unit} AS unit, b.bucket, b.bin, {sums}
        FROM base b {join}
        GROUP BY 1, 2, 3
    ),
    cum AS (
        SELECT ub.*,
               (sum(received) FILTER (WHERE bin IS NOT NULL) OVER unit)::bigint AS timed,
               (sum(received) FILTER (WHERE bin IS NOT NULL)
                    OVER (unit ORDER BY bin ROWS UNBOUNDED PRECEDING))::bigint - received
                   AS before
        FROM ub
        WINDOW unit AS (PARTITION BY unit, bucket)
    )
    SELECT unit, bucket, NULL AS name, {totals}, coalesce(max(timed), 0) AS timed,
           array_agg(bin ORDER BY bin) FILTER (WHERE {_needed()}) AS bins,
           array_agg(before ORDER BY bin) FILTER (WHERE {_needed()}) AS befores
    FROM cum
    GROUP BY unit, bucket
    ORDER BY bucket, unit
    """


def _values_sql(by: str, category: str | None, bucket: bool, scoped: bool) -> str:
    """Query 2: the exact seconds of the wanted rows (rank ``k`` within bin target ``idx``)."""
    unit, join = _UNITS[by]
    bucket_on = f"AND t.bucket = {_bucket(True)}" if bucket else ""
    return f"""
    WITH t AS (
        SELECT * FROM unnest(CAST(:t_unit AS text[]), CAST(:t_null AS boolean[]),
                             CAST(:t_bucket AS timestamp[]), CAST(:t_bin AS integer[]))
            WITH ORDINALITY AS t(unit, unit_null, bucket, bin, idx)
    ),
    x AS (
        SELECT t.idx, {SECS} AS secs
        FROM event e {join}
        JOIN t ON t.bin = {BIN} AND t.unit = COALESCE({unit}, '')
              AND t.unit_null = ({unit} IS NULL) {bucket_on}
        WHERE {_where(category, scoped)} AND {TIMED}
              AND e.closed_at - e.reported_at >= (onemap_close_bin_edges())[:bin_lo]
              AND COALESCE(e.closed_at - e.reported_at < (onemap_close_bin_edges())[:bin_hi + 1],
                           true)
    ),
    r AS (SELECT idx, secs, row_number() OVER (PARTITION BY idx ORDER BY secs) - 1 AS k FROM x)
    SELECT r.idx, r.k, r.secs
    FROM r JOIN unnest(CAST(:w_idx AS bigint[]), CAST(:w_k AS bigint[])) AS w(idx, k)
        ON w.idx = r.idx AND w.k = r.k
    """


def _ranks(n: int) -> list[int]:
    """0-based ranks of the rows the percentiles read among ``n`` sorted times."""
    return sorted({f(p * (n - 1)) for p in PERCENTILES.values() for f in (math.floor, math.ceil)})


def _percentile(n: int, p: float, value: dict[int, float]) -> float:
    """``percentile_cont(p)`` of ``n`` sorted values, given the ones at the ranks it reads."""
    pos = p * (n - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    if hi == lo:
        return value[lo]
    return value[lo] + (pos - lo) * (value[hi] - value[lo])


def _targets(groups: list[dict]) -> tuple[dict, dict]:
    """Query 2's parameters (the bins to read, the in-bin ranks wanted) and where each group's
    needed rank is found: ``(group index, rank) -> (bin target index, in-bin rank)``."""
    params: dict[str, Any] = {"t_unit": [], "t_null": [], "t_bucket": [], "t_bin": []}
    targets: dict[tuple[int, int], int] = {}
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for i, g in enumerate(groups):
        for r in _ranks(g["timed"]) if g["timed"] else ():
            j = max(j for j, before in enumerate(g["befores"]) if before <= r)
            key = (i, g["bins"][j])
            if key not in targets:
                targets[key] = len(targets) + 1
                params["t_unit"].append("" if g["unit"] is None else g["unit"])
                params["t_null"].append(g["unit"] is None)
                params["t_bucket"].append(g["bucket"])
                params["t_bin"].append(g["bins"][j])
            found[(i, r)] = (targets[key], r - g["befores"][j])
    wanted = sorted(set(found.values()))
    # bins are computed only for times between the first and the last bin read (a cheap test)
    params["bin_lo"], params["bin_hi"] = (
        min(params["t_bin"], default=1),
        max(params["t_bin"], default=1),
    )
    params["w_idx"] = [idx for idx, _ in wanted]
    params["w_k"] = [k for _, k in wanted]
    return params, found


def _binned_groups(conn: Connection, counts: str, values: str, params: dict) -> list[dict]:
    """Per unit: its counts (query 1) and the seconds of each percentile (query 2)."""
    groups = [dict(r) for r in conn.execute(text(counts), params).mappings()]
    extra, found = _targets(groups)
    secs = {}
    if found:
        _hash_joins(conn)
        secs = {(r.idx, r.k): r.secs for r in conn.execute(text(values), params | extra)}
    for i, g in enumerate(groups):
        n = g.pop("timed")
        at = {r: secs[found[(i, r)]] for r in _ranks(n)} if n else {}
        for column, p in PERCENTILES.items():
            g[column] = _percentile(n, p, at) if n else None
        del g["bins"], g["befores"]
    return groups


def _hash_joins(conn: Connection) -> None:
    """For the rest of the transaction: no nested loops but the forced lookups by id. The later
    queries join a few rows (bins, logged incidents) to many or to a few units; the planner,
    taking the few for fewer still, would probe an index per bin (reading big units many
    times) or compare every pair."""
    conn.execute(text("SET LOCAL enable_nestloop = off"))


# --- figures and ranks ------------------------------------------------------------------------


def _row(g: dict) -> dict:
    """One unit's figures from its counts and percentile seconds (rates as ``float8`` division
    of the counts, which Python's int division matches exactly)."""
    row = {"bucket": g["bucket"], "unit": g["unit"], "name": g["name"]}
    row |= {c: g[c] for c in COUNTS}
    received, with_due = g["received"], g["with_due"]
    row["closure_rate"] = g["closed"] / received
    row["on_time_rate"] = g["on_time"] / with_due if with_due else None
    row["escalation_rate"] = g["escalated"] / received
    row["reopen_rate"] = g["reopened"] / received
    row["after_photo"] = g["after_photo"]
    row["after_photo_rate"] = g["after_photo"] / g["closed"] if g["closed"] else None
    for column in PERCENTILES:
        row[column] = None if g[column] is None else g[column] / 3600.0
    return row


def _rank_key(row: dict, rank_by: Sequence[str]) -> tuple:
    """Sort key of ``ORDER BY`` the metrics (best first, NULLs last)."""
    key = []
    for metric in rank_by:
        value = row[metric]
        desc = RANK_BY[metric].startswith("DESC")
        key.append((value is None, 0 if value is None else (-value if desc else value)))
    return tuple(key)


def _rank(rows: list[dict], rank_by: Sequence[str]) -> list[dict]:
    """``rank() OVER (PARTITION BY bucket ORDER BY rank_by)``; rows ordered by bucket, rank
    and then as given (the queries order units as PostgreSQL does)."""
    out = []
    for _, group in groupby(rows, key=lambda r: r["bucket"]):
        part = list(group)
        ordered = sorted(part, key=lambda r: _rank_key(r, rank_by))
        for pos, row in enumerate(ordered):
            same = pos and _rank_key(row, rank_by) == _rank_key(ordered[pos - 1], rank_by)
            row["rank"] = ordered[pos - 1]["rank"] if same else pos + 1
        out.extend(sorted(part, key=lambda r: r["rank"]))
    return out


# --- public API -------------------------------------------------------------------------------


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


@contextmanager
def _snapshot(url: str) -> Iterator[Connection]:
    """A transaction in one snapshot, with room to sort a district's times."""
    with get_engine(url).connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
            yield conn


def _assessment(
    url: str,
    by: str,
    rank_by: Sequence[str],
    category: str | None,
    areas: Sequence[int] | None,
    params: dict,
    bucket: bool,
) -> list[dict]:
    """Ranked rows (with ``bucket``) of grouping ``by``."""
    _check(by, rank_by)
    scoped = areas is not None
    with _snapshot(url) as conn:
        if by in AREA_LEVELS:
            groups = _area_groups(conn, _area_sql(category, bucket, scoped), params)
            _hash_joins(conn)
            _add_logged(conn, _logged_sql(category, bucket, scoped), params, groups)
        else:
            counts = _counts_sql(by, category, bucket, scoped)
            values = _values_sql(by, category, bucket, scoped)
            groups = _binned_groups(conn, counts, values, params)
        _add_photos(conn, _photo_sql(by, category, bucket, scoped), params, groups)
    return _rank([_row(g) for g in groups], rank_by)


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
    params = _params(start, end, category, by, areas)
    rows = _assessment(url, by, rank_by, category, areas, params, bucket=False)
    return [{c: r[c] for c in COLUMNS} for r in rows]


def trend(
    url: str,
    start: datetime,
    end: datetime,
    *,
    period: str = "week",
    by: str = "all",
    category: str | None = None,
    tz: str = city_time.DEFAULT_ZONE,
    rank_by: Sequence[str] = DEFAULT_RANK,
    areas: Sequence[int] | None = None,
) -> list[dict]:
    """The assessment per ``period`` (week or month …, starting at midnight in time zone ``tz``,
    by default the city's: ``date_trunc(period, reported_at AT TIME ZONE :tz)``) and unit
    of ``by``: rows with ``bucket`` (naive local start of the period) first, ranked per bucket;
    only inside ``areas`` when given."""
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}; one of {PERIODS}")
    params = _params(start, end, category, by, areas, period=period, tz=tz)
    rows = _assessment(url, by, rank_by, category, areas, params, bucket=True)
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
