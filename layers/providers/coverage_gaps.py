"""The ``coverage_gaps`` provider: uncovered parts of fire lanes and roads in the bbox.

Read from the precomputed ``coverage_gap`` when it is current, else computed live (and the
answer's ``note`` and ``coverage.precomputed`` say so), by :func:`analytics.coverage.gap_page`.
The totals, the cap and the features' JSON are made in SQL: a city view holds ~10,000 lines,
only the first ``limit`` gaps by kind and id are sent.
"""

from __future__ import annotations

from analytics.coverage import LINES, GapState, gap_page, state_by
from geodata import city_time
from geodata.spatial_sql import degrees_per_metre
from layers.providers.base import Context


def stale_note(state: GapState | None, zone: str = city_time.DEFAULT_ZONE) -> dict[str, str]:
    """Why the answer was computed live (zh/en; times in the city's zone ``zone``)."""
    if state is None:
        return {
            "zh": "存储尚无预计算的盲区表（迁移 0010），本次实时计算。",
            "en": "The store has no precomputed gaps (migration 0010); computed live.",
        }
    label = city_time.offset_label(zone)
    when = f"{city_time.fmt(state.changed_at, zone, city_time.SECOND)} {label}"
    when = when if state.changed_at else "?"
    if state.refreshed_at is None:
        zh, en = "预计算的盲区从未刷新", "The precomputed gaps were never refreshed"
    else:
        done = f"{city_time.fmt(state.refreshed_at, zone, city_time.SECOND)} {label}"
        zh = f"预计算的盲区（{done}）早于摄像头/道路的最新变更（{when}）"
        en = f"The precomputed gaps ({done}) are older than the latest camera/line change ({when})"
    return {
        "zh": f"{zh}，本次实时计算；请运行 python -m analytics coverage --refresh。",
        "en": f"{en}; computed live. Run python -m analytics coverage --refresh.",
    }


def provide(ctx: Context) -> None:
    """The lines' uncovered parts in the bbox (``?of=fire_lanes|roads``: one kind)."""
    query, answer = ctx.query, ctx.answer
    kinds = [k for k in LINES if k in query.filters.get("of", tuple(LINES))]
    deg_per_m = degrees_per_metre(ctx.settings.city.extent)
    features: list[str] = []
    length = covered = 0.0
    gaps = 0
    box = (query.bbox.minx, query.bbox.miny, query.bbox.maxx, query.bbox.maxy)
    state = state_by(ctx.execute)
    stored = state is not None and state.fresh
    for kind in kinds:
        kind_length, kind_covered, _, _, kind_gaps, texts = gap_page(
            ctx.execute, kind, ctx.viewer, box, deg_per_m, stored, query.limit - len(features)
        )
        length, covered, gaps = length + kind_length, covered + kind_covered, gaps + kind_gaps
        features += texts
    answer.features_json = f"[{','.join(features)}]"
    share = covered / length if length else None
    answer.meta |= {
        "count": len(features),
        "capped": gaps > query.limit,
        "coverage": {
            "of": kinds,
            "length_m": round(length, 1),
            "covered_m": round(covered, 1),
            "share": round(share, 4) if share is not None else None,
            "precomputed": stored,
            "refreshed_at": state.refreshed_at.isoformat()
            if state and state.refreshed_at
            else None,
        },
    }
    if not stored:
        answer.meta["note"] = stale_note(state, ctx.settings.city.timezone)
