"""Rolling-origin backtest of the risk forecast against six baselines.

Each origin is one period; every method predicts that period's counts per cell from the periods
before it only. The model's hyper-parameters are chosen on *validation* origins that precede the
test origins (by mean PAI at 5% of area, then deviance), never on the test origins themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
    season_lag,
    year_before,
)
from analytics.forecast_exec import map_tasks, one_thread_per_fit
from analytics.metrics import hit_curve, poisson_deviance, score_period

EARTH_M_PER_DEG = 111_320.0
KDE_BANDWIDTHS_M = (100.0, 200.0, 300.0, 500.0, 800.0, 1200.0)
KDE_HOLDOUT_PERIODS = 4  # bandwidth chosen by likelihood of these last training periods
BASELINE_TOTAL_PERIODS = 13  # the KDE's expected city total: mean of these last periods
EWM_HALF_LIVES = (1.0, 2.0, 4.0, 8.0, 13.0, 26.0, 52.0)  # periods
EWM_TUNE_PERIODS = 13  # half-life chosen by the deviance of its forecasts of these periods
STKDE_HALF_LIVES = (1.0, 2.0, 4.0, 8.0, 26.0)  # periods; the space-time KDE's time decay
SEASONAL_RECENT = 13  # the seasonal naive blends a year earlier with the mean of these periods
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

MAX_TRAIN_PERIODS = 156  # a fit sees at most three years of weekly periods
LONG_REFIT_EVERY = 4  # refit interval (origins) on histories longer than that

Method = Callable[[Grid, int], np.ndarray]


@dataclass
class BacktestResult:
    """The per-origin scores (long form), the summary table and the chosen model."""

    scores: pd.DataFrame
    table: pd.DataFrame
    chosen: ModelConfig  # the best model candidate on the validation origins
    validation: pd.DataFrame
    published: str = "model"  # the row of ``table`` that validated best (a baseline or model)
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # mean hit share, k = 0 … n
    seconds: dict[str, float] = field(default_factory=dict)  # per phase
    refit_every: int = 1
    n_periods: int = 0
    n_cells: int = 0
    exposure: list[str] = field(default_factory=list)  # exposure columns the features used


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


def kde_density(
    points: np.ndarray,
    at: np.ndarray,
    bandwidths: Sequence[float],
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Gaussian kernel density of ``points`` (each counted ``weights`` times; columns of
    ``weights``: several weightings at once) at ``at`` (per square metre), one column per
    bandwidth and weighting (bandwidth-major); computed in blocks of ``at``."""
    bw = np.asarray(bandwidths, dtype=float)
    w = np.ones((len(points), 1)) if weights is None else np.asarray(weights, dtype=float)
    w = w.reshape(len(points), -1)
    n_w = w.shape[1]
    out = np.empty((len(at), len(bw) * n_w))
    total = np.maximum(w.sum(axis=0), 1e-300) if len(points) else np.ones(n_w)
    origin = points.mean(axis=0) if len(points) else np.zeros(2)
    p, q = points - origin, at - origin
    for i in range(0, len(q), 256):
        d2 = _sq_dist(q[i : i + 256], p)
        for j, b in enumerate(bw):
            mass = np.exp(-d2 / (2 * b**2)) @ w
            out[i : i + 256, j * n_w : (j + 1) * n_w] = mass / (2 * np.pi * b**2 * total)
    return out


def _unique_points(xy: np.ndarray, keys: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Distinct rows of ``xy`` (with ``keys``, distinct (point, key) pairs), their key and how
    many times each occurs: the KDEs sum over distinct points (12 air-quality stations carry
    100,000 exceedance hours)."""
    table = xy if keys is None else np.column_stack([xy, keys])
    if not len(table):
        return np.empty((0, 2)), np.empty(0), np.empty(0)
    rows, n = np.unique(table, axis=0, return_counts=True)
    return rows[:, :2], (rows[:, 2] if keys is not None else np.zeros(len(rows))), n.astype(float)


def _log_likelihood(density: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Mean log density of held-out points counted ``n`` times, per column of ``density``."""
    return (n[:, None] * np.log(density + 1e-300)).sum(axis=0) / max(n.sum(), 1.0)


def choose_bandwidth(train: np.ndarray, held_out: np.ndarray) -> float:
    """The bandwidth under which ``held_out`` is most likely given ``train`` (mean log density);
    ties go to the smaller bandwidth."""
    pts, _, w = _unique_points(train)
    at, _, n = _unique_points(held_out)
    ll = _log_likelihood(kde_density(pts, at, KDE_BANDWIDTHS_M, w), n)
    return float(KDE_BANDWIDTHS_M[int(np.argmax(ll))])


def cell_points(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lng) of the centres of each cell's children one resolution finer (7 per
    hexagon) and the index of the cell each belongs to: where a KDE is averaged to stand for
    the cell's mass (the centre alone misses events 100 m from it)."""
    points, owner = [], []
    for i, cell in enumerate(cells):
        children = h3.cell_to_children(cell, h3.get_resolution(cell) + 1)
        points += [h3.cell_to_latlng(c) for c in children]
        owner += [i] * len(children)
    return np.array(points), np.array(owner)


