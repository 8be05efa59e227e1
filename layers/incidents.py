"""Incidents (事件) by severity and status, filtered by time window, category and status."""

from geodata import incident_text, vocab
from geodata.taxonomy import CATEGORY_LABELS  # popups never show the code
from layers import events
from layers.base import POINT_CAP, Layer, PopupField

LAYER = Layer(
    id="incidents",
    title={"zh": "事件", "en": "Incidents"},
    source="event",
    geometry="point",
    group="events",
    max_features=POINT_CAP,
    min_zoom=9,
    aggregate_below_zoom=14,
    style={"radius": 5, "color": "#0b1220", "weight": 1, "fillOpacity": 0.95},
    style_by="severity",
    value_style={"3": {"radius": 6.5}, "4": {"radius": 8, "weight": 2, "color": "#fecaca"}},
    filters=events.FILTERS,
    time_column=events.TIME_COLUMN,
    legend=events.SEVERITY_LEGEND,
    popup=(
        PopupField("title", {"zh": "事件", "en": "Incident"}, name_en="title_en"),
        PopupField("category", {"zh": "类别", "en": "Category"}),
        PopupField("severity", {"zh": "等级", "en": "Severity"}),
        PopupField("status", {"zh": "状态", "en": "Status"}),
        PopupField("level", {"zh": "处置层级", "en": "Handled at"}),
        PopupField("reported_at", {"zh": "上报时间", "en": "Reported"}),
    ),
    value_labels={
        "category": CATEGORY_LABELS,
        "severity": vocab.SEVERITY_LABELS,
        "status": vocab.EVENT_STATUS_LABELS,
        "level": vocab.HANDLING_LEVEL_LABELS,
    },
    label="title",
    label_en="title_en",
    computed=(
        ("title", incident_text.title_sql("zh")),
        ("title_en", incident_text.title_sql("en")),
    ),
    unit={"zh": "起事件", "en": "incidents"},
)
