"""Shared parts of the incident layers: severity colours, filters, the time column."""

from geodata import catalogue, vocab
from geodata.taxonomy import DEFAULT_TAXONOMY
from layers.base import Filter, LegendItem

SEVERITY_COLORS = {"1": "#38bdf8", "2": "#facc15", "3": "#f97316", "4": "#ef4444"}
SEVERITY_LABELS = {
    "1": {"zh": "一般", "en": "Low"},
    "2": {"zh": "较重", "en": "Moderate"},
    "3": {"zh": "严重", "en": "Serious"},
    "4": {"zh": "特别严重", "en": "Critical"},
}
CATEGORY_LABELS = {c.code: {"zh": c.name_zh, "en": c.name_en} for c in DEFAULT_TAXONOMY}
"""Incident category code → its name in each language (popups never show the code)."""
SEVERITY_LEGEND = tuple(LegendItem(SEVERITY_LABELS[s], c, s) for s, c in SEVERITY_COLORS.items())
FILTERS = (
    Filter("status", "status", tuple(vocab.EVENT_STATUS)),
    Filter("category", "category", None, prefix=True),
    Filter("severity", "severity", tuple(SEVERITY_COLORS)),
)
TIME_COLUMN = catalogue.table("event").time_column
"""The incidents' time column, as the catalogue has it (``reported_at``)."""
