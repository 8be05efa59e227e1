"""Forecast the next period per H3 cell from an event file, with the method that validated best.

The last ``n_validation`` periods are the validation origins of :func:`analytics.backtest.
choose_method` (baselines and model candidates alike); the winner — a baseline when one
validates best — forecasts the period after the last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analytics.backtest import BASELINES, CANDIDATES, Method, choose_method, model_method
from analytics.forecast import ModelConfig, build_features, build_grid, extend_by_one_period
from analytics.forecast_exec import one_thread_per_fit


@dataclass
class FileForecast:
    """Expected incidents per cell of the next period, the method used and its validation."""

    cells: pd.DataFrame  # cell, start, end, expected
    published: str
    chosen: ModelConfig
    validation: pd.DataFrame


def forecast_events(
    events: pd.DataFrame,
    resolution: int = 8,
    horizon_days: int = 7,
    n_validation: int = 26,
    candidates: Sequence[ModelConfig] = CANDIDATES,
) -> FileForecast:
    """Choose the method on the last ``n_validation`` periods, then forecast the next one."""
    one_thread_per_fit()
    grid = build_grid(events, resolution, horizon_days)
    if grid.n_periods < n_validation + 12:
        raise ValueError(
            f"{grid.n_periods} periods of {horizon_days} days are too few for {n_validation} "
            "validation origins: use fewer or a shorter horizon"
        )
    ext = extend_by_one_period(grid)
    features = build_features(ext)  # period t uses periods < t: the appended zeros are unseen
    n = grid.n_periods
    published, chosen, validation = choose_method(
        ext, features, range(n - n_validation, n), candidates
    )
    method: Method = BASELINES.get(published) or model_method(features, chosen)
    step = grid.edges[1] - grid.edges[0]
    cells = pd.DataFrame(
        {
            "cell": grid.cells,
            "start": grid.edges[-1],
            "end": grid.edges[-1] + step,
            "expected": method(ext, n),
        }
    )
    return FileForecast(cells, published, chosen, validation)
