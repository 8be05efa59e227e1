"""Every provider by its :class:`layers.base.ProviderName`: exactly one each, checked at import."""

from __future__ import annotations

from layers.base import ProviderName
from layers.providers import (
    coverage_gaps,
    features,
    forecast,
    heatmap,
    hexagons,
    hotspots,
    residents,
)
from layers.providers.base import Provider


def _one_each(pairs: tuple[tuple[ProviderName, Provider], ...]) -> dict[ProviderName, Provider]:
    """``pairs`` as a mapping, after checking every name has exactly one provider."""
    names = [name for name, _ in pairs]
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    missing = sorted(str(n) for n in set(ProviderName) - set(names))
    if twice or missing:
        raise ValueError(f"providers: more than one for {twice}, none for {missing}")
    return dict(pairs)


PROVIDERS: dict[ProviderName, Provider] = _one_each(
    (
        (ProviderName.FEATURES, features.provide),
        (ProviderName.RESIDENTS, residents.provide),
        (ProviderName.HEATMAP, heatmap.provide),
        (ProviderName.HEXAGONS, hexagons.provide),
        (ProviderName.FORECAST, forecast.provide),
        (ProviderName.HOTSPOTS, hotspots.provide),
        (ProviderName.COVERAGE_GAPS, coverage_gaps.provide),
    )
)
"""How each kind of layer is served; the ``features`` provider's layers are counted per H3
cell or area when zoomed out (:data:`layers.engine.AGGREGATES`)."""
