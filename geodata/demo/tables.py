"""Row buffers of one generated chunk, turned into COPY-ready rows.

Feature rows get ``loc`` and ``h3_r7``/``h3_r9`` from :mod:`geodata.cells` (the functions the
ORM hook uses), computed on the final lon/lat geometry.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from geodata.cells import h3_cells_array, representative_points
from geodata.demo.frame import to_lonlat

FEATURE_HEAD = ("id", "source", "source_id", "geom", "loc", "h3_r7", "h3_r9", "area_id")
SOURCE = "demo"

FEATURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "area": ("level", "depth", "code", "name", "name_en", "parent_id", "population"),
    "road": ("name", "kind", "oneway", "lanes"),
    "building": ("name", "address", "floors", "height", "use", "year_built"),
    "house": ("building_id", "unit", "floor", "room", "floor_area", "occupancy"),
    "resident": ("house_id", "sex", "birth_year", "household_role", "hukou", "status", "care_tags"),
    "organization": ("kind", "name", "credit_code", "address", "employees", "building_id"),
    "device": (
        "kind",
        "serial",
        "model",
        "status",
        "last_seen",
        "last_value",
        "heading",
        "fov",
        "range_m",
        "building_id",
        "house_id",
        "installed_at",
    ),
    "facility": ("kind", "name", "status", "capacity"),
    "event": (
        "category",
        "severity",
        "status",
        "level",
        "title",
        "description",
        "reported_at",
        "due_at",
        "resolved_at",
        "closed_at",
        "device_id",
        "building_id",
        "rule",
    ),
}
PLAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "resident_identity": ("resident_id", "name", "id_hash", "phone"),
    "event_log": (
        "id",
        "event_id",
        "at",
        "actor",
        "action",
        "from_status",
        "to_status",
        "from_level",
        "to_level",
        "note",
        "actor_kind",
    ),
}
PREFIX = {
    "area": "area",
    "road": "road",
    "building": "bldg",
    "house": "house",
    "resident": "res",
    "organization": "org",
    "device": "dev",
    "facility": "fac",
    "event": "evt",
}
MULTI = {"building": shapely.multipolygons, "road": shapely.multilinestrings}
# Load order respects foreign keys.
TABLE_ORDER = (
    "area",
    "road",
    "building",
    "house",
    "resident",
    "resident_identity",
    "organization",
    "device",
    "facility",
    "event",
    "event_log",
)


def columns(table: str) -> tuple[str, ...]:
    """Column names of ``table`` in row order."""
    if table in FEATURE_COLUMNS:
        return FEATURE_HEAD + FEATURE_COLUMNS[table]
    return PLAIN_COLUMNS[table]


@dataclass
class FeatureBuffer:
    """Features of one table: ids, metric (or lon/lat) geometries, grid area ids, attributes."""

    table: str
    metric: bool = True
    ids: list[int] = field(default_factory=list)
    geoms: list[object] = field(default_factory=list)
    area_ids: list[int | None] = field(default_factory=list)
    attrs: list[tuple] = field(default_factory=list)

    def add(self, id_: int, geom: object, area_id: int | None, *values: object) -> None:
        self.ids.append(id_)
        self.geoms.append(geom)
        self.area_ids.append(area_id)
        self.attrs.append(values)

    def extend(
        self, ids: Sequence[int], geoms: Sequence, area_id: int, cols: Sequence[Sequence]
    ) -> None:
        self.ids.extend(ids)
        self.geoms.extend(geoms)
        self.area_ids.extend([area_id] * len(ids))
        self.attrs.extend(zip(*cols, strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def lonlat(self) -> np.ndarray:
        """Final geometries (lon/lat, SRID 4326); buildings and areas as MultiPolygons, roads
        as MultiLineStrings."""
        geoms = np.asarray(self.geoms, dtype=object)
        if self.metric:
            geoms = to_lonlat(geoms)
        if self.table in MULTI and len(geoms):
            geoms = shapely.set_srid(MULTI[self.table](geoms, indices=np.arange(len(geoms))), 4326)
        return geoms

    def rows(self) -> Iterator[tuple]:
        """COPY rows in :func:`columns` order."""
        if not self.ids:
            return iter(())
        geoms = self.lonlat()
        locs = representative_points(geoms)
        lon, lat = shapely.get_x(locs), shapely.get_y(locs)
        h7 = h3_cells_array(lon, lat, 7).tolist()
        h9 = h3_cells_array(lon, lat, 9).tolist()
        gh = shapely.to_wkb(geoms, hex=True, include_srid=True).tolist()
        lh = shapely.to_wkb(shapely.set_srid(locs, 4326), hex=True, include_srid=True).tolist()
        prefix = PREFIX[self.table]
        return (
            (i, SOURCE, f"{prefix}-{i:07d}", g, p, a, b, area, *attrs)
            for i, g, p, a, b, area, attrs in zip(
                self.ids, gh, lh, h7, h9, self.area_ids, self.attrs, strict=True
            )
        )


@dataclass
class Chunk:
    """Everything generated for one part of the city, ready to load."""

    label: str
    features: dict[str, FeatureBuffer]
    plain: dict[str, list[tuple]]

    def counts(self) -> dict[str, int]:
        out = {t: len(b) for t, b in self.features.items()}
        out.update({t: len(r) for t, r in self.plain.items()})
        return out


def new_chunk(label: str) -> Chunk:
    return Chunk(
        label,
        {t: FeatureBuffer(t) for t in FEATURE_COLUMNS},
        {t: [] for t in PLAIN_COLUMNS},
    )
