"""Rows per H3 cell from the rollups of migration 0028, with the same answer as ``GROUP BY`` on
the raw table (issue 15).

``event_cell`` counts incidents per stored cell pair (``h3_r7``, ``h3_r9``) and UTC day, UTC
month or all time; ``feature_cell`` counts device, organization, facility and building rows per
kind and cell pair. Both are kept exact by triggers, so a cell's count over whole UTC days (or
all time) is a few index reads instead of a scan of every row.

What the raw query means, and how the parts below add up to it exactly:

* The time window ``[t0, t1)`` splits into whole UTC days (months where whole months fit) read
  from the rollup, and the partial days at both ends read from the raw table (:func:`periods`).
* The view counts a row where its geometry's box meets the bbox (``t.geom && env.g``); its cell
  at any resolution is derived from its stored cells, and its ``loc`` lies in its ``h3_r9``
  cell. So the rollup's rows are placed by their ``h3_r9`` (:func:`place`): an ``h3_r9`` cell
  whose extent, with a margin, is inside the bbox is read from the rollup; one crossing the
  bbox's edge is counted from the raw table restricted to that ``h3_r9`` (indexed) and the bbox;
  one entirely outside can only count rows whose geometry crosses the bbox's boundary, found by
  the GiST index on the four boundary lines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

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
Period = tuple[str, date, date]
"""``(span, first, end)``: rollup rows of ``span`` with ``first <= start < end``."""


def has_rollup(source: str) -> bool:
    """Whether ``source`` (a table) has a rollup."""
    return source == "event" or source in FEATURE_KINDS


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _month_after(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def periods(start: datetime, end: datetime) -> tuple[list[Period], datetime, datetime] | None:
    """The rollup periods of the whole UTC days in ``[start, end)`` (whole months as months),
    and those days' bounds ``f0 <= t < f1``; None when no whole day fits."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    first = s.date() if s.timetz() == time(tzinfo=UTC) else s.date() + timedelta(days=1)
    last = e.date()  # whole days are first <= day < last
    if first >= last:
        return None
    m0 = first if first.day == 1 else _month_after(first)
    m1 = last.replace(day=1)
    found: list[Period] = []
    if m0 < m1:
        found += [("day", first, m0), ("month", m0, m1), ("day", m1, last)]
    else:
        found.append(("day", first, last))
    return [p for p in found if p[1] < p[2]], _utc_midnight(first), _utc_midnight(last)


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


def places(cells: np.ndarray, bbox: Bbox) -> np.ndarray:
    """:func:`place` of many ``h3_r9`` cells (int8: 1, 0, -1)."""
    if not len(cells):
        return np.zeros(0, dtype=np.int8)
    ext = np.array([cell_extent(c) for c in cells.tolist()])
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
    (e.g. ``r.kind <> :x0``); ``where`` the raw table's conditions on ``t`` (its fixed filters,
    and the bbox condition when ``bbox`` is given) without the time window; ``params`` the
    values of both; ``window`` the time window (events only)."""

    source: str
    resolution: int
    where: str
    params: dict[str, object]
    kinds: str = ""
    kind_params: dict[str, object] = field(default_factory=dict)
    bbox: Bbox | None = None
    window: tuple[datetime, datetime] | None = None

    @property
    def timed(self) -> bool:
        return self.source == "event"


def _weight(q: CellQuery) -> str:
    return "sum(t.severity)" if q.timed else "0"


def _rollup_sql(q: CellQuery, found: list[Period] | None) -> tuple[str, dict[str, object]]:
    """The rollup's rows per stored cell pair over the whole days (or all time)."""
    if not q.timed:
        kinds = f" AND {q.kinds}" if q.kinds else ""
        return (
            "SELECT r.h3_r7, r.h3_r9, sum(r.n)::bigint AS n, 0::bigint AS s "
            f"FROM feature_cell AS r WHERE r.source = :rollup_source{kinds} GROUP BY 1, 2",
            {"rollup_source": q.source, **q.kind_params},
        )
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
    return (
        "SELECT r.h3_r7, r.h3_r9, sum(r.n)::bigint AS n, sum(r.s)::bigint AS s "
        f"FROM ({rows}) AS r GROUP BY 1, 2",
        params,
    )


