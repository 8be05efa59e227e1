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
    w, s, e, n = settings.city_extent
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
    w, s, e, nn = settings.city_extent
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
