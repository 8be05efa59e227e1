"""What the per-grid generators share: the grid's layout, homes, people, ids and output."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from geodata.demo.homes import Homes
from geodata.demo.layout import Building, Layout
from geodata.demo.people import People
from geodata.demo.tables import Chunk


@dataclass
class IdCounter:
    """Next free id per table (ids are assigned in Python, in generation order)."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str, n: int = 1) -> int:
        start = self.next.get(table, 1)
        self.next[table] = start + n
        return start


@dataclass
class Placed:
    """A device placed in the grid (for incidents raised by devices)."""

    id: int
    kind: str
    x: float
    y: float
    building_id: int | None


@dataclass
class GridData:
    layout: Layout
    homes: Homes
    people: People
    resident_ids: np.ndarray
    ids: IdCounter
    chunk: Chunk
    ref: dt.datetime
    first_in_community: bool
    second_in_community: bool
    first_in_street: bool
    devices: list[Placed] = field(default_factory=list)

    @property
    def area_id(self) -> int:
        return self.layout.grid.area.id


def bearing(dx: float, dy: float) -> float:
    """Compass bearing of (dx, dy) in degrees clockwise from north, in [0, 360), 0.1° steps."""
    deg = round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)
    return 0.0 if deg >= 360.0 else deg


def in_building(b: Building, rng: np.random.Generator, margin: float = 1.5) -> shapely.Point:
    """A random point inside a building's footprint, ``margin`` m from its walls."""
    u = rng.uniform(-b.length / 2 + margin, b.length / 2 - margin)
    v = rng.uniform(-b.depth / 2 + margin, b.depth / 2 - margin)
    c, s = math.cos(b.angle), math.sin(b.angle)
    return shapely.Point(b.cx + u * c - v * s, b.cy + u * s + v * c)


def local_point(b: Building, u: float, v: float) -> shapely.Point:
    """The point at (u along, v across) the building's axes from its centre."""
    c, s = math.cos(b.angle), math.sin(b.angle)
    return shapely.Point(b.cx + u * c - v * s, b.cy + u * s + v * c)
