"""The providers that answer a layer's request, one module per provider.

:mod:`layers.providers.base` says what a provider is (one :class:`~layers.providers.base.Context`
in, the answer filled in); :mod:`layers.providers.registry` maps every
:class:`layers.base.ProviderName` to its provider. Features and their counts per H3 cell or area
(:mod:`.features`, :mod:`.h3_counts`, :mod:`.area_counts`), residents, heatmap, hexagons, and
the analyses whose numbers come from :mod:`analytics` (:mod:`.hotspots`, :mod:`.forecast`,
:mod:`.coverage_gaps`). Providers never call back into the engine or the API.
"""
