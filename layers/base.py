"""The declarative layer spec. Layer modules build one :class:`Layer`; they never import Dash."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Text = dict[str, str]
"""A UI string in every language: ``{'zh': …, 'en': …}``."""

GeometryKind = Literal["polygon", "line", "point"]
ALL_ROLES = frozenset({"public", "leader", "grid_worker", "planner", "analyst", "admin"})
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a colour and what it means (``value`` of the layer's ``style_by``)."""

    label: Text
    color: str
    value: str | None = None


@dataclass(frozen=True)
class PopupField:
    """A column shown in the feature popup, with its label."""

    name: str
    label: Text


@dataclass(frozen=True)
class Layer:
    """A map layer: where its features come from, when they are drawn, and how.

    ``min_zoom``/``max_zoom`` bound the zooms that get anything; between ``min_zoom`` and
    ``aggregate_below_zoom`` the layer is served as H3 cell counts instead of features.
    ``where`` keeps only rows whose column equals a value (e.g. ``level = 'district'``).
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
    where: tuple[tuple[str, str], ...] = ()
    label: str = "name"
    label_en: str | None = "name_en"
    style_by: str | None = None
    visible: bool = True
    hover_style: dict[str, object] = field(default_factory=dict)

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

    @property
    def columns(self) -> tuple[str, ...]:
        """The source columns sent as feature properties (no duplicates, in order)."""
        names = [self.label, self.label_en, self.style_by, *(f.name for f in self.popup)]
        return tuple(dict.fromkeys(n for n in names if n))

    def shown_at(self, zoom: float) -> bool:
        """True when anything of this layer is drawn at ``zoom``."""
        return self.min_zoom <= zoom <= self.max_zoom

    def aggregated_at(self, zoom: float) -> bool:
        """True when this layer is served as H3 aggregates at ``zoom``."""
        return self.aggregate_below_zoom is not None and zoom < self.aggregate_below_zoom

    def allows(self, role: str) -> bool:
        """True when ``role`` may see this layer."""
        return role in self.roles

    def describe(self) -> dict[str, object]:
        """A JSON-ready summary (for ``GET /api/layers`` and the page)."""
        return {
            "id": self.id,
            "title": dict(self.title),
            "geometry": self.geometry,
            "min_zoom": self.min_zoom,
            "max_zoom": self.max_zoom,
            "aggregate_below_zoom": self.aggregate_below_zoom,
            "style": dict(self.style),
            "style_by": self.style_by,
            "legend": [
                {"label": dict(i.label), "color": i.color, "value": i.value} for i in self.legend
            ],
            "popup": [{"name": f.name, "label": dict(f.label)} for f in self.popup],
            "visible": self.visible,
        }
