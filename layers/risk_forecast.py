"""Risk forecast (风险预测): a declared slot; analytics fills it in a later issue.

Until then the ``forecast`` provider returns an empty collection with this layer's note.
"""

from layers.base import Layer
from layers.ramps import HEAT, ramp_legend

LAYER = Layer(
    id="risk_forecast",
    title={"zh": "风险预测", "en": "Risk forecast"},
    source="event",
    geometry="polygon",
    group="analysis",
    provider="forecast",
    min_zoom=8,
    style={"stroke": False, "fillOpacity": 0.5},
    ramp=HEAT,
    legend=ramp_legend(
        HEAT, {"zh": "低风险", "en": "Low risk"}, {"zh": "高风险", "en": "High risk"}
    ),
    note={
        "zh": "风险预测模型尚未接入，待分析模块提供数据。",
        "en": "The risk forecast is not connected yet; analytics will provide it.",
    },
    label=None,
    label_en=None,
    visible=False,
)
