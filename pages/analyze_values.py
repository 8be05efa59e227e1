"""How the analyst page shows values: codes by their name in the page's language, instants in
the city's time — while the question and the CSV keep the codes and ISO 8601 instants.

A coded field (an incident's category, a facility's kind, a device's state …) is shown by the
zh/en label the map's popups use; a value box holds the label too, and a label typed in either
language (or the code itself) is read back as the code (:func:`code_of`).
"""

from __future__ import annotations

from datetime import datetime

from analytics.question_catalog import LAYERS, LayerSpec
from geodata import city_time, vocab
from layers import devices, events, facilities
from web.i18n import pick

Labels = dict[str, dict[str, str]]
"""code -> {"zh": …, "en": …}"""

SEXES: Labels = {"F": {"zh": "女", "en": "Female"}, "M": {"zh": "男", "en": "Male"}}
HUKOU: Labels = {
    "local": {"zh": "本地户籍", "en": "Local hukou"},
    "floating": {"zh": "流动人口", "en": "Floating population"},
}
HOUSEHOLD_ROLES: Labels = {
    "head": {"zh": "户主", "en": "Head of household"},
    "spouse": {"zh": "配偶", "en": "Spouse"},
    "child": {"zh": "子女", "en": "Child"},
    "parent": {"zh": "父母", "en": "Parent"},
    "other": {"zh": "其他", "en": "Other"},
}

BY_COLUMN: dict[tuple[str, str], Labels] = {
    ("event", "category"): events.CATEGORY_LABELS,
    ("event", "status"): vocab.EVENT_STATUS_LABELS,
    ("event", "level"): vocab.HANDLING_LEVEL_LABELS,
    ("event", "severity"): events.SEVERITY_LABELS,
    ("device", "kind"): devices.KIND_LABELS,
    ("device", "status"): devices.STATE_LABELS,
    ("facility", "kind"): vocab.FACILITY_KINDS,
    ("facility", "status"): {str(k): v for k, v in facilities.STATUS_LABELS.items()},
    ("building", "use"): vocab.BUILDING_USES,
    ("house", "occupancy"): vocab.OCCUPANCY,
    ("organization", "kind"): vocab.ORGANIZATION_KINDS,
    ("road", "kind"): vocab.ROAD_KINDS,
    ("resident", "care_tags"): vocab.CARE_TAGS,
    ("resident", "sex"): SEXES,
    ("resident", "hukou"): HUKOU,
    ("resident", "household_role"): HOUSEHOLD_ROLES,
}
"""The labels of each coded column, per table (the map layers' own, where they have them)."""


def labels(layer: str | None, name: str | None) -> Labels:
    """The labels of field ``name`` of question layer ``layer`` ({} for an uncoded field)."""
    spec: LayerSpec | None = LAYERS.get(layer or "")
    field = spec.field(name) if spec and name else None
    if spec is None or field is None:
        return {}
    return BY_COLUMN.get((spec.table, field.column), {})


def label_of(layer: str | None, name: str | None, code: str, lang: str) -> str:
    """The name of ``code`` in ``lang`` (the code itself when it has none)."""
    found = labels(layer, name).get(code)
    return pick(found, lang) if found else code


def code_of(layer: str | None, name: str | None, typed: str) -> str:
    """The code a value box's text means: a label in either language, or the code itself."""
    typed = typed.strip()
    for code, names in labels(layer, name).items():
        if typed == code or typed in names.values():
            return code
    return typed


def is_time(layer: str | None, name: str) -> bool:
    """Whether field ``name`` of question layer ``layer`` holds instants."""
    spec = LAYERS.get(layer or "")
    field = spec.field(name) if spec else None
    return field is not None and field.kind == "timestamp"


def field_label(layer: str | None, name: str, lang: str) -> str:
    """The name of field ``name`` of question layer ``layer`` in ``lang``."""
    spec = LAYERS.get(layer or "")
    field = spec.field(name) if spec else None
    return pick(field.label, lang) if field else name


def instant(value: str | None, tz: str) -> str:
    """An ISO 8601 instant as the city's clock time to the second ("" for None)."""
    if value is None:
        return ""
    return city_time.fmt(datetime.fromisoformat(value), tz, city_time.SECOND)


def shown(layer: str | None, name: str, value: object, lang: str, tz: str) -> str:
    """A table cell: a code by its label, an instant (ISO 8601) as city time to the second."""
    if value is None:
        return ""
    if is_time(layer, name) and isinstance(value, str):
        return instant(value, tz)
    if isinstance(value, str):
        return label_of(layer, name, value, lang)
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(shown(layer, name, v, lang, tz) for v in value)
    return str(value)
