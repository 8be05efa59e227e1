"""Forecast features: no leakage from the future, deterministic model output."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from analytics.backtest import (
    BASELINES,
    choose_space_time,
    decay,
    ewm_baseline,
    ewm_counts,
    kde_baseline,
    kde_density,
    seasonal_naive,
    space_time_kde,
    to_metres,
)
from analytics.forecast import (
    Grid,
    ModelConfig,
    build_features,
    build_grid,
    feature_names,
    fit_model,
    predict_period,
    year_before,
)

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
    for method in BASELINES.values():
        np.testing.assert_array_equal(method(base, origin), method(changed, origin))


def test_seasonal_and_parent_features_at_origin_use_only_the_past():
    """70 weeks: the year-before features (t-53 … t-51) exist at origin 60; moving and
    doubling every event from the origin on changes no feature or baseline there."""
    events = synthetic_events(seed=1, weeks=70)
    base = build_grid(events)
    origin = 60
    changed = build_grid(_perturbed_after(events, base.edges[origin]), region=base.cells)
    assert not np.array_equal(base.counts[origin:], changed.counts[origin:])
    a, b = build_features(base), build_features(changed)
    np.testing.assert_array_equal(a[: origin + 1], b[: origin + 1])
    assert not np.array_equal(a[origin + 1 :], b[origin + 1 :])  # the check can fail
    names = feature_names(resolution=8)
    assert a.shape[2] == len(names) == 39
    for method in BASELINES.values():
        np.testing.assert_array_equal(method(base, origin), method(changed, origin))


def test_year_before_and_parent_counts_by_hand():
    events = synthetic_events(seed=2, weeks=70)
    grid = build_grid(events)
    features = build_features(grid)
    names = feature_names(resolution=grid.resolution)
    t, cell = 60, int(np.argmax(grid.counts.sum(axis=0)))
    own = features[t, cell, names.index("own_year_before")]
    assert own == grid.counts[[7, 8, 9], cell].mean()  # weeks t-53, t-52, t-51
    city = features[t, cell, names.index("city_year_before")]
    assert city == pytest.approx(grid.counts[[7, 8, 9]].mean(), rel=1e-12)
    first_year = features[20, cell, names.index("own_year_before")]
    assert first_year == grid.counts[:20, cell].mean()  # no year yet: the mean so far
    parent = np.array([h3.cell_to_parent(c, 7) for c in grid.cells])
    siblings = parent == parent[cell]
    for w in (1, 4):
        got = features[t, cell, names.index(f"parent_r7_{w}")]
        assert got == pytest.approx(grid.counts[t - w : t, siblings].sum() / w)
    grand = np.array([h3.cell_to_parent(c, 6) for c in grid.cells]) == h3.cell_to_parent(
        grid.cells[cell], 6
    )
    assert grand.sum() > siblings.sum()
    got = features[t, cell, names.index("parent_r6_13")]
    assert got == pytest.approx(grid.counts[t - 13 : t, grand].sum() / 13)
    near = features[t, cell, names.index("ring1_2")]
    ring = [grid.cells.tolist().index(c) for c in h3.grid_ring(grid.cells[cell], 1)
            if c in set(grid.cells)]  # fmt: skip
    assert near == pytest.approx(grid.counts[t - 2 : t, ring].sum() / 2)


def test_year_before_offsets_never_reach_the_period_itself():
    counts = np.arange(10, dtype=float)[:, None]
    fallback = np.full((10, 1), -1.0)
    got = year_before(counts, 4, fallback)[:, 0]
    # period t averages t-5, t-4, t-3 (those that exist); none before t = 3
    assert got[:3].tolist() == [-1.0, -1.0, -1.0]
    assert got[3] == 0.0 and got[4] == 0.5 and got[9] == 5.0
    one = year_before(counts, 1, fallback)[:, 0]  # lag 1: offsets {1, 2} (0 raised to 1)
    assert one[5] == (4 + 3) / 2


def hand_grid(counts: list[list[int]], cells: list[str] | None = None) -> Grid:
    """A weekly grid of given counts (periods x cells), events at the cells' centres."""
    array = np.asarray(counts, dtype=np.int64)
    cells = cells or [h3.latlng_to_cell(CENTRE[0], CENTRE[1] + 0.02 * i, 8)
                      for i in range(array.shape[1])]  # fmt: skip
    edges = pd.date_range("2024-01-01", periods=len(array) + 1, freq="7D", tz="UTC")
    rows = []
    for t, j in zip(*np.nonzero(array), strict=True):
        lat, lon = h3.cell_to_latlng(cells[j])
        rows += [{"lon": lon, "lat": lat, "time": edges[t], "period": t}] * int(array[t, j])
    order = np.argsort(cells)
    events = pd.DataFrame(rows, columns=["lon", "lat", "time", "period"])
    return Grid(np.array(cells, dtype=object)[order], edges, array[:, order], 8, events)


