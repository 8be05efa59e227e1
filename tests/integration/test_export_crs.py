"""Exports in other CRSs, read back by GDAL: each format names the CRS (``ogrinfo -so`` of
the system's GDAL), the coordinates transform back to the stored ones (within 1e-8°, about a
millimetre), GCJ-02 files say what they are, CSV columns are named after the CRS, and the
HTTP route and the CLI take ``crs``."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import text

from geodata.crs import gcj02_to_wgs84, to_wgs84
from geodata.engine import get_engine
from geodata.exports import Filters, export_format, export_layer_to
from geodata.exports.cli import operator
from geodata.exports.writers import FORMATS
from geodata.output_crs import export_crs
from geodata.query import FeatureQueryError
from geodata.settings import PROJECT_ROOT
from tests.conftest import api_client

LAYER, TABLE = "events", "event"
NAMES = {
    "EPSG:4490": "China Geodetic Coordinate System 2000",
    "EPSG:4548": "CGCS2000 / 3-degree Gauss-Kruger CM 117E",
    "EPSG:4527": "CGCS2000 / 3-degree Gauss-Kruger zone 39",
    "EPSG:2436": "Beijing 1954 / 3-degree Gauss-Kruger CM 117E",  # any code PROJ knows
}


def _stored(url: str) -> dict[int, tuple[float, float]]:
    """Stored lon/lat by id, snapped as exports snap them (1e-7°)."""
    snapped = f"SELECT id, ST_SnapToGrid(geom, 1e-7) AS g FROM {TABLE}"
    sql = f"SELECT id, ST_X(g), ST_Y(g) FROM ({snapped}) AS s"
    with get_engine(url).connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(text(sql))}


def _export(url: str, fmt: str, crs: str, path: Path, layer: str = LAYER) -> Path:
    export_layer_to(
        url, layer, export_format(fmt), path, Filters(), operator(), crs=export_crs(crs)
    )
    return path


def _ogrinfo(path: Path) -> str:
    name = f"/vsizip/{path}" if path.suffix == ".zip" else str(path)
    cmd = ["ogrinfo", "-ro", "-so", "-al", name]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def _srs(info: str) -> str:
    """The layer's CRS as ``ogrinfo`` prints it (WKT2), without spaces or line breaks."""
    block = info.split("Layer SRS WKT:\n", 1)[1].split("Data axis to CRS axis mapping", 1)[0]
    return "".join(block.split())


def _back(frame, crs: str) -> dict[int, tuple[float, float]]:
    """The frame's points transformed back to WGS 84, by id."""
    x, y = shapely.get_x(frame.geometry.values), shapely.get_y(frame.geometry.values)
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(x, y, tol_m=1e-4)
    else:
        lon, lat = to_wgs84(x, y, crs)
    points = zip(lon.tolist(), lat.tolist(), strict=True)
    return dict(zip(_ids(frame), points, strict=True))


def _ids(frame) -> list[int]:
    """Feature ids: the ``id`` column (Shapefile) or the FID (GeoPackage, GeoJSON)."""
    return [int(i) for i in frame.get("id", frame.index)]


def _close(back: dict, stored: dict) -> None:
    assert back.keys() == stored.keys() and len(stored) > 10
    ids = sorted(stored)
    got, want = np.array([back[i] for i in ids]), np.array([stored[i] for i in ids])
    assert np.abs(got - want).max() < 1e-8  # ≈ 1 mm


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "geojson"])
@pytest.mark.parametrize("crs", sorted(NAMES))
def test_gdal_reads_the_crs_and_the_coordinates_round_trip(demo_url, tmp_path, fmt, crs):
    suffix = ".zip" if fmt == "shp" else FORMATS[fmt].suffix
    path = _export(demo_url, fmt, crs, tmp_path / f"e{suffix}")
    info = _ogrinfo(path)
    code = crs.split(":")[1]
    block = _srs(info)
    kind = "GEOGCRS" if crs == "EPSG:4490" else "PROJCRS"
    assert block.startswith(f'{kind}["{"".join(NAMES[crs].split())}"')
    assert block.endswith(f'ID["EPSG",{code}]]')  # the file's CRS itself, not just its datum
    source = f"/vsizip/{path}" if fmt == "shp" else path
    frame = pyogrio.read_dataframe(source, fid_as_index=True)
    assert frame.crs.to_epsg() == int(code)
    _close(_back(frame, crs), _stored(demo_url))


def test_geojson_off_wgs84_carries_the_legacy_crs_member(demo_url, tmp_path):
    path = _export(demo_url, "geojson", "EPSG:4548", tmp_path / "e.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4548"}}
    east, north = doc["features"][0]["geometry"]["coordinates"]
    assert 3.4e5 < east < 6.6e5 and 3.4e6 < north < 3.6e6  # x = easting, as GIS files go
    wgs = json.loads(_export(demo_url, "geojson", "", tmp_path / "w.geojson").read_text())
    assert "crs" not in wgs  # RFC 7946 stays for WGS 84


