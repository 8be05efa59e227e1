"""Renderer: turn a layer spec into dash-leaflet components (the only Dash-aware layer code).

Styling, tooltips and popups run clientside (``assets/onemap_map.js``, namespace
``onemap.map``) and read everything they need from the component's ``hideout``.
"""

from __future__ import annotations

import dash_leaflet as dl

from layers.base import Layer, ProviderName
from layers.ramps import BLUE

JS_NAMESPACE = "onemap.map"
AGGREGATE_COLORS = BLUE


def _js(name: str) -> dict[str, str]:
    """A dash-leaflet function prop pointing at ``window.onemap.map.<name>``."""
    return {"variable": f"{JS_NAMESPACE}.{name}"}


def _value_labels(layer: Layer, lang: str) -> dict[str, dict[str, str]]:
    """Display labels of coded values, per column, in ``lang``."""
    labels = {
        column: {value: text.get(lang) or text["zh"] for value, text in values.items()}
        for column, values in layer.value_labels.items()
    }
    if layer.style_by:
        labels.setdefault(layer.style_by, {})
        labels[layer.style_by] |= {
            i.value: i.label[lang] for i in layer.legend if i.value is not None
        }
    return labels


def hideout(layer: Layer, lang: str, strings: dict[str, str], zone: str) -> dict[str, object]:
    """Everything the clientside style/popup functions need, in language ``lang``; instants
    are shown in the IANA zone ``zone`` (the city's, ``ONEMAP_TIMEZONE``)."""
    return {
        "lang": lang,
        "timeZone": zone,
        "layer": layer.id,
        "style": dict(layer.style),
        "label": layer.label,
        "labelEn": layer.label_en,
        "styleBy": layer.style_by,
        "colors": {i.value: i.color for i in layer.legend if i.value is not None},
        "valueStyle": {k: dict(v) for k, v in layer.value_style.items()},
        "valueLabels": _value_labels(layer, lang),
        "popup": [
            {"name": f.name, "nameEn": f.name_en, "label": f.label[lang]} for f in layer.popup
        ],
        "aggregateColors": list(layer.ramp or AGGREGATE_COLORS),
        "unit": (layer.unit or {}).get(lang, ""),
        "heat": layer.provider == ProviderName.HEATMAP,
        "strings": strings,
    }


def geojson(
    layer: Layer, component_id: dict[str, str], lang: str, strings: dict[str, str], zone: str
):
    """The ``dl.GeoJSON`` drawing ``layer`` (times in ``zone``); its ``data`` is fetched
    clientside per viewport."""
    extra = {"hoverStyle": {"arrow": dict(layer.hover_style)}} if layer.hover_style else {}
    return dl.GeoJSON(
        id=component_id,
        data={"type": "FeatureCollection", "features": []},
        style=_js("style"),
        onEachFeature=_js("onEachFeature"),
        pointToLayer=_js("pointToLayer"),
        hideout=hideout(layer, lang, strings, zone),
        zoomToBoundsOnClick=layer.selects_area,
        **extra,
    )
