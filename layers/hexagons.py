"""H3 hexagons (六边形统计) of any point layer: count, density per km², or share with a tag.

``?of=<layer>`` picks the point layer (incidents by default), ``?metric=count|density|share``
the value; ``share`` is the share of residents with ``?care=<tag>`` (residents only, with the
small-cell suppression of the residents layer). The layer's own time and category filters
apply when ``of`` is incidents.
"""

from geodata import vocab
from layers import events
from layers.base import Filter, Layer, ProviderName
from layers.ramps import BLUE, ramp_legend

SOURCES = ("incidents", "residents", "organisations", "sensors", "cameras", "facilities")
METRICS = ("count", "density", "share")

LAYER = Layer(
    id="hexagons",
    title={"zh": "六边形统计", "en": "H3 hexagons"},
    source="event",
    geometry="polygon",
    group="analysis",
    provider=ProviderName.HEXAGONS,
    min_zoom=8,
    filters=(
        Filter("of", None, SOURCES),
        Filter("metric", None, METRICS),
        Filter("care", None, tuple(vocab.CARE_TAGS)),
        *events.FILTERS,
    ),
    time_column=events.TIME_COLUMN,
    style={"color": "#0b1220", "weight": 0.5, "fillOpacity": 0.6},
    ramp=BLUE,
    legend=ramp_legend(BLUE, {"zh": "低", "en": "Low"}, {"zh": "高", "en": "High"}),
    label=None,
    label_en=None,
    visible=False,
    unit={"zh": "个", "en": "items"},
)
