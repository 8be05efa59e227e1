"""Pieces of the command wall (``/wall``) built from the wall's figures: KPI tiles, the trend
chart (plain elements and CSS, no chart library), the ticker, the breadcrumb and the map's
layers. Layout only: the callbacks are in :mod:`pages.wall`, the SQL in
:mod:`analytics.wall_kpis`.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

import dash
import dash_leaflet as dl
from dash import html
from dash.development.base_component import Component

from analytics.wall_kpis import Kpis, Selection, TickerItem, TrendDay
from geodata import city_time
from geodata.taxonomy import CATEGORY_LABELS
from geodata.vocab import OPEN_STATUSES, AreaLevel, DeviceStatus
from layers import leaflet
from layers.events import SEVERITY_COLORS
from layers.ramps import FIRE
from layers.registry import get_layer
from pages import wall_ids as wid
from pages.shell import data, t
from web import context, i18n

KPI_KEYS = ("open", "overdue", "closure_today", "closure_30d", "alarms", "welfare")
KPI_HINTS = frozenset({"overdue"})
"""Tiles whose definition is stated on hover (``wall.kpi.<key>.hint``)."""
AREA_LAYERS: dict[str, str] = {
    AreaLevel.district: "districts",
    AreaLevel.street: "streets",
    AreaLevel.community: "communities",
    AreaLevel.grid: "grids",
}
ALARM_RAMP = ("#7f1d1d", "#b91c1c", "#dc2626", "#ef4444", "#f87171", "#fecaca")

MAP_LAYERS: dict[str, tuple[str, dict[str, str], bool]] = {
    "risk": ("risk_forecast", {"horizon": "7"}, True),
    "hex": (
        "hexagons",
        {"of": "incidents", "metric": "count", "status": ",".join(OPEN_STATUSES)},
        True,
    ),
    "areas": ("districts", {}, True),
    "alarms": ("sensors", {"status": DeviceStatus.alarm}, False),
}
"""Wall layer key → (registry layer, fixed query parameters, clipped to the selected area),
bottom first. The ``areas`` layer's registry id follows the selection (districts → streets →
communities → grids). Sensors in alarm are drawn for the area's box, not clipped to its polygon
(clipping 300k devices to a district polygon costs about a second at 2 million residents), and
as H3 counts over views wider than :data:`POINT_SPAN` degrees: asked for at zoom
:data:`ALARM_ZOOM` at most there (as points, from zoom 15, a district's thousand alarms cost
about a second); a community's or grid's view gets the points."""
ALARM_ZOOM = 14.0
STYLES = {
    "areas": "onemap.wallMap.areaStyle",
    "risk": "onemap.wallMap.riskStyle",
    "alarms": "onemap.wallMap.alarmStyle",
}
"""Wall layers styled by assets/wall.js (the others by the home map's assets/onemap_map.js)."""
POINT_SPAN = 0.03


def _number(value: int) -> str:
    return f"{value:,}"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def kpi_values(kpis: Kpis, lang: str) -> dict[str, tuple[str, str]]:
    """Tile key → (value text, note text)."""
    received = i18n.text("wall.kpi.of_received", lang)
    return {
        "open": (_number(kpis.open), ""),
        "overdue": (_number(kpis.overdue), ""),
        "closure_today": (
            _rate(kpis.closure_today),
            received.format(n=_number(kpis.received_today)),
        ),
        "closure_30d": (_rate(kpis.closure_30d), received.format(n=_number(kpis.received_30d))),
        "alarms": (_number(kpis.active_alarms), ""),
        "welfare": (_number(kpis.welfare_due), ""),
    }


def _hint(key: str, lang: str) -> dict[str, Any]:
    """A hover text (``title``) of string ``key``, relabelled when the language changes."""
    return {"title": i18n.text(key, lang), **data("i18n-title", key)}


def tiles(values: dict[str, tuple[str, str]], lang: str) -> html.Div:
    """The six KPI tiles."""
    return html.Div(
        className="wall-tiles",
        children=[
            html.Div(
                className=f"wall-tile wall-tile-{key}",
                **(_hint(f"wall.kpi.{key}.hint", lang) if key in KPI_HINTS else {}),
                children=[
                    t(f"wall.kpi.{key}", lang, className="wall-tile-label"),
                    html.Div(values[key][0], id=wid.kpi(key), className="wall-tile-value"),
                    html.Div(values[key][1], id=wid.kpi_note(key), className="wall-tile-note"),
                ],
            )
            for key in KPI_KEYS
        ],
    )


TREND_COLORS = {"received": "#3b82f6", "closed": "#5eead4"}
TREND_LABEL_EVERY = 7
"""The trend's x labels: every 7th day counted back from the last (which is always labelled)."""


def nice_max(value: int) -> int:
    """The trend's y maximum: the smallest 1, 2, 2.5 or 5 × 10^n at least ``value`` that is a
    whole number (1 at least)."""
    power = 10 ** (len(str(max(value, 1))) - 1)
    for tenths in (10, 20, 25, 50, 100):
        top, rest = divmod(tenths * power, 10)
        if not rest and value <= top:
            return top
    raise AssertionError(value)  # pragma: no cover: 10 × power > value


def grid_values(top: int) -> list[int]:
    """The gridlines' values from 0 to ``top`` (a :func:`nice_max`): 4 intervals for 2 × 10^n,
    5 for the others; whole numbers only (1 apart for 1 and 2)."""
    intervals = 4 if str(top).rstrip("0") == "2" else 5
    if top % intervals:
        intervals = top
    return [top * i // intervals for i in range(intervals + 1)]


def label_days(count: int) -> set[int]:
    """Indexes of the days with an x label: the last and every 7th before it."""
    return {i for i in range(count) if (count - 1 - i) % TREND_LABEL_EVERY == 0}


def _percent(value: int, top: int) -> str:
    return f"{value / top * 100:.2f}%"


def _bar(kind: str, value: int, top: int) -> html.Div:
    return html.Div(
        className=f"wall-bar wall-bar-{kind}",
        style={"height": _percent(value, top)},
        **data("value", value),
    )


def trend_chart(days: list[TrendDay], lang: str) -> html.Div:
    """Received and closed incidents per day as pairs of bars: plain elements sized in ``em``
    of the wall (assets/wall.css ``.wall-bars``), no chart library. Heights are percentages of
    a round y maximum (:func:`nice_max`) with gridlines at :func:`grid_values`; each day's hover
    text states its date and both counts; the bars carry their counts as ``data-value``."""
    top = nice_max(max((max(d.received, d.closed) for d in days), default=0))
    labelled = label_days(len(days))
    hover = i18n.text("wall.trend_day", lang)
    legend = html.Div(
        className="wall-bars-legend",
        children=[
            html.Span(
                [
                    html.Span(className="swatch", style={"background": TREND_COLORS[kind]}),
                    i18n.text(f"wall.{kind}", lang),
                ],
                className=f"wall-bars-key wall-bars-key-{kind}",
            )
            for kind in ("received", "closed")
        ],
    )
    values = grid_values(top)
    grid = [
        html.Div(className="wall-bars-grid", style={"bottom": _percent(value, top)})
        for value in values
    ]
    ticks = [html.Span(_number(value), className="wall-bars-tick") for value in values]
    bars = [
        html.Div(
            className="wall-bar-day",
            title=hover.format(
                day=d.day.strftime("%m-%d"), received=_number(d.received), closed=_number(d.closed)
            ),
            **data("day", d.day.isoformat()),
            children=[_bar("received", d.received, top), _bar("closed", d.closed, top)],
        )
        for d in days
    ]
    labels = [
        html.Span(
            html.Span(d.day.strftime("%m-%d"), className="wall-bars-label")
            if i in labelled
            else None,
            className="wall-bars-slot",
        )
        for i, d in enumerate(days)
    ]
    return html.Div(
        className="wall-bars",
        **data("max", top),
        children=[
            legend,
            html.Div(
                className="wall-bars-body",
                children=[
                    html.Div(ticks, className="wall-bars-axis"),
                    html.Div(
                        [*grid, html.Div(bars, className="wall-bars-days")],
                        className="wall-bars-plot",
                    ),
                    html.Div(labels, className="wall-bars-x"),
                ],
            ),
        ],
    )


def _when(moment: datetime) -> str:
    return city_time.fmt(moment, context.timezone())


def ticker_rows(items: list[TickerItem], lang: str) -> list[html.Li]:
    """One line per incident: time, severity dot, category, area (never the title)."""
    if not items:
        return [html.Li(i18n.text("wall.ticker_empty", lang), className="wall-ticker-empty")]
    rows = []
    for item in items:
        category = i18n.pick(CATEGORY_LABELS.get(item.category, {"zh": item.category}), lang)
        place = (item.area_en if lang == "en" and item.area_en else item.area) or ""
        rows.append(
            html.Li(
                className=f"wall-ticker-row sev-{item.severity}"
                + (" wall-ticker-alarm" if item.category.startswith("alarm.") else ""),
                **data("id", item.id),
                children=[
                    html.Span(_when(item.reported_at), className="wall-ticker-time"),
                    html.Span(
                        className="wall-ticker-dot",
                        style={"background": SEVERITY_COLORS.get(str(item.severity))},
                    ),
                    html.Span(category, className="wall-ticker-cat"),
                    html.Span(place, className="wall-ticker-area"),
                ],
            )
        )
    return rows


def crumbs(selection: Selection | None, scoped: bool, lang: str) -> list[Component]:
    """The breadcrumb: the top (whole city / all my areas) and each area down to the selected,
    then the selected area's resident population when known."""
    top = t("wall.all_scoped" if scoped else "wall.all", lang)
    chain = selection.chain if selection else ()
    current = "wall-crumb wall-crumb-current"
    buttons: list[Component] = [
        html.Button(top, id=wid.crumb(None), className=current if not chain else "wall-crumb")
    ]
    for n, ref in enumerate(chain, 1):
        name = ref.name_en if lang == "en" and ref.name_en else ref.name
        css = current if n == len(chain) else "wall-crumb"
        buttons.append(html.Button(name, id=wid.crumb(ref.id), className=css))
    if selection and selection.area.population is not None:
        figure = f" {selection.area.population:,}"
        label = t("wall.population", lang)
        buttons.append(html.Span([label, figure], className="wall-crumb-population"))
    return buttons


def area_store(selection: Selection | None, bbox: tuple[float, ...] | None) -> dict[str, object]:
    """What the map's fetcher needs about the selection (assets/wall.js)."""
    if selection is None:
        return {
            "id": None,
            "level": None,
            "bbox": list(bbox) if bbox else None,
            "child": AREA_LAYERS[AreaLevel.district],
        }
    return selection.area.as_dict() | {"child": AREA_LAYERS[selection.child_level]}


TWIN_ZOOMS = (11.0, 16.5)
"""The 3D panel's zoom range (a city at the low end, a grid at the high end)."""


def twin_camera(bbox: tuple[float, ...] | list[float]) -> dict[str, float]:
    """The 3D panel's camera over ``bbox`` (lon/lat): its centre, zoomed so the area about fills
    the panel (a quarter of the wall's width) — it follows the drill-down."""
    west, south, east, north = bbox
    span = max(east - west, north - south, 1e-4)
    zoom = min(max(math.log2(360 / span) - 0.5, TWIN_ZOOMS[0]), TWIN_ZOOMS[1])
    return {"latitude": (south + north) / 2, "longitude": (west + east) / 2, "zoom": zoom}


def viewport(
    bbox: tuple[float, ...] | list[float] | None, *, animate: bool = True
) -> dict[str, object] | None:
    """A dash-leaflet viewport fitting ``bbox`` (lon/lat); without ``animate``, the map jumps
    there (the first view: its zoom guessed before the screen's size is known is no view to
    fly from, and a 4K wall's software-composited zoom animation costs the first render)."""
    if not bbox:
        return None
    west, south, east, north = bbox
    out: dict[str, object] = {"bounds": [[south, west], [north, east]], "transition": "fitBounds"}
    if not animate:
        out["options"] = {"animate": False}
    return out


def _hideout(key: str, lang: str) -> dict[str, object]:
    layer = get_layer(MAP_LAYERS[key][0])
    out: dict[str, Any] = leaflet.hideout(layer, lang, {}, context.timezone())
    out["popup"] = []
    if key == "areas":
        out["style"] = {
            "color": "#5eead4",
            "weight": 2,
            "fill": True,
            "fillColor": "#134e4a",
            "fillOpacity": 0.06,
        }
    if key == "alarms":
        out["aggregateColors"] = list(ALARM_RAMP)
        out["style"] = {**out["style"], "fillColor": "#ef4444"}
    if key == "hex":
        out["aggregateColors"] = list(FIRE)
    return out


def layer_meta() -> dict[str, object]:
    """The API base and each wall layer's registry id and parameters (assets/wall.js); the
    token is new with each render, so the browser refetches after one. ``min_zoom``: each
    layer's lowest zoom, which the wall asks for at least (a whole county or the city fits the
    wall below the street offices' and sensors' own zooms, yet the wall draws them)."""
    ids = {layer_id for layer_id, _, _ in MAP_LAYERS.values()} | set(AREA_LAYERS.values())
    return {
        "api": dash.get_relative_path("/api/layers"),
        "map": wid.MAP,
        "token": uuid.uuid4().hex,
        "min_zoom": {i: get_layer(i).min_zoom for i in sorted(ids)},
        "layers": {
            key: {
                "layer": layer_id,
                "params": params,
                "area": clipped,
                "max_zoom": ALARM_ZOOM if key == "alarms" else None,
                "point_span": POINT_SPAN,
            }
            for key, (layer_id, params, clipped) in MAP_LAYERS.items()
        },
    }


def map_layers(lang: str) -> list[dl.GeoJSON]:
    """The map's GeoJSON layers (data fetched clientside, bottom first)."""
    return [
        dl.GeoJSON(
            id=wid.layer(key),
            data={"type": "FeatureCollection", "features": []},
            style={"variable": STYLES.get(key, "onemap.map.style")},
            onEachFeature={"variable": "onemap.map.onEachFeature"},
            pointToLayer={"variable": "onemap.map.pointToLayer"},
            hideout=_hideout(key, lang),
        )
        for key in MAP_LAYERS
    ]


def legend(lang: str) -> html.Div:
    """Swatches of the map's layers."""
    rows = (
        ("wall.legend.hex", FIRE[3]),
        ("wall.legend.risk", "#f59e0b"),
        ("wall.legend.alarm", "#ef4444"),
    )
    return html.Div(
        className="wall-legend",
        children=[
            html.Span(
                [html.Span(className="swatch", style={"background": c}), t(k, lang)],
                className="wall-legend-row",
            )
            for k, c in rows
        ],
    )
