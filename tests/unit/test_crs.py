"""geodata.crs without data files: offsets, round trips, parsing, hints."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geodata import crs
from geodata.errors import CRSError, OneMapError

GEOD = Geod(ellps="WGS84")
HEFEI_EXTENT = (116.68, 30.93, 117.98, 32.56)


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def china_grid() -> tuple[np.ndarray, np.ndarray]:
    """A 0.25° grid over mainland China's box: 247 × 143 = 35,321 points."""
    lon, lat = np.meshgrid(np.arange(73.5, 135.01, 0.25), np.arange(18.0, 53.51, 0.25))
    return lon.ravel(), lat.ravel()


def test_gcj02_forward_known_offset_in_hefei() -> None:
    # The GCJ-02 shift in Hefei is ~500 m east and ~200 m south (see hefei-admin SOURCE.md).
    gx, gy = crs.wgs84_to_gcj02(117.283, 31.861)
    assert 450 < (gx - 117.283) * 111_320 * np.cos(np.radians(31.861)) < 600
    assert -250 < (gy - 31.861) * 111_320 < -150


def test_round_trip_gcj02_over_china(china_grid) -> None:
    lon, lat = china_grid
    gx, gy = crs.wgs84_to_gcj02(lon, lat)
    assert _metres(lon, lat, gx, gy).min() > 10  # the offset is really applied everywhere
    wx, wy = crs.gcj02_to_wgs84(gx, gy)
    # measured: max 1.0e-05 m (10 µm) over this grid; the crude one-step inverse is off by 4.9 m
    assert _metres(lon, lat, wx, wy).max() < 1e-3


def test_round_trip_bd09_over_china(china_grid) -> None:
    lon, lat = china_grid
    bx, by = crs.wgs84_to_bd09(lon, lat)
    wx, wy = crs.bd09_to_wgs84(bx, by)
    assert _metres(lon, lat, wx, wy).max() < 1e-3  # measured: 1.0e-05 m
    gx, gy = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(lon, lat))
    assert _metres(lon, lat, gx, gy).max() < 1e-3


def test_crude_inverse_alone_would_not_do(china_grid) -> None:
    lon, lat = china_grid
    gx, gy = crs.wgs84_to_gcj02(lon, lat)
    wx, wy = crs.gcj02_to_wgs84(gx, gy, max_iter=0)
    assert 1.0 < _metres(lon, lat, wx, wy).max() < 10.0  # hence the iteration


def test_no_offset_outside_china() -> None:
    lon = np.array([2.35, -74.0, 139.69, 151.2, 37.6])  # Paris, New York, Tokyo, Sydney, Moscow
    lat = np.array([48.85, 40.7, 35.68, -33.87, 55.75])
    assert not crs.in_china(lon, lat).any()
    gx, gy = crs.wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(gx, lon)
    np.testing.assert_array_equal(gy, lat)
    wx, wy = crs.gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(wx, lon)
    np.testing.assert_array_equal(wy, lat)
    assert crs.in_china(117.283, 31.861)


def test_to_and_from_wgs84_dispatch() -> None:
    lon, lat = np.array([117.283, 117.0]), np.array([31.861, 32.0])
    for name in ("gcj02", "bd09", "EPSG:32650", "EPSG:4548", "EPSG:3857"):
        x, y = crs.from_wgs84(lon, lat, name)
        assert _metres(lon, lat, *crs.to_wgs84(x, y, name)).max() < 1e-3
    x, y = crs.from_wgs84(lon, lat, "EPSG:32650")
    assert 520_000 < x[0] < 530_000 and 3_520_000 < y[0] < 3_530_000
    x2, y2 = crs.transform_coords(*crs.from_wgs84(lon, lat, "bd09"), "bd09", "EPSG:32650")
    assert np.hypot(x2 - x, y2 - y).max() < 1e-3


