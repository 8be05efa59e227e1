"""The CRSs data leaves in: parsing the choices, a control point set in Hefei computed with an
independent Gauss–Krüger implementation (Krüger's series in n, written out here, not PROJ),
and the export transform of Arrow batches round-tripping to well under a millimetre."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
import shapely
from pyproj import CRS

from geodata.crs import gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02
from geodata.exports.reproject import coordinate_names, reproject, wkt_column
from geodata.output_crs import (
    CRS84_URI,
    GCJ02_OUT,
    OGC_URIS,
    WGS84_OUT,
    epsg_crs,
    export_crs,
    ogc_crs,
)
from geodata.query import FeatureQueryError

# Control points around Hefei (lon, lat; WGS 84 = CGCS2000 to well under a metre here): the
# centre, points on and off the central meridian, the corners of the municipality.
CONTROL = np.array(
    [
        (117.2272, 31.8206),
        (117.0, 31.8),  # on the central meridian: easting exactly 500 000 m
        (116.7, 31.4),
        (117.5, 32.2),
        (117.93, 31.05),
        (117.3561234, 31.9012345),
    ]
)
CGCS2000_A, CGCS2000_F = 6378137.0, 1 / 298.257222101


def kruger(lon: np.ndarray, lat: np.ndarray, lon0: float, false_easting: float):
    """Gauss–Krüger (transverse Mercator, k0 = 1) by Krüger's series to n^4 on CGCS2000:
    (easting, northing). Accurate to far below a millimetre within 3° of the meridian."""
    n = CGCS2000_F / (2 - CGCS2000_F)
    big_a = CGCS2000_A / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    alpha = (
        n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16 + 41 * n**4 / 180,
        13 * n**2 / 48 - 3 * n**3 / 5 + 557 * n**4 / 1440,
        61 * n**3 / 240 - 103 * n**4 / 140,
        49561 * n**4 / 161280,
    )
    phi, dlam = np.radians(lat), np.radians(lon - lon0)
    c = 2 * math.sqrt(n) / (1 + n)
    t = np.sinh(np.arctanh(np.sin(phi)) - c * np.arctanh(c * np.sin(phi)))
    xi = np.arctan2(t, np.cos(dlam))
    eta = np.arctanh(np.sin(dlam) / np.sqrt(1 + t**2))
    east, north = eta.copy(), xi.copy()
    for j, a in enumerate(alpha, start=1):
        east += a * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
        north += a * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
    return false_easting + big_a * east, big_a * north


def test_hefei_gauss_kruger_zone_is_epsg_4548_and_4527():
    assert CRS.from_epsg(4548).name == "CGCS2000 / 3-degree Gauss-Kruger CM 117E"
    assert CRS.from_epsg(4527).name == "CGCS2000 / 3-degree Gauss-Kruger zone 39"
    for code in (4548, 4527):
        params = {p.name: p.value for p in CRS.from_epsg(code).coordinate_operation.params}
        assert params["Longitude of natural origin"] == 117
        assert params["Scale factor at natural origin"] == 1
        crs = epsg_crs(code)
        assert not crs.geographic and crs.north_first  # EPSG defines northing (X) first
    assert epsg_crs(4490).north_first and epsg_crs(4490).geographic
    assert not epsg_crs(32650).north_first and not epsg_crs(3857).north_first


@pytest.mark.parametrize(("code", "false_easting"), [(4548, 500_000.0), (4527, 39_500_000.0)])
def test_control_points_match_an_independent_gauss_kruger_to_a_millimetre(code, false_easting):
    lon, lat = CONTROL.T
    east, north = kruger(lon, lat, 117.0, false_easting)
    assert east[1] == pytest.approx(false_easting, abs=1e-9)  # on the meridian
    batch = _points(lon, lat)
    out = reproject(batch, epsg_crs(code))
    geoms = shapely.from_wkb(out.column("geometry").to_numpy(zero_copy_only=False))
    assert np.abs(shapely.get_x(geoms) - east).max() < 1e-3
    assert np.abs(shapely.get_y(geoms) - north).max() < 1e-3
    x_name, y_name = coordinate_names(epsg_crs(code))
    assert (x_name, y_name) == (f"easting_epsg{code}", f"northing_epsg{code}")
    assert np.abs(out.column(x_name).to_numpy() - east).max() < 1e-3


def _points(lon, lat) -> pa.RecordBatch:
    wkb = shapely.to_wkb(shapely.points(lon, lat))
    return pa.RecordBatch.from_arrays(
        [pa.array(wkb, pa.binary()), pa.array(lon), pa.array(lat)],
        names=["geometry", "lon", "lat"],
    )


@pytest.mark.parametrize("value", ["EPSG:4490", "EPSG:4548", "EPSG:4527", "EPSG:32650", "2436"])
def test_round_trip_through_any_epsg_crs_closes_to_a_millimetre(value):
    crs = export_crs(value)
    lon, lat = CONTROL.T
    out = reproject(_points(lon, lat), crs)
    geoms = shapely.from_wkb(out.column("geometry").to_numpy(zero_copy_only=False))
    back_lon, back_lat = to_wgs84(shapely.get_x(geoms), shapely.get_y(geoms), crs.pyproj)
    assert np.abs(back_lon - lon).max() < 1e-8 and np.abs(back_lat - lat).max() < 1e-8


def test_gcj02_export_is_the_forward_offset_and_inverts_to_a_millimetre():
    lon, lat = CONTROL.T
    out = reproject(_points(lon, lat), GCJ02_OUT)
    geoms = shapely.from_wkb(out.column("geometry").to_numpy(zero_copy_only=False))
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    fx, fy = wgs84_to_gcj02(lon, lat)
    assert np.array_equal(x, fx) and np.array_equal(y, fy)
    shift_m = np.hypot((x - lon) * 111_320 * np.cos(np.radians(lat)), (y - lat) * 110_574)
    assert shift_m.min() > 100 and shift_m.max() < 1000  # the offset is real
    back_lon, back_lat = gcj02_to_wgs84(x, y, tol_m=1e-4)
    assert np.abs(back_lon - lon).max() < 1e-8 and np.abs(back_lat - lat).max() < 1e-8
    assert coordinate_names(GCJ02_OUT) == ("lon_gcj02", "lat_gcj02")
    assert wkt_column(GCJ02_OUT) == "WKT_GCJ02"


def test_wgs84_passes_unchanged():
    batch = _points(*CONTROL.T)
    assert reproject(batch, WGS84_OUT) is batch
    assert coordinate_names(WGS84_OUT) == ("lon", "lat") and wkt_column(WGS84_OUT) == "WKT"


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, "EPSG:4326"),
        ("", "EPSG:4326"),
        ("CRS84", "EPSG:4326"),
        (CRS84_URI, "EPSG:4326"),
        ("EPSG:4490", "EPSG:4490"),
        ("epsg:4548", "EPSG:4548"),
        ("4527", "EPSG:4527"),
        ("http://www.opengis.net/def/crs/EPSG/0/4548", "EPSG:4548"),
        ("urn:ogc:def:crs:EPSG::4490", "EPSG:4490"),
        ("[EPSG:32650]", "EPSG:32650"),
        ("GCJ-02", "gcj02"),
        ("amap", "gcj02"),
    ],
)
def test_export_crs_reads_the_usual_spellings(value, key):
    assert export_crs(value).key == key


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("EPSG:999999", "not a coordinate system PROJ knows"),
        ("EPSG:5703", "not a 2D horizontal"),  # NAVD88 height
        ("EPSG:4979", "not a 2D horizontal"),  # WGS 84 3D
        ("bd09", "Baidu"),
        ("+proj=longlat", "expected an EPSG code"),
        ("x" * 500, "too long"),
        ("NaN", "expected an EPSG code"),
        ("1e309", "expected an EPSG code"),
    ],
)
def test_export_crs_refuses_with_a_reason(value, says):
    with pytest.raises(FeatureQueryError, match=says) as err:
        export_crs(value)
    assert err.value.status == 400 and err.value.field == "crs"


def test_ogc_crs_offers_the_list_only():
    assert OGC_URIS[0] == CRS84_URI
    assert ogc_crs(None).key == "CRS84" and ogc_crs(CRS84_URI).key == "CRS84"
    assert ogc_crs("http://www.opengis.net/def/crs/EPSG/0/4527").epsg == 4527
    assert ogc_crs("[EPSG:4490]").epsg == 4490
    for bad in ("http://www.opengis.net/def/crs/EPSG/0/2436", "gcj02", "4490", "x" * 1000):
        with pytest.raises(FeatureQueryError, match="supported: http") as err:
            ogc_crs(bad, "bbox-crs")
        assert err.value.field == "bbox-crs"
