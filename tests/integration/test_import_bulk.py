"""The bulk path: areas assigned in Python agree with the trigger's rule, and a bulk load puts
back every index and constraint it set aside (or changes nothing when it fails)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from geodata.engine import get_engine
from geodata.errors import ImportRejected
from geodata.ingest import defer, import_file
from geodata.settings import Settings
from geodata.store import drop_database, migrate, recreate_database
from tests.conftest import _server_url

CATALOG = """
SELECT (SELECT array_agg(d ORDER BY d) FROM
        (SELECT pg_get_indexdef(indexrelid) AS d FROM pg_index
         WHERE indrelid = 'device'::regclass) i),
       (SELECT array_agg(conname || ' ' || pg_get_constraintdef(oid) ORDER BY conname)
        FROM pg_constraint WHERE conrelid = 'device'::regclass)
"""


@pytest.fixture(scope="module")
def url(cluster) -> Iterator[str]:
    name = f"onemap_test_import_bulk_{os.getpid()}"
    url = recreate_database(_server_url(cluster), name)
    migrate(url)
    yield url
    get_engine(url).dispose()
    drop_database(_server_url(cluster), name)


def _areas(url: str, tmp_path) -> None:
    """Two nested districts' worth of boxes: a district, a street inside it sharing an edge, and
    two overlapping grids of equal depth (ties go to the smaller id)."""
    import geopandas as gpd
    import shapely

    settings = Settings()
    w, s, e, n = settings.city.extent
    cx, cy = (w + e) / 2, (s + n) / 2
    layers = {
        "district": [shapely.box(cx - 0.2, cy - 0.2, cx + 0.2, cy + 0.2)],
        "street": [shapely.box(cx - 0.2, cy - 0.1, cx, cy + 0.1)],
        "grid": [shapely.box(cx - 0.15, cy - 0.05, cx - 0.05, cy + 0.05),
                 shapely.box(cx - 0.1, cy - 0.05, cx, cy + 0.05)],
    }  # fmt: skip
    for level, boxes in layers.items():
        path = tmp_path / f"{level}.geojson"
        ids = [f"{level}{i}" for i in range(len(boxes))]
        gpd.GeoDataFrame({"id": ids, "name": ids}, geometry=boxes,
                         crs=4326).to_file(path)  # fmt: skip
        import_file(url, path, "areas", settings, level=level)


def _points(tmp_path, n: int) -> tuple:
    settings = Settings()
    w, s, e, nn = settings.city.extent
    cx, cy = (w + e) / 2, (s + nn) / 2
    rng = np.random.default_rng(7)
    lon = np.round(rng.uniform(cx - 0.25, cx + 0.25, n), 2)  # many points on area edges
    lat = np.round(rng.uniform(cy - 0.25, cy + 0.25, n), 2)
    path = tmp_path / "devices.csv"
    pd.DataFrame({"id": np.arange(n), "kind": "camera", "lon": lon, "lat": lat}).to_csv(
        path, index=False
    )
    return path, settings


def test_python_area_assignment_matches_the_trigger_rule(url, tmp_path, monkeypatch):
    _areas(url, tmp_path)
    path, settings = _points(tmp_path, 3000)
    monkeypatch.setattr(defer, "BULK_ROWS", 1000)  # the bulk path, on a small file
    with get_engine(url).connect() as conn:
        before = conn.execute(text(CATALOG)).one()
    report = import_file(url, path, "devices", settings, source="bulk")
    assert report.counts["inserted"] == 3000
    with get_engine(url).connect() as conn:
        assert conn.execute(text(CATALOG)).one() == before
        wrong = conn.execute(
            text(
                "SELECT count(*) FROM device d WHERE d.area_id IS DISTINCT FROM "
                "(SELECT a.id FROM area a WHERE ST_Covers(a.geom, d.loc) "
                "ORDER BY a.depth DESC, a.id LIMIT 1)"
            )
        ).scalar_one()
        levels = conn.execute(
            text("SELECT count(DISTINCT a.level) FROM device d JOIN area a ON a.id = d.area_id")
        ).scalar_one()
    assert wrong == 0
    assert levels == 3


def test_failed_bulk_load_changes_nothing(url, tmp_path, monkeypatch):
    path, settings = _points(tmp_path, 2000)
    frame = pd.read_csv(path)
    frame.loc[1500, "kind"] = "teapot"
    frame.to_csv(path, index=False)
    monkeypatch.setattr(defer, "BULK_ROWS", 1000)
    with get_engine(url).connect() as conn:
        before = conn.execute(text(CATALOG)).one()
        rows = conn.execute(text("SELECT count(*) FROM device")).scalar_one()
    with pytest.raises(ImportRejected):
        import_file(url, path, "devices", settings, source="broken")
    with get_engine(url).connect() as conn:
        assert conn.execute(text(CATALOG)).one() == before
        assert conn.execute(text("SELECT count(*) FROM device")).scalar_one() == rows


def _typed_devices(tmp_path, n: int, name: str = "typed.gpkg", changes=None) -> tuple:
    """Devices with every kind of column the direct COPY encodes (text, vocabulary, float,
    time with zone) and some empty values, as a GeoPackage (which states its row count) or
    a CSV; ``changes`` maps (row position, column) to a value to put there."""
    import geopandas as gpd

    settings = Settings()
    w, s, e, nn = settings.city.extent
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "id": [f"d-{i}" for i in range(n)],
            "kind": np.where(np.arange(n) % 3 == 0, "烟感", "camera"),
            "status": np.where(np.arange(n) % 5 == 0, "", "offline"),
            "model": [None if i % 7 == 0 else f" M{i} " for i in range(n)],
            "heading": [None if i % 4 == 0 else float(i % 360) for i in range(n)],
            "last_seen": [
                None if i % 6 == 0 else f"2026-03-0{1 + i % 9} 08:1{i % 10}:05" for i in range(n)
            ],
            "lon": rng.uniform(w, e, n),
            "lat": rng.uniform(s, nn, n),
        }
    )
    for (i, column), value in (changes or {}).items():
        frame.loc[i, column] = value
    path = tmp_path / name
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        points = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"))
        gpd.GeoDataFrame(frame, geometry=points, crs=4326).to_file(path)
    return path, settings


@pytest.fixture
def direct_runs(monkeypatch) -> list:
    """One entry per import that took the direct path."""
    from geodata.ingest import importer

    ran: list = []
    real = importer._run_direct
    monkeypatch.setattr(importer, "_run_direct", lambda *a, **k: ran.append(1) or real(*a, **k))
    return ran


STORED = """
SELECT source_id, ST_AsEWKB(geom), ST_AsEWKB(loc), h3_r7, h3_r9, area_id, kind, status, model,
       heading, last_seen FROM device WHERE source = :source ORDER BY source_id
