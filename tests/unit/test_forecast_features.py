"""Forecast features: no leakage from the future, deterministic model output."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.backtest import historical_mean, kde_baseline, last_period
from analytics.forecast import ModelConfig, build_features, build_grid, fit_model, predict_period

CENTRE = (42.33, -71.07)


def synthetic_events(seed: int = 0, weeks: int = 40) -> pd.DataFrame:
    """Incidents around a few points in Boston, one row per incident, over ``weeks`` weeks."""
    rng = np.random.default_rng(seed)
    n = weeks * 30
    hot = rng.integers(0, 4, n)
    return pd.DataFrame(
        {
            "lon": CENTRE[1] + 0.01 * hot + rng.normal(0, 0.004, n),
            "lat": CENTRE[0] + 0.005 * hot + rng.normal(0, 0.004, n),
            "time": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.uniform(0, weeks * 7, n), unit="D"),
        }
    )


def _perturbed_after(events: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The same events before ``cutoff``; after it, moved elsewhere and doubled."""
    before = events[events.time < cutoff]
    after = events[events.time >= cutoff].copy()
    after["lon"] = after["lon"].to_numpy()[::-1]
    after["lat"] = after["lat"].to_numpy()[::-1]
    return pd.concat([before, after, after], ignore_index=True)


def test_features_at_origin_use_only_the_past():
    events = synthetic_events()
    base = build_grid(events)
    origin = 25
    changed = build_grid(_perturbed_after(events, base.edges[origin]), region=base.cells)
    assert np.array_equal(base.edges, changed.edges)
    assert not np.array_equal(base.counts[origin:], changed.counts[origin:])
    a, b = build_features(base), build_features(changed)
    np.testing.assert_array_equal(a[: origin + 1], b[: origin + 1])
    for method in (last_period, historical_mean, kde_baseline):
        np.testing.assert_array_equal(method(base, origin), method(changed, origin))


def test_model_ignores_rows_after_origin_and_is_deterministic():
    events = synthetic_events()
    grid = build_grid(events)
    origin = 25
    features = build_features(grid)
    config = ModelConfig(kind="hgb", max_iter=30, min_samples_leaf=20)
    first = predict_period(fit_model(features, grid.counts, origin, config), features, origin)
    again = predict_period(fit_model(features, grid.counts, origin, config), features, origin)
    np.testing.assert_array_equal(first, again)
    future = grid.counts.copy()
    future[origin:] = 99  # targets at and after the origin must not be used
    other = predict_period(fit_model(features, future, origin, config), features, origin)
    np.testing.assert_array_equal(first, other)
    assert first.shape == (len(grid.cells),) and (first >= 0).all()


def test_grid_counts_every_event_in_the_periods():
    events = synthetic_events(weeks=10)
    grid = build_grid(events, resolution=9, horizon_days=7)
    kept = events[(events.time >= grid.edges[0]) & (events.time < grid.edges[-1])]
    assert grid.counts.sum() == len(kept)
    assert (grid.edges[1:] - grid.edges[:-1] == pd.Timedelta(days=7)).all()
    assert grid.edges[-1] == events.time.max().normalize() + pd.Timedelta(days=1)
