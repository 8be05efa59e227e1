"""Shared parts of the device layers (cameras and sensors): state colours and labels."""

from geodata import vocab
from layers.base import Filter, LegendItem, PopupField

STATE_COLORS = {"online": "#22c55e", "alarm": "#ef4444", "offline": "#64748b"}
STATE_LABELS = {state: vocab.DEVICE_STATUS_LABELS[state] for state in STATE_COLORS}
STATE_LEGEND = tuple(LegendItem(STATE_LABELS[s], c, s) for s, c in STATE_COLORS.items())
STATUS_FILTER = Filter("status", "status", tuple(vocab.DEVICE_STATUS))
KIND_LABELS = {k: dict(v) for k, v in vocab.DEVICE_KINDS.items()}
POPUP = (
    PopupField("kind", {"zh": "类型", "en": "Kind"}),
    PopupField("status", {"zh": "状态", "en": "State"}),
    PopupField("serial", {"zh": "编号", "en": "Serial"}),
    PopupField("model", {"zh": "型号", "en": "Model"}),
    PopupField("last_value", {"zh": "最新读数", "en": "Last reading"}),
    PopupField("last_seen", {"zh": "最后在线", "en": "Last seen"}),
)