def _centres_and_events(
    grid: Grid, origin: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """The cells' :func:`cell_points` in local metres and the cell each belongs to, past
    events' positions in local metres, and the past events."""
    ev = grid.events
    points, owner = cell_points(grid.cells)
    lat0 = float(np.mean([h3.cell_to_latlng(c)[0] for c in grid.cells]))  # the fixed region
    past = ev[ev["period"] < origin]
    xy = to_metres(past["lon"].to_numpy(), past["lat"].to_numpy(), lat0)
    return to_metres(points[:, 1], points[:, 0], lat0), owner, xy, past


def per_cell(density: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """The mean of a density at each cell's :func:`cell_points` (``owner``: their cell)."""
    return np.bincount(owner, weights=density) / np.bincount(owner)


def _scaled(density: np.ndarray, grid: Grid, origin: int) -> np.ndarray:
    """A density per cell as expected counts: its shares of the recent mean city
    total (the last :data:`BASELINE_TOTAL_PERIODS` periods)."""
    share = (
        density / density.sum() if density.sum() > 0 else np.full(len(density), 1 / len(density))
    )
    recent = grid.counts[max(origin - BASELINE_TOTAL_PERIODS, 0) : origin].sum(axis=1).mean()
    return share * recent


def kde_baseline(grid: Grid, origin: int) -> np.ndarray:
    """Baseline: kernel density of all past events over each cell (:func:`per_cell`), scaled
    to the recent mean city total; the bandwidth is chosen on the training periods only."""
    centres, owner, xy, past = _centres_and_events(grid, origin)
    split = (past["period"] < origin - KDE_HOLDOUT_PERIODS).to_numpy()
    bandwidth = choose_bandwidth(xy[split], xy[~split]) if split.any() and (~split).any() else 300
    pts, _, w = _unique_points(xy)
    density = kde_density(pts, centres, [bandwidth], w)[:, 0]
    return _scaled(per_cell(density, owner), grid, origin)


def decay(periods: np.ndarray, until: int, half_lives: Sequence[float]) -> np.ndarray:
    """Weights (len(periods) x len(half_lives)) of events in ``periods`` seen from period
    ``until``: 1 for the period just before it, halving every half-life."""
    age = (until - 1 - np.asarray(periods, dtype=float))[:, None]
    return 0.5 ** (age / np.asarray(half_lives, dtype=float)[None, :])


def choose_space_time(xy: np.ndarray, periods: np.ndarray, until: int) -> tuple[float, float]:
    """(bandwidth, half-life) under which the events of the last :data:`KDE_HOLDOUT_PERIODS`
    periods before ``until`` are most likely given the decayed KDE of the periods before them;
    ties go to the smaller bandwidth, then the shorter half-life."""
    start = until - KDE_HOLDOUT_PERIODS
    train = periods < start
    if not train.any() or train.all():
        return 300.0, STKDE_HALF_LIVES[-1]
    pts, when, w = _unique_points(xy[train], periods[train])
    at, _, n = _unique_points(xy[~train])
    weights = w[:, None] * decay(when, start, STKDE_HALF_LIVES)
    ll = _log_likelihood(kde_density(pts, at, KDE_BANDWIDTHS_M, weights), n)
    best = int(np.argmax(ll))
    n_h = len(STKDE_HALF_LIVES)
    return float(KDE_BANDWIDTHS_M[best // n_h]), float(STKDE_HALF_LIVES[best % n_h])


def space_time_kde(grid: Grid, origin: int) -> np.ndarray:
    """Baseline (prospective hot-spotting, Bowers, Johnson & Pease 2004): past events weighted
    by a Gaussian kernel in space and an exponential decay in time, over each cell, scaled
    to the recent mean city total; bandwidth and half-life chosen by the likelihood of the last
    training periods (:func:`choose_space_time`)."""
    centres, owner, xy, past = _centres_and_events(grid, origin)
    periods = past["period"].to_numpy()
    bandwidth, half_life = choose_space_time(xy, periods, origin)
    pts, when, w = _unique_points(xy, periods)
    weights = w[:, None] * decay(when, origin, [half_life])
    density = kde_density(pts, centres, [bandwidth], weights)[:, 0]
    return _scaled(per_cell(density, owner), grid, origin)


def ewm_counts(counts: np.ndarray, until: int, half_lives: Sequence[float]) -> np.ndarray:
    """(len(half_lives), until + 1, n_cells): for each half-life and period ``t <= until``,
    each cell's exponentially weighted mean count over the periods before ``t`` (the last one
    weighing 1, halving every half-life); zeros at ``t = 0``."""
    a = 0.5 ** (1.0 / np.asarray(half_lives, dtype=float))[:, None]
    out = np.zeros((len(half_lives), until + 1, counts.shape[1]))
    weighted = np.zeros((len(half_lives), counts.shape[1]))
    norm = np.zeros((len(half_lives), 1))
    for t in range(1, until + 1):
        weighted = a * weighted + counts[t - 1]
        norm = a * norm + 1.0
        out[:, t] = weighted / norm
    return out


def ewm_baseline(grid: Grid, origin: int) -> np.ndarray:
    """Baseline: each cell's exponentially time-weighted mean count, the half-life (of
    :data:`EWM_HALF_LIVES`) chosen by the mean Poisson deviance of its one-step forecasts of
    the last :data:`EWM_TUNE_PERIODS` periods before the origin (each from the periods before
    it); ties go to the shorter half-life."""
    smooth = ewm_counts(grid.counts, origin, EWM_HALF_LIVES)
    tune = range(max(origin - EWM_TUNE_PERIODS, 1), origin)
    if not len(tune):
        return smooth[-1, origin]
    loss = [
        np.mean([poisson_deviance(smooth[h, t], grid.counts[t]) for t in tune])
        for h in range(len(EWM_HALF_LIVES))
    ]
    return smooth[int(np.argmin(loss)), origin]


def seasonal_naive(grid: Grid, origin: int) -> np.ndarray:
    """Baseline: half the cell's mean count in the same periods a year earlier (weekly:
    origin - 53 … origin - 51), half its mean over the last :data:`SEASONAL_RECENT` periods;
    the recent mean alone before a year of history."""
    counts = grid.counts[:origin].astype(float)
    recent = counts[max(origin - SEASONAL_RECENT, 0) :].mean(axis=0)
    lag = season_lag(grid.edges)
    padded = np.vstack([counts, np.zeros((1, counts.shape[1]))])  # the origin's row: unread
    fallback = np.full(padded.shape, np.nan)
    before = year_before(padded, lag, fallback)[origin]
    return np.where(np.isnan(before), recent, 0.5 * before + 0.5 * recent)


BASELINES: dict[str, Method] = {
    "last period": last_period,
    "historical mean": historical_mean,
    "kde": kde_baseline,
    "ewm": ewm_baseline,
    "space-time kde": space_time_kde,
    "seasonal naive": seasonal_naive,
}


def model_method(
    features: np.ndarray,
    config: ModelConfig,
    refit_every: int = 1,
    max_train_periods: int | None = MAX_TRAIN_PERIODS,
) -> Method:
    """The model as a method: fitted on periods before the origin, predicting the origin.

    With ``refit_every = k`` the model is refitted at origins that are multiples of ``k`` and
    reused for the origins up to the next one (it saw only periods before the first of them;
    each origin's features see periods before that origin only). The fit uses at most
    ``max_train_periods`` periods before the fit origin."""
    cache: dict[int, object] = {}

    def predict(grid: Grid, origin: int) -> np.ndarray:
        fit_at = origin - origin % refit_every
        if fit_at not in cache:
            cache.clear()  # one model held at a time
            cache[fit_at] = fit_model(features, grid.counts, fit_at, config, max_train_periods)
        return predict_period(cache[fit_at], features, origin)

    return predict


def score_origin(
    origin: int, grid: Grid, methods: dict[str, Method]
) -> tuple[list[dict[str, object]], dict[str, np.ndarray | None]]:
    """One task: every method's scores at one origin, and its hit-rate curve."""
    actual = grid.counts[origin]
    rows, curves = [], {}
    for name, method in methods.items():
        pred = method(grid, origin)
        rows.append({"method": name, "origin": grid.edges[origin], **score_period(pred, actual)})
        curves[name] = hit_curve(pred, actual)
    return rows, curves


def score_origins(
    grid: Grid,
    methods: dict[str, Method],
    origins: Sequence[int],
    scheduler: str | None = None,
    progress: str | None = None,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Scores per method and origin (long form) and each method's hit-rate curve (mean over
    the origins with incidents); one task per origin, in-process or on the Dask ``scheduler``."""
    per_origin = map_tasks(
        score_origin, list(origins), scheduler, progress=progress, grid=grid, methods=methods
    )
    scores = pd.DataFrame([row for rows, _ in per_origin for row in rows])
    curves = {}
    for name in methods:
        got = [c[name] for _, c in per_origin if c[name] is not None]
        curves[name] = np.mean(got, axis=0) if got else np.zeros(grid.counts.shape[1] + 1)
    return scores, curves


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean of each measure over the origins, one row per method (in the order given)."""
    order = list(dict.fromkeys(scores["method"]))
    table = scores.drop(columns="origin").groupby("method", sort=False).mean()
    return table.loc[order]


def rank(table: pd.DataFrame) -> list[str]:
    """Methods of a summary table, best first: highest mean PAI@5%, then lowest deviance,
    then table order."""
    names = list(table.index)
    return sorted(
        names,
        key=lambda n: (-table.loc[n, "pai@5%"], table.loc[n, "deviance"], names.index(n)),
    )


def choose_method(
    grid: Grid,
    features: np.ndarray,
    origins: Sequence[int],
    candidates: Sequence[ModelConfig] = CANDIDATES,
    scheduler: str | None = None,
    refit_every: int = 1,
    max_train_periods: int | None = MAX_TRAIN_PERIODS,
) -> tuple[str, ModelConfig, pd.DataFrame]:
    """Model selection on ``origins`` among the baselines and the model ``candidates``.

    Returns the method to publish (the best of all: a baseline when one validates best, ties
    going to the baseline), the best model candidate, and the validation table."""
    methods: dict[str, Method] = dict(BASELINES)
    for c in candidates:
        methods[c.label()] = model_method(features, c, refit_every, max_train_periods)
    scores, _ = score_origins(grid, methods, origins, scheduler, progress="validation origins")
    table = summarize(scores)
    order = rank(table)
    best_model = next(n for n in order if n not in BASELINES)
    chosen = next(c for c in candidates if c.label() == best_model)
    published = order[0] if order[0] in BASELINES else "model"
    return published, chosen, table


def auto_refit_every(n_periods: int) -> int:
    """Refit at every origin up to :data:`MAX_TRAIN_PERIODS` periods of history, at every
    :data:`LONG_REFIT_EVERY`-th beyond (ten years of weeks: 4)."""
    return 1 if n_periods <= MAX_TRAIN_PERIODS else LONG_REFIT_EVERY


def run_backtest(
    events: pd.DataFrame,
    resolution: int = 8,
    horizon_days: int = 7,
    n_origins: int = 52,
    n_validation: int = 26,
    candidates: Sequence[ModelConfig] = CANDIDATES,
    exposure: pd.DataFrame | Callable[[np.ndarray, int], pd.DataFrame] | None = None,
    scheduler: str | None = None,
    refit_every: int | None = None,
    max_train_periods: int | None = MAX_TRAIN_PERIODS,
    progress: bool = False,
) -> BacktestResult:
    """Backtest the model (chosen on validation origins, against the baselines too) and the
    baselines on the last ``n_origins`` periods; origins run in-process, or on the Dask
    ``scheduler``. ``refit_every`` None: :func:`auto_refit_every`. ``exposure``: per-cell
    columns (index: cell id), or a function of (cells, resolution) giving them (the store's)."""
    one_thread_per_fit()  # two OpenMP threads of a fit spin against each other: 10-20x slower
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    grid = build_grid(events, resolution, horizon_days)
    seconds["grid"], clock = time.perf_counter() - clock, time.perf_counter()
    first_test = grid.n_periods - n_origins
    first_validation = first_test - n_validation
    if first_validation < 8 + 4:
        raise ValueError(
            f"{grid.n_periods} periods of {horizon_days} days are too few for {n_origins} test "
            f"and {n_validation} validation origins: use fewer origins or a shorter horizon"
        )
    every = refit_every or auto_refit_every(grid.n_periods)
    cell_exposure = exposure(grid.cells, resolution) if callable(exposure) else exposure
    features = build_features(grid, cell_exposure)
    seconds["features"], clock = time.perf_counter() - clock, time.perf_counter()
    if n_validation > 0:
        published, chosen, validation = choose_method(
            grid, features, range(first_validation, first_test), candidates, scheduler,
            every, max_train_periods,
        )  # fmt: skip
    else:
        published, chosen, validation = "model", candidates[0], pd.DataFrame()
    seconds["validation"], clock = time.perf_counter() - clock, time.perf_counter()
    methods: dict[str, Method] = {
        "model": model_method(features, chosen, every, max_train_periods),
        **BASELINES,
    }
    label = "test origins" if progress else None
    scores, curves = score_origins(
        grid, methods, range(first_test, grid.n_periods), scheduler, label
    )
    seconds["test"] = time.perf_counter() - clock
    return BacktestResult(
        scores, summarize(scores), chosen, validation, published, curves, seconds, every,
        grid.n_periods, len(grid.cells), list(getattr(cell_exposure, "columns", [])),
    )  # fmt: skip


def format_table(table: pd.DataFrame, mark: str | None = None) -> str:
    """The summary table as Markdown; the row ``mark`` is set in bold."""
    cols = list(table.columns)
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        label = f"**{name}**" if name == mark else str(name)
        lines.append(f"| {label} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)
