"""The home map's floating panel: layer switches grouped, legends, selected area, zoom.

Everything here is layout (Dash components from layer specs); the callbacks are in
:mod:`pages.home` and the clientside glue.
"""

from __future__ import annotations

from dash import dcc, html

from layers.base import GROUPS, Layer
from pages import ids
from pages.shell import t
from web import i18n

SWATCH_SHAPES = {"line": "swatch swatch-line", "point": "swatch swatch-dot"}


def swatch(color: str, geometry: str = "polygon") -> html.Span:
    """A colour sample shaped like the layer's features."""
    return html.Span(className=SWATCH_SHAPES.get(geometry, "swatch"), style={"background": color})


def _toggle_color(layer: Layer) -> str:
    """The colour that stands for a layer in the switch list."""
    if layer.ramp:
        return layer.ramp[-2]
    return layer.legend[0].color if layer.legend else "#60a5fa"


def layer_options(layers: tuple[Layer, ...], lang: str) -> list[dict[str, object]]:
    """Checklist options: a swatch and the title of each layer (top-drawn first)."""
    return [
        {
            "label": html.Span(
                [swatch(_toggle_color(layer), layer.geometry), i18n.pick(layer.title, lang)],
                className="layer-option",
            ),
            "value": layer.id,
        }
        for layer in reversed(layers)
    ]


def groups(layers: tuple[Layer, ...]) -> dict[str, tuple[Layer, ...]]:
    """The layers of each panel group, in the panel's group order (empty groups left out)."""
    by_group = {g: tuple(layer for layer in layers if layer.group == g) for g in GROUPS}
    return {g: members for g, members in by_group.items() if members}


def legend_rows(layer: Layer, lang: str) -> list[html.Div]:
    """The legend of one layer: its title and a row per colour."""
    rows = [html.Div(i18n.pick(layer.title, lang), className="legend-title")]
    rows += [
        html.Div(
            [swatch(item.color, layer.geometry), i18n.pick(item.label, lang)],
            className="legend-row",
        )
        for item in layer.legend
    ]
    if layer.note:
        rows.append(html.Div(i18n.pick(layer.note, lang), className="legend-note"))
    return rows


def legends(layers: tuple[Layer, ...], lang: str, shown: list[str]) -> list[html.Div]:
    """A legend block per layer; only those of switched-on layers are displayed."""
    return [
        html.Div(
            legend_rows(layer, lang),
            id=ids.legend(layer.id),
            className="legend-block",
            style=None if layer.id in shown else {"display": "none"},
        )
        for layer in reversed(layers)
    ]


def toggles(layers: tuple[Layer, ...], lang: str, shown: list[str]) -> list:
    """A heading and a checklist per group."""
    children: list = []
    for group, members in groups(layers).items():
        children += [
            t(f"group.{group}", lang, className="group-title"),
            dcc.Checklist(
                id=ids.layer_toggles(group),
                options=layer_options(members, lang),
                value=[layer.id for layer in members if layer.id in shown],
                className="layer-toggles",
                labelClassName="layer-toggle",
            ),
        ]
    return children


def area_chip(lang: str) -> html.Div:
    """The selected governance area (whole city until one is clicked) and a clear button."""
    return html.Div(
        id=ids.AREA_CHIP,
        className="area-chip",
        children=[
            t("home.area", lang, className="area-caption"),
            html.Span(i18n.text("home.area_none", lang), id=ids.AREA_NAME, className="area-name"),
            html.Button(
                t("home.area_clear", lang), id=ids.AREA_CLEAR, className="area-clear", n_clicks=0
            ),
        ],
    )


def panel(layers: tuple[Layer, ...], lang: str, shown: list[str]) -> html.Aside:
    """The floating panel: selected area, grouped layer switches, legends, zoom level."""
    return html.Aside(
        className="map-panel",
        children=[
            area_chip(lang),
            html.H2(t("home.layers", lang), className="panel-title"),
            *toggles(layers, lang, shown),
            html.H2(t("home.legend", lang), className="panel-title"),
            html.Div(legends(layers, lang, shown), className="legend"),
            html.P(t("home.hint", lang), className="panel-hint"),
            html.Div(
                [t("home.zoom", lang), html.Span(id=ids.ZOOM_LEVEL, className="zoom-value")],
                className="panel-zoom",
            ),
        ],
    )