def test_exponentially_weighted_mean_by_hand():
    smooth = ewm_counts(np.array([[4], [0], [2]]), 3, [1.0, 2.0])
    # half-life 1: weights 1, 1/2, 1/4 for periods 2, 1, 0
    assert smooth[0, 3, 0] == pytest.approx((2 + 0 + 4 / 4) / 1.75)
    w = 0.5 ** (1 / 2)
    assert smooth[1, 3, 0] == pytest.approx((2 + 4 * w**2) / (1 + w + w**2))
    assert smooth[0, 1, 0] == 4 and smooth[0, 0, 0] == 0


def test_ewm_baseline_picks_the_short_half_life_after_a_shift():
    grid = hand_grid([[0]] * 10 + [[5]] * 14)
    got = ewm_baseline(grid, 24)
    # half-life 1 forecasts the 13 tuning periods best: 5 × (1 − 2^-14) / (1 − 2^-24)
    assert got[0] == pytest.approx(5 * (1 - 0.5**14) / (1 - 0.5**24))
    steady = hand_grid([[3]] * 20)
    assert ewm_baseline(steady, 20)[0] == pytest.approx(3.0)


def test_seasonal_naive_by_hand():
    counts = np.zeros((61, 2), dtype=int)
    counts[[7, 8, 9], 0] = [3, 6, 9]  # the same weeks a year before origin 60
    counts[47:60, 0] = 2  # the last 13 weeks
    counts[47:60, 1] = 1
    grid = hand_grid(counts.tolist())
    got = seasonal_naive(grid, 60)
    col = {c: i for i, c in enumerate(grid.cells)}
    first = h3.latlng_to_cell(CENTRE[0], CENTRE[1], 8)
    assert got[col[first]] == pytest.approx(0.5 * 6 + 0.5 * 2)
    assert got[1 - col[first]] == pytest.approx(0.5 * 0 + 0.5 * 1)
    early = seasonal_naive(grid, 30)  # no year of history yet: the recent mean alone
    np.testing.assert_allclose(early, grid.counts[17:30].mean(axis=0))


def test_decay_and_weighted_kde_by_hand():
    np.testing.assert_allclose(decay(np.array([9, 8, 5]), 10, [2.0])[:, 0], [1, 0.5**0.5, 0.25])
    pts = np.array([[0.0, 0.0], [300.0, 0.0]])
    at = np.array([[100.0, 0.0]])
    twice = kde_density(np.vstack([pts, pts[:1]]), at, [200.0])
    weighted = kde_density(pts, at, [200.0], np.array([2.0, 1.0]))
    np.testing.assert_allclose(twice, weighted)
    g = np.exp(-(100.0**2) / (2 * 200.0**2)) * 2 + np.exp(-(200.0**2) / (2 * 200.0**2))
    assert weighted[0, 0] == pytest.approx(g / (2 * np.pi * 200.0**2 * 3))


def test_space_time_kde_follows_recent_events_where_the_plain_kde_does_not():
    """Cell A: 10 events a week for 20 weeks, then none; cell B (2 km away): 2 a week in the
    last 8 weeks. The plain KDE still ranks A first; the decayed one ranks B first, chooses a
    short half-life, and its total is the recent mean city total."""
    counts = [[10, 0]] * 20 + [[0, 2]] * 8
    grid = hand_grid(counts)
    a = h3.latlng_to_cell(CENTRE[0], CENTRE[1], 8)
    col = {c: i for i, c in enumerate(grid.cells)}
    ia, ib = col[a], 1 - col[a]
    plain, decayed = kde_baseline(grid, 28), space_time_kde(grid, 28)
    assert plain[ia] > plain[ib]
    assert decayed[ib] > decayed[ia]
    recent = grid.counts[15:28].sum(axis=1).mean()
    assert decayed.sum() == pytest.approx(recent, rel=1e-6)
    lat0 = float(np.mean([h3.cell_to_latlng(c)[0] for c in grid.cells]))
    xy = to_metres(grid.events["lon"].to_numpy(), grid.events["lat"].to_numpy(), lat0)
    _, half_life = choose_space_time(xy, grid.events["period"].to_numpy(), 28)
    assert half_life <= 4.0


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
