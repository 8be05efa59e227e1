"""The area-subtree rule: an area and every area below it, as SQL and as ids.

Exports, the OGC API, analyst questions and the coverage analysis narrow rows to the viewer's
areas (and to a chosen area) with it: a row is in scope when its scope column
(:class:`geodata.catalogue.Scope`) holds one of the subtree's ids. The grid desk and the
gateways' device assignment walk the same tree. Map layers scope by geometry instead
(:func:`geodata.spatial_sql.scope_clause`).

The start condition is a :class:`~geodata.conditions.Conditions` in the placeholder style of
the driver that runs the SQL (:func:`roots` builds the usual ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from geodata.conditions import Conditions, Style

Rows = Callable[[str, dict[str, Any]], Iterable[Sequence[Any]]]
"""Runs a statement with its bound parameters and returns its rows."""

PARENT = "a.parent_id"
"""The tree's edge: the declared parent of area ``a``."""
PARENT_OR_COVER = "COALESCE(a.parent_id, a.area_id)"
"""The declared parent, else the covering area one level up (``area_id``): the grid desk's tree,
in which an area without a declared parent hangs below the area that covers it."""


def subtree_cte(start: str, parent: str = PARENT) -> str:
    """A recursive CTE ``sub(id)``: the areas ``start`` selects (a condition on ``area``) and
    every area below them along ``parent``. A statement reading ``sub`` follows it."""
    return (
        f"WITH RECURSIVE sub(id) AS (SELECT id FROM area WHERE {start} "
        f"UNION SELECT a.id FROM area a JOIN sub ON {parent} = sub.id)"
    )


def subtree_sql(start: str, parent: str = PARENT) -> str:
    """The ids of :func:`subtree_cte`, ascending."""
    return f"{subtree_cte(start, parent)} SELECT id FROM sub ORDER BY id"


def roots(style: Style, column: Literal["id", "code"], value: object) -> Conditions:
    """The start condition ``column = value`` (``= ANY`` of a list, tuple or set of values),
    its value bound as ``column`` in ``style``."""
    start = Conditions(style)
    if isinstance(value, list | tuple | set | frozenset):
        start.add(f"{column} = ANY({start.bind(list(value), column)})")
    else:
        start.add(f"{column} = {start.bind(value, column)}")
    return start


def subtree_ids(execute: Rows, start: Conditions, parent: str = PARENT) -> list[int]:
    """Ids of the areas ``start`` selects and of every area below them along ``parent``,
    ascending (empty when ``start`` selects none). ``execute`` runs SQL of ``start.style``."""
    return [row[0] for row in execute(subtree_sql(start.sql, parent), start.params)]
