"""IoT sensors (感知设备) by kind — smoke, gas, door, water … — coloured by state."""

from geodata import vocab
from layers import devices
from layers.base import POINT_CAP, Filter, Layer

SENSOR_KINDS = tuple(k for k in vocab.DEVICE_KINDS if k != "camera")

LAYER = Layer(
    id="sensors",
    title={"zh": "感知设备", "en": "Sensors"},
    source="device",
    exclude=(("kind", "camera"),),
    geometry="point",
    group="things",
    max_features=POINT_CAP,
    min_zoom=11,
    aggregate_below_zoom=15,
    style={"radius": 3.5, "color": "#0b1220", "weight": 0.8, "fillOpacity": 0.95},
    style_by="status",
    filters=(Filter("kind", "kind", SENSOR_KINDS), devices.STATUS_FILTER),
    legend=devices.STATE_LEGEND,
    popup=devices.POPUP,
    value_labels={"status": devices.STATE_LABELS, "kind": devices.KIND_LABELS},
    label="kind",
    label_en=None,
    visible=False,
    unit={"zh": "台设备", "en": "sensors"},
)
