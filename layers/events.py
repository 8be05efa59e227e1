"""Shared parts of the incident layers: severity colours, filters, the time column."""

from geodata import vocab
from layers.base import Filter, LegendItem

SEVERITY_COLORS = {"1": "#38bdf8", "2": "#facc15", "3": "#f97316", "4": "#ef4444"}
SEVERITY_LABELS = {
    "1": {"zh": "一般", "en": "Low"},
    "2": {"zh": "较重", "en": "Moderate"},
    "3": {"zh": "严重", "en": "Serious"},
    "4": {"zh": "特别严重", "en": "Critical"},
}
STATUS_LABELS = {
    "reported": {"zh": "已上报", "en": "Reported"},
    "dispatched": {"zh": "已派单", "en": "Dispatched"},
    "accepted": {"zh": "已受理", "en": "Accepted"},
    "in_progress": {"zh": "处置中", "en": "In progress"},
    "resolved": {"zh": "已办结", "en": "Resolved"},
    "closed": {"zh": "已关闭", "en": "Closed"},
    "rejected": {"zh": "已驳回", "en": "Rejected"},
}
LEVEL_LABELS = {
    "grid": {"zh": "网格", "en": "Grid"},
    "street": {"zh": "街道", "en": "Street"},
    "district": {"zh": "区", "en": "District"},
}
SEVERITY_LEGEND = tuple(LegendItem(SEVERITY_LABELS[s], c, s) for s, c in SEVERITY_COLORS.items())
FILTERS = (
    Filter("status", "status", tuple(vocab.EVENT_STATUS)),
    Filter("category", "category", None, prefix=True),
    Filter("severity", "severity", tuple(SEVERITY_COLORS)),
)
TIME_COLUMN = "reported_at"
assert set(STATUS_LABELS) == set(vocab.EVENT_STATUS)