def test_transform_geometries_all_types_keep_z() -> None:
    geoms = np.array(
        [
            shapely.Point(117.28, 31.86),
            shapely.LineString([(117.2, 31.8), (117.3, 31.9)]),
            shapely.Polygon([(117.2, 31.8), (117.3, 31.8), (117.3, 31.9), (117.2, 31.8)]),
            shapely.MultiPoint([(117.2, 31.8), (117.4, 31.7)]),
            shapely.Point(117.28, 31.86, 42.0),
            None,
        ]
    )
    out = crs.transform_geometries(geoms, "wgs84", "gcj02")
    assert [g.geom_type if g else None for g in out] == [g.geom_type if g else None for g in geoms]
    assert shapely.get_coordinates(out[4], include_z=True)[0, 2] == 42.0
    back = crs.transform_geometries(out, "gcj02")
    for a, b in zip(geoms[:5], back[:5], strict=True):
        ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
        assert _metres(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1]).max() < 1e-3
    moved = shapely.get_coordinates(out[0])[0]
    assert _metres(117.28, 31.86, moved[0], moved[1]) > 400


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj", "gcj02"),
        ("amap", "gcj02"),
        ("Tencent", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
        (None, "EPSG:4326"),
        ("WGS84", "EPSG:4326"),
        ("4326", "EPSG:4326"),
        ("32650", "EPSG:32650"),
        ("EPSG:32650", "EPSG:32650"),
        ("epsg:4490", "EPSG:4490"),
        ("OGC:CRS84", "EPSG:4326"),
    ],
)
def test_parse_crs_aliases(value, expected) -> None:
    assert crs.parse_crs(value) == expected


def test_parse_crs_wkt_and_proj_strings() -> None:
    from pyproj import CRS

    assert crs.parse_crs(CRS.from_epsg(32650).to_wkt()) == "EPSG:32650"
    proj = crs.parse_crs("+proj=utm +zone=50 +datum=WGS84 +units=m")
    assert CRS.from_user_input(proj).equals(CRS.from_epsg(32650), ignore_axis_order=True)


@pytest.mark.parametrize("value", ["garbage", "EPSG:99999999", "gcj03", "bd09mc", "EPSG:5773"])
def test_parse_crs_rejects_garbage(value) -> None:
    with pytest.raises(CRSError, match=repr(value)) as info:
        crs.parse_crs(value)
    assert isinstance(info.value, OneMapError)


def test_offset_hint_swapped_lat_lon() -> None:
    lon = np.array([117.28, 117.1, 117.5, 117.3])
    lat = np.array([31.86, 31.7, 32.0, 31.9])
    assert crs.offset_hint(lon, lat, HEFEI_EXTENT) is None
    hint = crs.offset_hint(lat, lon, HEFEI_EXTENT)
    assert hint is not None and "swapped" in hint


@pytest.mark.parametrize("epsg", ["EPSG:32650", "EPSG:4548", "EPSG:4527", "EPSG:3857"])
def test_offset_hint_projected_metres_names_the_crs(epsg) -> None:
    lon = np.array([117.28, 117.1, 117.5, 117.3])
    lat = np.array([31.86, 31.7, 32.0, 31.9])
    x, y = crs.from_wgs84(lon, lat, epsg)
    hint = crs.offset_hint(x, y, HEFEI_EXTENT)
    assert hint is not None and "projected" in hint
    # 32650 and 4548 differ by ~8 m here, so either may be named for the other
    if epsg in ("EPSG:4527", "EPSG:3857"):
        assert f"--crs {epsg}" in hint


def test_offset_hint_unknown_metres_and_plain_outliers() -> None:
    hint = crs.offset_hint(np.array([1e9, 2e9]), np.array([1e9, 2e9]), HEFEI_EXTENT)
    assert hint == "coordinates look projected (metres), not degrees — pass --crs EPSG:xxxx"
    assert crs.offset_hint(np.array([121.47]), np.array([31.23]), HEFEI_EXTENT) is None  # Shanghai


def test_offset_likelihood_on_a_synthetic_grid() -> None:
    # Points on a 50 m grid inside a 2 km square; given as BD-09 they sit ~1 km away.
    square = shapely.box(117.27, 31.85, 117.29, 31.87)
    lon, lat = np.meshgrid(np.linspace(117.2705, 117.2895, 20), np.linspace(31.8505, 31.8695, 20))
    bx, by = crs.wgs84_to_bd09(lon.ravel(), lat.ravel())
    share = crs.offset_likelihood(bx, by, [square])
    assert share["bd09"] == 1.0
    assert share["as_given"] < 0.7
    assert crs.suggest_offset_crs(share) == "bd09"
    own = crs.offset_likelihood(bx, by, [square], point_polygon=np.zeros(bx.size, dtype=int))
    assert own == share
    assert crs.suggest_offset_crs(crs.offset_likelihood(lon, lat, [square])) is None
