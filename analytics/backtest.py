"""Rolling-origin backtest of the risk forecast against three baselines.

Each origin is one period; every method predicts that period's counts per cell from the periods
before it only. The model's hyper-parameters are chosen on *validation* origins that precede the
test origins (by mean PAI at 5% of area, then deviance), never on the test origins themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import h3
import numpy as np
import pandas as pd

from analytics.forecast import (
    Grid,
    ModelConfig,
    build_features,
    build_grid,
    fit_model,
    predict_period,
)
from analytics.forecast_exec import map_tasks
from analytics.metrics import score_period

EARTH_M_PER_DEG = 111_320.0
KDE_BANDWIDTHS_M = (100.0, 200.0, 300.0, 500.0, 800.0, 1200.0)
KDE_HOLDOUT_PERIODS = 4  # bandwidth chosen by likelihood of these last training periods
BASELINE_TOTAL_PERIODS = 13  # the KDE's expected city total: mean of these last periods
CANDIDATES = (
    ModelConfig(
        kind="hgb", learning_rate=0.05, max_iter=100, max_leaf_nodes=7, min_samples_leaf=200
    ),
    ModelConfig(
        kind="hgb", learning_rate=0.05, max_iter=100, max_leaf_nodes=15, min_samples_leaf=50
    ),
    ModelConfig(kind="glm", alpha=1e-3),
    ModelConfig(kind="glm", alpha=1e-1),
)

Method = Callable[[Grid, int], np.ndarray]


@dataclass
class BacktestResult:
    """The per-origin scores (long form), the summary table and the chosen model."""

    scores: pd.DataFrame
    table: pd.DataFrame
    chosen: ModelConfig
    validation: pd.DataFrame


def last_period(grid: Grid, origin: int) -> np.ndarray:
    """Baseline: the counts of the period before the origin."""
    return grid.counts[origin - 1].astype(float)


def historical_mean(grid: Grid, origin: int) -> np.ndarray:
    """Baseline: each cell's mean count over all periods before the origin."""
    return grid.counts[:origin].mean(axis=0)


def to_metres(lon: np.ndarray, lat: np.ndarray, lat0: float) -> np.ndarray:
    """Local equirectangular projection (metres) around latitude ``lat0`` (city scale)."""
    x = np.asarray(lon) * EARTH_M_PER_DEG * np.cos(np.radians(lat0))
    y = np.asarray(lat) * EARTH_M_PER_DEG
    return np.column_stack([x, y])


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of ``a`` and ``b``."""
    d2 = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2 * a @ b.T
    return np.maximum(d2, 0.0)


def kde_density(points: np.ndarray, at: np.ndarray, bandwidths: Sequence[float]) -> np.ndarray:
    """Gaussian kernel density of ``points`` at ``at`` (per square metre), one column per
    bandwidth; computed in blocks of ``at``."""
    bw = np.asarray(bandwidths, dtype=float)
    out = np.empty((len(at), len(bw)))
    norm = 1.0 / (2 * np.pi * bw**2 * max(len(points), 1))
    origin = points.mean(axis=0) if len(points) else np.zeros(2)
    p, q = points - origin, at - origin
    for i in range(0, len(q), 256):
        d2 = _sq_dist(q[i : i + 256], p)
        for j, b in enumerate(bw):
            out[i : i + 256, j] = np.exp(-d2 / (2 * b**2)).sum(axis=1) * norm[j]
    return out


def choose_bandwidth(train: np.ndarray, held_out: np.ndarray) -> float:
    """The bandwidth under which ``held_out`` is most likely given ``train`` (mean log density);
    ties go to the smaller bandwidth."""
    density = kde_density(train, held_out, KDE_BANDWIDTHS_M)
    ll = np.mean(np.log(density + 1e-300), axis=0)
    return float(KDE_BANDWIDTHS_M[int(np.argmax(ll))])


def kde_baseline(grid: Grid, origin: int) -> np.ndarray:
    """Baseline: kernel density of all past events at the cell centres, scaled to the recent
    mean city total; the bandwidth is chosen on the training periods only."""
    ev = grid.events
    centres = np.array([h3.cell_to_latlng(c) for c in grid.cells])
    lat0 = float(centres[:, 0].mean())  # from the fixed region, not from the events
    past = ev[ev["period"] < origin]
    xy = to_metres(past["lon"].to_numpy(), past["lat"].to_numpy(), lat0)
    split = (past["period"] < origin - KDE_HOLDOUT_PERIODS).to_numpy()
    bandwidth = choose_bandwidth(xy[split], xy[~split]) if split.any() and (~split).any() else 300
    density = kde_density(xy, to_metres(centres[:, 1], centres[:, 0], lat0), [bandwidth])[:, 0]
    share = (
        density / density.sum() if density.sum() > 0 else np.full(len(density), 1 / len(density))
    )
    recent = grid.counts[max(origin - BASELINE_TOTAL_PERIODS, 0) : origin].sum(axis=1).mean()
    return share * recent


def model_method(features: np.ndarray, config: ModelConfig) -> Method:
    """The model as a method: fit on the periods before the origin, predict the origin."""

    def predict(grid: Grid, origin: int) -> np.ndarray:
        model = fit_model(features, grid.counts, origin, config)
        return predict_period(model, features, origin)

    return predict


def score_origin(origin: int, grid: Grid, methods: dict[str, Method]) -> list[dict[str, object]]:
    """One task: every method's scores at one origin."""
    actual = grid.counts[origin]
    return [
        {"method": name, "origin": grid.edges[origin], **score_period(method(grid, origin), actual)}
        for name, method in methods.items()
    ]


