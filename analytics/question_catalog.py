"""What an analyst question may name: layers, their fields and the operators per field kind.

Everything here is an allow-list. A question layer is a view of a table of
:mod:`geodata.catalogue` (maybe narrowed to fixed rows) with that table's analyst fields (kind,
label, vocabulary). A question names layers and fields by these keys; the SQL identifiers come
only from the catalogue, never from the question. Values are checked against the field's kind
(and vocabulary, where it has one) and then bound as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from geodata import catalogue
from geodata.catalogue import AnalystField, AnalystKind
from geodata.vocab import ResidentStatus, Text

OPERATORS: dict[AnalystKind, tuple[str, ...]] = {
    "text": ("=", "!=", "in"),
    "code": ("=", "!=", "in"),
    "int": ("=", "!=", "<", "<=", ">", ">=", "between", "in"),
    "float": ("=", "!=", "<", "<=", ">", ">=", "between"),
    "timestamp": ("<", "<=", ">", ">=", "between"),
    "tags": ("has",),
    "bool": ("=",),
}
"""The operators each kind of field accepts."""


@dataclass(frozen=True)
class LayerSpec:
    """A layer a question may ask about (``subject``) or measure distances to (``reference``)."""

    name: str
    table: str
    title: Text
    fields: dict[str, AnalystField]
    fixed: tuple[tuple[str, str], ...] = ()
    """Rows always kept: ``column = value`` (e.g. ``kind = 'camera'``)."""
    subject: bool = True
    reference: bool = True
    counts_per_building: bool = False
    """Answered as counts per building only (people), never row by row."""
    wedge: bool = False
    """Measured by the cameras' field-of-view wedge rather than the stored point."""
    scoped_reference: bool = False
    """As a reference layer, limited to the viewer's areas (case data), not city-wide."""
    places: str | None = None
    """A table of the distinct places (building, area, point) of the rows, where a counts-per-
    building question measures distances and areas (the same buildings, far fewer rows)."""
    catalogued_as: str | None = None
    """The catalogue table whose rules (scope column) apply, when ``table`` is not in it."""

    def at_places(self) -> LayerSpec:
        """This layer read from its :attr:`places` table (no fixed rows: only the places of
        rows that count are there)."""
        if self.places is None:
            raise ValueError(f"layer {self.name!r} has no places table")
        return replace(self, table=self.places, fixed=(), catalogued_as=self.table)

    def field(self, name: str) -> AnalystField | None:
        """The field called ``name`` (None if the layer has none)."""
        return self.fields.get(name)


def _layer(
    name: str,
    table: str,
    title: Text | None = None,
    omit: tuple[str, ...] = (),
    **options: Any,
) -> LayerSpec:
    """A question layer over catalogue table ``table``: its analyst fields but ``omit``, under
    ``title`` (default: the table's)."""
    entry = catalogue.table(table)
    fields = {key: f for key, f in entry.analyst.items() if key not in omit}
    return LayerSpec(name, entry.name, title or dict(entry.title), fields, **options)


_FIELD_OF_VIEW = ("heading", "fov", "range_m")

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        _layer(
            "residents",
            "resident",
            {"zh": "居民（按楼栋计数）", "en": "Residents (counts per building)"},
            fixed=(("status", ResidentStatus.active),),
            reference=False,
            counts_per_building=True,
            places="resident_place",
        ),
        _layer("buildings", "building"),
        _layer("houses", "house", {"zh": "房屋（户）", "en": "Homes"}),
        _layer("devices", "device", {"zh": "物联设备", "en": "Devices"}, omit=_FIELD_OF_VIEW),
        _layer(
            "cameras",
            "device",
            {"zh": "视频监控（视场）", "en": "Cameras (field of view)"},
            omit=("kind",),
            fixed=(("kind", "camera"),),
            wedge=True,
        ),
        _layer("facilities", "facility", {"zh": "公共设施", "en": "Facilities"}),
        _layer("incidents", "event", scoped_reference=True),
        _layer("organisations", "organization"),
        _layer("roads", "road"),
    )
}
"""Every layer a question may name, by its key."""

BUILDING_COUNT_COLUMNS: tuple[tuple[str, Text], ...] = (
    ("building_id", {"zh": "建筑编号", "en": "Building ID"}),
    ("building", {"zh": "建筑", "en": "Building"}),
    ("count", {"zh": "人数", "en": "People"}),
)
"""The table of a counts-per-building answer."""
DISTANCE_COLUMN: tuple[str, Text] = ("distance_m", {"zh": "距离 (米)", "en": "Distance (m)"})
