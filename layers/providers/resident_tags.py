"""The care-tag columns of the residents layer's SQL, shared by its three query paths
(:mod:`layers.providers.residents`, :mod:`.resident_cells`, :mod:`.resident_scoped`)."""

from __future__ import annotations


def tagged_sql(care: str | None) -> str:
    """The people of rows ``t`` with the tag ``:care`` (NULL without a tag asked)."""
    if care is None:
        return "NULL::bigint"
    return "sum(coalesce((t.care ->> :care)::bigint, 0))::bigint"


def shown_tagged_sql(care: str | None) -> str:
    """The tagged people of a cell: the sum over its leaves ``p`` of the tagged counts shown (a
    leaf's count under ``:min_count`` adds nothing, so no cell reveals a suppressed one)."""
    if care is None:
        return "NULL::bigint"
    return "sum(CASE WHEN p.k >= :min_count THEN p.k ELSE 0 END)::bigint"
