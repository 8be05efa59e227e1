"""The risk-forecast layer against the stored rows of the latest run (provider; one API call)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import h3
import pytest
from sqlalchemy import text

from analytics import forecast_store as fs
from analytics.forecast_cells import forecast_properties
from geodata import city_time
from geodata.accounts.viewer import PUBLIC, Viewer
from geodata.engine import get_engine
from geodata.query import BBox
from geodata.settings import get_settings
from layers import engine
from layers.geojson import hexagon_feature
from layers.providers.forecast import NO_RUN
from layers.query import LayerQuery
from layers.registry import get_layer
from tests.conftest import api_client

CITY = BBox(117.0, 31.6, 117.6, 32.1)
LAYER = get_layer("risk_forecast")


def rows_of(url: str, sql: str, **params) -> list:
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def answer(
    url: str, bbox: BBox = CITY, viewer: Viewer = PUBLIC, limit: int = 5000, **filters: str
) -> dict:
    query = LayerQuery(bbox, 12.0, limit, None, {k: (v,) for k, v in filters.items()})
    return engine.answer(url, LAYER, query, viewer, get_settings()).as_dict()


def slice_rows(url: str, run_id: int, horizon: int, group: str, unit: str) -> dict[int, tuple]:
    rows = rows_of(
        url,
        "SELECT unit_id, expected, low, high, lon, lat FROM forecast WHERE run_id = :r "
        "AND horizon_days = :h AND category_group = :g AND unit = :u",
        r=run_id,
        h=horizon,
        g=group,
        u=unit,
    )
    return {int(r[0]): tuple(r[1:]) for r in rows}


@pytest.fixture(scope="module")
def runs(demo_url) -> Iterator[tuple[int, int]]:
    """An older r9 run and the latest r8 run; deleted afterwards (the demo city is shared)."""
    older, _ = fs.run_forecast(demo_url, 9, (7,))
    latest, _ = fs.run_forecast(demo_url, 8)
    yield older, latest
    with get_engine(demo_url).begin() as conn:
        conn.execute(text("DELETE FROM forecast_run"))


def test_no_run_gives_an_empty_collection_with_a_note(store_url):
    body = answer(store_url)
    assert body["features"] == [] and body["count"] == 0 and body["pending"] is True
    assert body["note"] == NO_RUN and "python -m analytics forecast" in body["note"]["en"]


def test_hexagons_are_the_latest_runs_stored_cells(runs, demo_url):
    older, latest = runs
    body = answer(demo_url)
    about = body["forecast"]
    assert about["run_id"] == latest and about["cell_res"] == 8 and about["horizon_days"] == 7
    assert older < latest and slice_rows(demo_url, older, 7, "all", "h3")  # kept, not shown
    stored = slice_rows(demo_url, latest, 7, "all", "h3")
    got = {h3.str_to_int(f["properties"]["h3"]): f for f in body["features"]}
    assert set(got) == set(stored) and body["count"] == len(stored) > 0
    for cell, (expected, low, high, _, _) in stored.items():
        p = got[cell]["properties"]
        assert h3.get_resolution(p["h3"]) == 8 and got[cell]["geometry"]["type"] == "Polygon"
        assert p["expected"] == round(expected, 3) and (p["low"], p["high"]) == (low, high)
        assert f"{low}–{high}" in p["name"] and f"{low}–{high}" in p["name_en"]
    levels = [f["properties"]["level"] for f in body["features"]]
    assert levels[0] == 5 and levels == sorted(levels, reverse=True)
    version = rows_of(demo_url, "SELECT model_version FROM forecast_run WHERE id = :r", r=latest)
    assert version[0][0] in body["note"]["zh"] and version[0][0] in body["note"]["en"]
    ran = city_time.fmt(datetime.fromisoformat(about["run_at"]), "Asia/Shanghai", "%Y-%m-%d %H:%M")
    assert f"run {ran} UTC+08:00" in body["note"]["en"]  # when the model ran, in the city's clock


def test_a_small_view_gets_the_cells_whose_centre_is_near_it(runs, demo_url):
    latest = runs[1]
    stored = slice_rows(demo_url, latest, 7, "all", "h3")
    top = max(stored, key=lambda c: stored[c][0])
    lon, lat = stored[top][3], stored[top][4]
    box = BBox(lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004)
    margin = h3.average_hexagon_edge_length(8, "km") / 111.0
    near = {
        c
        for c, (*_, x, y) in stored.items()
        if box.minx - margin <= x <= box.maxx + margin
        and box.miny - margin <= y <= box.maxy + margin
    }
    body = answer(demo_url, box)
    assert {h3.str_to_int(f["id"]) for f in body["features"]} == near
    assert top in near and len(near) < len(stored)


def test_horizon_group_and_grids_are_parameters(runs, demo_url):
    latest = runs[1]
    month = answer(demo_url, horizon="30", group="care")
    stored = slice_rows(demo_url, latest, 30, "care", "h3")
    got = {h3.str_to_int(f["id"]): f["properties"]["expected"] for f in month["features"]}
    assert got == {c: round(v[0], 3) for c, v in stored.items()}
    assert month["forecast"]["horizon_days"] == 30 and "30" in month["note"]["zh"]
    grids = answer(demo_url, unit="grid")
    stored_grids = slice_rows(demo_url, latest, 7, "all", "grid")
    in_city = rows_of(
        demo_url,
        "SELECT count(*) FROM area WHERE level = 'grid' "
        "AND geom && ST_MakeEnvelope(117.0, 31.6, 117.6, 32.1, 4326)",
    )[0][0]
    assert grids["count"] == in_city == len(stored_grids) > 0
    for f in grids["features"]:
        expected, low, high, *_ = stored_grids[f["properties"]["area"]]
        assert f["properties"]["expected"] == round(expected, 3)
        assert f["properties"]["name"].endswith(f"{low}–{high} 起")


def test_a_horizon_or_group_the_run_lacks_is_explained(runs, demo_url):
    extra, _ = fs.run_forecast(demo_url, 8, (7,))  # now the latest run has no 30-day horizon
    try:
        body = answer(demo_url, horizon="30")
        assert body["features"] == [] and "30" in body["note"]["en"]
        assert body["forecast"]["run_id"] == extra
        body = answer(demo_url, group="no_such_group")
        assert body["features"] == [] and "no_such_group" in body["note"]["en"]
    finally:  # the other tests expect runs[1] to be the latest
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("DELETE FROM forecast_run WHERE id = :r"), {"r": extra})


def test_a_grid_worker_sees_only_the_cells_of_their_grid(runs, demo_url):
    latest = runs[1]
    grid_id = rows_of(
        demo_url,
        "SELECT a.id FROM area a JOIN forecast f ON f.unit_id = a.id AND f.unit = 'grid' "
        "WHERE f.run_id = :r AND f.horizon_days = 7 AND f.category_group = 'all' "
        "ORDER BY f.expected DESC LIMIT 1",
        r=runs[1],
    )[0][0]
    inside = rows_of(
        demo_url,
        "SELECT f.unit_id FROM forecast f JOIN area a ON a.id = :g WHERE f.run_id = :r "
        "AND f.unit = 'h3' AND f.horizon_days = 7 AND f.category_group = 'all' "
        "AND ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326))",
        g=grid_id,
        r=latest,
    )
    worker = Viewer(role="grid_worker", area_ids=(grid_id,))
    body = answer(demo_url, viewer=worker)
    assert {h3.str_to_int(f["id"]) for f in body["features"]} == {c for (c,) in inside}


def test_the_api_serves_the_layer(runs, demo_url):
    client = api_client(demo_url, max_features=5000)
    response = client.get(
        "/api/layers/risk_forecast?bbox=117.0,31.6,117.6,32.1&zoom=12&horizon=30&unit=grid"
    )
    assert response.status_code == 200, response.data[:300]
    body = json.loads(response.data)
    assert body["forecast"]["run_id"] == runs[1] and body["forecast"]["unit"] == "grid"
    assert body["count"] == len(slice_rows(demo_url, runs[1], 30, "all", "grid")) > 0


def todays_features(url: str, run_id: int, horizon: int, group: str, cells: set[int]) -> list:
    """What the layer wrote per cell before the texts were stored: ``hexagon_feature`` of
    ``forecast_properties`` with the slice's top, highest first."""
    rows = rows_of(
        url,
        "SELECT unit_id, expected, low, high, max(expected) OVER () FROM forecast "
        "WHERE run_id = :r AND horizon_days = :h AND category_group = :g AND unit = 'h3' "
        "ORDER BY expected DESC, unit_id",
        r=run_id,
        h=horizon,
        g=group,
    )
    return [
        json.loads(hexagon_feature(int(r[0]), forecast_properties(r, horizon, group)))
        for r in rows
        if int(r[0]) in cells
    ]


