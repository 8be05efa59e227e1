"""Buildings (房屋), coloured by use; H3 counts when zoomed out; extruded in the 3D view."""

from geodata import vocab
from layers.base import Extrusion, Layer, LegendItem, PopupField

USE_COLORS = {
    "residential": "#60a5fa",
    "commercial": "#f472b6",
    "office": "#c084fc",
    "public": "#34d399",
    "school": "#facc15",
    "industrial": "#fb923c",
    "mixed": "#2dd4bf",
    "other": "#9ca3af",
}

LAYER = Layer(
    id="buildings",
    title={"zh": "建筑", "en": "Buildings"},
    source="building",
    geometry="polygon",
    min_zoom=11,
    aggregate_below_zoom=15,
    style={"color": "#0b1220", "weight": 0.6, "fillColor": "#9ca3af", "fillOpacity": 0.85},
    hover_style={"weight": 2, "color": "#f8fafc"},
    style_by="use",
    legend=tuple(
        LegendItem(dict(vocab.BUILDING_USES[use]), color, use) for use, color in USE_COLORS.items()
    ),
    popup=(
        PopupField("name", {"zh": "名称", "en": "Name"}),
        PopupField("address", {"zh": "地址", "en": "Address"}),
        PopupField("use", {"zh": "用途", "en": "Use"}),
        PopupField("floors", {"zh": "层数", "en": "Floors"}),
        PopupField("height", {"zh": "高度 (米)", "en": "Height (m)"}),
        PopupField("year_built", {"zh": "建成年份", "en": "Year built"}),
    ),
    value_labels={"use": {k: dict(v) for k, v in vocab.BUILDING_USES.items()}},
    label_en=None,
    group="base",
    extrusion=Extrusion(height="height", floors="floors", storey_m=3.0),
    unit={"zh": "栋建筑", "en": "buildings"},
)