EDGE, BOUNDARY_PART, PARTIAL = 0, 1, 2
"""Labels of the raw part's rows."""
IN_VIEW = "t.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
"""The raw query's bbox condition (``t.geom && env.g``), written out so the planner sees it."""


def _raw_sql(q: CellQuery, whole: str, partial: str | None, edges: bool) -> str:
    """The raw table's part: rows of the edge cells and rows crossing the boundary over the
    whole days, every row of the partial days; each grouped by its cell and its ``h3_r9``
    (the boundary part keeps only rows of cells outside the view) and labelled by its part."""
    cell, weight = cell_sql(q.resolution), _weight(q)
    where = f"{q.where} AND {IN_VIEW}" if q.bbox is not None else q.where

    def head(part: int) -> str:
        return (
            f"SELECT {part} AS part, {cell} AS cell, t.h3_r9, count(*) AS n, {weight} AS s "
            f'FROM "{q.source}" AS t WHERE {where}'
        )

    parts = []
    if q.bbox is not None:
        if edges:
            parts.append(f"{head(EDGE)} AND t.h3_r9 = ANY(:edge) AND {whole} GROUP BY 2, 3")
        parts.append(f"{head(BOUNDARY_PART)} AND {BOUNDARY} AND {whole} GROUP BY 2, 3")
    if partial is not None:
        parts.append(f"{head(PARTIAL)} AND ({partial}) GROUP BY 2, 3")
    return "\nUNION ALL\n".join(f"({p})" for p in parts)


def cell_counts(execute: Execute, q: CellQuery) -> list[tuple[int, int, int]] | None:
    """``(cell, rows, severity sum)`` of every cell with rows (any order), exactly as the raw
    ``GROUP BY`` over ``q.where`` (and the bbox) and the window would give; None when the window
    holds no whole UTC day (the raw query is as quick then)."""
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
        partial = f"({col} >= :t0 AND {col} < :f0) OR ({col} >= :f1 AND {col} < :t1)"
        params |= {"t0": q.window[0], "t1": q.window[1], "f0": f0, "f1": f1}
    sql, rollup_params = _rollup_sql(q, found)
    rolled = execute(sql, rollup_params)
    bbox = q.bbox
    # plain tuples: numpy probes a Row for array protocols by name, slowly
    table = np.array([tuple(r) for r in rolled], dtype=np.int64).reshape(-1, 4)
    r7, r9 = table[:, 0], table[:, 1]
    where = np.ones(len(table), dtype=np.int8) if bbox is None else places(r9, bbox)
    inside = where == 1
    n: Counter[int] = Counter()
    s: Counter[int] = Counter()
    cells, index = np.unique(
        derived_array(r7[inside], r9[inside], q.resolution), return_inverse=True
    )
    if len(cells):  # sums of integers below 2**53: exact in float64
        counts = np.bincount(index, weights=table[inside, 2], minlength=len(cells))
        weights = np.bincount(index, weights=table[inside, 3], minlength=len(cells))
        for c, k, w in zip(cells.tolist(), counts.tolist(), weights.tolist(), strict=True):
            n[c], s[c] = int(k), int(w)
    seen = set(r9[where >= 0].tolist())  # h3_r9 cells inside or on the edge
    edge = set(r9[where == 0].tolist())
    if bbox is not None or partial is not None:
        if bbox is not None:
            params |= {"minx": bbox[0], "miny": bbox[1], "maxx": bbox[2], "maxy": bbox[3]}
        if edge:
            params["edge"] = sorted(edge)
        for part, cell, cell9, count, weight in execute(
            _raw_sql(q, whole, partial, bool(edge)), params
        ):
            if part == BOUNDARY_PART and cell9 in seen:
                continue  # counted from the rollup or by the edge part
            n[cell] += count
            s[cell] += int(weight)
    return [(c, k, s[c]) for c, k in n.items() if k > 0]
