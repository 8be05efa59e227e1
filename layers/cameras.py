"""Cameras (视频监控) with their field of view: wedges built in SQL from heading/fov/range_m."""

from layers import devices
from layers.base import Layer, PopupField

LAYER = Layer(
    id="cameras",
    title={"zh": "视频监控", "en": "Cameras"},
    source="device",
    where=(("kind", "camera"),),
    geometry="polygon",
    shape="fov_wedge",
    group="things",
    min_zoom=11,
    aggregate_below_zoom=15,
    style={"weight": 1, "fillOpacity": 0.28, "opacity": 0.9},
    style_by="status",
    filters=(devices.STATUS_FILTER,),
    legend=devices.STATE_LEGEND,
    popup=(
        *devices.POPUP[1:4],
        PopupField("heading", {"zh": "朝向 (°)", "en": "Heading (°)"}),
        PopupField("fov", {"zh": "视场角 (°)", "en": "Field of view (°)"}),
        PopupField("range_m", {"zh": "可视距离 (米)", "en": "Range (m)"}),
    ),
    value_labels={"status": devices.STATE_LABELS, "kind": devices.KIND_LABELS},
    label="serial",
    label_en=None,
    visible=False,
    unit={"zh": "路视频", "en": "cameras"},
)
