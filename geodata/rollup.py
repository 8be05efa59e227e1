"""Rows per H3 cell from the rollups of migrations 0028 and 0030, with the same answer as
``GROUP BY`` on the raw table (issue 15).

``event_cell`` counts incidents per stored cell pair (``h3_r7``, ``h3_r9``) and UTC hour, day,
ISO week, month or all time; ``feature_cell`` counts device, organization, facility and
building rows per kind and cell pair. Both are kept exact by triggers, so a cell's count over
whole UTC hours (or all time) is a few index reads instead of a scan of every row.

What the raw query means, and how the parts below add up to it exactly:

* The time window ``[t0, t1)`` splits into whole UTC hours read from the rollup — as whole
  months, weeks and days where they fit (:func:`periods`: a 30-day window of local days is
  about six rows per cell) — and the partial hours at either end, read from the raw table.
* The view counts a row where its geometry's box meets the bbox (``t.geom && env.g``; or any
  condition ``in_view`` true for a row whose ``loc`` is inside and only for rows whose box
  meets it, such as the features' ``ST_Intersects``); its cell at any resolution is derived
  from its stored cells, and its ``loc`` lies in its ``h3_r9`` cell. So the rollup's rows are
  placed by their ``h3_r9`` (:func:`place`): an ``h3_r9`` cell whose extent, with a margin, is
  inside the bbox is read from the rollup; one crossing the bbox's edge is counted from the raw
  table restricted to that ``h3_r9`` (index-only, migration 0030) and the view condition; one
  entirely outside can only count rows whose geometry crosses the bbox's boundary, found by the
  GiST index on the four boundary lines.
* The rollup's rows travel as one packed bytea (:data:`PACKED`), not thousands of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain

import h3
import numpy as np

from geodata.cells import cell_sql
from geodata.engine import Execute

FEATURE_KINDS: dict[str, str | None] = {
    "device": "kind",
    "organization": "kind",
    "facility": "kind",
    "building": None,
}
"""Tables counted in ``feature_cell`` and the column their ``kind`` is (None: one kind '')."""
EVENT_TIME = "reported_at"
"""The time column ``event_cell`` counts by (UTC day of it)."""
MARGIN = 1e-4
"""Degrees (~10 m) added around a cell's extent before comparing it with the bbox: covers the
straight-edge approximation of the H3 boundary and PostGIS's float4 boxes many times over."""
BOUNDARY = (
    "(t.geom && ST_MakeEnvelope(:minx, :miny, :minx, :maxy, 4326)"
    " OR t.geom && ST_MakeEnvelope(:maxx, :miny, :maxx, :maxy, 4326)"
    " OR t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :miny, 4326)"
    " OR t.geom && ST_MakeEnvelope(:minx, :maxy, :maxx, :maxy, 4326))"
)
"""A row's box meets the bbox's boundary (a box holding a point outside the bbox and meeting it
must: the only way a row of a cell entirely outside can count)."""

Bbox = tuple[float, float, float, float]
Period = tuple[str, datetime, datetime]
"""``(span, first, end)``: rollup rows of ``span`` with ``first <= start < end`` (naive UTC)."""
HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(days=7)


def has_rollup(source: str) -> bool:
    """Whether ``source`` (a table) has a rollup."""
    return source == "event" or source in FEATURE_KINDS


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil_day(t: datetime) -> datetime:
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if day == t else day + DAY


def _floor_monday(t: datetime) -> datetime:
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _ceil_monday(t: datetime) -> datetime:
    day = _ceil_day(t)
    monday = day - timedelta(days=day.weekday())
    return monday if monday == day else monday + WEEK


def _floor_month(t: datetime) -> datetime:
    return t.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _ceil_month(t: datetime) -> datetime:
    month = _floor_month(t)
    return month if month == t else _floor_month(month + timedelta(days=32))


FINER = {"month": "week", "week": "day", "day": "hour"}
"""The span the rest of a window is split into around whole periods of a span."""
BOUNDS = {
    "month": (_ceil_month, _floor_month),
    "week": (_ceil_monday, _floor_monday),
    "day": (_ceil_day, lambda t: t.replace(hour=0, minute=0, second=0, microsecond=0)),
}
"""The first and last start of a span's periods inside a window."""


def _split(a: datetime, b: datetime, span: str) -> list[Period]:
    """``[a, b)`` (whole UTC hours) as whole periods of ``span`` and, at either end, of the
    finer spans (month → week → day → hour)."""
    if a >= b:
        return []
    if span == "hour":
        return [("hour", a, b)]
    ceil, floor = BOUNDS[span]
    lo, hi, finer = ceil(a), floor(b), FINER[span]
    if lo >= hi:
        return _split(a, b, finer)
    return [*_split(a, lo, finer), (span, lo, hi), *_split(hi, b, finer)]


