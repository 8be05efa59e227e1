"""The one map of coded columns: ``(table, column)`` → each code's zh/en label.

Every coded column of the store's feature tables is listed here once, with the labels of
:mod:`geodata.vocab` and :mod:`geodata.taxonomy`. The OGC queryables list its codes as
``enum`` with their titles (:mod:`layers.queryables`), and the analyst's page offers them as
value pickers and shows answers by them (:mod:`pages.analyze_values`). A column's code is
what the store, the questions and the CSV files keep; its label is what people read.
"""

from __future__ import annotations

from collections.abc import Mapping

from geodata import vocab
from geodata.taxonomy import CATEGORY_GROUP, CATEGORY_LABELS
from geodata.vocab import Text

Labels = Mapping[str, Text]
"""code → {"zh": …, "en": …}"""

CODE_LABELS: Mapping[tuple[str, str], Labels] = {
    ("area", "level"): vocab.AREA_LEVELS,
    ("building", "use"): vocab.BUILDING_USES,
    ("house", "occupancy"): vocab.OCCUPANCY,
    ("road", "kind"): vocab.ROAD_KINDS,
    ("facility", "kind"): vocab.FACILITY_KINDS,
    ("facility", "status"): vocab.FACILITY_STATUS_LABELS,
    ("organization", "kind"): vocab.ORGANIZATION_KINDS,
    ("device", "kind"): vocab.DEVICE_KINDS,
    ("device", "status"): vocab.DEVICE_STATUS_LABELS,
    ("event", "category"): CATEGORY_LABELS,
    ("event", "status"): vocab.EVENT_STATUS_LABELS,
    ("event", "level"): vocab.HANDLING_LEVEL_LABELS,
    ("event", "severity"): vocab.SEVERITY_LABELS,
    ("resident", "care_tags"): vocab.CARE_TAGS,
    ("resident", "sex"): vocab.SEX_LABELS,
    ("resident", "hukou"): vocab.HUKOU_LABELS,
    ("resident", "household_role"): vocab.HOUSEHOLD_ROLE_LABELS,
}
"""The labels of each coded column, per table (integer codes, e.g. severity, as text)."""

GROUPS: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("event", "category"): CATEGORY_GROUP,
}
"""Columns whose codes fall in groups: code → its group's code (also a key of the column's
labels). Rows hold the codes, never a group's."""


def labels(table: str, column: str) -> Labels:
    """The labels of ``table.column`` ({} for a column that holds no codes)."""
    return CODE_LABELS.get((table, column), {})


def choices(table: str, column: str) -> tuple[str, ...]:
    """The codes a row of ``table.column`` may hold (a grouped column: its codes, not the
    groups), in the labels' order."""
    grouped = GROUPS.get((table, column))
    codes = labels(table, column)
    return tuple(c for c in codes if grouped is None or c in grouped)
