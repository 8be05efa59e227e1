"""Renderer: turn layer specs into deck.gl layers (pydeck JSON) for the 3D twin. Dash-free.

Each :class:`Overlay` names a deck layer fed by one registry layer through the viewport API
(``/api/layers/<id>?bbox=&zoom=`` plus fixed ``params`` and, for layers with a time dimension,
the page's time window and category). :func:`render` picks the deck.gl layer type from the
spec — HeatmapLayer for the heatmap provider, H3HexagonLayer for hexagons, extruded polygons
for layers with an :class:`~layers.base.Extrusion`, columns for beacons, GeoJSON otherwise —
and writes its accessors as deck.gl JSON expressions (``@@=…``) over the API's GeoJSON. Lines
(area outlines, roads) are a LineLayer of their own beside it (:func:`strokes`, fed with the
features' segments). The base map's names have no deck layer: the glue writes them as HTML
over the canvas.
Layers are emitted with ``data: []``; the browser glue (``assets/deck_glue.js``) fetches the
data and fills it in, adding two derived properties to every feature:

* ``_pos`` — ``[lon, lat]``: the point itself, or the mean of a polygon's outer ring;
* ``_t`` — the feature's value (``value``/``weight``/``count``) over the largest in view, 0..1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

import pydeck as pdk

from geodata import city_time
from geodata.vocab import Text
from layers.base import Layer, ProviderName

RGBA = list[int]
Style = Literal["auto", "outline", "beacon", "points", "labels"]

LEAFLET_TO_DECK_ZOOM = -1.0
"""deck.gl zooms count 512-px tiles, Leaflet and the API 256-px ones: deck = leaflet − 1."""
DEFAULT_FILL: RGBA = [148, 163, 184, 220]
AGGREGATE_ALPHA = 150
COLUMN_HEIGHT_M = 200.0
"""Height of the tallest hexagon column in view (metres)."""
BEACON_HEIGHT_M = 90.0
LEVELS = 6


def rgba(color: str, alpha: int = 255) -> RGBA:
    """``#rrggbb`` (or ``#rgb``) as ``[r, g, b, a]``."""
    value = color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6 or not all(c in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    return [int(value[i : i + 2], 16) for i in (0, 2, 4)] + [alpha]


def _literal(value: object) -> str:
    """A JSON expression literal (strings single-quoted, numbers as they are)."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return json.dumps(value)


def _number(value: object) -> float:
    """A numeric style value (``weight``, ``fillOpacity`` …) as a float."""
    if not isinstance(value, int | float | str):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


def match(prop: str, colors: dict[str, RGBA], default: RGBA) -> str:
    """Expression: the colour of ``properties[prop]`` (loose ``==``, so 3 matches '3')."""
    expr = json.dumps(default)
    for value, color in reversed(colors.items()):
        expr = f"properties.{prop} == {_literal(value)} ? {json.dumps(color)} : {expr}"
    return expr


def ramp(colors: tuple[str, ...], alpha: int, prop: str = "level") -> str:
    """Expression: ``properties[prop]`` (0..5, from the API) picks a colour of the ramp."""
    table = [rgba(c, alpha) for c in _six(colors)]
    expr = json.dumps(table[0])
    for level in range(1, LEVELS):
        expr = f"properties.{prop} >= {level} ? {json.dumps(table[level])} : ({expr})"
    return expr


def _six(colors: tuple[str, ...]) -> tuple[str, ...]:
    """``colors`` stretched or cut to the API's six levels."""
    if not colors:
        raise ValueError("empty colour ramp")
    return tuple(colors[min(len(colors) - 1, i * len(colors) // LEVELS)] for i in range(LEVELS))


# A ramp of the dark UI: deep blue → cyan → white, for counts of layers without their own.
DEFAULT_RAMP = ("#1e3a5f", "#1d4ed8", "#3b82f6", "#60a5fa", "#93c5fd", "#e0f2fe")


@dataclass(frozen=True)
class Overlay:
    """One deck layer of the twin, fed by registry layer ``layer`` with fixed ``params``."""

    id: str
    layer: Layer
    params: dict[str, str] = field(default_factory=dict)
    title: Text | None = None
    style: Style = "auto"
    min_zoom: float | None = None
    """API zoom below which nothing is requested (default: the layer's own)."""
    visible: bool = True
    ramp: tuple[str, ...] = ()
    """Colours of counts, low to high (default: the layer's ramp)."""
    url: str | None = None
    """An API path answering ``?bbox=&zoom=`` instead of the layer's (the base map's labels)."""

    @property
    def label(self) -> Text:
        return self.title or self.layer.title


def _value_colors(layer: Layer, alpha: int) -> dict[str, RGBA]:
    return {i.value: rgba(i.color, alpha) for i in layer.legend if i.value is not None}


def _fill(layer: Layer, alpha: int) -> str:
    """Expression: features coloured by ``style_by`` (or the style's fill), aggregates by ramp."""
    base = layer.style.get("fillColor") or layer.style.get("color")
    default = rgba(base, alpha) if isinstance(base, str) else [*DEFAULT_FILL[:3], alpha]
    plain = (
        match(layer.style_by, _value_colors(layer, alpha), default)
        if layer.style_by
        else json.dumps(default)
    )
    return f"properties.aggregate ? {ramp(layer.ramp or DEFAULT_RAMP, AGGREGATE_ALPHA)} : {plain}"


def _common(overlay: Overlay) -> dict[str, object]:
    return {"id": overlay.id, "data": [], "pickable": True}


def extruded(overlay: Overlay) -> pdk.Layer:
    """Polygons raised to their height (else floors × storey); aggregates as flat hexagons (a
    view of aggregates only is drawn with ``extruded`` off: no side walls to compile)."""
    ex = overlay.layer.extrusion
    assert ex is not None
    parts = [f"properties.{ex.height}"] if ex.height else []
    if ex.floors:
        parts.append(f"properties.{ex.floors} * {ex.storey_m:g}")
    height = " || ".join([*parts, f"{ex.storey_m:g}"])
    return pdk.Layer(
        "GeoJsonLayer",
        **_common(overlay),
        extruded=True,
        wireframe=False,
        filled=True,
        stroked=False,
        get_elevation=f"properties.aggregate ? 0 : ({height})",
        get_fill_color=_fill(overlay.layer, 235),
        material={"ambient": 0.45, "diffuse": 0.6, "shininess": 24, "specularColor": [60, 80, 110]},
        auto_highlight=True,
        highlight_color=[94, 234, 212, 200],
    )


def outline(overlay: Overlay) -> pdk.Layer | None:
    """Area boundaries' faint fill (``None`` when the layer has no fill opacity); the lines
    themselves are the overlay's :func:`strokes`."""
    style = overlay.layer.style
    color = str(style.get("color", "#64748b"))
    fill_alpha = int(255 * _number(style.get("fillOpacity", 0) or 0) * 0.6)
    if fill_alpha <= 0:
        return None
    return pdk.Layer(
        "GeoJsonLayer",
        **_common(overlay),
        filled=True,
        stroked=False,
        get_fill_color=rgba(str(style.get("fillColor", color)), fill_alpha),
    )


STROKES_SUFFIX = "-strokes"
"""Id of an overlay's line layer: ``<overlay id>-strokes``."""
STROKED: tuple[str, ...] = ("outline", "lines")
"""The kinds of overlay whose lines are a :func:`strokes` layer."""


def strokes(overlay: Overlay) -> pdk.Layer | None:
    """The lines of an outline or line overlay (area boundaries in the layer's colour, roads
    coloured by ``style_by``) as a deck.gl LineLayer over straight segments — the glue splits
    each feature's lines and rings into ``{_from, _to, properties}``; ``None`` for other kinds.

    Not the GeoJsonLayer's own strokes: those are a PathLayer (mitred joints) whose shaders cost
    software WebGL (SwiftShader, a wall without a GPU) 0.5–1 s to compile on the first frame;
    at 1–2.5 px, segments look the same."""
    layer = overlay.layer
    kind = _kind(overlay)
    extra: dict[str, object] = {}
    if kind == "outline":
        get_color: str | RGBA = rgba(str(layer.style.get("color", "#64748b")), 210)
        width = _number(layer.style.get("weight", 1))
        extra["width_min_pixels"] = 1
    elif kind == "lines":
        color = rgba(str(layer.style.get("color", "#475569")), 230)
        get_color = (
            match(layer.style_by, _value_colors(layer, 230), color) if layer.style_by else color
        )
        width = _number(layer.style.get("weight", 1.2))
    else:
        return None
    return pdk.Layer(
        "LineLayer",
        id=overlay.id + STROKES_SUFFIX,
        data=[],
        pickable=True,
        get_source_position="_from",
        get_target_position="_to",
        get_color=get_color,
        get_width=width,
        width_units="'pixels'",
        **extra,
    )


def shapes(overlay: Overlay) -> pdk.Layer:
    """Flat polygons (camera wedges …) and points, coloured by ``style_by``; aggregates ramped."""
    layer = overlay.layer
    alpha = int(255 * _number(layer.style.get("fillOpacity", 0.5) or 0.5))
    radius = _number(layer.style.get("radius", 4))
    return pdk.Layer(
        "GeoJsonLayer",
        **_common(overlay),
        filled=True,
        stroked=True,
        point_type="'circle'",
        get_fill_color=_fill(layer, max(alpha, 70)),
        get_line_color=match(layer.style_by, _value_colors(layer, 255), [226, 232, 240, 255])
        if layer.style_by and layer.geometry != "point"
        else [8, 12, 20, 230],
        get_line_width=1,
        line_width_units="'pixels'",
        get_point_radius=radius + 1,
        point_radius_units="'pixels'",
        point_radius_min_pixels=2,
        auto_highlight=True,
    )


def beacons(overlay: Overlay) -> pdk.Layer:
    """Columns standing on points (alarms): visible between extruded buildings."""
    layer = overlay.layer
    assert layer.style_by is not None, "beacons are coloured by the layer's style_by"
    color = match(layer.style_by, _value_colors(layer, 255), [239, 68, 68, 255])
    return pdk.Layer(
        "ColumnLayer",
        **_common(overlay),
        disk_resolution=12,
        radius=9,
        extruded=True,
        get_position="properties._pos",
        get_elevation=f"{BEACON_HEIGHT_M:g} * (0.6 + 0.4 * properties._t)",
        get_fill_color=color,
        material={"ambient": 0.9, "diffuse": 0.3},
    )


def hexagon_columns(overlay: Overlay) -> pdk.Layer:
    """H3 cells as columns: height by value share in view, colour by the API's level."""
    colors = overlay.ramp or overlay.layer.ramp or DEFAULT_RAMP
    return pdk.Layer(
        "H3HexagonLayer",
        **_common(overlay),
        get_hexagon="properties.h3",
        extruded=True,
        coverage=0.6,
        elevation_scale=1,
        get_elevation=f"{COLUMN_HEIGHT_M:g} * properties._t",
        get_fill_color=ramp(colors, 165),
        material={"ambient": 0.55, "diffuse": 0.55, "shininess": 16},
        auto_highlight=True,
        highlight_color=[250, 204, 21, 230],
    )


def heatmap(overlay: Overlay) -> pdk.Layer:
    """Weighted points as a glowing deck.gl heatmap in the layer's colour ramp.

    Drawn over everything (no depth test), so heat between tall buildings stays visible; the
    ramp's darkest colour is transparent, so cold ground keeps the map legible.
    """
    ramp_rgb = [rgba(c)[:3] for c in _six(overlay.ramp or overlay.layer.ramp or DEFAULT_RAMP)]
    colors = [[*ramp_rgb[0], 0], *([*c, 235] for c in ramp_rgb[1:])]
    return pdk.Layer(
        "HeatmapLayer",
        **{**_common(overlay), "pickable": False},
        get_position="geometry.coordinates",
        get_weight="properties.weight || properties.count || 1",
        aggregation="'SUM'",
        radius_pixels=80,
        intensity=3,
        threshold=0.03,
        opacity=0.85,
        color_range=colors,
        parameters={"depthCompare": "always", "depthWriteEnabled": False},
    )


LABEL_SIZES = {"district": 18, "street": 15, "community": 13}
"""Label sizes (pixels) by governance level; road names are :data:`ROAD_LABEL_SIZE`."""
ROAD_LABEL_SIZE = 11


Kind = Literal[
    "labels", "beacon", "outline", "points", "heatmap", "hexagons", "extruded", "lines", "shapes"
]


def _kind(overlay: Overlay) -> Kind:
    """How ``overlay`` is drawn (from its style, provider and geometry)."""
    layer = overlay.layer
    if overlay.style != "auto":
        return overlay.style
    if layer.provider == ProviderName.HEATMAP:
        return "heatmap"
    if layer.provider == ProviderName.HEXAGONS:
        return "hexagons"
    if layer.extrusion is not None:
        return "extruded"
    if layer.geometry == "line":
        return "lines"
    return "shapes"


_DRAW = {
    "beacon": beacons,
    "outline": outline,
    "points": shapes,
    "heatmap": heatmap,
    "hexagons": hexagon_columns,
    "extruded": extruded,
    "shapes": shapes,
}


def render(overlay: Overlay) -> pdk.Layer | None:
    """The deck.gl layer drawing ``overlay``'s features (chosen from its style, provider and
    geometry); ``None`` for lines without a fill (roads, unfilled outlines), which are all
    :func:`strokes`, and for the base map's names, which the glue writes as HTML over the
    canvas (:func:`source`'s ``labels``)."""
    draw = _DRAW.get(_kind(overlay))
    return draw(overlay) if draw else None


def deck_layers(overlay: Overlay) -> list[pdk.Layer]:
    """The deck.gl layers of ``overlay``: its own (:func:`render`), then its :func:`strokes`."""
    return [layer for layer in (render(overlay), strokes(overlay)) if layer is not None]


def source(overlay: Overlay) -> dict[str, object]:
    """What the glue needs to fetch an overlay's data by viewport and draw it: its strokes
    layer (when it has one), the kind of geometry the API answers (the warm-up sample), the
    pixel sizes of names by level (``labels``: names are HTML, not a deck layer) and, for
    extruded layers, the API zoom below which the answer is aggregate cells, drawn flat
    (``aggregateBelow``: the warm-up compiles only what the first frame draws)."""
    layer = overlay.layer
    return {
        "layer": layer.id,
        "params": dict(overlay.params),
        "minZoom": layer.min_zoom if overlay.min_zoom is None else overlay.min_zoom,
        "maxZoom": layer.max_zoom,
        "time": layer.time_column is not None,
        "category": layer.filter_for("category") is not None,
        "url": overlay.url,
        "labels": {**LABEL_SIZES, "": ROAD_LABEL_SIZE} if overlay.style == "labels" else None,
        "aggregateBelow": layer.aggregate_below_zoom if _kind(overlay) == "extruded" else None,
        "strokes": overlay.id + STROKES_SUFFIX if _kind(overlay) in STROKED else None,
        "geometry": "point" if overlay.style == "points" else layer.geometry,
    }


def tooltip(overlay: Overlay, lang: str) -> dict[str, object]:
    """Tooltip fields of an overlay in ``lang``: title field (and, on English pages, its English
    twin ``labelEn`` shown when a feature has it), rows (with their ``nameEn`` twins), labels of
    coded values."""
    layer = overlay.layer
    labels: dict[str, dict[str, str]] = {
        column: {code: text.get(lang) or text["zh"] for code, text in values.items()}
        for column, values in layer.value_labels.items()
    }
    if layer.style_by:
        labels.setdefault(layer.style_by, {})
        labels[layer.style_by] |= {
            i.value: i.label.get(lang) or i.label["zh"] for i in layer.legend if i.value
        }
    return {
        "title": overlay.label.get(lang) or overlay.label["zh"],
        "label": layer.label,
        "labelEn": layer.label_en if lang == "en" else None,
        "fields": [
            {
                "name": f.name,
                "nameEn": f.name_en if lang == "en" else None,
                "label": f.label.get(lang) or f.label["zh"],
            }
            for f in layer.popup
            if f.name not in (layer.label, layer.label_en)
        ],
        "values": labels,
    }


@dataclass(frozen=True)
class View:
    """Where the camera looks: centre, zoom (Leaflet/API scale), pitch and bearing."""

    latitude: float
    longitude: float
    zoom: float
    pitch: float = 50.0
    bearing: float = -20.0

    def deck(self) -> pdk.ViewState:
        """The deck.gl view state (deck zooms are one less than Leaflet's)."""
        return pdk.ViewState(
            latitude=self.latitude,
            longitude=self.longitude,
            zoom=self.zoom + LEAFLET_TO_DECK_ZOOM,
            pitch=self.pitch,
            bearing=self.bearing,
            max_pitch=75,
            min_zoom=7,
            max_zoom=20,
        )


def deck_json(overlays: tuple[Overlay, ...], view: View) -> dict[str, object]:
    """The pydeck ``Deck(...).to_json()`` of the overlays, without a base map provider."""
    deck = pdk.Deck(
        layers=[layer for o in overlays for layer in deck_layers(o)],
        initial_view_state=view.deck(),
        views=[pdk.View("MapView", controller=True)],
        map_provider=None,
        map_style=None,
        parameters=None,
    )
    return json.loads(deck.to_json())


def spec(
    overlays: tuple[Overlay, ...],
    view: View,
    lang: str,
    *,
    api: str,
    bundle: str,
    container: str,
    strings: dict[str, str] | None = None,
    zone: str = city_time.DEFAULT_ZONE,
) -> dict[str, object]:
    """Everything the browser needs to draw the twin: the deck JSON, data sources, tooltips;
    tooltips show instants in the IANA zone ``zone`` (the city's, ``ONEMAP_TIMEZONE``)."""
    ids = [o.id for o in overlays]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate overlay ids: {ids}")
    return {
        "container": container,
        "bundle": bundle,
        "api": api,
        "lang": lang,
        "timeZone": zone,
        "deck": deck_json(overlays, view),
        "order": ids,
        "sources": {o.id: source(o) for o in overlays},
        "tooltips": {o.id: tooltip(o, lang) for o in overlays},
        "strings": dict(strings or {}),
    }