def shown(body: dict) -> set[int]:
    return {h3.str_to_int(f["id"]) for f in body["features"]}


@pytest.mark.parametrize("horizon,group", [(7, "all"), (30, "care")])
def test_stored_texts_answer_what_the_cells_gave(runs, demo_url, horizon, group):
    latest = runs[1]
    stored = rows_of(
        demo_url,
        "SELECT count(feature), count(*) FROM forecast WHERE run_id = :r AND unit = 'h3'",
        r=latest,
    )[0]
    assert stored[0] == stored[1] > 0
    body = answer(demo_url, horizon=str(horizon), group=group)
    assert body["features"] == todays_features(demo_url, latest, horizon, group, shown(body))
    assert body["count"] == len(body["features"]) > 0 and not body.get("capped")


def test_a_grid_workers_stored_texts_are_the_cells_of_their_grid(runs, demo_url):
    latest = runs[1]
    grid_id = rows_of(
        demo_url,
        "SELECT a.id FROM area a JOIN forecast f ON ST_Intersects(a.geom, "
        "ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)) WHERE a.level = 'grid' AND f.run_id = :r "
        "AND f.unit = 'h3' AND f.horizon_days = 7 AND f.category_group = 'all' "
        "GROUP BY a.id ORDER BY count(*) DESC, a.id LIMIT 1",
        r=latest,
    )[0][0]
    body = answer(demo_url, viewer=Viewer(role="grid_worker", area_ids=(grid_id,)))
    assert 0 < len(body["features"]) < answer(demo_url)["count"]
    assert body["features"] == todays_features(demo_url, latest, 7, "all", shown(body))