@pytest.mark.parametrize("fmt", ["gpkg", "shp"])
def test_gcj02_files_carry_a_crs_named_gcj02(demo_url, tmp_path, fmt):
    path = _export(demo_url, fmt, "gcj02", tmp_path / ("g.zip" if fmt == "shp" else "g.gpkg"))
    info = _ogrinfo(path)
    assert "GCJ-02" in info and 'ID["EPSG",4326]' not in info
    source = f"/vsizip/{path}" if fmt == "shp" else path
    frame = pyogrio.read_dataframe(source, fid_as_index=True)
    assert "GCJ-02" in frame.crs.name and frame.crs.to_epsg() is None
    _close(_back(frame, "gcj02"), _stored(demo_url))
    if fmt == "shp":
        with zipfile.ZipFile(path) as zf:
            assert "GCJ-02" in zf.read("FIELDS.txt").decode()


def test_gcj02_geojson_says_so_in_its_description(demo_url, tmp_path):
    path = _export(demo_url, "geojson", "gcj02", tmp_path / "g.geojson")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert "GCJ-02" in doc["description"] and "not WGS 84" in doc["description"]
    frame = pyogrio.read_dataframe(path, fid_as_index=True)
    _close(_back(frame, "gcj02"), _stored(demo_url))


@pytest.mark.parametrize(
    ("crs", "columns"),
    [
        ("EPSG:4548", ("WKT_EPSG4548", "easting_epsg4548", "northing_epsg4548")),
        ("EPSG:4490", ("WKT_EPSG4490", "lon_epsg4490", "lat_epsg4490")),
        ("gcj02", ("WKT_GCJ02", "lon_gcj02", "lat_gcj02")),
    ],
)
def test_csv_columns_are_named_after_the_crs(demo_url, tmp_path, crs, columns):
    path = _export(demo_url, "csv", crs, tmp_path / "e.csv")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    wkt, x_name, y_name = columns
    assert wkt in rows[0] and x_name in rows[0] and y_name in rows[0]
    assert "lon" not in rows[0] and "WKT" not in rows[0]
    geoms = shapely.from_wkt([r[wkt] for r in rows])
    x = np.array([float(r[x_name]) for r in rows])
    assert np.abs(shapely.get_x(geoms) - x).max() < 1e-4
    lon, lat = (
        gcj02_to_wgs84(x, [float(r[y_name]) for r in rows], tol_m=1e-4)
        if crs == "gcj02"
        else to_wgs84(x, [float(r[y_name]) for r in rows], crs)
    )
    stored = _stored(demo_url)
    want = np.array([stored[int(r["id"])] for r in rows])
    assert np.abs(np.column_stack([lon, lat]) - want).max() < 1e-8


def test_polygons_transform_as_shapes_in_square_metres(demo_url, tmp_path):
    path = _export(demo_url, "gpkg", "EPSG:4548", tmp_path / "b.gpkg", layer="buildings")
    frame = pyogrio.read_dataframe(path, fid_as_index=True)
    with get_engine(demo_url).connect() as conn:
        sql = "SELECT id, ST_Area(ST_Transform(ST_SnapToGrid(geom, 1e-7), 4548)) FROM building"
        area = {i: a for i, a in conn.execute(text(sql))}
    assert frame.crs.to_epsg() == 4548 and len(frame) == len(area)
    got = dict(zip(_ids(frame), frame.geometry.area, strict=True))
    assert max(abs(got[i] - area[i]) / area[i] for i in area) < 1e-6  # same shapes, in m²


def test_download_takes_crs(demo_url, tmp_path):
    client = api_client(demo_url, "planner")
    response = client.get(f"/api/export/{LAYER}?format=gpkg&crs=EPSG:4548")
    assert response.status_code == 200
    assert response.headers["X-Export-Crs"] == "EPSG:4548"
    assert response.headers["Content-Disposition"].endswith(f"{LAYER}_epsg4548.gpkg")
    path = tmp_path / "dl.gpkg"
    path.write_bytes(response.data)
    assert pyogrio.read_info(path)["crs"] == "EPSG:4548"
    gcj = client.get(f"/api/export/{LAYER}?format=geojson&crs=gcj02")
    assert gcj.headers["Content-Disposition"].endswith("_gcj02.geojson")


@pytest.mark.parametrize("crs", ["EPSG:999999", "bd09", "nonsense", "EPSG:4979", "x" * 300, "NaN"])
def test_download_refuses_a_bad_crs_with_400(demo_url, crs):
    client = api_client(demo_url, "planner")
    response = client.get(f"/api/export/{LAYER}", query_string={"format": "csv", "crs": crs})
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("crs:")


def test_a_crs_made_for_elsewhere_is_refused_before_writing(demo_url, tmp_path):
    path = tmp_path / "e.gpkg"
    with pytest.raises(FeatureQueryError, match="outside the area of use of EPSG:32611"):
        _export(demo_url, "gpkg", "EPSG:32611", path)  # UTM 11N: North America
    assert not path.exists()


def test_cli_exports_in_a_crs(demo_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": demo_url}
    out = tmp_path / "e.gpkg"
    cmd = [sys.executable, "-m", "geodata", "export", "--layer", LAYER, "--format", "gpkg"]
    done = subprocess.run(
        [*cmd, "-o", str(out), "--crs", "EPSG:4527"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "CGCS2000 / 3-degree Gauss-Kruger zone 39" in done.stderr
    assert pyogrio.read_info(out)["crs"] == "EPSG:4527"
    bad = subprocess.run(
        [*cmd, "-o", str(tmp_path / "x.gpkg"), "--crs", "EPSG:0"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "crs:" in bad.stderr
    assert not (tmp_path / "x.gpkg").exists()
