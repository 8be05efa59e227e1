"""What a viewport request asks of a layer: bbox, zoom, limit, time window, filters, area.

The first step of an answer (:mod:`layers.engine`): parsing turns query-string values into a
:class:`LayerQuery` or raises :class:`FeatureQueryError` naming the parameter and what was
expected. The values themselves (:class:`BBox`, :class:`TimeWindow`) are in :mod:`geodata.query`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from geodata import city_time
from geodata.query import MAX_FILTER_VALUES, BBox, FeatureQueryError, TimeWindow, whole_number
from layers.base import Layer

MIN_ZOOM, MAX_ZOOM = 0, 22
STANDARD_PARAMS = frozenset({"bbox", "zoom", "limit", "time", "area"})


def parse_zoom(value: str | None) -> float:
    """Read a web-map zoom level (0..22, fractions allowed)."""
    if value is None or value == "":
        raise FeatureQueryError("zoom", f"missing; expected a number {MIN_ZOOM}..{MAX_ZOOM}")
    try:
        zoom = float(value)
    except ValueError:
        raise FeatureQueryError("zoom", f"{value!r} is not a number") from None
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise FeatureQueryError("zoom", f"{value} is outside {MIN_ZOOM}..{MAX_ZOOM}")
    return zoom


def parse_limit(value: str | None, max_features: int) -> int:
    """Read an optional feature limit (1..``max_features``; default ``max_features``)."""
    if value is None or value == "":
        return max_features
    try:
        limit = int(value)
    except ValueError:
        raise FeatureQueryError("limit", f"{value!r} is not a whole number") from None
    if not 1 <= limit <= max_features:
        raise FeatureQueryError("limit", f"{limit} is outside 1..{max_features}")
    return limit


def parse_area(value: str | None) -> int | None:
    """Read an optional governance-area id (the selected area)."""
    if not value:
        return None
    return whole_number("area", value, 1)


def parse_filters(layer: Layer, args: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The layer's filter values from ``args`` (comma-separated); unknown names are refused."""
    unknown = sorted(k for k in args if k not in STANDARD_PARAMS and not layer.filter_for(k))
    if unknown:
        accepted = ", ".join(sorted(STANDARD_PARAMS | {f.param for f in layer.filters}))
        raise FeatureQueryError(
            unknown[0], f"layer {layer.id!r} takes no parameter {unknown[0]!r}; it takes {accepted}"
        )
    if args.get("time") and not layer.time_column:
        raise FeatureQueryError("time", f"layer {layer.id!r} has no time dimension")
    chosen: dict[str, tuple[str, ...]] = {}
    for spec in layer.filters:
        raw = args.get(spec.param)
        if not raw:
            continue
        values = tuple(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
        bad = [v for v in values if spec.values is not None and v not in spec.values]
        if bad or not values or len(values) > MAX_FILTER_VALUES:
            allowed = ", ".join(spec.values) if spec.values else "codes"
            raise FeatureQueryError(spec.param, f"{raw!r} is not one of {allowed}")
        chosen[spec.param] = values
    return chosen


@dataclass(frozen=True)
class LayerQuery:
    """Everything a request asks of one layer (parsed and checked)."""

    bbox: BBox
    zoom: float
    limit: int
    time: TimeWindow | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    area_id: int | None = None

    @classmethod
    def from_args(
        cls,
        layer: Layer,
        args: Mapping[str, str],
        max_features: int,
        zone: str = city_time.DEFAULT_ZONE,
    ) -> LayerQuery:
        """Parse a request's query string for ``layer`` (``time`` dates are days of the city's
        zone ``zone``)."""
        return cls(
            bbox=BBox.parse(args.get("bbox")),
            zoom=parse_zoom(args.get("zoom")),
            limit=parse_limit(
                args.get("limit"), min(max_features, layer.max_features or max_features)
            ),
            time=TimeWindow.parse(args.get("time"), zone),
            filters=parse_filters(layer, args),
            area_id=parse_area(args.get("area")),
        )

    def option(self, param: str, default: str) -> str:
        """A single-valued provider option (``metric``, ``of``, ``care``)."""
        values = self.filters.get(param)
        return values[0] if values else default

    def echo(self) -> dict[str, object]:
        """The request as the response repeats it."""
        echo: dict[str, object] = {"bbox": self.bbox.as_list(), "zoom": self.zoom}
        if self.time:
            echo["time"] = self.time.as_list()
        if self.filters:
            echo["filters"] = {k: list(v) for k, v in self.filters.items()}
        if self.area_id is not None:
            echo["area"] = self.area_id
        return echo
