"""Organisations (组织): enterprises, shops, social and party organisations … by kind."""

from geodata import vocab
from layers.base import Filter, Layer, LegendItem, PopupField

KIND_COLORS = {
    "enterprise": "#60a5fa",
    "shop": "#f472b6",
    "social": "#34d399",
    "party": "#ef4444",
    "property": "#a78bfa",
    "government": "#facc15",
    "school": "#fb923c",
    "medical": "#2dd4bf",
}

LAYER = Layer(
    id="organisations",
    title={"zh": "组织机构", "en": "Organisations"},
    source="organization",
    geometry="point",
    group="things",
    min_zoom=10,
    aggregate_below_zoom=15,
    style={"radius": 4, "color": "#0b1220", "weight": 1, "fillOpacity": 0.9},
    style_by="kind",
    filters=(Filter("kind", "kind", tuple(vocab.ORGANIZATION_KINDS)),),
    legend=tuple(
        LegendItem(dict(vocab.ORGANIZATION_KINDS[k]), c, k) for k, c in KIND_COLORS.items()
    ),
    popup=(
        PopupField("name", {"zh": "名称", "en": "Name"}),
        PopupField("kind", {"zh": "类型", "en": "Kind"}),
        PopupField("address", {"zh": "地址", "en": "Address"}),
        PopupField("employees", {"zh": "从业人数", "en": "Employees"}),
    ),
    value_labels={"kind": {k: dict(v) for k, v in vocab.ORGANIZATION_KINDS.items()}},
    label_en=None,
    visible=False,
    unit={"zh": "家组织", "en": "organisations"},
)
