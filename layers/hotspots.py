"""Hot and cold spots (热点分析): Getis-Ord Gi* classes of incident counts per H3 cell.

Served by the ``hotspots`` provider (:mod:`layers.providers.hotspots`, with the statistic of
:mod:`analytics.hotspots`); the time window and the category/status/severity filters are those
of the incident layers, ``?res=8|9`` the H3 resolution (8 by default). Each hexagon's ``level``
is its class index, so the ramp below is the class colours (cold 99 % … hot 99 %).
"""

from analytics.hotspots import CLASSES, RESOLUTIONS
from layers import events
from layers.base import Filter, Layer, LegendItem, ProviderName

LAYER = Layer(
    id="hotspots",
    title={"zh": "热点分析", "en": "Hot spots (Gi*)"},
    source="event",
    geometry="polygon",
    group="analysis",
    provider=ProviderName.HOTSPOTS,
    min_zoom=8,
    filters=(Filter("res", None, tuple(str(r) for r in RESOLUTIONS)), *events.FILTERS),
    time_column=events.TIME_COLUMN,
    style={"stroke": False, "fillOpacity": 0.5},
    ramp=tuple(c.color for c in CLASSES),
    legend=tuple(LegendItem({"zh": c.zh, "en": c.en}, c.color, c.code) for c in reversed(CLASSES)),
    label=None,
    label_en=None,
    visible=False,
    unit={"zh": "起事件", "en": "incidents"},
)