"""


def _stored(url: str, source: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(STORED), {"source": source})]


@pytest.mark.parametrize("bulk_rows", [1000, defer.BULK_ROWS])
def test_direct_path_stores_what_the_staged_path_stores(
    url, tmp_path, monkeypatch, bulk_rows, direct_runs
):
    from geodata.cells import h3_cell
    from geodata.ingest import direct

    path, settings = _typed_devices(tmp_path, 2500)
    monkeypatch.setattr(defer, "BULK_ROWS", bulk_rows)
    with get_engine(url).connect() as conn:
        before = conn.execute(text(CATALOG)).one()
    fast = import_file(url, path, "devices", settings, source=f"direct{bulk_rows}")
    monkeypatch.setattr(direct, "eligible", lambda *a: False)
    slow = import_file(url, path, "devices", settings, source=f"staged{bulk_rows}")
    assert direct_runs == [1] and (fast.path, slow.path) == ("direct", "staged")
    assert fast.counts == slow.counts and fast.counts["inserted"] == 2500
    direct_rows = _stored(url, f"direct{bulk_rows}")
    assert direct_rows == _stored(url, f"staged{bulk_rows}")
    assert {r[6] for r in direct_rows} == {"camera", "smoke"}
    assert sum(r[7] == "online" for r in direct_rows) == 500  # empty status: the default
    assert sum(r[8] is None for r in direct_rows) == 358 and direct_rows[1][8] == "M1"
    assert sum(r[10] is None for r in direct_rows) == 417
    assert direct_rows[1][10].isoformat() == "2026-03-02T00:11:05+00:00"  # 08:11 Shanghai
    with get_engine(url).connect() as conn:
        assert conn.execute(text(CATALOG)).one() == before
        cells = conn.execute(
            text("SELECT ST_X(loc), ST_Y(loc), h3_r7, h3_r9 FROM device WHERE source = :s"),
            {"s": f"direct{bulk_rows}"},
        ).all()
    assert all(r7 == h3_cell(x, y, 7) and r9 == h3_cell(x, y, 9) for x, y, r7, r9 in cells)


@pytest.mark.parametrize("bulk_rows", [1000, defer.BULK_ROWS])
def test_direct_path_repeated_id_names_the_row_and_changes_nothing(
    url, tmp_path, monkeypatch, bulk_rows, direct_runs
):
    # file row 1801 repeats row 6's id
    path, settings = _typed_devices(tmp_path, 2000, changes={(1800, "id"): "d-5"})
    monkeypatch.setattr(defer, "BULK_ROWS", bulk_rows)
    with get_engine(url).connect() as conn:
        before = conn.execute(text(CATALOG)).one()
        rows = conn.execute(text("SELECT count(*) FROM device")).scalar_one()
    with pytest.raises(ImportRejected) as err:
        import_file(url, path, "devices", settings, source=f"repeats{bulk_rows}")
    assert direct_runs == [1]  # tried directly first, then staged
    assert "row 1801" in str(err.value) and "duplicate id 'd-5' (first in row 6)" in str(err.value)
    with get_engine(url).connect() as conn:
        assert conn.execute(text(CATALOG)).one() == before
        assert conn.execute(text("SELECT count(*) FROM device")).scalar_one() == rows


def test_direct_path_fallback_writes_each_reject_once(url, tmp_path, direct_runs):
    changes = {(10, "kind"): "teapot", (200, "id"): "d-0"}
    path, settings = _typed_devices(tmp_path, 300, changes=changes)
    rejects = tmp_path / "rejects.csv"
    report = import_file(url, path, "devices", settings, source="half_bad", skip_bad=rejects)
    listed = pd.read_csv(rejects)
    assert listed["row"].tolist() == [11, 201]
    assert listed["field"].tolist() == ["kind", "id"]
    assert report.counts["rejected"] == 2 and report.counts["inserted"] == 298
    assert direct_runs == [1] and report.path == "staged"


def test_csv_into_a_filled_table_goes_staged(url, tmp_path, direct_runs):
    """A CSV does not state its row count: into a table holding rows, the staged path counts
    them before deciding to set the indexes aside."""
    path, settings = _typed_devices(tmp_path, 50, "typed.csv")
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM device")).scalar_one() > 0
    report = import_file(url, path, "devices", settings, source="csv_late")
    assert report.path == "staged" and direct_runs == []
    assert report.counts["inserted"] == 50


def test_binary_copy_round_trip(url):
    from datetime import UTC, datetime

    import shapely

    from geodata.bulk import encode_binary, point_wkb, raw_connection
    from geodata.ingest.stage import open_copy

    columns = ["a", "b", "c", "d", "e", "f", "g", "h", "p", "q"]
    stamp = datetime(2026, 11, 27, 4, 5, 6, 789000, tzinfo=UTC)
    poly = shapely.box(117.0, 31.0, 117.1, 31.1)
    values = [
        [1, None, -3], np.array([7, 8, 9]), [2**40, None, -1], [1.5, None, -0.25],
        [True, False, None], ["x", None, "中文\ttab"], ["v", "w", None],
        [stamp.isoformat(), None, "2026-01-01T00:00:00+08:00"],
        point_wkb(np.array([117.2, 117.3, 0.0]), np.array([31.8, 31.9, 0.0])),
        [shapely.to_wkb(poly), None, shapely.to_wkb(shapely.Point(1, 2))],
    ]  # fmt: skip
    with raw_connection(url) as conn:
        conn.execute(
            "CREATE TEMP TABLE rt (a smallint, b integer, c bigint, d double precision, "
            "e boolean, f text, g varchar(8), h timestamptz, p geometry(Point, 4326), "
            "q geometry(Geometry, 4326))"
        )
        with open_copy(conn, "rt", columns) as target:
            assert target.binary
            target.copy.write(encode_binary(target.types, values, 3))
        rows = conn.execute(
            "SELECT a, b, c, d, e, f, g, h, ST_AsText(p), ST_SRID(p), ST_AsText(q), ST_SRID(q) "
            "FROM rt ORDER BY b NULLS LAST"
        ).fetchall()
        conn.rollback()
    assert rows[0][:8] == (1, 7, 2**40, 1.5, True, "x", "v", stamp)
    assert rows[1][:8] == (None, 8, None, None, False, None, "w", None)
    assert rows[2][:7] == (-3, 9, -1, -0.25, None, "中文\ttab", None)
    assert rows[2][7] == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert rows[0][8:] == ("POINT(117.2 31.8)", 4326, shapely.to_wkt(poly, rounding_precision=-1)
                           .replace(" (", "(").replace(", ", ","), 4326)  # fmt: skip
    assert rows[1][10] is None and rows[2][10:] == ("POINT(1 2)", 4326)
