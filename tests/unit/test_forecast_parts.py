"""The pure parts of the stored forecast: intervals, model choice, daily grids, version, tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import forecast as fc
from analytics import forecast_store as fs
from analytics.forecast_cells import interval_label
from analytics.forecast_exec import IN_PROCESS, executor_name, map_tasks
from geodata.settings import Settings
from tests.unit.test_forecast_features import synthetic_events


def test_poisson_interval_is_the_central_80_percent():
    low, high = fs.poisson_interval(np.array([0.0, 0.5, 10.0]))
    assert low.tolist() == [0, 0, 6] and high.tolist() == [0, 1, 14]


def test_few_training_rows_fall_back_to_the_glm():
    def grid(periods: int, cells: int) -> fc.Grid:
        ids = np.array([f"c{i}" for i in range(cells)], dtype=object)
        edges = pd.date_range("2025-01-01", periods=periods + 1, freq="7D", tz="UTC")
        counts = np.zeros((periods, cells), dtype=np.int64)
        return fc.Grid(ids, edges, counts, 8, pd.DataFrame())

    assert fs.config_for(grid(12, 34)) == fs.SMALL_DATA_CONFIG  # 8 × 34 rows
    assert fs.config_for(grid(52, 418)) == fs.CONFIG  # 48 × 418 rows
    assert fs.config_for(grid(12, 34), fs.SMALL_DATA_CONFIG) == fs.SMALL_DATA_CONFIG


def test_daily_counts_make_the_grid_the_events_make():
    events = synthetic_events(weeks=20)
    grid = fc.build_grid(events, 8, 7)
    ev = grid.events
    daily = (
        pd.DataFrame({"cell": ev["cell"], "day": ev["time"].dt.floor("D")})
        .groupby(["cell", "day"])
        .size()
        .rename("n")
        .reset_index()
    )
    again = fc.grid_from_daily(daily, grid.cells, grid.edges, 8)
    np.testing.assert_array_equal(again.counts, grid.counts)
    assert again.counts.sum() == len(ev) > 0


def test_predict_next_without_any_incident_is_zero():
    ids = np.array(["a", "b"], dtype=object)
    edges = pd.date_range("2025-01-01", periods=11, freq="7D", tz="UTC")
    empty = fc.Grid(ids, edges, np.zeros((10, 2), dtype=np.int64), 8, pd.DataFrame())
    assert fc.predict_next(empty).tolist() == [0.0, 0.0]


def test_the_model_version_follows_the_configuration():
    version = fs.model_version()
    assert version == fs.model_version() and version.startswith("hgb-") and len(version) == 16
    assert fs.model_version(fc.ModelConfig(max_iter=50)) != version


def split(item: int, by: int) -> tuple[int, int]:
    """A task: quotient and remainder of the item by the shared divisor."""
    return divmod(item, by)


def test_tasks_run_in_process_in_order_without_a_scheduler():
    assert map_tasks(split, [7, 9, 11], None, by=4) == [(1, 3), (2, 1), (2, 3)]
    assert (
        executor_name(None) == IN_PROCESS and executor_name("tcp://h:8786") == "dask tcp://h:8786"
    )


def test_the_scheduler_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("ONEMAP_DASK_SCHEDULER", raising=False)
    assert Settings().analytics.dask_scheduler is None
    monkeypatch.setenv("ONEMAP_DASK_SCHEDULER", "tcp://10.0.0.5:8786")
    assert Settings().analytics.dask_scheduler == "tcp://10.0.0.5:8786"


def test_the_tooltip_label_has_the_interval_in_both_languages():
    label = interval_label(3, 9, 30)
    assert label == {"zh": "未来30天 · 80% 区间 3–9 起", "en": "next 30 days · 80% interval 3–9"}


def test_the_cells_text_is_the_json_of_their_properties():
    import json

    from analytics.forecast_cells import cell_members, forecast_properties, level
    from analytics.levels import levels
    from geodata.cells import hexagon_text

    members = cell_members(30, "fire_safety")
    top = 41.25
    for row in [
        (1, 41.25, 31, 52, top),
        (2, 3.0, 0, 6, top),
        (3, 0.0, 0, 0, top),
        (4, 7.0004, 3, 12, None),
    ]:
        cell = 0x88309A4C81FFFFF
        feature = json.loads(hexagon_text(cell, members(row)))
        want = forecast_properties(row, 30, "fire_safety")
        assert {
            k: v for k, v in feature["properties"].items() if k not in ("aggregate", "h3")
        } == want
        assert list(feature["properties"])[2:] == list(want)  # same order as the dict
        expected = levels([row[1], top], sqrt=True)[0] if row[4] else 0
        assert level(row[1], row[4]) == expected


def test_stored_cell_features_are_the_layers_features_against_the_slice_top():
    from analytics.forecast_cells import forecast_properties
    from layers.geojson import hexagon_feature

    cells = np.array([0x88309A4C81FFFFF, 0x88309A4C83FFFFF, 0x88309A4C85FFFFF], dtype=np.int64)
    expected = np.array([2.5, 41.25, 0.0])
    low, high = fs.poisson_interval(expected)
    texts = fs.h3_features(cells, expected, low, high, 7, "care")
    for cell, e, lo, hi, got in zip(cells, expected, low, high, texts, strict=True):
        row = (int(cell), float(e), int(lo), int(hi), 41.25)
        assert got == hexagon_feature(int(cell), forecast_properties(row, 7, "care"))


def test_dropping_the_last_feature_keeps_the_others_whole():
    import json

    from geodata.cells import hexagon_text
    from layers.providers.forecast import drop_last

    feats = [
        hexagon_text(0x88309A4C81FFFFF, f'"name":"a{i},{{\\"type\\":\\"Feature\\","')
        for i in range(3)
    ]
    assert json.loads(f"[{drop_last(','.join(feats))}]") == [json.loads(f) for f in feats[:2]]
    assert drop_last(feats[0]) == ""
