"""Small builders of valid rows for store tests (real ORM objects, no mocks)."""

from __future__ import annotations

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy.orm import Session

from geodata.models import Area, Building
from geodata.vocab import LEVEL_DEPTH


def multipolygon(minx: float, miny: float, maxx: float, maxy: float):
    """A rectangle as a MultiPolygon element in SRID 4326."""
    return from_shape(MultiPolygon([box(minx, miny, maxx, maxy)]), srid=4326)


def point(lon: float, lat: float):
    return from_shape(Point(lon, lat), srid=4326)


def add_area(
    session: Session,
    level: str,
    bounds: tuple[float, float, float, float],
    parent: Area | None = None,
    code: str | None = None,
) -> Area:
    area = Area(
        level=level,
        depth=LEVEL_DEPTH[level],
        code=code,
        name=f"{level} {code or ''}",
        parent_id=parent.id if parent else None,
        geom=multipolygon(*bounds),
    )
    session.add(area)
    session.flush()
    return area


def two_grid_district(session: Session) -> dict[str, Area]:
    """A district split into two grids (west and east) inside one street and community."""
    district = add_area(session, "district", (117.20, 31.80, 117.30, 31.90), code="T340102")
    street = add_area(session, "street", (117.20, 31.80, 117.30, 31.85), district, "T340102001")
    community = add_area(
        session, "community", (117.20, 31.80, 117.30, 31.85), street, "T340102001001"
    )
    west = add_area(session, "grid", (117.20, 31.80, 117.25, 31.85), community, "T3401020010011")
    east = add_area(session, "grid", (117.25, 31.80, 117.30, 31.85), community, "T3401020010012")
    return {
        "district": district,
        "street": street,
        "community": community,
        "west": west,
        "east": east,
    }


def add_building(session: Session, bounds: tuple[float, float, float, float], **kw) -> Building:
    b = Building(geom=multipolygon(*bounds), floors=kw.pop("floors", 6), use="residential", **kw)
    session.add(b)
    session.flush()
    return b
