"""Incident heatmap (事件热力): weighted points per H3 cell over a time window and category.

The 3D view renders it with deck.gl's HeatmapLayer; the 2D map draws the same points as soft
discs. Weight = number of incidents in the cell (``count``) plus ``severity_sum``.
"""

from layers import events
from layers.base import Layer, ProviderName
from layers.ramps import FIRE, ramp_legend

LAYER = Layer(
    id="incident_heatmap",
    title={"zh": "事件热力", "en": "Incident heatmap"},
    source="event",
    geometry="point",
    group="events",
    provider=ProviderName.HEATMAP,
    min_zoom=8,
    filters=events.FILTERS,
    time_column=events.TIME_COLUMN,
    style={"stroke": False, "fillOpacity": 0.35},
    ramp=FIRE,
    legend=ramp_legend(FIRE, {"zh": "较少", "en": "Fewer"}, {"zh": "密集", "en": "Dense"}),
    label=None,
    label_en=None,
    visible=False,
    unit={"zh": "起事件", "en": "incidents"},
)
