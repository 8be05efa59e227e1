"""The declarative layer spec. Layer modules build one :class:`Layer`; they never import Dash.

A layer says where its data comes from (``source`` table, ``where``/``exclude`` rows, a named
``provider`` for layers that are not plain features), when it is drawn (zoom range, the zoom
below which it is aggregated to H3 cells or admin areas), how (style, legend, popup fields) and
who may see it. Everything here is data; the engine that answers a layer is
:mod:`layers.engine`, its providers are in :mod:`layers.providers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from geodata.vocab import ALL_ROLES, Text

GeometryKind = Literal["polygon", "line", "point", "mixed"]
Group = Literal["base", "things", "events", "analysis"]


class ProviderName(StrEnum):
    """How the layer is served: plain features of its table (counted per H3 cell or area when
    zoomed out), or one of the special providers. :data:`layers.providers.registry.PROVIDERS`
    has exactly one provider per name (checked at import)."""

    FEATURES = "features"
    RESIDENTS = "residents"
    HEATMAP = "heatmap"
    HEXAGONS = "hexagons"
    FORECAST = "forecast"
    HOTSPOTS = "hotspots"
    COVERAGE_GAPS = "coverage_gaps"


Shape = Literal["as_is", "fov_wedge"]
"""The drawn geometry: the stored one, or a camera's field-of-view wedge built in SQL."""
AggregateBy = Literal["h3", "area"]

