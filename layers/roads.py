"""Roads (道路) as a switchable layer (classes and names in popups); only main roads when
zoomed out. The always-on own base map draws them cased by class (:mod:`layers.cartography`),
so this layer starts switched off."""

from geodata import vocab
from layers.base import Coarse, Layer, LegendItem, PopupField

MAIN = ("motorway", "trunk", "primary", "secondary")
KIND_COLORS = {
    "motorway": "#f59e0b",
    "trunk": "#fbbf24",
    "primary": "#cbd5e1",
    "secondary": "#94a3b8",
    "tertiary": "#64748b",
    "residential": "#475569",
    "service": "#334155",
    "footway": "#334155",
    "cycleway": "#334155",
    "other": "#334155",
}
KIND_WEIGHTS = {"motorway": 4, "trunk": 3.5, "primary": 3, "secondary": 2.2, "tertiary": 1.6}

LAYER = Layer(
    id="roads",
    title={"zh": "道路", "en": "Roads"},
    source="road",
    geometry="line",
    group="base",
    min_zoom=9,
    coarse=Coarse(zoom=14, column="kind", values=MAIN),
    style={"color": "#475569", "weight": 1.2, "opacity": 0.9},
    style_by="kind",
    value_style={kind: {"weight": w} for kind, w in KIND_WEIGHTS.items()},
    legend=tuple(
        LegendItem(dict(vocab.ROAD_KINDS[k]), KIND_COLORS[k], k)
        for k in ("motorway", "trunk", "primary", "secondary", "tertiary", "residential", "other")
    ),
    popup=(
        PopupField("name", {"zh": "名称", "en": "Name"}),
        PopupField("kind", {"zh": "等级", "en": "Class"}),
        PopupField("lanes", {"zh": "车道数", "en": "Lanes"}),
    ),
    value_labels={"kind": {k: dict(v) for k, v in vocab.ROAD_KINDS.items()}},
    label_en=None,
    visible=False,
)