def test_the_cap_keeps_the_highest_whole_features(runs, demo_url):
    full = answer(demo_url)["features"]
    body = answer(demo_url, limit=3)
    assert body["features"] == full[:3] and body["count"] == 3 and body["capped"] is True
    assert not answer(demo_url, limit=len(full)).get("capped")


def test_a_run_stored_without_texts_answers_the_same(runs, demo_url):
    """Runs stored before migration 0013 have no texts: the layer writes the features."""
    slices = ({}, {"horizon": "30", "group": "care"})
    before = [answer(demo_url, **filters) for filters in slices]
    capped = answer(demo_url, limit=3)
    with get_engine(demo_url).begin() as conn:
        copy = conn.execute(
            text(
                "INSERT INTO forecast_run (model_version, started_at, finished_at, cell_res, "
                "horizons, groups, history_from, origin, incidents, config) "
                "SELECT model_version, started_at + interval '1 second', finished_at, cell_res, "
                "horizons, groups, history_from, origin, incidents, config FROM forecast_run "
                "WHERE id = :r RETURNING id"
            ),
            {"r": runs[1]},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO forecast (run_id, horizon_days, category_group, unit, unit_id, lon, "
                "lat, expected, low, high) SELECT :c, horizon_days, category_group, unit, "
                "unit_id, lon, lat, expected, low, high FROM forecast WHERE run_id = :r"
            ),
            {"c": copy, "r": runs[1]},
        )
    try:
        for filters, old in zip(slices, before, strict=True):
            again = answer(demo_url, **filters)
            assert again["forecast"]["run_id"] == copy
            assert again["features"] == old["features"] and again["count"] == old["count"]
        again = answer(demo_url, limit=3)
        assert again["features"] == capped["features"] and again["capped"] is True
    finally:
        with get_engine(demo_url).begin() as conn:
            conn.execute(text("DELETE FROM forecast_run WHERE id = :c"), {"c": copy})
