"""Shared parts of the incident layers: severity colours, filters, the time column."""

from geodata import catalogue, vocab
from layers.base import Filter, LegendItem

SEVERITY_COLORS = {"1": "#38bdf8", "2": "#facc15", "3": "#f97316", "4": "#ef4444"}
SEVERITY_LEGEND = tuple(
    LegendItem(vocab.SEVERITY_LABELS[s], c, s) for s, c in SEVERITY_COLORS.items()
)
FILTERS = (
    Filter("status", "status", tuple(vocab.EVENT_STATUS)),
    Filter("category", "category", None, prefix=True),
    Filter("severity", "severity", tuple(SEVERITY_COLORS)),
)
TIME_COLUMN = catalogue.table("event").time_column
"""The incidents' time column, as the catalogue has it (``reported_at``)."""
