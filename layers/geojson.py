"""The GeoJSON text of layer answers: the FeatureCollection, hexagons, heat points, buildings.

The last step of an answer (:mod:`layers.engine`). Features arrive as text made in SQL
(``ST_AsGeoJSON`` + ``json_agg``) or are written here from rows; either way the collection is
joined as text and never parsed again. Compact JSON (:data:`ASCII_JSON`, :data:`JSON`) keeps
the bytes the map has always received. An H3 cell's own feature text is
:func:`geodata.cells.hexagon_text` (the stored forecast writes the same text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import h3

from geodata.cells import ASCII_JSON, JSON, hexagon_geometry, hexagon_text

HEAT_POINT_DIGITS = 5
_h3 = h3.api.basic_int


@dataclass
class Answer:
    """A layer's answer: metadata plus the features as JSON text (never re-parsed), and the
    statements that made it (for benches) with their time."""

    meta: dict[str, object]
    features_json: str = "[]"
    statements: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    sql_seconds: float = 0.0

    def to_json(self) -> str:
        """The GeoJSON FeatureCollection as text."""
        head = json.dumps({"type": "FeatureCollection", **self.meta}, ensure_ascii=False)
        return f'{head[:-1]}, "features": {self.features_json}}}'

    def as_dict(self) -> dict[str, object]:
        """The FeatureCollection as a dict (parses the features)."""
        return json.loads(self.to_json())


def finish(
    answer: Answer, features: Sequence[dict | str], capped: bool, **aggregate: object
) -> None:
    """Set the answer's features (dicts or ready GeoJSON text) and its aggregate metadata."""
    texts = [f if isinstance(f, str) else JSON(f) for f in features]
    answer.features_json = "[" + ",".join(texts) + "]"
    answer.meta |= {"count": len(features), "aggregate": aggregate}
    if capped:
        answer.meta["capped"] = True


def finish_joined(answer: Answer, texts: str, n: int, limit: int, **aggregate: object) -> None:
    """Set the answer's features from joined feature texts (at most ``limit`` of ``n``
    matches) and its aggregate metadata, as :func:`finish` does for a list."""
    answer.features_json = f"[{texts}]"
    answer.meta |= {"count": min(n, limit), "aggregate": aggregate}
    if n > limit:
        answer.meta["capped"] = True


def hexagon_feature(cell: int, properties: dict[str, object]) -> str:
    """A GeoJSON feature (text) of one H3 cell with its aggregate properties."""
    if "aggregate" in properties or "h3" in properties:  # overrides keep their place
        key = h3.int_to_str(cell)
        props = ASCII_JSON({"aggregate": True, "h3": key, **properties})
        geometry = hexagon_geometry(cell)
        return f'{{"type":"Feature","id":"{key}","geometry":{geometry},"properties":{props}}}'
    return hexagon_text(cell, ASCII_JSON(properties)[1:-1])


def count_members(n: int, level: int) -> str:
    """The members of ``{"count": n, "value": n, "level": level}`` (ints) as JSON text."""
    return f'"count":{n},"value":{n},"level":{level}'


@lru_cache(maxsize=200_000)
def cell_centre(cell: int) -> tuple[float, float]:
    """The lon/lat of an H3 cell's centre, rounded for a heat point."""
    lat, lng = _h3.cell_to_latlng(cell)
    return round(lng, HEAT_POINT_DIGITS), round(lat, HEAT_POINT_DIGITS)


@lru_cache(maxsize=200_000)
def _heat_head(cell: int) -> str:
    """A heatmap point's text up to its first two properties (cached per cell)."""
    x, y = cell_centre(cell)
    return (
        f'{{"type":"Feature","id":"{h3.int_to_str(cell)}",'
        f'"geometry":{{"type":"Point","coordinates":[{x!r},{y!r}]}},'
        f'"properties":{{"aggregate":true,"heat":true'
    )


def heat_text(cell: int, members: str) -> str:
    """A heat point at an H3 cell's centre whose properties after ``aggregate`` and ``heat``
    are the JSON object members ``members``."""
    return f"{_heat_head(cell)},{members}}}}}"


def building_feature(building: int, geometry: str, members: str) -> str:
    """A building's feature text: its GeoJSON geometry as the store wrote it, and the property
    members after ``aggregate`` and ``building``."""
    return (
        f'{{"type":"Feature","id":"building-{building}","geometry":{geometry},'
        f'"properties":{{"aggregate":true,"building":{building},{members}}}}}'
    )


def area_feature(row: Sequence, properties: dict[str, object]) -> dict[str, object]:
    """A governance area's feature ``(id, name, name_en, …, geometry text last)`` as a dict
    (written with :data:`JSON` by :func:`finish`)."""
    return {
        "type": "Feature",
        "id": f"area-{row[0]}",
        "geometry": json.loads(row[-1]),
        "properties": {"aggregate": True, "area": row[0], **properties},
    }
