"""A stored forecast run on the demo city: the numbers against the history and the model."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import h3
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import text

from analytics import forecast as fc
from analytics import forecast_store as fs
from analytics.__main__ import main as cli_main
from analytics.backtest import run_backtest
from geodata.cells import cell_sql
from geodata.engine import get_engine
from geodata.settings import get_settings


def rows_of(url: str, sql: str, **params) -> list:
    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).all()


def stored(url: str, run_id: int) -> pd.DataFrame:
    """The forecast rows of a run as a frame, in a fixed order."""
    with get_engine(url).connect() as conn:
        frame = pd.read_sql_query(
            text("SELECT * FROM forecast WHERE run_id = :r"), conn, params={"r": run_id}
        )
    keys = ["horizon_days", "category_group", "unit", "unit_id"]
    return frame.sort_values(keys).reset_index(drop=True)


@pytest.fixture(scope="module")
def run(demo_url) -> Iterator[tuple[int, fs.ForecastResult]]:
    """One run at H3 r8 with both horizons; its rows are deleted afterwards (the demo city is
    shared with the other modules, whose forecast layer must stay empty)."""
    run_id, result = fs.run_forecast(demo_url, 8)
    yield run_id, result
    with get_engine(demo_url).begin() as conn:
        conn.execute(text("DELETE FROM forecast_run"))


def events_grid(url: str, history: fs.History, horizon: int) -> fc.Grid:
    """All incidents counted per period and r8 cell in Python, from each incident's point:
    its r9 cell (as stored) and that cell's r8 parent (as the store derives it in SQL)."""
    rows = rows_of(url, "SELECT ST_X(loc), ST_Y(loc), reported_at FROM event")
    edges = fs.horizon_edges(history, horizon)
    times = pd.DatetimeIndex([t for _, _, t in rows]).tz_convert("UTC")
    cells = np.array([h3.cell_to_parent(h3.latlng_to_cell(lat, lon, 9), 8) for lon, lat, _ in rows])
    keep = (times >= edges[0]) & (times < edges[-1])
    period = edges.searchsorted(times[keep], side="right") - 1
    index = np.searchsorted(history.region_str, cells[keep])
    counts = fc.count_matrix(period, index, len(edges) - 1, len(history.region_str))
    return fc.Grid(history.region_str, edges, counts, 8, pd.DataFrame())


def test_the_run_record_says_what_was_used(run, demo_url):
    run_id, result = run
    row = rows_of(
        demo_url,
        "SELECT model_version, cell_res, horizons, groups, incidents, origin, started_at, "
        "finished_at, config FROM forecast_run WHERE id = :r",
        r=run_id,
    )[0]
    n, last = rows_of(demo_url, "SELECT count(*), max(reported_at) FROM event")[0]
    assert row.model_version == fs.model_version() and row.model_version.startswith("hgb-")
    assert row.cell_res == 8 and row.horizons == [7, 30] and row.incidents == n > 0
    expected_origin = pd.Timestamp(last).tz_convert("UTC").normalize() + pd.Timedelta(days=1)
    assert pd.Timestamp(row.origin) == expected_origin
    assert row.started_at <= row.finished_at
    groups = rows_of(
        demo_url,
        f"SELECT DISTINCT {fs.GROUP_SQL} FROM event e "
        "LEFT JOIN event_category c ON c.code = e.category",
    )
    assert row.groups == [*sorted(g for (g,) in groups), "all"]
    assert row.config["executor"] == "in-process" and row.config["interval"] == 0.8
    frame = stored(demo_url, run_id)
    cells, grids = row.config["region_cells"], row.config["grids"]
    assert len(frame) == len(result.rows) == 2 * len(row.groups) * (cells + grids)


