"""Forecast and backtest on a Dask LocalCluster give the numbers they give in-process."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from analytics import forecast_store as fs
from analytics.__main__ import main
from analytics.backtest import BASELINES, run_backtest
from analytics.forecast import ModelConfig
from analytics.forecast_exec import IN_PROCESS, map_tasks
from geodata.engine import get_engine
from geodata.settings import get_settings

CANDIDATES = (
    ModelConfig(kind="hgb", max_iter=30, min_samples_leaf=20),
    ModelConfig(kind="glm", alpha=1e-3),
)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a two-worker LocalCluster in this process."""
    from distributed import LocalCluster

    with LocalCluster(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def synthetic_events(weeks: int = 40, seed: int = 3) -> pd.DataFrame:
    """Incidents around four points in Hefei, uniform over ``weeks`` weeks."""
    rng = np.random.default_rng(seed)
    n = weeks * 40
    hot = rng.integers(0, 4, n)
    return pd.DataFrame(
        {
            "lon": 117.28 + 0.01 * hot + rng.normal(0, 0.004, n),
            "lat": 31.86 + 0.005 * hot + rng.normal(0, 0.004, n),
            "time": pd.Timestamp("2025-01-06", tz="UTC")
            + pd.to_timedelta(rng.uniform(0, weeks * 7, n), unit="D"),
        }
    )


def scaled(item: int, factor: int) -> int:
    """A task: the item times the shared factor."""
    return item * factor


def test_tasks_keep_their_order_on_the_cluster(scheduler):
    items = list(range(12))
    assert map_tasks(scaled, items, scheduler, factor=3) == [3 * i for i in items]
    assert map_tasks(scaled, items, None, factor=3) == [3 * i for i in items]


def test_forecast_on_the_cluster_equals_in_process(scheduler, demo_url):
    here = fs.compute_forecast(demo_url, 8)
    there = fs.compute_forecast(demo_url, 8, scheduler=scheduler)
    assert len(here.rows) > 0 and here.rows["expected"].sum() > 0
    pd.testing.assert_frame_equal(here.rows, there.rows, check_exact=True)
    assert here.run["config"]["executor"] == IN_PROCESS
    assert there.run["config"]["executor"] == f"dask {scheduler}"
    assert here.run["model_version"] == there.run["model_version"]


def test_backtest_on_the_cluster_equals_in_process(scheduler):
    events = synthetic_events()
    kwargs = {"n_origins": 6, "n_validation": 4, "candidates": CANDIDATES}
    here = run_backtest(events, **kwargs)
    there = run_backtest(events, scheduler=scheduler, **kwargs)
    assert here.chosen == there.chosen
    pd.testing.assert_frame_equal(here.scores, there.scores, check_exact=True)
    pd.testing.assert_frame_equal(here.validation, there.validation, check_exact=True)
    assert len(here.scores) == 6 * (1 + len(BASELINES)) and np.isfinite(here.table.to_numpy()).all()


def test_the_command_uses_the_scheduler_setting(scheduler, demo_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("ONEMAP_DASK_SCHEDULER", scheduler)
    get_settings.cache_clear()
    try:
        assert main(["forecast", "--horizon", "7"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    with get_engine(demo_url).begin() as conn:
        run_id, config = conn.execute(
            text("SELECT id, config FROM forecast_run ORDER BY id DESC LIMIT 1")
        ).one()
        stored = conn.execute(
            text(
                "SELECT unit, unit_id, expected FROM forecast WHERE run_id = :r "
                "AND horizon_days = 7 ORDER BY category_group, unit, unit_id"
            ),
            {"r": run_id},
        ).all()
        conn.execute(text("DELETE FROM forecast_run"))  # the demo city is shared
    assert f"forecast run {run_id}" in out and f"dask {scheduler}" in out
    assert config["executor"] == f"dask {scheduler}"
    local = fs.compute_forecast(demo_url, 8, (7,)).rows
    local = local.sort_values(["category_group", "unit", "unit_id"])
    assert [r.expected for r in stored] == local["expected"].tolist()