def score_origins(
    grid: Grid,
    methods: dict[str, Method],
    origins: Sequence[int],
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Scores per method and origin (long form); one task per origin, in-process or on the
    Dask ``scheduler``."""
    per_origin = map_tasks(score_origin, list(origins), scheduler, grid=grid, methods=methods)
    return pd.DataFrame([row for rows in per_origin for row in rows])


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean of each measure over the origins, one row per method (in the order given)."""
    order = list(dict.fromkeys(scores["method"]))
    table = scores.drop(columns="origin").groupby("method", sort=False).mean()
    return table.loc[order]


def choose_config(
    grid: Grid,
    features: np.ndarray,
    origins: Sequence[int],
    candidates: Sequence[ModelConfig] = CANDIDATES,
    scheduler: str | None = None,
) -> tuple[ModelConfig, pd.DataFrame]:
    """The candidate with the best mean PAI@5% (then lowest deviance) on ``origins``."""
    methods = {c.label(): model_method(features, c) for c in candidates}
    table = summarize(score_origins(grid, methods, origins, scheduler))
    ranked = sorted(
        range(len(candidates)),
        key=lambda i: (-table["pai@5%"].iloc[i], table["deviance"].iloc[i], i),
    )
    return candidates[ranked[0]], table


def run_backtest(
    events: pd.DataFrame,
    resolution: int = 8,
    horizon_days: int = 7,
    n_origins: int = 52,
    n_validation: int = 26,
    candidates: Sequence[ModelConfig] = CANDIDATES,
    exposure: pd.DataFrame | None = None,
    scheduler: str | None = None,
) -> BacktestResult:
    """Backtest the model (chosen on validation origins) and the baselines on the last
    ``n_origins`` periods; origins run in-process, or on the Dask ``scheduler``."""
    grid = build_grid(events, resolution, horizon_days)
    first_test = grid.n_periods - n_origins
    first_validation = first_test - n_validation
    if first_validation < 8 + 4:
        raise ValueError(
            f"{grid.n_periods} periods of {horizon_days} days are too few for {n_origins} test "
            f"and {n_validation} validation origins: use fewer origins or a shorter horizon"
        )
    features = build_features(grid, exposure)
    if len(candidates) > 1:
        chosen, validation = choose_config(
            grid, features, range(first_validation, first_test), candidates, scheduler
        )
    else:
        chosen, validation = candidates[0], pd.DataFrame()
    methods: dict[str, Method] = {
        "model": model_method(features, chosen),
        "last period": last_period,
        "historical mean": historical_mean,
        "kde": kde_baseline,
    }
    scores = score_origins(grid, methods, range(first_test, grid.n_periods), scheduler)
    return BacktestResult(scores, summarize(scores), chosen, validation)


def format_table(table: pd.DataFrame) -> str:
    """The summary table as Markdown."""
    cols = list(table.columns)
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)
