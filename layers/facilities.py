"""Public facilities (设施): hydrants, AEDs … as points, fire lanes as lines, shelters."""

from geodata import vocab
from layers.base import Filter, Layer, LegendItem, PopupField

KIND_COLORS = {
    "hydrant": "#f87171",
    "fire_lane": "#ef4444",
    "aed": "#4ade80",
    "service_centre": "#38bdf8",
    "waste_station": "#a3e635",
    "ev_charger": "#facc15",
    "shelter": "#22d3ee",
    "elderly_canteen": "#fb923c",
}

LAYER = Layer(
    id="facilities",
    title={"zh": "公共设施", "en": "Facilities"},
    source="facility",
    geometry="mixed",
    group="things",
    min_zoom=11,
    aggregate_below_zoom=15,
    style={"radius": 4, "color": "#0b1220", "weight": 1, "fillOpacity": 0.9},
    style_by="kind",
    value_style={
        "fire_lane": {"weight": 3, "dashArray": "6 4", "fillOpacity": 0},
        "shelter": {"weight": 1.5, "fillOpacity": 0.25},
    },
    filters=(Filter("kind", "kind", tuple(vocab.FACILITY_KINDS)),),
    legend=tuple(LegendItem(dict(vocab.FACILITY_KINDS[k]), c, k) for k, c in KIND_COLORS.items()),
    popup=(
        PopupField("name", {"zh": "名称", "en": "Name"}),
        PopupField("kind", {"zh": "类型", "en": "Kind"}),
        PopupField("status", {"zh": "状态", "en": "State"}),
        PopupField("capacity", {"zh": "容量", "en": "Capacity"}),
    ),
    value_labels={
        "kind": {k: dict(v) for k, v in vocab.FACILITY_KINDS.items()},
        "status": {str(k): v for k, v in vocab.FACILITY_STATUS_LABELS.items()},
    },
    label_en=None,
    visible=False,
    unit={"zh": "处设施", "en": "facilities"},
)
