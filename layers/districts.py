"""Districts (区): the base map of the city, drawn from our own data."""

from layers.areas import AREA_POPUP, level_filter
from layers.base import Layer, LegendItem

COLOR = "#14b8a6"

LAYER = Layer(
    id="districts",
    title={"zh": "行政区", "en": "Districts"},
    source="area",
    where=level_filter("district"),
    geometry="polygon",
    min_zoom=0,
    style={"color": COLOR, "weight": 2.5, "fillColor": COLOR, "fillOpacity": 0.05},
    hover_style={"weight": 3.5, "fillOpacity": 0.15},
    legend=(LegendItem({"zh": "区界", "en": "District boundary"}, COLOR),),
    popup=AREA_POPUP,
    selects_area=True,
)