def periods(start: datetime, end: datetime) -> tuple[list[Period], datetime, datetime] | None:
    """The rollup periods of the whole UTC hours in ``[start, end)`` (whole days as days, whole
    ISO weeks as weeks, whole months as months), and those hours' bounds ``f0 <= t < f1``
    (aware, UTC); None when no whole hour fits."""
    s = start.astimezone(UTC).replace(tzinfo=None)
    e = end.astimezone(UTC).replace(tzinfo=None)
    last, first = _floor_hour(e), _floor_hour(s)
    first = first if first == s else first + HOUR
    if first >= last:
        return None
    found = _split(first, last, "month")
    return found, first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)


@lru_cache(maxsize=400_000)
def cell_extent(cell: int) -> Bbox:
    """lon/lat extent of the boundary of ``cell`` (a stored ``h3_r9``)."""
    ring = h3.api.basic_int.cell_to_boundary(cell)
    lats = [lat for lat, _ in ring]
    lngs = [lng for _, lng in ring]
    return min(lngs), min(lats), max(lngs), max(lats)


def place(cell: int, bbox: Bbox) -> int:
    """1: every row whose ``h3_r9`` is ``cell`` has its ``loc`` inside ``bbox``; -1: none has;
    0: the cell crosses the bbox's edge (or is too wide to tell)."""
    x0, y0, x1, y1 = cell_extent(cell)
    if x1 - x0 > 90:  # across the antimeridian: count it from the raw table
        return 0
    x0, y0, x1, y1 = x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN
    if x0 >= bbox[0] and y0 >= bbox[1] and x1 <= bbox[2] and y1 <= bbox[3]:
        return 1
    if x1 < bbox[0] or x0 > bbox[2] or y1 < bbox[1] or y0 > bbox[3]:
        return -1
    return 0


@lru_cache(maxsize=16)
def _extents(cells: bytes) -> np.ndarray:
    """:func:`cell_extent` of the int64 cells packed in ``cells`` (read-only). Kept for the
    last few sets: every view of a window (or of the whole history) places the same cells."""
    ids = np.frombuffer(cells, dtype=np.int64).tolist()
    flat = chain.from_iterable(map(cell_extent, ids))
    ext = np.fromiter(flat, dtype=np.float64, count=4 * len(ids)).reshape(-1, 4)
    ext.flags.writeable = False
    return ext


def places(cells: np.ndarray, bbox: Bbox) -> np.ndarray:
    """:func:`place` of many ``h3_r9`` cells (int8: 1, 0, -1)."""
    if not len(cells):
        return np.zeros(0, dtype=np.int8)
    ext = _extents(cells.astype(np.int64).tobytes())
    x0, y0 = ext[:, 0] - MARGIN, ext[:, 1] - MARGIN
    x1, y1 = ext[:, 2] + MARGIN, ext[:, 3] + MARGIN
    inside = (x0 >= bbox[0]) & (y0 >= bbox[1]) & (x1 <= bbox[2]) & (y1 <= bbox[3])
    outside = (x1 < bbox[0]) | (x0 > bbox[2]) | (y1 < bbox[1]) | (y0 > bbox[3])
    wide = (ext[:, 2] - ext[:, 0]) > 90  # across the antimeridian: raw
    out = np.where(inside, 1, np.where(outside, -1, 0)).astype(np.int8)
    out[wide] = 0
    return out


def derived_array(r7: np.ndarray, r9: np.ndarray, resolution: int) -> np.ndarray:
    """:func:`derived` of many rows."""
    if resolution in (7, 9):
        return r7 if resolution == 7 else r9
    child = r7 if resolution < 7 else r9
    low = (1 << (3 * (15 - resolution))) - 1
    return (child & ~np.int64(15 << 52)) | np.int64(resolution << 52) | np.int64(low)


def derived(r7: int, r9: int, resolution: int) -> int:
    """The cell at ``resolution`` of a row with stored cells ``r7``, ``r9``, exactly as
    :func:`geodata.cells.cell_sql` derives it in SQL."""
    if resolution in (7, 9):
        return r7 if resolution == 7 else r9
    child = r7 if resolution < 7 else r9
    low = (1 << (3 * (15 - resolution))) - 1
    return (child & ~(15 << 52)) | (resolution << 52) | low


