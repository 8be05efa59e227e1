"""A small synthetic city for the map tests, used until the demo generator lands.

Two districts with finely sampled (wiggly) borders, one street and one community each, four
grids per community and a block of buildings of every use around the city centre.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon, box

from geodata import vocab
from geodata.engine import get_engine, session_scope
from geodata.models import Area, Building
from geodata.store import drop_database, migrate, recreate_database

CENTER = (117.283, 31.861)


def _wiggly_box(minx: float, miny: float, maxx: float, maxy: float, n: int = 150) -> Polygon:
    """A box whose sides are sampled with ``n`` points each, waving a little across."""
    corners = [(minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy), (minx, miny)]
    ring = []
    for (x0, y0), (x1, y1) in itertools.pairwise(corners):
        for i in range(n):
            f = i / n
            wave = 0.0015 * math.sin(f * math.pi * 12)
            across = (0.0, wave) if y0 == y1 else (wave, 0.0)
            ring.append((x0 + (x1 - x0) * f + across[0], y0 + (y1 - y0) * f + across[1]))
    return Polygon(ring).buffer(0)


def _area(level: str, name: str, geom: Polygon, parent: Area | None) -> Area:
    return Area(
        level=level,
        depth=vocab.LEVEL_DEPTH[level],
        name=name,
        name_en=f"{level.title()} {name[-3:]}",
        geom=from_shape(MultiPolygon([geom]), srid=4326),
        parent_id=parent.id if parent else None,
    )


def build(url: str) -> None:
    """Fill the empty, migrated store at ``url`` with the synthetic city."""
    cx, cy = CENTER
    uses = list(vocab.BUILDING_USES)
    with session_scope(url) as s:
        for d, (x0, x1) in enumerate([(cx - 0.12, cx), (cx, cx + 0.12)]):
            district = _area(
                "district", f"测试{d + 1}区", _wiggly_box(x0, cy - 0.08, x1, cy + 0.08), None
            )
            s.add(district)
            s.flush()
            street = _area("street", f"街道{d + 1}", box(x0, cy - 0.08, x1, cy + 0.08), district)
            s.add(street)
            s.flush()
            community = _area(
                "community", f"社区{d + 1}", box(x0, cy - 0.08, x1, cy + 0.08), street
            )
            s.add(community)
            s.flush()
            for gx in range(2):
                for gy in range(2):
                    w = (x1 - x0) / 2
                    cell = box(
                        x0 + gx * w, cy - 0.08 + gy * 0.08, x0 + (gx + 1) * w, cy + gy * 0.08
                    )
                    s.add(_area("grid", f"网格{d + 1}-{gx}{gy}", cell, community))
        for i in range(20):
            for j in range(12):
                x, y = cx - 0.02 + i * 0.002, cy - 0.012 + j * 0.002
                s.add(
                    Building(
                        name=f"{j + 1}号楼" if i % 3 else None,
                        address=f"测试路{i + 1}号",
                        floors=1 + (i + j) % 30,
                        height=3.0 * (1 + (i + j) % 30),
                        use=uses[(i * 12 + j) % len(uses)],
                        geom=from_shape(
                            MultiPolygon([box(x, y, x + 0.0012, y + 0.0008)]), srid=4326
                        ),
                    )
                )


@contextmanager
def synthetic_city(cluster) -> Iterator[str]:
    """A fresh database holding the synthetic city (dropped afterwards)."""
    server = os.environ.get("ONEMAP_TEST_DATABASE_URL") or cluster.url()
    name = f"onemap_test_synthetic_{os.getpid()}"
    url = recreate_database(server, name)
    migrate(url)
    build(url)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        drop_database(server, name)
