"""Renderer: turn a layer spec into dash-leaflet components (the only Dash-aware layer code).

Styling, tooltips and popups run clientside (``assets/onemap_map.js``, namespace
``onemap.map``) and read everything they need from the component's ``hideout``.
"""

from __future__ import annotations

import dash_leaflet as dl

from layers.base import Layer

JS_NAMESPACE = "onemap.map"
AGGREGATE_COLORS = ("#1e3a5f", "#1d4ed8", "#3b82f6", "#60a5fa", "#93c5fd", "#e0f2fe")


def _js(name: str) -> dict[str, str]:
    """A dash-leaflet function prop pointing at ``window.onemap.map.<name>``."""
    return {"variable": f"{JS_NAMESPACE}.{name}"}


def hideout(layer: Layer, lang: str, strings: dict[str, str]) -> dict[str, object]:
    """Everything the clientside style/popup functions need, in language ``lang``."""
    return {
        "lang": lang,
        "style": dict(layer.style),
        "label": layer.label,
        "labelEn": layer.label_en,
        "styleBy": layer.style_by,
        "colors": {i.value: i.color for i in layer.legend if i.value is not None},
        "valueLabels": {i.value: i.label[lang] for i in layer.legend if i.value is not None},
        "popup": [{"name": f.name, "label": f.label[lang]} for f in layer.popup],
        "aggregateColors": list(AGGREGATE_COLORS),
        "strings": strings,
    }


def geojson(layer: Layer, component_id: dict[str, str], lang: str, strings: dict[str, str]):
    """The ``dl.GeoJSON`` drawing ``layer``; its ``data`` is fetched clientside per viewport."""
    extra = {"hoverStyle": {"arrow": dict(layer.hover_style)}} if layer.hover_style else {}
    return dl.GeoJSON(
        id=component_id,
        data={"type": "FeatureCollection", "features": []},
        style=_js("style"),
        onEachFeature=_js("onEachFeature"),
        hideout=hideout(layer, lang, strings),
        **extra,
    )