@dataclass
class CellQuery:
    """One aggregate the rollup can answer: rows of ``source`` per cell at ``resolution``.

    ``kinds`` is the condition on the rollup row ``r`` that the layer's fixed filters become
    (e.g. ``r.kind <> :x0``); ``where`` the raw table's conditions on ``t`` (its fixed filters)
    without the bbox and the time window; ``params`` the values of both; ``window`` the time
    window (events only); ``in_view`` the condition a row meets to be in the bbox (any
    condition true for every row whose ``loc`` is inside it, and only for rows whose ``geom``'s
    box meets it)."""

    source: str
    resolution: int
    where: str
    params: dict[str, object]
    kinds: str = ""
    kind_params: dict[str, object] = field(default_factory=dict)
    bbox: Bbox | None = None
    window: tuple[datetime, datetime] | None = None
    in_view: str = ""

    @property
    def timed(self) -> bool:
        return self.source == "event"


def _weight(q: CellQuery) -> str:
    return "sum(t.severity)" if q.timed else "0"


PACKED = (
    "SELECT string_agg(int8send(g.h3_r7) || int8send(g.h3_r9) || int8send(g.n) "
    "|| int8send(g.s), ''::bytea) FROM ({grouped}) AS g"
)
"""The grouped rollup rows as one bytea of big-endian int64 quadruples: one value to fetch
instead of thousands of rows (:func:`_unpack`)."""


def _unpack(rows: list) -> np.ndarray:
    """The ``(h3_r7, h3_r9, n, s)`` table of a :data:`PACKED` answer."""
    packed = rows[0][0] if rows else None
    if not packed:
        return np.zeros((0, 4), dtype=np.int64)
    return np.frombuffer(bytes(packed), dtype=">i8").astype(np.int64).reshape(-1, 4)


def _rollup_sql(q: CellQuery, found: list[Period] | None) -> tuple[str, dict[str, object]]:
    """The rollup's rows per stored cell pair over the whole hours (or all time), packed."""
    if not q.timed:
        kinds = f" AND {q.kinds}" if q.kinds else ""
        grouped = (
            "SELECT r.h3_r7, r.h3_r9, sum(r.n)::bigint AS n, 0::bigint AS s "
            f"FROM feature_cell AS r WHERE r.source = :rollup_source{kinds} GROUP BY 1, 2"
        )
        return PACKED.format(grouped=grouped), {"rollup_source": q.source, **q.kind_params}
    head = "SELECT r.h3_r7, r.h3_r9, r.n, r.s FROM event_cell AS r WHERE r.span = "
    params: dict[str, object] = {}
    if found is None:
        ranges = [f"{head}'all'"]
    else:  # one range scan each (index-only: the counts are in the primary key's index)
        ranges = []
        for i, (span, first, end) in enumerate(found):
            ranges.append(f"{head}:sp{i} AND r.start >= :sa{i} AND r.start < :sb{i}")
            params |= {f"sp{i}": span, f"sa{i}": first, f"sb{i}": end}
    rows = " UNION ALL ".join(ranges)
    grouped = (
        "SELECT r.h3_r7, r.h3_r9, sum(r.n)::bigint AS n, sum(r.s)::bigint AS s "
        f"FROM ({rows}) AS r GROUP BY 1, 2"
    )
    return PACKED.format(grouped=grouped), params


EDGE, BOUNDARY_PART, PARTIAL = 0, 1, 2
"""Labels of the raw part's rows."""
IN_VIEW = "t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
"""The raw query's bbox condition (``t.geom && env.g``), written out so the planner sees it."""
INTERSECTS_VIEW = (
    f"ST_Intersects(t.geom, ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)) AND {IN_VIEW}"
)
"""The features' bbox condition (``ST_Intersects(t.geom, env.g)``), with the box test it
implies for the index."""


def _raw_sql(q: CellQuery, whole: str, partial: str | None, edges: bool) -> str:
    """The raw table's part: rows of the edge cells and rows crossing the boundary over the
    whole hours, every row of the partial hours; each grouped by its cell and its ``h3_r9``
    (the boundary part keeps only rows of cells outside the view) and labelled by its part."""
    cell, weight = cell_sql(q.resolution), _weight(q)
    where = f"{q.where} AND {q.in_view or IN_VIEW}" if q.bbox is not None else q.where

    def head(part: int, rows: str = f'"{q.source}"') -> str:
        return (
            f"SELECT {part} AS part, {cell} AS cell, t.h3_r9, count(*) AS n, {weight} AS s "
            f"FROM {rows} AS t WHERE {where}"
        )

    def first(condition: str) -> str:
        """The rows meeting ``condition``, found by its own index before any other condition
        applies (OFFSET 0 fences it: neither a custom nor a generic plan of a prepared
        statement can trade it for the GiST's matches of the whole view)."""
        return f'(SELECT * FROM "{q.source}" AS t WHERE {condition} OFFSET 0)'

    parts = []
    if q.bbox is not None:
        if edges:  # then the box test, then the view condition on the few rows left (a costly
            # function such as ST_Intersects is costed on those: no JIT compilation)
            cells = f"(SELECT * FROM {first('t.h3_r9 = ANY(:edge)')} AS t WHERE {IN_VIEW} OFFSET 0)"
            parts.append(f"{head(EDGE, cells)} AND {whole} GROUP BY 2, 3")
        parts.append(f"{head(BOUNDARY_PART, first(BOUNDARY))} AND {whole} GROUP BY 2, 3")
    if partial is not None:
        parts.append(f"{head(PARTIAL, first(f'({partial})'))} GROUP BY 2, 3")
    return "\nUNION ALL\n".join(f"({p})" for p in parts)


