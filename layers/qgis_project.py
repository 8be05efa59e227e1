"""A QGIS 3 project file (``.qgs``) with every OGC API collection a viewer may read, styled
like the map: one ``OAPIF`` layer per collection, its colours (categorized by the layer's
``style_by`` with the legend's colours, else one symbol in the layer's colour), its label
field, its title in the page's language, all in one layer tree.

The token is never in the file. Every layer names the authentication configuration
:data:`AUTHCFG`; the person opening the project creates it once in QGIS (3.24 or later:
Settings → Options → Authentication, method "API Header", header ``Authorization`` with the
value ``Bearer <token>``, id :data:`AUTHCFG`), so the token stays in QGIS's encrypted store.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from geodata.accounts.viewer import Viewer
from geodata.exports.provider import TableProvider
from geodata.exports.sources import Source
from layers.base import Layer, ProviderName
from layers.collections import COLLECTIONS, extents
from layers.registry import LAYERS

AUTHCFG = "onemap1"
"""The QGIS authentication configuration id every layer uses (QGIS ids are 7 characters)."""
CRS = "EPSG:4326"
CRS_SRSID = "3452"
"""QGIS's own id of EPSG:4326 (its reader takes ``authid`` only beside a known ``srsid``)."""
QGIS_VERSION = "3.22.0"
"""The oldest QGIS whose project format this file follows."""
DEFAULT_COLOR = "#64748b"
PAGE_SIZE = 1000
PX_MM = 0.26
"""Millimetres per screen pixel (96 dpi): the map's pixel sizes in QGIS's millimetres."""
SYMBOL_TYPES = {"Point": "marker", "MultiLineString": "line", "MultiPolygon": "fill"}
STYLED_LAYERS = {layer.id: layer for layer in LAYERS if layer.provider == ProviderName.FEATURES}
"""The map layers of plain features by id (a collection made from one has its id)."""


@dataclass(frozen=True)
class ProjectLayer:
    """One collection as it goes into the project."""

    source: Source
    fields: tuple[str, ...]
    extent: list[float] | None


def readable(provider: TableProvider, viewer: Viewer) -> list[ProjectLayer]:
    """The collections ``viewer`` may read, as ``/ogc/collections`` lists them for it."""
    visible = [s for s in COLLECTIONS.values() if viewer.role in s.roles]
    found = extents(provider, visible, viewer)
    return [
        ProjectLayer(s, tuple(f.name for f in provider.fields(s, viewer)), found[s.id])
        for s in visible
        if s.id in found
    ]


