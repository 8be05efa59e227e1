"""Representative points and H3 cells (pure logic)."""

import h3
import numpy as np
import pytest
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from geodata.cells import (
    h3_cell,
    h3_cells_array,
    location_columns,
    representative_point,
    representative_points,
    to_shapely,
)

# An L-shaped footprint whose centroid lies outside it.
L_SHAPE = Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])


def test_polygon_location_is_on_the_surface_not_the_centroid():
    assert not L_SHAPE.contains(L_SHAPE.centroid)
    assert L_SHAPE.contains(representative_point(L_SHAPE))


def test_line_location_is_its_middle():
    assert representative_point(LineString([(0, 0), (10, 0)])).equals(Point(5, 0))
    multi = MultiLineString([[(0, 0), (1, 0)], [(0, 5), (0, 9)]])
    assert representative_point(multi).equals(Point(0, 7))


def test_empty_geometry_has_no_location():
    with pytest.raises(ValueError, match="empty"):
        representative_point(Polygon())


def test_vectorised_points_match_the_scalar_function():
    geoms = [L_SHAPE, Point(2, 2), LineString([(0, 0), (4, 0)])]
    out = representative_points(geoms)
    assert [p.wkt for p in out] == [representative_point(g).wkt for g in geoms]


def test_h3_cells_are_h3_library_cells_as_integers():
    lon, lat = 117.283, 31.861
    for res in (7, 9):
        assert h3_cell(lon, lat, res) == h3.str_to_int(h3.latlng_to_cell(lat, lon, res))
    lons, lats = np.array([117.1, 117.2, 117.3]), np.array([31.7, 31.8, 31.9])
    cells = h3_cells_array(lons, lats, 9)
    assert cells.dtype == np.int64
    assert cells.tolist() == [h3_cell(x, y, 9) for x, y in zip(lons, lats, strict=True)]


def test_location_columns_for_a_footprint():
    fp = shapely.affinity.translate(shapely.affinity.scale(L_SHAPE, 1e-4, 1e-4), 117.28, 31.86)
    cols = location_columns(fp)
    loc = to_shape(cols["loc"])
    assert fp.contains(loc)
    assert cols["h3_r9"] == h3_cell(loc.x, loc.y, 9)
    assert h3.cell_to_parent(h3.int_to_str(cols["h3_r9"]), 7) == h3.int_to_str(cols["h3_r7"])


@pytest.mark.parametrize(
    "value",
    [
        Point(1, 2),
        "SRID=4326;POINT(1 2)",
        "POINT(1 2)",
        from_shape(Point(1, 2), srid=4326),
        shapely.to_wkb(Point(1, 2)),
    ],
)
def test_to_shapely_reads_the_usual_encodings(value):
    assert to_shapely(value).equals(Point(1, 2))


def test_to_shapely_refuses_other_types():
    with pytest.raises(TypeError, match="int"):
        to_shapely(42)