LANGUAGES = ("zh", "en")
POINT_CAP = 2000
"""Features per request for dense point layers: more markers than this in one view are
unreadable and slow to draw (the response says ``capped``; zoom in or use the aggregates)."""
GROUPS: dict[str, Text] = {
    "base": {"zh": "底图与区划", "en": "Base map & areas"},
    "things": {"zh": "人·物·组织", "en": "People, things, organisations"},
    "events": {"zh": "事件", "en": "Incidents"},
    "analysis": {"zh": "分析", "en": "Analysis"},
}


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a colour and what it means (``value`` of the layer's ``style_by``)."""

    label: Text
    color: str
    value: str | None = None


@dataclass(frozen=True)
class PopupField:
    """A column shown in the feature popup, with its label; on English pages the property
    ``name_en`` is shown instead when the feature has it (like :attr:`Layer.label_en`)."""

    name: str
    label: Text
    name_en: str | None = None


@dataclass(frozen=True)
class Filter:
    """A query parameter the layer accepts (``?status=a,b``), and the column it filters.

    ``prefix`` also matches dotted sub-codes (``category=fire_safety`` keeps
    ``fire_safety.blocked_lane``); ``values`` lists the accepted values (None: any).
    ``column=None`` marks an option of the layer's provider rather than a row filter.
    """

    param: str
    column: str | None
    values: tuple[str, ...] | None = None
    prefix: bool = False


@dataclass(frozen=True)
class Coarse:
    """Below ``zoom`` only rows whose ``column`` is one of ``values`` (e.g. main roads)."""

    zoom: int
    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Extrusion:
    """How the 3D view extrudes a polygon layer: a height column, else floors × storey."""

    height: str | None = "height"
    floors: str | None = "floors"
    storey_m: float = 3.0


@dataclass(frozen=True)
class Layer:
    """A map layer: where its features come from, when they are drawn, and how.

    ``min_zoom``/``max_zoom`` bound the zooms that get anything; between ``min_zoom`` and
    ``aggregate_below_zoom`` the layer is served as counts per H3 cell (``aggregate_by="h3"``)
    or per governance area of ``aggregate_level`` (``"area"``) instead of features.
    ``where`` keeps only rows whose column equals a value (e.g. ``level = 'district'``),
    ``exclude`` drops rows whose column equals a value.
    """

    id: str
    title: Text
    source: str
    geometry: GeometryKind
    style: dict[str, object]
    legend: tuple[LegendItem, ...]
    popup: tuple[PopupField, ...] = ()
    min_zoom: int = 0
    max_zoom: int = 22
    roles: frozenset[str] = ALL_ROLES
    aggregate_below_zoom: int | None = None
    aggregate_by: AggregateBy = "h3"
    aggregate_level: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    exclude: tuple[tuple[str, str], ...] = ()
    label: str | None = "name"
    label_en: str | None = "name_en"
    style_by: str | None = None
    visible: bool = True
    hover_style: dict[str, object] = field(default_factory=dict)
    value_style: dict[str, dict[str, object]] = field(default_factory=dict)
    """Extra style per value of ``style_by`` (e.g. a dashed fire lane)."""
    value_labels: dict[str, dict[str, Text]] = field(default_factory=dict)
    """zh/en labels of coded values of other columns (``{'kind': {'smoke': {…}}}``)."""
    group: Group = "base"
    provider: ProviderName = ProviderName.FEATURES
    shape: Shape = "as_is"
    filters: tuple[Filter, ...] = ()
    time_column: str | None = None
    coarse: Coarse | None = None
    extrusion: Extrusion | None = None
    ramp: tuple[str, ...] = ()
    """Colours of aggregate counts, low to high (log scale); empty: the map's default."""
    min_count: int | None = None
    """Aggregates below this many are suppressed (small-cell privacy rule)."""
    max_features: int | None = None
    """Cap on features per request for this layer (below the app-wide ``max_features``)."""
    selects_area: bool = False
    """Clicking a feature selects that governance area (zoom to it, filter other widgets)."""
    unit: Text | None = None
    """What an aggregate counts, after the number ("120 栋建筑" / "120 buildings")."""
    note: Text | None = None
    """Shown instead of data (e.g. a slot analytics fills later)."""
    computed: tuple[tuple[str, str], ...] = ()
    """Feature properties computed in SQL from the row ``t`` (name, expression), e.g. a title
    rendered in each language; a name here is not read as a column."""

    def __post_init__(self) -> None:
        missing = [lang for lang in LANGUAGES if not self.title.get(lang)]
        if missing:
            raise ValueError(f"layer {self.id!r}: title lacks {missing}")
        if not 0 <= self.min_zoom <= self.max_zoom <= 22:
            raise ValueError(f"layer {self.id!r}: need 0 <= min_zoom <= max_zoom <= 22")
        if self.aggregate_below_zoom is not None and not (
            self.min_zoom <= self.aggregate_below_zoom <= self.max_zoom
        ):
            raise ValueError(f"layer {self.id!r}: aggregate_below_zoom outside its zoom range")
        if self.aggregate_by == "area" and not self.aggregate_level:
            raise ValueError(f"layer {self.id!r}: aggregate_by='area' needs aggregate_level")
        params = [f.param for f in self.filters]
        if len(set(params)) != len(params):
            raise ValueError(f"layer {self.id!r}: duplicate filter parameters {params}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns sent as feature properties (no duplicates, in order)."""
        names = [self.label, self.label_en, self.style_by]
        names += [n for f in self.popup for n in (f.name, f.name_en)]
        computed = {name for name, _ in self.computed}
        return tuple(dict.fromkeys(n for n in names if n and n not in computed))

    @property
    def referenced_columns(self) -> tuple[str, ...]:
        """Every source column the spec names (checked against the model)."""
        names = [
            *self.columns,
            *(c for c, _ in self.where),
            *(c for c, _ in self.exclude),
            *(f.column for f in self.filters if f.column),
            self.time_column,
            self.coarse.column if self.coarse else None,
        ]
        return tuple(dict.fromkeys(n for n in names if n))

    def shown_at(self, zoom: float) -> bool:
        """True when anything of this layer is drawn at ``zoom``."""
        return self.min_zoom <= zoom <= self.max_zoom

    def aggregated_at(self, zoom: float) -> bool:
        """True when this layer is served as aggregates at ``zoom``."""
        return self.aggregate_below_zoom is not None and zoom < self.aggregate_below_zoom

    def allows(self, role: str) -> bool:
        """True when ``role`` may see this layer."""
        return role in self.roles

    def filter_for(self, param: str) -> Filter | None:
        """The filter behind query parameter ``param`` (None when the layer has none)."""
        return next((f for f in self.filters if f.param == param), None)

    def describe(self) -> dict[str, object]:
        """A JSON-ready summary (for ``GET /api/layers``, the pages and the 3D view)."""
        return {
            "id": self.id,
            "title": dict(self.title),
            "group": self.group,
            "provider": self.provider,
            "geometry": self.geometry,
            "min_zoom": self.min_zoom,
            "max_zoom": self.max_zoom,
            "aggregate_below_zoom": self.aggregate_below_zoom,
            "aggregate_by": self.aggregate_by,
            "style": dict(self.style),
            "style_by": self.style_by,
            "legend": [
                {"label": dict(i.label), "color": i.color, "value": i.value} for i in self.legend
            ],
            "popup": [
                {"name": f.name, "name_en": f.name_en, "label": dict(f.label)} for f in self.popup
            ],
            "filters": [
                {"param": f.param, "values": list(f.values) if f.values else None}
                for f in self.filters
            ],
            "time": self.time_column is not None,
            "extrusion": _extrusion(self.extrusion),
            "ramp": list(self.ramp),
            "min_count": self.min_count,
            "visible": self.visible,
            "unit": dict(self.unit) if self.unit else None,
            "note": dict(self.note) if self.note else None,
        }


def _extrusion(value: Extrusion | None) -> dict[str, object] | None:
    if value is None:
        return None
    return {"height": value.height, "floors": value.floors, "storey_m": value.storey_m}
