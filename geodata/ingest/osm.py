"""OpenStreetMap via GDAL's OSM driver: which OGR layer feeds which OneMap layer, and tags.

buildings ← ``multipolygons`` with ``building``; roads ← ``lines`` with ``highway``;
facilities / organizations ← ``points`` whose tags name a kind (``amenity=fire_hydrant`` →
hydrant, ``emergency=defibrillator`` → aed, ``shop=*`` → shop …). Other points are skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geodata.errors import UnreadableInput

# keys lifted out of GDAL's ``other_tags`` hstore text
TAG_KEYS = ("building:levels", "height", "oneway", "lanes", "amenity", "emergency", "shop",
            "office", "healthcare", "addr:street", "addr:housenumber", "capacity")  # fmt: skip
COLUMNS = ("id", "name", "kind", "building", "highway", "floors", "height", "oneway", "lanes",
           "address", "capacity")  # fmt: skip

FACILITY_TAGS: dict[tuple[str, str], str] = {
    ("amenity", "fire_hydrant"): "hydrant", ("emergency", "fire_hydrant"): "hydrant",
    ("emergency", "defibrillator"): "aed", ("amenity", "charging_station"): "ev_charger",
    ("amenity", "recycling"): "waste_station", ("amenity", "waste_disposal"): "waste_station",
    ("amenity", "shelter"): "shelter", ("emergency", "assembly_point"): "shelter",
    ("amenity", "community_centre"): "service_centre",
    ("amenity", "social_facility"): "service_centre",
}  # fmt: skip
ORGANIZATION_TAGS: dict[tuple[str, str], str] = {
    ("amenity", "school"): "school", ("amenity", "kindergarten"): "school",
    ("amenity", "university"): "school", ("amenity", "college"): "school",
    ("amenity", "hospital"): "medical", ("amenity", "clinic"): "medical",
    ("amenity", "doctors"): "medical", ("amenity", "pharmacy"): "medical",
    ("amenity", "dentist"): "medical", ("amenity", "townhall"): "government",
    ("amenity", "police"): "government", ("amenity", "fire_station"): "government",
    ("amenity", "courthouse"): "government", ("amenity", "post_office"): "government",
    ("office", "government"): "government", ("amenity", "restaurant"): "shop",
    ("amenity", "cafe"): "shop", ("amenity", "bar"): "shop", ("amenity", "pub"): "shop",
    ("amenity", "fast_food"): "shop", ("amenity", "bank"): "enterprise",
    ("amenity", "place_of_worship"): "social",
}  # fmt: skip
ANY_VALUE = {"organizations": {"shop": "shop", "office": "enterprise", "healthcare": "medical"}}

_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Plan:
    """Where a OneMap layer's features are in an OSM file."""

    layer: str
    ogr_layer: str
    where: str

    @property
    def describe(self) -> str:
        return f"OGR layer {self.ogr_layer!r} where {self.where}"


def plan(layer: str) -> Plan:
    """The OGR layer and filter for ``layer``; :class:`UnreadableInput` for other layers."""
    plans = {
        "buildings": Plan(layer, "multipolygons", "building IS NOT NULL"),
        "roads": Plan(layer, "lines", "highway IS NOT NULL"),
        "facilities": Plan(layer, "points", "other_tags IS NOT NULL"),
        "organizations": Plan(layer, "points", "other_tags IS NOT NULL"),
    }
    if layer not in plans:
        raise UnreadableInput(
            f"OpenStreetMap files feed the layers {', '.join(plans)}, not {layer!r}"
        )
    return plans[layer]


def parse_tags(text: object) -> dict[str, str]:
    """GDAL's ``other_tags`` (``"k"=>"v","k2"=>"v2"``) as a dict."""
    if not isinstance(text, str):
        return {}
    return {k: v.replace('\\"', '"') for k, v in _TAG.findall(text)}


def _number(value: object) -> str | None:
    """The leading number of an OSM value ("12 m" → "12", "2;3" → "2"), or None."""
    if not isinstance(value, str):
        return None
    m = _NUMBER.match(value)
    return m.group(1) if m else None


def _levels(value: object) -> str | None:
    """Storeys from ``building:levels`` ("3.5" → 4: a half storey is a storey)."""
    number = _number(value)
    return str(math.ceil(float(number))) if number is not None else None


def degenerate(geoms: np.ndarray, p: Plan) -> np.ndarray:
    """Features an extract cut to nothing: unreadable, or polygons without area / lines
    without length (their other nodes lie outside the file)."""
    missing = shapely.is_missing(geoms)
    if p.ogr_layer == "multipolygons":
        return missing | (shapely.area(geoms) == 0)
    if p.ogr_layer == "lines":
        return missing | (shapely.length(geoms) == 0)
    return missing


def _kind(layer: str, tags: dict[str, str]) -> str | None:
    table = FACILITY_TAGS if layer == "facilities" else ORGANIZATION_TAGS
    for (key, value), kind in table.items():
        if tags.get(key) == value:
            return kind
    for key, kind in ANY_VALUE.get(layer, {}).items():
        if key in tags:
            return kind
    return None


def _osm_id(attrs: pd.DataFrame, ogr_layer: str) -> pd.Series:
    if ogr_layer == "multipolygons":
        way = attrs["osm_way_id"]
        return ("way/" + way).where(way.notna(), "relation/" + attrs["osm_id"].astype(str))
    prefix = "node/" if ogr_layer == "points" else "way/"
    return prefix + attrs["osm_id"].astype(str)


def prepare(attrs: pd.DataFrame, p: Plan) -> tuple[pd.DataFrame, np.ndarray]:
    """OneMap-shaped columns (:data:`COLUMNS`) of a batch, and which rows belong to the layer."""
    tags = [parse_tags(t) for t in attrs.get("other_tags", pd.Series([None] * len(attrs)))]
    out = pd.DataFrame({"id": _osm_id(attrs, p.ogr_layer).to_numpy()})
    out["name"] = attrs["name"].to_numpy() if "name" in attrs else None
    out["building"] = attrs["building"].to_numpy() if "building" in attrs else None
    out["highway"] = attrs["highway"].to_numpy() if "highway" in attrs else None
    out["floors"] = [_levels(t.get("building:levels")) for t in tags]
    out["height"] = [_number(t.get("height")) for t in tags]
    out["oneway"] = [t.get("oneway") in ("yes", "true", "1", "-1") for t in tags]
    out["lanes"] = [_number(t.get("lanes")) for t in tags]
    out["address"] = [
        " ".join(filter(None, (t.get("addr:street"), t.get("addr:housenumber")))) or None
        for t in tags
    ]
    out["capacity"] = [_number(t.get("capacity")) for t in tags]
    if p.ogr_layer == "points":
        kinds = [_kind(p.layer, t) for t in tags]
        out["kind"] = kinds
        fallback = [t.get("amenity") or t.get("shop") or t.get("office") for t in tags]
        out["name"] = out["name"].where(out["name"].notna(), pd.Series(fallback, dtype=object))
        keep = np.array([k is not None for k in kinds], dtype=bool)
    else:
        keep = np.ones(len(out), dtype=bool)
    return out, keep


def columns(p: Plan) -> list[str]:
    """The columns :func:`prepare` gives for ``p``."""
    return [c for c in COLUMNS if c != "kind" or p.ogr_layer == "points"]
