"""Residents (人口): counts only — per H3 cell zoomed out, per building zoomed in.

Never individual people and never identity fields: the ``residents`` provider returns counts of
active residents, suppresses every cell or building with fewer than ``min_count`` people, and
with ``?care=<tag>`` adds the number and share with that care tag (suppressed below
``min_count`` as well).
"""

from geodata import vocab
from geodata.privacy import MIN_COUNT
from layers.base import Filter, Layer, LegendItem, ProviderName
from layers.ramps import VIOLET, ramp_legend

LAYER = Layer(
    id="residents",
    title={"zh": "人口分布", "en": "Residents"},
    source="resident",
    geometry="polygon",
    group="things",
    provider=ProviderName.RESIDENTS,
    min_zoom=9,
    aggregate_below_zoom=16,
    min_count=MIN_COUNT,
    filters=(Filter("care", None, tuple(vocab.CARE_TAGS)),),
    style={"stroke": False, "fillOpacity": 0.55},
    ramp=VIOLET,
    legend=(
        *ramp_legend(VIOLET, {"zh": "人少", "en": "Fewer people"}, {"zh": "人多", "en": "More"}),
        LegendItem(
            {"zh": f"少于 {MIN_COUNT} 人不显示", "en": f"Under {MIN_COUNT}: hidden"}, "#1e293b"
        ),
    ),
    value_labels={"care": {k: dict(v) for k, v in vocab.CARE_TAGS.items()}},
    label=None,
    label_en=None,
    visible=False,
    unit={"zh": "人", "en": "people"},
)
