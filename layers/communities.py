"""Communities (社区)."""

from layers.areas import AREA_POPUP, level_filter
from layers.base import Layer, LegendItem

COLOR = "#fbbf24"

LAYER = Layer(
    id="communities",
    title={"zh": "社区", "en": "Communities"},
    source="area",
    where=level_filter("community"),
    geometry="polygon",
    min_zoom=12,
    style={"color": COLOR, "weight": 1.2, "fill": True, "fillOpacity": 0},
    legend=(LegendItem({"zh": "社区界", "en": "Community boundary"}, COLOR),),
    popup=AREA_POPUP,
    selects_area=True,
    visible=False,
)
