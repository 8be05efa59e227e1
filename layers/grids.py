"""Grids (网格): the smallest governance unit, each with its grid worker."""

from layers.areas import AREA_POPUP, level_filter
from layers.base import Layer, LegendItem

COLOR = "#94a3b8"

LAYER = Layer(
    id="grids",
    title={"zh": "网格", "en": "Grids"},
    source="area",
    where=level_filter("grid"),
    geometry="polygon",
    min_zoom=12,
    style={"color": COLOR, "weight": 0.8, "fill": True, "fillColor": COLOR, "fillOpacity": 0.04},
    hover_style={"weight": 2, "fillOpacity": 0.15},
    legend=(LegendItem({"zh": "网格界", "en": "Grid boundary"}, COLOR),),
    popup=AREA_POPUP,
    selects_area=True,
)