def _partial(window: tuple[datetime, datetime], f0: datetime, f1: datetime) -> str | None:
    """The condition of the window's rows outside its whole hours ``[f0, f1)`` (None: none)."""
    col = f't."{EVENT_TIME}"'
    ends = []
    if window[0] < f0:
        ends.append(f"({col} >= :t0 AND {col} < :f0)")
    if f1 < window[1]:
        ends.append(f"({col} >= :f1 AND {col} < :t1)")
    return " OR ".join(ends) or None


def cell_counts(execute: Execute, q: CellQuery) -> list[tuple[int, int, int]] | None:
    """``(cell, rows, severity sum)`` of every cell with rows (largest first), exactly as the raw
    ``GROUP BY`` over ``q.where`` (and the bbox) and the window would give; None when the window
    holds no whole UTC hour (the raw query is as quick then)."""
    found: list[Period] | None = None
    params = dict(q.params)
    whole, partial = "TRUE", None
    if q.window is not None:
        split = periods(*q.window)
        if split is None:
            return None
        found, f0, f1 = split
        col = f't."{EVENT_TIME}"'
        whole = f"{col} >= :f0 AND {col} < :f1"
        partial = _partial(q.window, f0, f1)
        params |= {"t0": q.window[0], "t1": q.window[1], "f0": f0, "f1": f1}
    sql, rollup_params = _rollup_sql(q, found)
    table = _unpack(execute(sql, rollup_params))
    bbox = q.bbox
    r7, r9 = table[:, 0], table[:, 1]
    where = np.ones(len(table), dtype=np.int8) if bbox is None else places(r9, bbox)
    inside = where == 1
    parts = [
        (derived_array(r7[inside], r9[inside], q.resolution), table[inside, 2], table[inside, 3])
    ]
    edge = r9[where == 0]
    if bbox is not None or partial is not None:
        if bbox is not None:
            params |= {"minx": bbox[0], "miny": bbox[1], "maxx": bbox[2], "maxy": bbox[3]}
        if len(edge):
            params["edge"] = sorted(set(edge.tolist()))
        raw = np.array(
            [tuple(r) for r in execute(_raw_sql(q, whole, partial, bool(len(edge))), params)],
            dtype=np.int64,
        ).reshape(-1, 5)
        # rows crossing the boundary from cells inside or on the edge: counted already
        counted = (raw[:, 0] == BOUNDARY_PART) & np.isin(raw[:, 2], r9[where >= 0])
        raw = raw[~counted]
        parts.append((raw[:, 1], raw[:, 3], raw[:, 4]))
    return _summed(parts)


def _summed(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[tuple[int, int, int]]:
    """``(cell, rows, severity sum)`` per cell of the ``(cells, rows, sums)`` parts, cells with
    rows only, largest first (then by cell)."""
    cells = np.concatenate([c for c, _, _ in parts])
    if not len(cells):
        return []
    cells, index = np.unique(cells, return_inverse=True)
    # sums of integers below 2**53: exact in float64
    n = np.bincount(index, weights=np.concatenate([k for _, k, _ in parts]), minlength=len(cells))
    s = np.bincount(index, weights=np.concatenate([w for _, _, w in parts]), minlength=len(cells))
    keep = n > 0
    cells, n, s = cells[keep], n[keep].astype(np.int64), s[keep].astype(np.int64)
    order = np.lexsort((cells, -n))
    return list(zip(cells[order].tolist(), n[order].tolist(), s[order].tolist(), strict=True))


def row_total(execute: Execute, q: CellQuery) -> int | None:
    """How many rows :func:`cell_counts` counts in all (None: as there)."""
    rows = cell_counts(execute, q)
    return None if rows is None else sum(k for _, k, _ in rows)
