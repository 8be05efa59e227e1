"""Risk forecast (风险预测): the latest stored run of ``python -m analytics forecast``.

Served by the ``forecast`` provider (:mod:`layers.providers.forecast`, from the cells stored by
:mod:`analytics.forecast_store`): H3 hexagons (or grids, ``?unit=grid``) coloured by the
incidents expected over ``?horizon=7|30`` days, for the category group ``?group=<code>``
(``all`` by default), with the 80% interval in the tooltip and the model version and run time
in the answer's note. No run stored: an empty collection with a note saying how to make one.
"""

from analytics.forecast_common import HORIZONS, UNITS
from layers.base import Filter, Layer, ProviderName
from layers.ramps import HEAT, ramp_legend

LAYER = Layer(
    id="risk_forecast",
    title={"zh": "风险预测", "en": "Risk forecast"},
    source="event",
    geometry="polygon",
    group="analysis",
    provider=ProviderName.FORECAST,
    min_zoom=8,
    filters=(
        Filter("horizon", None, tuple(str(h) for h in HORIZONS)),
        Filter("group", None, None),
        Filter("unit", None, UNITS),
    ),
    style={"stroke": False, "fillOpacity": 0.5},
    ramp=HEAT,
    legend=ramp_legend(
        HEAT,
        {"zh": "预计事件少", "en": "Few expected"},
        {"zh": "预计事件多", "en": "Many expected"},
    ),
    note={
        "zh": "最近一次预测运行（python -m analytics forecast）的预计事件数；悬停查看 80% 区间。",
        "en": "Incidents expected by the latest forecast run (python -m analytics forecast); "
        "hover for the 80% interval.",
    },
    label=None,
    label_en=None,
    visible=False,
    unit={"zh": "起（预计）", "en": "incidents expected"},
)