def rgba(color: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` as QGIS writes colours: ``"r,g,b,a"`` (alpha 0-255)."""
    value = color.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"not a #rrggbb colour: {color!r}")
    red, green, blue = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"{red},{green},{blue},{round(max(0.0, min(1.0, opacity)) * 255)}"


def _number(style: dict[str, object], key: str, default: float) -> float:
    value = style.get(key, default)
    return float(value) if isinstance(value, int | float) else default


def _text(parent: ET.Element, tag: str, value: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = value
    return element


def _options(parent: ET.Element, values: dict[str, str]) -> None:
    holder = ET.SubElement(parent, "Option", type="Map")
    for name, value in values.items():
        ET.SubElement(holder, "Option", name=name, type="QString", value=value)


def _symbol_layer(kind: str, fill: str, style: dict[str, object]) -> tuple[str, dict[str, str]]:
    """The QGIS symbol layer class and properties of one symbol in colour ``fill``."""
    stroke = str(style.get("color", fill))
    weight = f"{_number(style, 'weight', 1) * PX_MM:.2f}"
    fill_opacity = _number(style, "fillOpacity", 0.8)
    if kind == "marker":
        size = f"{2 * _number(style, 'radius', 4) * PX_MM:.2f}"
        props = {"name": "circle", "color": rgba(fill, fill_opacity), "size": size}
        return "SimpleMarker", props | {"outline_color": rgba(stroke), "outline_width": weight}
    if kind == "line":
        props = {"line_color": rgba(fill, _number(style, "opacity", 1)), "line_width": weight}
        return "SimpleLine", props | {"line_width_unit": "MM"}
    props = {"color": rgba(fill, fill_opacity), "outline_color": rgba(stroke)}
    return "SimpleFill", props | {"outline_width": weight, "style": "solid"}


def _symbol(parent: ET.Element, name: str, kind: str, fill: str, style: dict) -> None:
    attrs = {"type": kind, "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"}
    symbol = ET.SubElement(parent, "symbol", attrs)
    cls, props = _symbol_layer(kind, fill, style)
    layer = ET.SubElement(
        symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"}
    )
    _options(layer, props)


def base_color(layer: Layer | None) -> str:
    """The colour of a layer drawn with one symbol: its fill, else its stroke."""
    if layer is None:
        return DEFAULT_COLOR
    return str(layer.style.get("fillColor") or layer.style.get("color") or DEFAULT_COLOR)


def categories(layer: Layer | None, fields: tuple[str, ...]) -> list[tuple[str, str, dict]]:
    """``(value, colour, labels)`` per legend row of a layer coloured by ``style_by``, when the
    collection carries that field (else empty: one symbol)."""
    if layer is None or layer.style_by is None or layer.style_by not in fields:
        return []
    return [(i.value, i.color, dict(i.label)) for i in layer.legend if i.value is not None]


def _renderer(parent: ET.Element, item: ProjectLayer, kind: str, lang: str) -> None:
    layer = STYLED_LAYERS.get(item.source.id)
    style = dict(layer.style) if layer else {}
    cats = categories(layer, item.fields)
    common = {"symbollevels": "0", "enableorderby": "0", "forceraster": "0"}
    if not cats:
        renderer = ET.SubElement(parent, "renderer-v2", {"type": "singleSymbol", **common})
        _symbol(ET.SubElement(renderer, "symbols"), "0", kind, base_color(layer), style)
        return
    assert layer is not None and layer.style_by is not None  # categories need both
    attrs = {"type": "categorizedSymbol", "attr": layer.style_by, **common}
    renderer = ET.SubElement(parent, "renderer-v2", attrs)
    listed = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for i, (value, color, labels) in enumerate(cats):
        label = labels.get(lang) or labels["zh"]
        attrs = {"value": value, "label": label, "symbol": str(i), "render": "true"}
        ET.SubElement(listed, "category", attrs | {"type": "string"})
        _symbol(symbols, str(i), kind, color, style | dict(layer.value_style.get(value, {})))
    _symbol(ET.SubElement(renderer, "source-symbol"), "0", kind, base_color(layer), style)


def label_field(item: ProjectLayer, lang: str) -> str | None:
    """The field labelling the features in ``lang`` (None: no labels)."""
    layer = STYLED_LAYERS.get(item.source.id)
    if layer is None:
        return None
    for name in (layer.label_en if lang == "en" else None, layer.label):
        if name and name in item.fields:
            return name
    return None


def _labeling(parent: ET.Element, field: str) -> None:
    labeling = ET.SubElement(parent, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    text_style = {
        "fieldName": field,
        "isExpression": "0",
        "fontSize": "9",
        "fontSizeUnit": "Point",
        "textColor": "30,41,59,255",
        "textOpacity": "1",
    }
    text = ET.SubElement(settings, "text-style", text_style)
    buffer = {"bufferDraw": "1", "bufferSize": "0.8", "bufferSizeUnits": "MM"}
    ET.SubElement(text, "text-buffer", buffer | {"bufferColor": "255,255,255,255"})
    ET.SubElement(settings, "placement", placement="0", dist="1", distUnits="MM")
    ET.SubElement(settings, "rendering", obstacle="1", scaleVisibility="0")


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def datasource(ogc_url: str, collection_id: str) -> str:
    """The OAPIF provider's data source of one collection (authentication by :data:`AUTHCFG`,
    never a token)."""
    parts = {
        "pageSize": str(PAGE_SIZE),
        "restrictToRequestBBOX": "1",
        "typename": collection_id,
        "url": ogc_url,
    }
    return f"authcfg={AUTHCFG} " + " ".join(f"{k}={_quoted(v)}" for k, v in parts.items())


def _srs(parent: ET.Element) -> None:
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    _text(srs, "proj4", "+proj=longlat +datum=WGS84 +no_defs")
    _text(srs, "srsid", CRS_SRSID)
    _text(srs, "srid", CRS.split(":")[1])
    _text(srs, "authid", CRS)
    _text(srs, "geographicflag", "true")


def _extent(parent: ET.Element, tag: str, bbox: list[float] | None) -> None:
    if bbox is None:
        return
    extent = ET.SubElement(parent, tag)
    for name, value in zip(("xmin", "ymin", "xmax", "ymax"), bbox, strict=True):
        _text(extent, name, repr(float(value)))


def layer_id(collection_id: str) -> str:
    """The QGIS layer id of a collection in the project."""
    return f"onemap_{collection_id}"


def _maplayer(parent: ET.Element, item: ProjectLayer, ogc_url: str, lang: str) -> None:
    source = item.source
    geometry = source.geometry_type
    kind = SYMBOL_TYPES.get(geometry, "marker")
    label = label_field(item, lang)
    attrs = {
        "type": "vector",
        "geometry": {"marker": "Point", "line": "Line", "fill": "Polygon"}[kind],
        "labelsEnabled": "1" if label else "0",
        "hasScaleBasedVisibilityFlag": "0",
    }
    element = ET.SubElement(parent, "maplayer", attrs)
    _extent(element, "extent", item.extent)
    _extent(element, "wgs84extent", item.extent)
    _text(element, "id", layer_id(source.id))
    _text(element, "datasource", datasource(ogc_url, source.id))
    _text(element, "layername", source.title.get(lang) or source.title["zh"])
    _srs(ET.SubElement(element, "srs"))
    _text(element, "provider", "OAPIF", encoding="UTF-8")
    _renderer(element, item, kind, lang)
    if label:
        _labeling(element, label)


def project(items: list[ProjectLayer], ogc_url: str, lang: str, title: str) -> bytes:
    """The ``.qgs`` document (UTF-8 XML) of ``items`` served at ``ogc_url``."""
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    _text(root, "title", title)
    _srs(ET.SubElement(root, "projectCrs"))
    # QGIS reads projectCrs only when the project says it uses projections
    properties = ET.SubElement(ET.SubElement(root, "properties"), "SpatialRefSys")
    _text(properties, "ProjectionsEnabled", "1", type="int")
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for item in items:
        name = item.source.title.get(lang) or item.source.title["zh"]
        attrs = {
            "id": layer_id(item.source.id),
            "name": name,
            "source": datasource(ogc_url, item.source.id),
            "providerKey": "OAPIF",
            "checked": "Qt::Checked",
            "expanded": "0",
        }
        ET.SubElement(ET.SubElement(tree, "layer-tree-layer", attrs), "customproperties")
    layers = ET.SubElement(root, "projectlayers")
    for item in items:
        _maplayer(layers, item, ogc_url, lang)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body).encode()