def test_counts_from_sql_equal_counts_from_the_events(run, demo_url):
    history = fs.read_history(demo_url, 8)
    edges = fs.horizon_edges(history, 7)
    from_sql = fs.group_grid(history, fs.ALL, edges)
    from_events = events_grid(demo_url, history, 7)
    np.testing.assert_array_equal(from_sql.counts, from_events.counts)
    assert from_sql.counts.sum() > 0.9 * run[1].run["incidents"]  # an incomplete week is left out


def test_stored_expectations_are_the_model_fitted_on_the_store_history(run, demo_url):
    run_id, _ = run
    frame = stored(demo_url, run_id)
    history = fs.read_history(demo_url, 8)
    exposure = fs.read_exposure(demo_url, history)
    for horizon in (7, 30):
        grid = events_grid(demo_url, history, horizon)
        expected = fc.predict_next(grid, fs.config_for(grid), exposure)
        got = frame[
            (frame.horizon_days == horizon) & (frame.category_group == "all") & (frame.unit == "h3")
        ]
        assert [h3_int for h3_int in got.unit_id] == sorted(history.region.tolist())
        np.testing.assert_allclose(got.expected.to_numpy(), expected, rtol=1e-12)
    week = frame[(frame.horizon_days == 7) & (frame.unit == "h3")]
    month = frame[(frame.horizon_days == 30) & (frame.unit == "h3")]
    assert month.expected.sum() > 2.5 * week.expected.sum()  # 30 days hold more than 7


def test_intervals_are_the_poisson_80_percent_quantiles(run, demo_url):
    frame = stored(demo_url, run[0])
    mu = frame.expected.to_numpy()
    np.testing.assert_array_equal(frame.low, np.where(mu > 0, stats.poisson.ppf(0.1, mu), 0))
    np.testing.assert_array_equal(frame.high, np.where(mu > 0, stats.poisson.ppf(0.9, mu), 0))
    assert (frame.high > frame.low).sum() > len(frame) / 4


def test_a_grid_gets_its_cells_by_where_their_incidents_happened(run, demo_url):
    frame = stored(demo_url, run[0])
    week = frame[(frame.horizon_days == 7) & (frame.category_group == "all")]
    grids = week[week.unit == "grid"]
    top = grids.sort_values("expected").iloc[-1]
    cells = week[week.unit == "h3"].set_index("unit_id")["expected"]
    cell = cell_sql(8, "e")
    shares = rows_of(
        demo_url,
        f"SELECT {cell} AS cell, count(*) FILTER (WHERE e.area_id = :g), count(*) "
        "FROM event e GROUP BY 1",
        g=int(top.unit_id),
    )
    seen = {int(c) for c, _, _ in shares}
    quiet_inside = rows_of(
        demo_url,
        "SELECT f.unit_id FROM forecast f JOIN area a ON a.id = :g "
        "WHERE f.run_id = :r AND f.unit = 'h3' AND f.horizon_days = 7 "
        "AND f.category_group = 'all' "
        "AND ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326))",
        g=int(top.unit_id),
        r=run[0],
    )
    expected = sum(cells[int(c)] * k / n for c, k, n in shares if k)
    expected += sum(cells[int(c)] for (c,) in quiet_inside if int(c) not in seen)
    assert top.expected == pytest.approx(expected, rel=1e-9) and top.expected > 0
    assert grids.expected.sum() <= week[week.unit == "h3"].expected.sum() + 1e-9


def test_exposure_is_counted_per_cell(demo_url):
    history = fs.read_history(demo_url, 8)
    exposure = fs.read_exposure(demo_url, history)
    assert list(exposure.index) == list(history.region_str)
    assert list(exposure.columns) == list(fs.EXPOSURE_SQL)
    buildings = rows_of(demo_url, "SELECT count(*) FROM building")[0][0]
    in_region = rows_of(
        demo_url,
        f"SELECT count(*) FROM building t WHERE {cell_sql(8, 't')} = ANY(:cells)",
        cells=history.region.tolist(),
    )[0][0]
    assert exposure["buildings"].sum() == in_region and 0 < in_region <= buildings
    assert exposure["residents"].sum() > 0 and exposure["care_tags"].sum() > 0
    assert exposure["facilities"].notna().all() and exposure["height"].isna().any()


