"""The true resident counts of the fixed units, straight from the resident table (not from
``resident_stats``, which the app reads): what the disclosure tests compare answers with."""

from __future__ import annotations

from tests.conftest import sql_rows

LEAVES_SQL = """
SELECT coalesce(h.building_id, 0) AS b,
       CASE WHEN h.building_id IS NULL THEN r.h3_r7 END AS r7,
       CASE WHEN h.building_id IS NULL THEN r.h3_r9 END AS r9,
       count(*) AS n,
       count(*) FILTER (WHERE r.care_tags @> ARRAY[CAST(:care AS varchar)]) AS k
FROM resident r LEFT JOIN house h ON h.id = r.house_id
WHERE r.status = 'active' GROUP BY 1, 2, 3"""
"""Leaves: whole buildings, and residents without one per (r7, r9) pair; ``k`` with ``care``."""


def leaves(url: str, care: str = "") -> list[tuple[int, int | None, int | None, int, int]]:
    """Every leaf ``(building, r7, r9, n, k)`` (``k`` of tag ``care``)."""
    return [tuple(r) for r in sql_rows(url, LEAVES_SQL, care=care)]


def cell_sums(url: str, column: str = "h3_r9", care: str = "", least: int = 5) -> dict:
    """``{cell: (n, k)}`` at the stored resolution ``column``: the sums of the shown leaves
    (n ≥ ``least``; a tagged count adds only when ≥ ``least``)."""
    sql = f"""WITH leaf AS ({LEAVES_SQL})
SELECT coalesce(bl.{column}, leaf.{column[3:]}), sum(leaf.n),
       sum(CASE WHEN leaf.k >= :least THEN leaf.k ELSE 0 END)
FROM leaf LEFT JOIN building bl ON bl.id = leaf.b AND leaf.b <> 0
WHERE leaf.n >= :least GROUP BY 1"""
    return {c: (int(n), int(k)) for c, n, k in sql_rows(url, sql, care=care, least=least)}
