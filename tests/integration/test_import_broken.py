"""Broken inputs: each gives its own clear error, and the store is unchanged afterwards."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import numpy as np
import pytest
import shapely
from sqlalchemy import text

from geodata.crs import wgs84_to_gcj02
from geodata.engine import get_engine
from geodata.errors import (
    ImportRejected,
    MappingError,
    OutsideCityExtent,
    SuspectedOffsetCRS,
    UnreadableInput,
)
from geodata.ingest import import_file
from geodata.settings import PROJECT_ROOT, Settings
from geodata.store import feature_counts
from tests.conftest import _fresh_database
from tests.integration.import_support import emptied

X, Y = 117.25, 31.84


@pytest.fixture(scope="module")
def db(cluster) -> Iterator[str]:
    with _fresh_database(cluster, "import_broken") as url:
        yield url


@pytest.fixture
def url(db, tmp_path) -> str:
    """The module database holding one earlier import (so "unchanged" means something)."""
    emptied(db)
    seed = tmp_path / "seed.csv"
    seed.write_text(f"id,kind,lon,lat\nS1,camera,{X},{Y}\nS2,smoke,{X + 0.01},{Y}\n")
    import_file(db, seed, "devices", Settings())
    return db


def refused(url, exc_type, *args, **kwargs) -> ImportRejected:
    """Run an import that must fail; check nothing changed; return the error."""
    before = feature_counts(url)
    with pytest.raises(exc_type) as info:
        import_file(url, *args, **kwargs)
    assert feature_counts(url) == before
    return info.value


def write_csv(path, header, rows, encoding="utf-8") -> None:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def test_truncated_geojson(url, tmp_path):
    features = [
        {"type": "Feature", "properties": {"id": i},
         "geometry": {"type": "Point", "coordinates": [X + i * 1e-4, Y]}}
        for i in range(200)
    ]  # fmt: skip
    whole = json.dumps({"type": "FeatureCollection", "features": features})
    path = tmp_path / "cut.geojson"
    path.write_text(whole[: len(whole) // 2])
    err = refused(url, UnreadableInput, path, "devices", Settings(), constants={"kind": "smoke"})
    assert "cut.geojson" in str(err)
    assert "cannot read" in str(err) or "truncated" in str(err)


def test_mixed_geometry_types(url, tmp_path):
    box = shapely.geometry.mapping(shapely.box(X, Y, X + 5e-4, Y + 5e-4))
    point = {"type": "Point", "coordinates": [X, Y]}
    path = tmp_path / "mixed.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"}, "geometry": box},
        {"type": "Feature", "properties": {"id": "b"}, "geometry": point},
        {"type": "Feature", "properties": {"id": "c"}, "geometry": box},
    ]}))  # fmt: skip
    err = refused(url, ImportRejected, path, "buildings", Settings())
    assert "row 2, geometry: wrong geometry type Point; layer buildings takes polygons" in str(err)
    assert [(r.row, r.field) for r in err.rejects] == [(2, "geometry")]


def test_nan_coordinates(url, tmp_path):
    path = tmp_path / "nan.csv"
    rows = [["1", "camera", X, Y], ["2", "camera", "NaN", Y], ["3", "gas", X, "inf"]]
    write_csv(path, ["id", "kind", "lon", "lat"], rows)
    err = refused(url, ImportRejected, path, "devices", Settings())
    assert "row 2, geometry: lon is not a number: 'NaN'" in str(err)
    assert "row 3, geometry: lat is not a number: 'inf'" in str(err)


def test_swapped_lat_lon(url, tmp_path):
    path = tmp_path / "swapped.csv"
    write_csv(path, ["id", "kind", "lon", "lat"],
              [[i, "smoke", Y + i * 1e-3, X] for i in range(50)])  # fmt: skip
    err = refused(url, OutsideCityExtent, path, "devices", Settings())
    message = str(err)
    assert "50 of 50 rows lie outside the city extent" in message
    assert "latitude and longitude look swapped" in message


def test_projected_metres_without_crs(url, tmp_path):
    from geodata.crs import from_wgs84

    xs, ys = from_wgs84(np.full(20, X) + np.arange(20) * 1e-3, np.full(20, Y), "EPSG:32650")
    path = tmp_path / "utm.csv"
    write_csv(
        path,
        ["id", "kind", "x", "y"],
        [[i, "gas", a, b] for i, (a, b) in enumerate(zip(xs, ys, strict=True))],
    )
    err = refused(url, OutsideCityExtent, path, "devices", Settings())
    assert "coordinates look projected (metres)" in str(err)
    assert "pass --crs EPSG:" in str(err)  # names a metric CRS that fits (GK CM 117E here)
    report = import_file(url, path, "devices", Settings(), crs="EPSG:32650")
    assert report.counts["inserted"] == 20


def test_gcj02_given_as_wgs84_is_caught(url, tmp_path):
    # small grid squares stored as areas; points truly inside them, then shifted to GCJ-02
    rng = np.random.default_rng(3)
    squares = [shapely.box(X + i * 0.01, Y + j * 0.01, X + i * 0.01 + 0.002, Y + j * 0.01 + 0.002)
               for i in range(6) for j in range(6)]  # fmt: skip
    grid = tmp_path / "grid.geojson"
    grid.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": f"g{k}", "name": f"网格{k}"},
         "geometry": shapely.geometry.mapping(sq)} for k, sq in enumerate(squares)]}))  # fmt: skip
    import_file(url, grid, "areas", Settings(), level="grid")
    pts = [sq.centroid for sq in squares for _ in range(5)]
    lon = np.array([p.x for p in pts]) + rng.uniform(-4e-4, 4e-4, len(pts))
    lat = np.array([p.y for p in pts]) + rng.uniform(-4e-4, 4e-4, len(pts))
    glon, glat = wgs84_to_gcj02(lon, lat)
    path = tmp_path / "amap.csv"
    rows = [[i, "smoke", a, b] for i, (a, b) in enumerate(zip(glon, glat, strict=True))]
    write_csv(path, ["id", "kind", "lng", "lat"], rows)
    err = refused(url, SuspectedOffsetCRS, path, "devices", Settings())
    assert "looks like GCJ-02" in str(err) and "pass --crs gcj02" in str(err)
    report = import_file(url, path, "devices", Settings(), crs="gcj02")
    assert report.counts["inserted"] == len(pts)
    with get_engine(url).connect() as conn:
        unassigned = conn.execute(
            text("SELECT count(*) FROM device WHERE source = 'amap' AND area_id IS NULL")
        ).scalar_one()
    assert unassigned == 0


def test_gbk_attributes(url, tmp_path):
    path = tmp_path / "gbk.csv"
    write_csv(path, ["id", "名称", "类型", "经度", "纬度"],
              [["1", "合肥市消防站", "hydrant", X, Y], ["2", "蜀山区避难场所", "shelter", X, Y]],
              encoding="gbk")  # fmt: skip
    err = refused(url, UnreadableInput, path, "facilities", Settings())
    assert "pass --encoding gbk" in str(err)
    report = import_file(url, path, "facilities", Settings(), encoding="gbk")
    assert report.counts["inserted"] == 2
    with get_engine(url).connect() as conn:
        names = conn.execute(text("SELECT name FROM facility ORDER BY name")).scalars().all()
    assert names == ["合肥市消防站", "蜀山区避难场所"]


def test_missing_required_field_names_the_fix(url, tmp_path):
    path = tmp_path / "nokind.csv"
    write_csv(path, ["id", "lon", "lat"], [[1, X, Y]])
    err = refused(url, MappingError, path, "devices", Settings())
    assert "needs kind" in str(err) and "--map kind=COLUMN" in str(err)


def test_skip_bad_writes_rejects(url, tmp_path):
    path = tmp_path / "some_bad.csv"
    write_csv(path, ["id", "kind", "heading", "lon", "lat"], [
        ["1", "camera", "90", X, Y], ["2", "toaster", "", X, Y], ["3", "camera", "400", X, Y],
        ["4", "smoke", "", "", Y], ["5", "gas", "", X, Y], ["5", "gas", "", X, Y],
    ])  # fmt: skip
    with pytest.raises(ImportRejected):
        import_file(url, path, "devices", Settings())
    rejects = tmp_path / "rejects.csv"
    report = import_file(url, path, "devices", Settings(), skip_bad=rejects)
    assert (report.counts["inserted"], report.counts["rejected"]) == (2, 4)
    with rejects.open(encoding="utf-8") as fh:
        listed = [(r["row"], r["field"], r["reason"]) for r in csv.DictReader(fh)]
    assert listed == [
        ("2", "kind", "unknown value 'toaster'; expected one of camera, smoke, gas, door, water, "
                      "access_gate, electric, manhole"),
        ("3", "heading", "400 is out of range (must be below 360)"),
        ("4", "geometry", "lon is empty"),
        ("6", "id", "duplicate id '5' (first in row 5)"),
    ]  # fmt: skip
    with rejects.open(encoding="utf-8") as fh:
        assert json.loads(next(csv.DictReader(fh))["values"])["kind"] == "toaster"


BIG_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    from geodata.errors import ImportRejected
    from geodata.ingest import import_file
    from geodata.settings import Settings
    try:  # warm up: load every library the import uses, on the first 1,000 rows
        import_file(sys.argv[1], sys.argv[3], "events", Settings())
    except ImportRejected:
        pass
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        import_file(sys.argv[1], sys.argv[2], "events", Settings())
        outcome = "imported"
    except ImportRejected as exc:
        outcome = str(exc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_kb": peak - base, "outcome": outcome}))
    """
)


