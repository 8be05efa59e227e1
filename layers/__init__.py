"""Everything about map layers: what each layer is, and the engine that answers a viewport.

Declarations (data only, no SQL): :mod:`layers.base` (the :class:`~layers.base.Layer` spec and
:class:`~layers.base.ProviderName`), one module per layer (``buildings``, ``incidents``, …)
listed in :mod:`layers.registry`, colour ramps (:mod:`layers.ramps`), and how the maps draw
them (:mod:`layers.leaflet`, :mod:`layers.deck`, :mod:`layers.basemaps`).

The engine, in the order a request goes through it: :mod:`layers.query` (parse the request
into a :class:`~layers.query.LayerQuery`), :mod:`layers.engine` (the one entry point:
:func:`~layers.engine.answer`; role check, table check, zoom, provider, one connection),
:mod:`layers.sql` (the WHERE clause of a layer query — bbox, filters, time, area, scope — and
the zoom maths), :mod:`layers.providers` (one module per provider: features, H3 counts, area
counts, residents, heatmap, hexagons, hotspots, forecast, coverage gaps; analytics hand them
numbers and rows) and :mod:`layers.geojson` (the GeoJSON text written back).
"""
