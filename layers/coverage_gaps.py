"""Camera coverage gaps (监控盲区): parts of fire lanes and roads outside every camera's view.

Served by the ``coverage_gaps`` provider (:mod:`layers.providers.coverage_gaps`): for the lines in
view, the parts no camera's field-of-view wedge covers, with each line's covered share; the
answer's ``coverage`` says the share of length covered in view. ``?of=fire_lanes|roads``
limits it to one kind of line. The gaps are precomputed (``python -m analytics coverage
--refresh``); when cameras or lines changed since, the answer is computed live and its ``note``
and ``coverage.precomputed`` say so.
"""

from layers.base import Filter, Layer, LegendItem, PopupField, ProviderName

COLORS = {"fire_lane": "#f43f5e", "road": "#f59e0b"}
LABELS = {
    "fire_lane": {"zh": "消防通道未覆盖段", "en": "Fire lane, not covered"},
    "road": {"zh": "道路未覆盖段", "en": "Road, not covered"},
}

LAYER = Layer(
    id="coverage_gaps",
    title={"zh": "监控盲区", "en": "Camera coverage gaps"},
    source="facility",
    geometry="line",
    group="analysis",
    provider=ProviderName.COVERAGE_GAPS,
    min_zoom=13,
    filters=(Filter("of", None, ("fire_lanes", "roads")),),
    style={"weight": 3, "opacity": 0.95},
    style_by="kind",
    value_style={"fire_lane": {"dashArray": "6 4"}},
    legend=tuple(LegendItem(LABELS[k], c, k) for k, c in COLORS.items()),
    popup=(
        PopupField("name", {"zh": "名称", "en": "Name"}),
        PopupField("kind", {"zh": "类型", "en": "Kind"}),
    ),
    value_labels={"kind": LABELS},
    label=None,
    label_en=None,
    visible=False,
    max_features=2000,
    unit={"zh": "段", "en": "gaps"},
)