def test_200_mb_csv_is_streamed(url, tmp_path):
    """A 200 MB CSV whose first row is bad: every row is read and checked (to count), in
    batches, then refused; the process's peak memory grows far less than the file's size."""
    path = tmp_path / "big.csv"
    pad = "x" * 1900
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,category,description,lon,lat\n")
        fh.write(f"0,,{pad},{X},{Y}\n")  # row 1: no category
        line = f",noise,{pad},{X},{Y}\n"
        for i in range(1, 105_000):
            fh.write(f"{i}{line}")
    size = path.stat().st_size
    assert size > 200e6
    small = tmp_path / "small.csv"
    with path.open(encoding="utf-8") as src, small.open("w", encoding="utf-8") as dst:
        dst.writelines(line for _, line in zip(range(1001), src, strict=False))
    before = feature_counts(url)
    out = subprocess.run(
        [sys.executable, "-c", BIG_SCRIPT, url, str(path), str(small)],
        capture_output=True, text=True, check=True, cwd=PROJECT_ROOT,
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "1 of 105,000 rows of big.csv are refused: row 1, category" in result["outcome"]
    print(f"peak RSS growth {result['growth_kb'] / 1024:.0f} MB for a {size / 1e6:.0f} MB file")
    assert result["growth_kb"] * 1024 < size / 8
    assert feature_counts(url) == before
