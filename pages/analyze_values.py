"""How the analyst page shows values: codes by their name in the page's language, instants in
the city's time — while the question and the CSV keep the codes and ISO 8601 instants.

A coded field (an incident's category, a facility's kind, a device's state …) is shown by the
zh/en label of the store's one map of coded columns (:data:`geodata.code_labels.CODE_LABELS`)
and picked from a searchable list of those labels (:func:`options`: typing a label in either
language, or the code, finds it). What comes back from a picker is read as codes
(:func:`codes`): anything that is not one of the options is refused (:class:`NotAnOption`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.question_catalog import LAYERS, LayerSpec
from geodata import city_time, code_labels
from geodata.code_labels import Labels
from web.i18n import pick

HIDDEN = {"display": "none"}
"""Style of the one of a filter row's text box and picker that is not in use."""
LIST_OPERATORS = ("in", "between")
"""Operators taking several values (a multi-select picker)."""
SHOWN_MAX = 40
"""Characters of a refused value repeated in the page's message."""


class NotAnOption(ValueError):
    """A picker's value that is not one of its options (a forged request: no picker sends it)."""

    def __init__(self, layer: str, field: str, value: object) -> None:
        text = value if isinstance(value, str) else repr(value)
        self.value = text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX] + "…"
        self.layer, self.field = layer, field
        super().__init__(f"{self.value!r} is not one of the values of {layer}.{field}")


def _column(layer: str | None, name: str | None) -> tuple[str, str] | None:
    spec: LayerSpec | None = LAYERS.get(layer or "")
    field = spec.field(name) if spec and isinstance(name, str) else None
    return (spec.table, field.column) if spec and field else None


def labels(layer: str | None, name: str | None) -> Labels:
    """The labels of field ``name`` of question layer ``layer`` ({} for an uncoded field)."""
    column = _column(layer, name)
    return code_labels.labels(*column) if column else {}


def choices(layer: str | None, name: str | None) -> tuple[str, ...]:
    """The codes a picker of field ``name`` of ``layer`` offers (() for an uncoded field)."""
    column = _column(layer, name)
    return code_labels.choices(*column) if column else ()


def is_coded(layer: str | None, name: str | None) -> bool:
    """Whether field ``name`` of ``layer`` is picked from a list rather than typed."""
    return bool(choices(layer, name))


def label_of(layer: str | None, name: str | None, code: str, lang: str) -> str:
    """The name of ``code`` in ``lang`` (the code itself when it has none)."""
    found = labels(layer, name).get(code)
    return pick(found, lang) if found else code


def _search(names: Labels, code: str) -> str:
    return " ".join(dict.fromkeys((*names.get(code, {}).values(), code)))


def options(layer: str | None, name: str | None, lang: str) -> list[dict[str, object]]:
    """The picker's options of field ``name`` of ``layer``: each code by its label in
    ``lang`` (searchable by its label in either language and by the code); a grouped column's
    codes under a heading (a disabled option) per group."""
    column = _column(layer, name)
    if column is None:
        return []
    names = code_labels.labels(*column)
    groups = code_labels.GROUPS.get(column, {})
    out: list[dict[str, object]] = []
    heading = None
    for code in code_labels.choices(*column):
        group = groups.get(code)
        if group is not None and group != heading:
            heading = group
            label = f"— {label_of(layer, name, group, lang)} —"
            out.append({"label": label, "value": f"group:{group}", "disabled": True})
        search = " ".join((_search(names, code), _search(names, group) if group else ""))
        out.append({"label": label_of(layer, name, code, lang), "value": code, "search": search})
    return out


def codes(layer: str, name: str, value: object) -> list[str]:
    """The codes a picker of field ``name`` of ``layer`` holds (one, or a list for a
    multi-select); :class:`NotAnOption` for anything that is not one of its options."""
    offered = choices(layer, name)
    picked = value if isinstance(value, list) else [value]
    for item in picked:
        if not isinstance(item, str) or item not in offered:
            raise NotAnOption(layer, name, item)
    return [str(item) for item in picked]


@dataclass(frozen=True)
class Picker:
    """What a filter row shows for a field: the value picker's options, whether it takes
    several values, the value it keeps, and which of picker and text box is shown."""

    options: list[dict[str, object]]
    multi: bool
    value: object
    pick_style: dict | None
    text_style: dict | None


def picker(
    layer: str | None, field: str | None, op: str | None, value: object, lang: str
) -> Picker:
    """The row's picker for ``field`` of ``layer`` under operator ``op``: the codes of
    ``value`` that are among its options kept (a list for ``in``/``between``)."""
    if not is_coded(layer, field):
        return Picker([], False, None, HIDDEN, None)
    offered = choices(layer, field)
    kept = [v for v in (value if isinstance(value, list) else [value]) if v in offered]
    multi = op in LIST_OPERATORS
    return Picker(
        options(layer, field, lang),
        multi,
        kept if multi else (kept[0] if kept else None),
        None,
        HIDDEN,
    )


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
    """A table cell: a code by its label (an integer code too: a severity), an instant
    (ISO 8601) as city time to the second."""
    if value is None:
        return ""
    if is_time(layer, name) and isinstance(value, str):
        return instant(value, tz)
    if isinstance(value, str):
        return label_of(layer, name, value, lang)
    if isinstance(value, int) and not isinstance(value, bool) and is_coded(layer, name):
        return label_of(layer, name, str(value), lang)
    if isinstance(value, list):
        return ("、" if lang == "zh" else ", ").join(shown(layer, name, v, lang, tz) for v in value)
    return str(value)