def test_a_backtest_of_the_store_incidents_uses_the_store_exposure(demo_url):
    """``backtest --events event`` passes the store's exposure: the features gain its columns,
    with the values the stored forecast uses for the cells both regions share."""
    rows = rows_of(demo_url, "SELECT ST_X(loc), ST_Y(loc), reported_at FROM event")
    events = pd.DataFrame(rows, columns=["lon", "lat", "time"])
    exposure = partial(fs.cell_exposure, demo_url)
    glm = fc.ModelConfig(kind="glm", alpha=1e-3)
    small = {"n_origins": 2, "n_validation": 0, "candidates": (glm,)}
    with_exposure = run_backtest(events, exposure=exposure, **small)
    without = run_backtest(events, **small)
    assert with_exposure.exposure == list(fs.EXPOSURE_SQL) and without.exposure == []
    model = with_exposure.table.loc["model"]
    assert not np.allclose(model.to_numpy(), without.table.loc["model"].to_numpy())
    np.testing.assert_array_equal(  # the baselines do not see the exposure
        with_exposure.table.drop(index="model"), without.table.drop(index="model")
    )
    grid = fc.build_grid(events)
    frame = fs.cell_exposure(demo_url, grid.cells, 8)
    assert list(frame.index) == list(grid.cells)
    assert fc.build_features(grid, frame).shape[2] == len(fc.feature_names(frame))
    reference = fs.read_exposure(demo_url, fs.read_history(demo_url, 8))
    shared = frame.index.intersection(reference.index)
    assert len(shared) > 0.9 * len(frame)  # the SQL r8 parent of r9 differs near edges only
    pd.testing.assert_frame_equal(frame.loc[shared], reference.loc[shared])


def test_the_cli_backtest_of_the_store_prints_its_exposure(demo_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    get_settings.cache_clear()
    try:
        argv = ["backtest", "--events", "event", "--origins", "2", "--validation", "2"]
        assert cli_main(argv) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert f"exposure from the store: {', '.join(fs.EXPOSURE_SQL)}" in out
    assert "| space-time kde |" in out


def test_older_runs_are_kept_and_a_short_history_is_refused(run, demo_url):
    second, result = fs.run_forecast(demo_url, 9, (7,))
    counts = dict(rows_of(demo_url, "SELECT run_id, count(*) FROM forecast GROUP BY 1"))
    assert counts[run[0]] == len(run[1].rows) and counts[second] == len(result.rows)
    assert result.run["cell_res"] == 9 and result.run["horizons"] == [7]
    with pytest.raises(fs.ForecastError, match="horizons"):
        fs.compute_forecast(demo_url, 8, (14,))
    with pytest.raises(fs.ForecastError, match="resolution"):
        fs.compute_forecast(demo_url, 7)


def test_an_empty_store_is_refused_and_nothing_is_stored(store_url):
    with pytest.raises(fs.ForecastError, match="no incidents"):
        fs.run_forecast(store_url)
    assert rows_of(store_url, "SELECT count(*) FROM forecast_run")[0][0] == 0


def test_the_background_refresh_runs_only_when_the_newest_run_is_old(run, demo_url):
    from datetime import timedelta

    count = "SELECT count(*) FROM forecast_run"
    with get_engine(demo_url).connect() as conn:
        before = conn.execute(text(count)).scalar_one()
    assert fs.refresh_forecast(demo_url, timedelta(hours=24)) is None  # the fixture's is new
    new = fs.refresh_forecast(demo_url, timedelta(0))
    with get_engine(demo_url).connect() as conn:
        assert conn.execute(text(count)).scalar_one() == before + 1
        newest = conn.execute(text("SELECT max(id) FROM forecast_run")).scalar_one()
    assert new == newest
