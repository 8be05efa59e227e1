"""Street offices (街道)."""

from layers.areas import AREA_POPUP, level_filter
from layers.base import Layer, LegendItem

COLOR = "#a78bfa"

LAYER = Layer(
    id="streets",
    title={"zh": "街道", "en": "Street offices"},
    source="area",
    where=level_filter("street"),
    geometry="polygon",
    min_zoom=11,
    style={"color": COLOR, "weight": 1.5, "dashArray": "6 4", "fill": True, "fillOpacity": 0},
    legend=(LegendItem({"zh": "街道界", "en": "Street office boundary"}, COLOR),),
    popup=AREA_POPUP,
    selects_area=True,
)
