"""Rolling-origin backtest of the risk forecast against three baselines.

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
)
from analytics.forecast_exec import map_tasks, one_thread_per_fit
from analytics.metrics import hit_curve, score_period

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


BASELINES: dict[str, Method] = {
    "last period": last_period,
    "historical mean": historical_mean,
    "kde": kde_baseline,
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
    exposure: pd.DataFrame | None = None,
    scheduler: str | None = None,
    refit_every: int | None = None,
    max_train_periods: int | None = MAX_TRAIN_PERIODS,
    progress: bool = False,
) -> BacktestResult:
    """Backtest the model (chosen on validation origins, against the baselines too) and the
    baselines on the last ``n_origins`` periods; origins run in-process, or on the Dask
    ``scheduler``. ``refit_every`` None: :func:`auto_refit_every`."""
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
    features = build_features(grid, exposure)
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
        grid.n_periods, len(grid.cells),
    )  # fmt: skip


def format_table(table: pd.DataFrame, mark: str | None = None) -> str:
    """The summary table as Markdown; the row ``mark`` is set in bold."""
    cols = list(table.columns)
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.iterrows():
        label = f"**{name}**" if name == mark else str(name)
        lines.append(f"| {label} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)
